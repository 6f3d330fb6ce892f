from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from lucidtls.crypto.aead import (
    AEAD_TAG_LEN,
    Tls12Protection,
    Tls13Protection,
    confidentiality_limit,
)
from lucidtls.crypto.suites import SUITES, Suite
from lucidtls.errors import ConfigError, RecordError
from lucidtls.wire.enums import AlertDescription, ProtocolVersion

TLS13 = [s for s in SUITES.values() if s.version == ProtocolVersion.TLS1_3]
TLS12 = [s for s in SUITES.values() if s.version == ProtocolVersion.TLS1_2]


def _pair13(suite: Suite) -> tuple[Tls13Protection, Tls13Protection]:
    key, iv = os.urandom(suite.key_len), os.urandom(12)
    return Tls13Protection(suite, key, iv), Tls13Protection(suite, key, iv)


def _pair12(suite: Suite) -> tuple[Tls12Protection, Tls12Protection]:
    key, iv = os.urandom(suite.key_len), os.urandom(suite.iv_len)
    return Tls12Protection(suite, key, iv), Tls12Protection(suite, key, iv)


@pytest.mark.parametrize("suite", TLS13, ids=lambda s: s.name)
def test_tls13_round_trip(suite: Suite) -> None:
    sender, receiver = _pair13(suite)
    for i, msg in enumerate([b"hello\x17", b"\x16", os.urandom(2**14) + b"\x17"]):
        record = sender.seal(msg)
        assert record[:3] == b"\x17\x03\x03"
        assert int.from_bytes(record[3:5], "big") == len(msg) + AEAD_TAG_LEN == len(record) - 5
        assert receiver.open(record[:5], record[5:]) == msg
        assert sender.seq == receiver.seq == i + 1


@pytest.mark.parametrize("suite", TLS13, ids=lambda s: s.name)
def test_tls13_tamper_is_bad_record_mac(suite: Suite) -> None:
    key, iv = os.urandom(suite.key_len), os.urandom(12)
    record = Tls13Protection(suite, key, iv).seal(b"secret data\x17")
    for pos in (0, 4, 5, len(record) - 1):  # header (AAD), body, tag
        receiver = Tls13Protection(suite, key, iv)
        bad = bytearray(record)
        bad[pos] ^= 1
        with pytest.raises(RecordError) as info:
            receiver.open(bytes(bad[:5]), bytes(bad[5:]))
        assert info.value.alert == AlertDescription.bad_record_mac
        assert receiver.seq == 0


def test_tls13_short_record_is_bad_record_mac() -> None:
    _, receiver = _pair13(TLS13[0])
    with pytest.raises(RecordError) as info:
        receiver.open(b"\x17\x03\x03\x00\x0f", b"\x00" * 15)
    assert info.value.alert == AlertDescription.bad_record_mac


def test_tls13_nonce_follows_sequence_number() -> None:
    suite = TLS13[0]
    key, iv = os.urandom(16), os.urandom(12)
    p = Tls13Protection(suite, key, iv)
    first, second = p.seal(b"same\x17"), p.seal(b"same\x17")
    assert first != second
    # seq 1: nonce = iv XOR 0...01 (RFC 8446 §5.3)
    nonce1 = iv[:-1] + bytes([iv[-1] ^ 1])
    assert AESGCM(key).decrypt(nonce1, second[5:], second[:5]) == b"same\x17"
    # An out-of-order record fails: the receiver's seq is 0.
    r = Tls13Protection(suite, key, iv)
    with pytest.raises(RecordError):
        r.open(second[:5], second[5:])


def test_tls13_sequence_number_may_not_wrap() -> None:
    p = Tls13Protection(TLS13[0], bytes(16), bytes(12))
    p.seq = 2**64
    with pytest.raises(RecordError):
        p.seal(b"x")


def _one_by_one(receiver: Tls13Protection, stream: bytes) -> list[bytes]:
    """Every record's TLSInnerPlaintext through ``open``, the general path."""
    out, pos = [], 0
    while pos < len(stream):
        end = pos + 5 + int.from_bytes(stream[pos + 3:pos + 5], "big")
        out.append(receiver.open(stream[pos:pos + 5], stream[pos + 5:end]))
        pos = end
    return out


