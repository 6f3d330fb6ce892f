"""Peer certificates parsed once: the parsed certificate and its public key, cached by DER.

A client that reconnects to the same server (a connection pool, a health check) and a server
whose clients come back receive the same certificates again and again. Parsing a certificate
and extracting its public key cost about 40 µs of a handshake's CPU, and both are pure
functions of the DER bytes, so the results are kept in small LRU caches. Only parsing is
cached: every handshake still validates the chain (path, validity period, names, signatures)
and checks the CertificateVerify signature.
"""

from __future__ import annotations

import functools

from cryptography import x509

CACHE_SIZE = 128  # certificates; a few hundred KiB at most


# The caches wrap cryptography's own functions (no Python frame of ours around a first parse).

# ``x509.load_der_x509_certificate(der)``, cached. A ValueError is raised again each time.
load_certificate = functools.lru_cache(maxsize=CACHE_SIZE)(x509.load_der_x509_certificate)

# ``cert.public_key()``, cached (certificates hash and compare by their DER).
public_key = functools.lru_cache(
    maxsize=CACHE_SIZE)(x509.Certificate.public_key)
