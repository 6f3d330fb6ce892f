"""The direct decoders (bodies cut along their length prefixes) against the Reader decoders.

Messages and views that every handshake parses have a direct path for well-formed input and
hand anything else to ``_decode_with_reader``. Whatever the input, ``decode`` must give what
``_decode_with_reader`` gives: an equal object, or the same exception with the same message.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lucidtls.errors import DecodeError, IllegalParameter
from lucidtls.wire import extensions as X
from lucidtls.wire.extensions import decode_extensions, encode_extensions
from lucidtls.wire.messages import (
    Certificate12,
    Certificate13,
    CertificateEntry,
    CertificateRequest13,
    CertificateVerify,
    ClientHello,
    ClientKeyExchangeECDHE,
    ClientKeyExchangeRSA,
    EncryptedExtensions,
    ServerHello,
    ServerKeyExchangeECDHE,
)
from tests.wire.test_extensions import SAMPLES as VIEW_SAMPLES
from tests.wire.test_messages import RFC8448_CLIENT_HELLO, RFC8448_SERVER_HELLO
from tests.wire.test_messages import SAMPLES as MESSAGE_SAMPLES

R32 = bytes(range(32))
EXTS = [(0x0A, b"\x00\x02\x00\x1d"), (0xFAFA, b""), (0x2B, b"\x03\x04")]

BODIES: list[tuple[Any, bytes]] = [
    (type(m), m.encode_body()) for m in MESSAGE_SAMPLES if hasattr(type(m), "_decode_with_reader")
] + [(type(v), v.encode()) for v in VIEW_SAMPLES if hasattr(type(v), "_decode_with_reader")] + [
    (ClientHello, RFC8448_CLIENT_HELLO[4:]),
    (ServerHello, RFC8448_SERVER_HELLO[4:]),
    (ClientHello, ClientHello(R32, b"", [0x1301], [*EXTS, (0x29, b"\x00")]).encode_body()),
    (Certificate13, Certificate13(b"", [CertificateEntry(b"\x30\x00", EXTS),
                                       CertificateEntry(b"\x30\x01x", [])]).encode_body()),
    (Certificate12, Certificate12([b"\x30\x00", b"\x30\x01x"]).encode_body()),
    (CertificateRequest13, CertificateRequest13(b"\x01", EXTS).encode_body()),
    (CertificateVerify, CertificateVerify(0x0804, b"s" * 70).encode_body()),
    (EncryptedExtensions, EncryptedExtensions(EXTS).encode_body()),
    (ServerKeyExchangeECDHE, ServerKeyExchangeECDHE(0x17, b"\x04" * 65, 0x0403,
                                                    b"s" * 70).encode_body()),
    (ClientKeyExchangeECDHE, ClientKeyExchangeECDHE(b"\x04" * 65).encode_body()),
    (ClientKeyExchangeRSA, ClientKeyExchangeRSA(b"e" * 256).encode_body()),
    (X.ServerNameList, X.ServerNameList(["a.example"]).encode()),
    (X.KeyShareClientHello, X.KeyShareClientHello([X.KeyShareEntry(0x1D, b"k" * 32)]).encode()),
    (X.CertificateAuthorities, X.CertificateAuthorities([b"\x30\x00"]).encode()),
]

DIRECT = {cls for cls, _ in BODIES}


def test_every_direct_decoder_is_covered() -> None:
    assert DIRECT >= {ClientHello, ServerHello, EncryptedExtensions, CertificateRequest13,
                      Certificate13, Certificate12, CertificateVerify, ServerKeyExchangeECDHE,
                      ClientKeyExchangeECDHE, ClientKeyExchangeRSA, X.ServerNameList,
                      X.SupportedVersionsClient, X.KeyShareClientHello, X.RenegotiationInfo,
                      X.ECPointFormats, X.CertificateAuthorities}


def _outcome(decode: Any, data: bytes) -> tuple[str, Any]:
    try:
        obj = decode(data)
    except Exception as exc:  # noqa: BLE001 -- the exception itself is the outcome compared
        return type(exc).__name__, str(exc)
    return "ok", (obj, obj.encode_body() if hasattr(obj, "encode_body") else obj.encode())


def _same(cls: Any, data: bytes) -> None:
    assert _outcome(cls.decode, data) == _outcome(cls._decode_with_reader, data), data.hex()


@pytest.mark.parametrize("cls,body", BODIES, ids=lambda x: getattr(x, "__name__", ""))
def test_well_formed_and_every_truncation(cls: Any, body: bytes) -> None:
    assert _outcome(cls.decode, body)[0] == "ok"
    for n in range(len(body) + 1):
        _same(cls, body[:n])
    for extra in (b"\x00", b"\x01\x02"):
        _same(cls, body + extra)


@settings(max_examples=1500, deadline=None)
@given(st.data())
def test_mutated_bodies(data: st.DataObject) -> None:
    cls, body = data.draw(st.sampled_from(BODIES))
    buf = bytearray(body)
    for _ in range(data.draw(st.integers(1, 3))):
        if not buf:
            break
        i = data.draw(st.integers(0, len(buf) - 1))
        if data.draw(st.booleans()):  # a length byte one or two off
            buf[i] = (buf[i] + data.draw(st.sampled_from([-2, -1, 1, 2]))) & 0xFF
        else:
            buf[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    _same(cls, bytes(buf[:cut]) + data.draw(st.binary(max_size=3)))


def _hello(sid: bytes = b"", suites: bytes = b"\x00\x02\x13\x01", compression: bytes = b"\x01\x00",
           exts: bytes = b"\x00\x00") -> bytes:
    return b"\x03\x03" + R32 + bytes((len(sid),)) + sid + suites + compression + exts


def _server_hello(sid: bytes) -> bytes:
    return b"\x03\x03" + R32 + bytes((len(sid),)) + sid + b"\x13\x01\x00\x00\x00"


def _u16(n: int) -> bytes:
    return n.to_bytes(2, "big")


# Bodies whose length prefixes add up but which break one other rule: the direct path must
# refuse them (the Reader names the fault) or accept them exactly as the Reader does.
NEAR_MISSES: list[tuple[Any, bytes]] = [
    (ClientHello, _hello(sid=bytes(33))),
    (ClientHello, _hello(sid=bytes(32))),
    (ClientHello, _hello(suites=b"\x00\x00")),
    (ClientHello, _hello(suites=b"\x00\x03\x13\x01\x13")),
    (ClientHello, _hello(compression=b"\x00")),
    (ClientHello, _hello(exts=b"")),
    (ClientHello, _hello(exts=encode_extensions([(0x29, b""), (0x2B, b"")]))),
    (ClientHello, _hello(exts=encode_extensions([(0x2B, b""), (0x2B, b"")]))),
    (ServerHello, _server_hello(bytes(33))),
    (ServerHello, _server_hello(bytes(32))[:-2]),
    (Certificate13, b"\x00\x00\x00\x05\x00\x00\x00\x00\x00"),
    (Certificate13, b"\x00\x00\x00\x06\x00\x00\x01\x30\x00\x01"),
    (Certificate12, b"\x00\x00\x03\x00\x00\x00"),
    (CertificateVerify, b"\x08\x04\x00\x00"),
    (ServerKeyExchangeECDHE, b"\x01\x00\x17\x01\x04\x04\x03\x00\x00"),
    (ServerKeyExchangeECDHE, b"\x03\x00\x17\x00\x04\x03\x00\x00"),
    (ClientKeyExchangeECDHE, b"\x00"),
    (ClientKeyExchangeRSA, b"\x00\x00"),
    (X.ServerNameList, _u16(4) + b"\x01" + _u16(1) + b"a"),
    (X.ServerNameList, _u16(5) + b"\x00" + _u16(2) + b"a."),
    (X.ServerNameList, _u16(5) + b"\x00" + _u16(2) + "é".encode()),
    (X.ServerNameList, _u16(3) + b"\x00" + _u16(0)),
    (X.ServerNameList, _u16(8) + (b"\x00" + _u16(1) + b"a") * 2),
    (X.SupportedVersionsClient, b"\x03\x03\x04\x03"),
    (X.SupportedVersionsClient, b"\x00"),
    (X.KeyShareClientHello, _u16(10) + (_u16(0x1D) + _u16(1) + b"k") * 2),
    (X.KeyShareClientHello, _u16(4) + _u16(0x1D) + _u16(0)),
    (X.KeyShareClientHello, _u16(0)),
    (X.CertificateAuthorities, _u16(2) + _u16(0)),
    (X.CertificateAuthorities, _u16(4) + _u16(0) + _u16(0)),
    (X.ECPointFormats, b"\x00"),
    (X.RenegotiationInfo, b"\x00"),
]


@pytest.mark.parametrize("cls,body", NEAR_MISSES, ids=lambda x: getattr(x, "__name__", ""))
def test_near_misses(cls: Any, body: bytes) -> None:
    _same(cls, body)


# --- the extension block: the first fault in block order is the one named -------------------
def test_duplicate_before_an_overrun_is_named_first() -> None:
    inner = encode_extensions([(0x2B, b"\x03\x04"), (0x2B, b"\x03\x04")])[2:]
    inner += b"\x00\x0a\x00\x09"  # then supported_groups, its 9 bytes missing
    with pytest.raises(IllegalParameter, match="duplicate extension supported_versions"):
        decode_extensions(len(inner).to_bytes(2, "big") + inner)


def test_overrun_of_a_repeated_type_is_a_decode_error() -> None:
    # the repeat's own data runs past the block: reported as the overrun, as it is read first
    inner = b"\x00\x2b\x00\x00" + b"\x00\x2b\x00\x09"
    with pytest.raises(DecodeError, match="extension_data of supported_versions overruns"):
        decode_extensions(len(inner).to_bytes(2, "big") + inner)


def test_truncated_header_after_a_duplicate() -> None:
    inner = b"\x00\x2b\x00\x00" * 2 + b"\x00"
    with pytest.raises(IllegalParameter, match="duplicate"):
        decode_extensions(len(inner).to_bytes(2, "big") + inner)


# --- a server's key shares, by group ----------------------------------------------------------
def _shares_outcome(decode: Any, data: bytes) -> tuple[str, Any]:
    try:
        shares = decode(data)
    except Exception as exc:  # noqa: BLE001 -- the exception itself is the outcome compared
        return type(exc).__name__, str(exc)
    if isinstance(shares, X.KeyShareClientHello):
        shares = {e.group: e.key_exchange for e in shares.entries}
    return "ok", list(shares.items())


def _same_shares(data: bytes) -> None:
    assert _shares_outcome(X.key_shares_by_group, data) == \
        _shares_outcome(X.KeyShareClientHello._decode_with_reader, data), data.hex()


SHARE_BODIES = [body for cls, body in BODIES + NEAR_MISSES if cls is X.KeyShareClientHello] + [
    X.KeyShareClientHello([X.KeyShareEntry(0x11EC, b"m" * 1216),
                           X.KeyShareEntry(0x1D, b"k" * 32)]).encode(),
    _u16(14) + _u16(0x1D) + _u16(1) + b"a" + _u16(0x17) + _u16(1) + b"b" + _u16(0x1D) + _u16(0),
]


@pytest.mark.parametrize("body", SHARE_BODIES)
def test_key_shares_by_group(body: bytes) -> None:
    for n in range(len(body) + 1):
        _same_shares(body[:n])
    for extra in (b"\x00", b"\x01\x02"):
        _same_shares(body + extra)


@settings(max_examples=1000, deadline=None)
@given(st.data())
def test_key_shares_by_group_mutated(data: st.DataObject) -> None:
    buf = bytearray(data.draw(st.sampled_from(SHARE_BODIES)))
    for _ in range(data.draw(st.integers(1, 3))):
        if not buf:
            break
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    _same_shares(bytes(buf[:data.draw(st.integers(0, len(buf)))]))


# --- a client's view of the server's key share --------------------------------------------------
def _server_share_outcome(decode: Any, data: bytes) -> tuple[str, Any]:
    try:
        share = decode(data)
    except Exception as exc:  # noqa: BLE001 -- the exception itself is the outcome compared
        return type(exc).__name__, str(exc)
    if isinstance(share, X.KeyShareServerHello):
        share = (share.entry.group, share.entry.key_exchange)
    return "ok", share


@pytest.mark.parametrize("body", [
    X.KeyShareServerHello(X.KeyShareEntry(0x1D, b"k" * 32)).encode(),
    X.KeyShareServerHello(X.KeyShareEntry(0x11EC, b"c" * 1120)).encode(),
    X.KeyShareServerHello(X.KeyShareEntry(0x17, b"p")).encode(),
    _u16(0x1D) + _u16(0),
])
def test_key_share_server_hello(body: bytes) -> None:
    for data in [body[:n] for n in range(len(body) + 1)] + [body + b"\x00", body + b"\x01\x02"]:
        assert _server_share_outcome(X.key_share_server_hello, data) == \
            _server_share_outcome(X.KeyShareServerHello._decode_with_reader, data), data.hex()