@pytest.mark.parametrize("suite", TLS13, ids=lambda s: s.name)
def test_tls13_open_application_data_agrees_with_open(suite: Suite) -> None:
    # Full-size, short, one-byte and empty contents are covered; the run stops where the
    # general path must take over: a padded record, another content type.
    sender, fast, slow = (Tls13Protection(suite, k, iv) for k, iv in
                          [(os.urandom(suite.key_len), os.urandom(12))] * 3)
    data = os.urandom(2**15 + 7)
    stream = b"".join(sender.seal_application_data(data, 2**14))  # 16384, 16384, 7
    stream += b"".join(sender.seal_application_data(b"z", 2**14))
    stream += sender.seal(b"padded\x17\x00\x00")
    stream += b"".join(sender.seal_application_data(b"after", 2**14))
    stream += sender.seal(b"\x00\x00\x00\x00\x16")  # a handshake record
    stream += sender.seal(b"\x17")  # empty application data (RFC 8446 §5.1 allows it)
    expected = _one_by_one(slow, stream)

    contents: list[bytes] = []
    pos, other = fast.open_application_data(stream, 0, contents)
    assert contents == [data[:2**14], data[2**14:2**15], data[2**15:], b"z"]
    assert other == expected[4] == b"padded\x17\x00\x00"
    contents.clear()
    pos, other = fast.open_application_data(stream, pos, contents)
    assert (contents, other) == ([b"after"], expected[6])
    contents.clear()
    pos, other = fast.open_application_data(stream, pos, contents)
    assert (contents, other, pos) == ([b""], None, len(stream))
    assert expected[-1] == b"\x17"
    assert fast.seq == slow.seq == 8
    assert fast.open_application_data(stream, pos, contents) == (pos, None)


@pytest.mark.parametrize("cut", [1, 4, 5, 6, 2**14 + 21])
def test_tls13_open_application_data_stops_at_an_incomplete_record(cut: int) -> None:
    sender, receiver = _pair13(TLS13[0])
    first = b"".join(sender.seal_application_data(b"one", 2**14))
    second = b"".join(sender.seal_application_data(bytes(2**14), 2**14))
    contents: list[bytes] = []
    stream = first + second[:len(second) - cut]
    assert receiver.open_application_data(stream, 0, contents) == (len(first), None)
    assert contents == [b"one"] and receiver.seq == 1


@pytest.mark.parametrize("header", [
    b"\x17\x03\x03\x00\x10",  # too short for a type byte and a tag: open names it
    b"\x17\x03\x03\x40\x12",  # long enough to hold padding
    b"\x16\x03\x03\x00\x20",  # not application data
    b"\x17\x02\x03\x00\x20",  # not TLS
])
def test_tls13_open_application_data_leaves_other_records_to_the_record_layer(
        header: bytes) -> None:
    _, receiver = _pair13(TLS13[0])
    contents: list[bytes] = []
    stream = header + bytes(int.from_bytes(header[3:], "big"))
    assert receiver.open_application_data(stream, 0, contents) == (0, None)
    assert contents == [] and receiver.seq == 0


def test_tls13_open_application_data_keeps_what_came_before_a_bad_record() -> None:
    sender, receiver = _pair13(TLS13[0])
    good = b"".join(sender.seal_application_data(b"good", 2**14))
    bad = bytearray(b"".join(sender.seal_application_data(b"bad", 2**14)))
    bad[-1] ^= 1
    contents: list[bytes] = []
    with pytest.raises(RecordError) as info:
        receiver.open_application_data(good + bytes(bad), 0, contents)
    assert info.value.alert == AlertDescription.bad_record_mac
    assert contents == [b"good"] and receiver.seq == 1


