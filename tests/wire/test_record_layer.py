"""RecordLayer shortcuts held to the general paths they stand beside: the same bytes out, the
same records in."""

from __future__ import annotations

import pytest

from lucidtls.crypto.aead import Tls12Protection, Tls13Protection
from lucidtls.crypto.suites import SUITES
from lucidtls.record import RecordLayer
from lucidtls.wire.enums import CipherSuite, ContentType

_CCS = int(ContentType.CHANGE_CIPHER_SPEC)
_HANDSHAKE = int(ContentType.HANDSHAKE)
_S13 = SUITES[int(CipherSuite.TLS_AES_128_GCM_SHA256)]
_S12 = SUITES[int(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)]


def _layer(keys: str) -> RecordLayer:
    layer = RecordLayer()
    if keys == "13":
        layer.set_write_13(Tls13Protection(_S13, bytes(16), bytes(12)))
    elif keys == "12":
        layer.set_write_12(Tls12Protection(_S12, bytes(16), bytes(4)))
    return layer


@pytest.mark.parametrize("keys", ["none", "13", "12"])
@pytest.mark.parametrize("queued", [b"", b"\x14\x00\x00\x02ab"])
@pytest.mark.parametrize("version", [0x0303, 0x0301])
def test_write_ccs_is_write_of_the_byte_1(keys: str, queued: bytes, version: int) -> None:
    short, general = _layer(keys), _layer(keys)
    for layer in (short, general):
        layer.plaintext_version = version
        layer.handshake_out += queued
    short.write_ccs()
    general.write(_CCS, b"\x01")
    assert short.take_output() == general.take_output()


def test_feed_after_everything_was_read() -> None:
    record = bytes((_HANDSHAKE, 3, 3, 0, 4)) + b"\x01\x00\x00\x00"
    layer = RecordLayer()
    layer.feed(record + record[:3])
    assert layer.next_record() == (_HANDSHAKE, record[5:])
    assert layer.next_record() is None and layer.buffered == 3
    layer.feed(bytearray(record[3:]) + record)  # completes the partial record, then another
    assert layer.next_record() == (_HANDSHAKE, record[5:])
    assert layer.next_record() == (_HANDSHAKE, record[5:])
    assert layer.next_record() is None and layer.buffered == 0
    layer.feed(memoryview(record))  # all was read: taken as is (a copy of a non-bytes buffer)
    assert layer.next_record() == (_HANDSHAKE, record[5:])
    assert layer.next_record() is None
