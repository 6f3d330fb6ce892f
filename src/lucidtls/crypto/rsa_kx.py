"""TLS 1.2 RSA key transport (RFC 5246 §7.4.7.1) with the Bleichenbacher countermeasure.

The server must not reveal whether decryption, the length check or the version check failed:
every failure yields the same caller-supplied random 48-byte premaster secret R, and the
handshake then fails at Finished like any other key mismatch.

How the underlying library behaves: ``cryptography`` links OpenSSL, which since 3.2 implements
*implicit rejection* for PKCS#1 v1.5 decryption (a bad padding returns a deterministic
pseudo-random message derived from the key and ciphertext instead of raising). This build
(OpenSSL 4.x) does so; a ciphertext of the wrong length, or one not below the modulus, still
raises ``ValueError``. Both paths feed the same constant-shape selection below, so the code is
correct whichever behaviour the linked OpenSSL has. Pure Python cannot promise constant time;
we avoid data-dependent early returns and select the result with integer masks.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import padding, rsa

from lucidtls.errors import ConfigError

PREMASTER_LEN = 48
_PREMASTER_BITS_MASK = (1 << (8 * PREMASTER_LEN)) - 1


def encrypt_premaster(
    public_key: rsa.RSAPublicKey, client_version: int, rng: Callable[[int], bytes]
) -> tuple[bytes, bytes]:
    """Client side: (premaster_secret, EncryptedPreMasterSecret body).

    premaster = client_version (the version offered in ClientHello) || 46 random bytes.
    """
    premaster = client_version.to_bytes(2, "big") + rng(46)
    if len(premaster) != PREMASTER_LEN:
        raise ConfigError("rng returned the wrong number of bytes")
    return premaster, public_key.encrypt(premaster, padding.PKCS1v15())


def decrypt_premaster(
    private_key: rsa.RSAPrivateKey,
    encrypted: bytes,
    client_version: int,
    random_fallback: bytes,
) -> bytes:
    """Server side: the premaster secret, or *random_fallback* on any failure. Never raises
    on peer input.

    *random_fallback* must be 48 fresh random bytes generated before decrypting (a wrong
    length is a programming error, checked before the ciphertext is touched).
    """
    if len(random_fallback) != PREMASTER_LEN:
        raise ConfigError("random_fallback must be 48 bytes")

    decrypted_ok = 1
    try:
        message = private_key.decrypt(encrypted, padding.PKCS1v15())
    except ValueError:
        # Wrong ciphertext length, ciphertext >= modulus, or (without implicit rejection) bad
        # padding. Continue with a dummy message through the same checks.
        decrypted_ok = 0
        message = b""

    length_ok = int(len(message) == PREMASTER_LEN)
    fixed = (message + bytes(PREMASTER_LEN))[:PREMASTER_LEN]
    version_ok = int(hmac.compare_digest(fixed[:2], client_version.to_bytes(2, "big")))
    ok = decrypted_ok & length_ok & version_ok

    # Select without branching on *ok*: mask is all ones when ok, else zero.
    mask = (-ok) & _PREMASTER_BITS_MASK
    chosen = (int.from_bytes(fixed, "big") & mask) | (
        int.from_bytes(random_fallback, "big") & ~mask & _PREMASTER_BITS_MASK
    )
    return chosen.to_bytes(PREMASTER_LEN, "big")