def test_tls13_open_application_data_near_the_sequence_limit_goes_record_by_record() -> None:
    sender, receiver = _pair13(TLS13[0])
    sender.seq = receiver.seq = 2**64 - 1
    stream = b"".join(sender.seal_application_data(b"last", 2**14))
    contents: list[bytes] = []
    assert receiver.open_application_data(stream, 0, contents) == (0, None)
    assert receiver.open(stream[:5], stream[5:]) == b"last\x17"


def test_bad_key_or_iv_length() -> None:
    with pytest.raises(ConfigError):
        Tls13Protection(TLS13[0], bytes(15), bytes(12))
    with pytest.raises(ConfigError):
        Tls13Protection(TLS13[0], bytes(16), bytes(4))
    gcm12 = SUITES[0xC02F]
    with pytest.raises(ConfigError):
        Tls12Protection(gcm12, bytes(16), bytes(12))


@pytest.mark.parametrize("suite", TLS12, ids=lambda s: s.name)
def test_tls12_round_trip_and_tamper(suite: Suite) -> None:
    sender, receiver = _pair12(suite)
    for i, msg in enumerate([b"", b"GET / HTTP/1.1\r\n\r\n", os.urandom(2**14)]):
        record = sender.seal(23, msg)
        assert record[:3] == b"\x17\x03\x03"
        assert int.from_bytes(record[3:5], "big") == len(record) - 5 == len(msg) + sender.overhead
        assert receiver.open(23, record[5:]) == msg
        assert receiver.seq == i + 1
    record = sender.seal(22, b"finished")
    with pytest.raises(RecordError) as info:
        receiver.open(23, record[5:])  # content type is in the AAD
    assert info.value.alert == AlertDescription.bad_record_mac
    bad = bytearray(record[5:])
    bad[-1] ^= 0x80
    with pytest.raises(RecordError):
        receiver.open(22, bytes(bad))
    assert receiver.open(22, record[5:]) == b"finished"


@pytest.mark.parametrize("suite", TLS12, ids=lambda s: s.name)
def test_tls12_too_short(suite: Suite) -> None:
    _, receiver = _pair12(suite)
    with pytest.raises(RecordError) as info:
        receiver.open(23, b"\x00" * (receiver.overhead - 1))
    assert info.value.alert == AlertDescription.bad_record_mac


def test_tls12_gcm_layout_rfc5288() -> None:
    suite = SUITES[0xC02B]
    key, salt = os.urandom(16), os.urandom(4)
    p = Tls12Protection(suite, key, salt)
    p.seq = 7
    record = p.seal(23, b"data")
    explicit = record[5:13]
    assert explicit == (7).to_bytes(8, "big")
    aad = (7).to_bytes(8, "big") + b"\x17\x03\x03\x00\x04"
    assert AESGCM(key).decrypt(salt + explicit, record[13:], aad) == b"data"
    assert p.overhead == 24


def test_tls12_chacha_layout_rfc7905() -> None:
    suite = SUITES[0xCCA8]
    key, iv = os.urandom(32), os.urandom(12)
    p = Tls12Protection(suite, key, iv)
    p.seq = 3
    record = p.seal(21, b"\x01\x00")
    nonce = (int.from_bytes(iv, "big") ^ 3).to_bytes(12, "big")
    aad = (3).to_bytes(8, "big") + b"\x15\x03\x03\x00\x02"
    assert ChaCha20Poly1305(key).decrypt(nonce, record[5:], aad) == b"\x01\x00"
    assert p.overhead == 16 and len(record) == 5 + 2 + 16


def test_tls12_gcm_open_uses_the_peers_explicit_nonce() -> None:
    suite = SUITES[0xC030]
    key, salt = os.urandom(32), os.urandom(4)
    explicit = os.urandom(8)
    aad = bytes(8) + b"\x17\x03\x03\x00\x03"
    body = explicit + AESGCM(key).encrypt(salt + explicit, b"abc", aad)
    assert Tls12Protection(suite, key, salt).open(23, body) == b"abc"


def test_confidentiality_limits() -> None:
    assert confidentiality_limit(SUITES[0x1301]) == 23_726_566
    assert confidentiality_limit(SUITES[0x1303]) > 2**60
