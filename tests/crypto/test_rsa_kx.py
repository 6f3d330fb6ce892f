from __future__ import annotations

import os
from functools import cache

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from lucidtls.crypto.rsa_kx import decrypt_premaster, encrypt_premaster
from lucidtls.errors import ConfigError

TLS12 = 0x0303


@cache
def server_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def _fallback() -> bytes:
    return os.urandom(48)


def test_round_trip() -> None:
    key = server_key()
    premaster, encrypted = encrypt_premaster(key.public_key(), TLS12, os.urandom)
    assert len(premaster) == 48 and premaster[:2] == b"\x03\x03"
    assert len(encrypted) == 256
    fb = _fallback()
    assert decrypt_premaster(key, encrypted, TLS12, fb) == premaster


def test_wrong_version_bytes_gives_fallback() -> None:
    key = server_key()
    premaster, encrypted = encrypt_premaster(key.public_key(), 0x0301, os.urandom)
    fb = _fallback()
    assert decrypt_premaster(key, encrypted, TLS12, fb) == fb
    # The same ciphertext is fine for the version it carries.
    assert decrypt_premaster(key, encrypted, 0x0301, fb) == premaster


@pytest.mark.parametrize("length", [0, 47, 49, 100])
def test_wrong_plaintext_length_gives_fallback(length: int) -> None:
    key = server_key()
    message = b"\x03\x03" + os.urandom(max(0, length - 2))
    encrypted = key.public_key().encrypt(message[:length], padding.PKCS1v15())
    fb = _fallback()
    assert decrypt_premaster(key, encrypted, TLS12, fb) == fb


def test_bad_padding_gives_fallback() -> None:
    key = server_key()
    _, encrypted = encrypt_premaster(key.public_key(), TLS12, os.urandom)
    for pos in (0, 1, 128, 255):
        bad = bytearray(encrypted)
        bad[pos] ^= 0x01
        fb = _fallback()
        assert decrypt_premaster(key, bytes(bad), TLS12, fb) == fb


def test_oaep_ciphertext_gives_fallback() -> None:
    key = server_key()
    oaep = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
    encrypted = key.public_key().encrypt(b"\x03\x03" + bytes(46), oaep)
    fb = _fallback()
    assert decrypt_premaster(key, encrypted, TLS12, fb) == fb


@pytest.mark.parametrize(
    "encrypted",
    [b"", b"\x00" * 10, b"\x00" * 255, b"\x00" * 256, b"\x00" * 257, b"\xff" * 256, b"\x01" * 512],
    ids=["empty", "short", "255", "zeros", "257", "above-modulus", "double"],
)
def test_malformed_ciphertexts_never_raise(encrypted: bytes) -> None:
    fb = _fallback()
    assert decrypt_premaster(server_key(), encrypted, TLS12, fb) == fb


def test_fallback_must_be_48_bytes() -> None:
    with pytest.raises(ConfigError):
        decrypt_premaster(server_key(), b"", TLS12, b"\x00" * 47)
