"""The strict codec (Reader/Writer) and record-level framing (records.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucidtls.errors import DecodeError, ProtocolError
from lucidtls.wire.codec import Reader, Writer
from lucidtls.wire.enums import AlertDescription, AlertLevel, ContentType
from lucidtls.wire.records import (
    RECORD_HEADER_LEN,
    Alert,
    encode_record_header,
    parse_record_header,
)


# --- Reader / Writer ----------------------------------------------------------------------------
def test_scalars_round_trip() -> None:
    data = Writer().u8(1).u16(0x0203).u24(0x040506).u32(0x0708090A).getvalue()
    assert data == bytes(range(1, 11))
    r = Reader(data)
    assert (r.u8(), r.u16(), r.u24(), r.u32()) == (1, 0x0203, 0x040506, 0x0708090A)
    r.finish()


def test_read_past_end_raises() -> None:
    r = Reader(b"\x01")
    with pytest.raises(DecodeError, match="truncated field"):
        r.u16("field")


def test_finish_rejects_trailing_bytes() -> None:
    r = Reader(b"\x00\x01\x02")
    r.u16()
    with pytest.raises(DecodeError, match="1 trailing byte"):
        r.finish("thing")


def test_vector_overrunning_its_container_raises() -> None:
    with pytest.raises(DecodeError):
        Reader(b"\x03ab").vec8("name")


def test_vector_minimum_length() -> None:
    with pytest.raises(DecodeError, match="shorter than the minimum"):
        Reader(b"\x00").vec8("name", min_len=1)


def test_sub_reader_is_bounded() -> None:
    r = Reader(b"\x00\x02\xaa\xbb\xcc")
    sub = r.sub16()
    assert sub.raw(2) == b"\xaa\xbb"
    assert sub.at_end()
    with pytest.raises(DecodeError):
        sub.u8()
    assert r.u8() == 0xCC
    r.finish()


def test_u16_list_rejects_odd_length() -> None:
    with pytest.raises(DecodeError, match="odd length"):
        Reader(b"\x00\x03\x00\x01\x02").u16_list("suites")


def test_writer_refuses_oversized_vectors() -> None:
    with pytest.raises(ValueError):
        Writer().vec8(bytes(256))
    with pytest.raises(ValueError), Writer().prefixed(1) as w:
        w.raw(bytes(256))


def test_prefixed_block() -> None:
    w = Writer()
    with w.prefixed(2):
        w.u8(7).u8(8)
    assert w.getvalue() == b"\x00\x02\x07\x08"


@given(st.binary(max_size=300))
def test_vectors_round_trip(blob: bytes) -> None:
    data = Writer().vec8(blob[:255]).vec16(blob).vec24(blob).getvalue()
    r = Reader(data)
    assert r.vec8() == blob[:255]
    assert r.vec16() == blob
    assert r.vec24() == blob
    r.finish()


# --- record header ------------------------------------------------------------------------------
def test_record_header_round_trip() -> None:
    header = encode_record_header(ContentType.HANDSHAKE, 0x0301, 0x00C4)
    assert header == bytes.fromhex("16030100c4")
    assert len(header) == RECORD_HEADER_LEN
    assert parse_record_header(header) == (22, 0x0301, 0xC4)


def test_record_header_ignores_fragment_bytes() -> None:
    assert parse_record_header(b"\x17\x03\x03\x00\x02hi") == (23, 0x0303, 2)


@pytest.mark.parametrize("n", range(RECORD_HEADER_LEN))
def test_record_header_truncated(n: int) -> None:
    with pytest.raises(DecodeError):
        parse_record_header(bytes.fromhex("1603030010")[:n])


def test_record_header_length_must_fit() -> None:
    with pytest.raises(ValueError):
        encode_record_header(23, 0x0303, 0x10000)


@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_record_header_property(ct: int, version: int, length: int) -> None:
    assert parse_record_header(encode_record_header(ct, version, length)) == (ct, version, length)


# --- alert --------------------------------------------------------------------------------------
def test_alert_round_trip() -> None:
    alert = Alert(AlertLevel.FATAL, AlertDescription.decode_error)
    assert alert.encode() == b"\x02\x32"
    assert Alert.decode(b"\x02\x32") == alert
    assert Alert.decode(b"\x01\x00") == Alert(1, 0)


@pytest.mark.parametrize("data", [b"", b"\x02", b"\x02\x32\x00"])
def test_alert_must_be_two_bytes(data: bytes) -> None:
    with pytest.raises(DecodeError):
        Alert.decode(data)


@given(st.binary(max_size=4))
def test_alert_fuzz(data: bytes) -> None:
    try:
        alert = Alert.decode(data)
    except ProtocolError:
        return
    assert alert.encode() == data
