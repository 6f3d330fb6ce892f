"""HandshakeReader: handshake messages reassembled from record payloads however the records
cut them (RFC 8446 §5.1: messages may be coalesced into one record or span several)."""

from __future__ import annotations

import pytest

from lucidtls.errors import DecodeError
from lucidtls.record import HandshakeReader


def _msg(msg_type: int, body: bytes) -> bytes:
    return bytes((msg_type,)) + len(body).to_bytes(3, "big") + body


MESSAGES = [_msg(2, b"a" * 40), _msg(8, b""), _msg(11, bytes(range(256)) * 3), _msg(20, b"f" * 48)]
STREAM = b"".join(MESSAGES)


def _drain(reader: HandshakeReader) -> list[bytes]:
    out = []
    while (item := reader.pop()) is not None:
        msg_type, body, raw = item
        assert raw[0] == msg_type and raw[4:] == body
        out.append(raw)
    return out


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 40, 45, 300, len(STREAM)])
def test_any_cut_gives_the_same_messages(size: int) -> None:
    reader = HandshakeReader()
    got: list[bytes] = []
    for i in range(0, len(STREAM), size):
        reader.feed(STREAM[i:i + size])
        got += _drain(reader)
    assert got == MESSAGES
    assert reader.empty and not reader.partial


def test_partial_message_is_kept_until_complete() -> None:
    reader = HandshakeReader()
    reader.feed(MESSAGES[0] + MESSAGES[2][:10])
    assert _drain(reader) == [MESSAGES[0]]
    assert reader.partial and not reader.empty
    reader.feed(bytearray(MESSAGES[2][10:]))  # a mutable fragment is copied, not kept
    assert _drain(reader) == [MESSAGES[2]]
    assert reader.empty


def test_oversized_message_is_a_decode_error() -> None:
    reader = HandshakeReader(max_message=100)
    with pytest.raises(DecodeError, match="exceeds the limit 100"):
        reader.feed(_msg(11, b"x" * 101)[:10])


@pytest.mark.parametrize("message", MESSAGES)
def test_a_record_of_one_whole_message(message: bytes) -> None:
    # The usual record takes a shortcut past the loop: the same message, not copied.
    reader = HandshakeReader()
    reader.feed(message)
    raw = reader.ready[0][2]
    assert _drain(reader) == [message] and raw is message and reader.empty


def test_one_whole_message_over_the_limit_is_a_decode_error() -> None:
    reader = HandshakeReader(max_message=100)
    reader.feed(_msg(11, b"x" * 100))
    assert len(_drain(reader)) == 1
    with pytest.raises(DecodeError, match="handshake message of 101 bytes exceeds the limit 100"):
        reader.feed(_msg(11, b"x" * 101))
