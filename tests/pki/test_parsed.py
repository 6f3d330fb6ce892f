"""The parse cache for peer certificates: same DER, same objects; bad DER fails every time."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from lucidtls.pki import parsed
from lucidtls.pki.credentials import Credential


def test_same_der_gives_the_same_objects(server_cred: Credential) -> None:
    der = server_cred.leaf.public_bytes(Encoding.DER)
    first = parsed.load_certificate(der)
    # A fresh bytes object with the same content, as every handshake receives it.
    again = parsed.load_certificate(bytes(bytearray(der)))
    assert again is first and first == server_cred.leaf
    assert parsed.public_key(again) is parsed.public_key(first)
    assert parsed.public_key(first) == server_cred.leaf.public_key()


def test_bad_der_raises_every_time() -> None:
    for _ in range(2):  # an error is not cached as a result
        with pytest.raises(ValueError):
            parsed.load_certificate(b"\x30\x03\x02\x01\x00")


def test_caches_are_bounded() -> None:
    assert parsed.load_certificate.cache_info().maxsize == parsed.CACHE_SIZE
    assert parsed.public_key.cache_info().maxsize == parsed.CACHE_SIZE
