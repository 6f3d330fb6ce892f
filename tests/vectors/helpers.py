"""Helpers shared by the RFC 8448 connection tests: the RFC's ClientHello shape, the server
credential, decrypting the RFC's records with the keys the RFC prints, and the key log."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from lucidtls.crypto.aead import Tls13Protection
from lucidtls.crypto.suites import SUITES
from lucidtls.pki.credentials import Credential
from lucidtls.wire.enums import CipherSuite
from lucidtls.wire.enums import ExtensionType as E
from lucidtls.wire.messages import ClientHello

from . import rfc8448 as v

SUITE = SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
# The RFC's offer, in its order (we accept the same list: all are values we know).
CIPHER_SUITES = (0x1301, 0x1303, 0x1302)
SIGNATURE_SCHEMES = (0x0403, 0x0503, 0x0603, 0x0203, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501,
                     0x0601, 0x0201, 0x0402, 0x0502, 0x0602, 0x0202)

# Extensions the RFC's client (NSS) sends and ours does not: renegotiation_info (we send it only
# when TLS 1.2 is offered), session_ticket, psk_key_exchange_modes (no resumption yet),
# record_size_limit (RFC 8449, not implemented) and padding (RFC 7685: NSS pads the second
# ClientHello to 512 octets). These are taken from the RFC's message, byte for byte.
NOT_OURS = {E.renegotiation_info, E.session_ticket, E.psk_key_exchange_modes,
            E.record_size_limit, E.padding}


def fixed(value: bytes) -> Callable[[int], bytes]:
    """A random hook that returns *value* (and checks the length asked for)."""
    def random(n: int) -> bytes:
        assert n == len(value), f"asked for {n} random bytes, the RFC fixes {len(value)}"
        return value
    return random


def client_hello_shape(rfc_hellos: Sequence[bytes], replace: frozenset[int] = frozenset()
                       ) -> Callable[[Any], Any]:
    """A shape hook that puts our ClientHello(s) in the RFC's extension order.

    Extensions we send keep OUR bytes (so the record comparison checks them); the ones in
    NOT_OURS and *replace* come from the RFC. Anything else the RFC has must be ours already,
    and we must not send anything the RFC does not: both are asserted here.
    """
    pending = [ClientHello.decode(m[4:]) for m in rfc_hellos]

    def shape(msg: Any) -> Any:
        if not isinstance(msg, ClientHello):
            return msg
        rfc = pending.pop(0)
        ours = dict(msg.extensions)
        rfc_exts = dict(rfc.extensions)
        assert set(ours) <= set(rfc_exts), f"we send extensions the RFC's client does not: " \
            f"{sorted(set(ours) - set(rfc_exts))}"
        borrowed = NOT_OURS | replace
        missing = set(rfc_exts) - set(ours) - borrowed
        assert not missing, f"our ClientHello lacks {sorted(missing)}"
        exts = [(t, rfc_exts[t] if t in borrowed else ours[t]) for t, _ in rfc.extensions]
        return dataclasses.replace(msg, extensions=exts)

    return shape


def rsa_credential() -> Credential:
    """The RFC's server certificate with the key rebuilt from n, e, d (RFC 8448 §2)."""
    n, e, d = v.RSA_MODULUS, v.RSA_PUBLIC_EXPONENT, v.RSA_PRIVATE_EXPONENT
    p, q = rsa.rsa_recover_prime_factors(n, e, d)
    key = rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
                                rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n)).private_key()
    return Credential((x509.load_der_x509_certificate(v.CERTIFICATE_DER),), key)


def open_records(key: bytes, iv: bytes, *records: bytes) -> list[tuple[int, bytes]]:
    """Decrypt consecutive protected records (sequence 0, 1, ...) under the RFC's key and IV;
    return (content type, content) pairs. The AEAD tag checks our transcription."""
    protection = Tls13Protection(SUITE, key, iv)
    out = []
    for rec in records:
        inner = protection.open(rec[:5], rec[5:]).rstrip(b"\x00")
        out.append((inner[-1], inner[:-1]))
    return out


def split_messages(data: bytes) -> list[bytes]:
    """Split concatenated handshake messages (header included)."""
    out = []
    while data:
        n = 4 + int.from_bytes(data[1:4], "big")
        out.append(data[:n])
        data = data[n:]
    return out


def read_keylog(path: Path) -> dict[str, tuple[bytes, bytes]]:
    """NSS key log lines: label -> (client random, secret)."""
    out = {}
    for line in path.read_text().splitlines():
        label, random, secret = line.split()
        assert label not in out, f"{label} logged twice"
        out[label] = (bytes.fromhex(random), bytes.fromhex(secret))
    return out
