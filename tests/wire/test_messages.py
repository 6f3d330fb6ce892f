"""Handshake messages: exact round-trips, strictness, RFC rules, real bytes (RFC 8448)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lucidtls.errors import DecodeError, IllegalParameter, ProtocolError
from lucidtls.wire import extensions as X
from lucidtls.wire.enums import CipherSuite, ExtensionType, HandshakeType, NamedGroup
from lucidtls.wire.extensions import encode_extensions
from lucidtls.wire.messages import (
    ALL_MESSAGES,
    DOWNGRADE_TLS11,
    DOWNGRADE_TLS12,
    HRR_RANDOM,
    Certificate12,
    Certificate13,
    CertificateEntry,
    CertificateRequest12,
    CertificateRequest13,
    CertificateVerify,
    ClientHello,
    ClientKeyExchangeECDHE,
    ClientKeyExchangeRSA,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HelloRequest,
    KeyUpdate,
    MessageHash,
    NewSessionTicket12,
    NewSessionTicket13,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchangeECDHE,
    frame_handshake,
    parse_handshake_header,
)

# RFC 8448 §3 (Simple 1-RTT Handshake): the ClientHello and ServerHello handshake messages.
RFC8448_CLIENT_HELLO = bytes.fromhex("""
    01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec
    18 a2 ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00
    00 06 73 65 72 76 65 72 ff 01 00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00
    01 01 01 02 01 03 01 04 00 23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd
    43 d2 3d 8e 43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00 03
    02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01 05 01 06 01
    02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01
""")
RFC8448_SERVER_HELLO = bytes.fromhex("""
    02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14 34
    da c1 55 77 2e d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20
    95 fe 66 76 2b db f7 c6 72 e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00
    02 03 04
""")

R32 = bytes(range(32))
EXTS: list[tuple[int, bytes]] = [(0x0A, b"\x00\x02\x00\x1d"), (0xFAFA, b""), (0x2B, b"\x03\x04")]

# One valid instance of every message (some classes twice, to cover their variants).
SAMPLES: list[Any] = [
    ClientHello(R32, b"\x11" * 32, [0x1301, 0x1302], EXTS),
    ClientHello(R32, b"", [0x002F], [], legacy_compression_methods=b"\x01\x00",
                extensions_absent=True),
    ClientHello(R32, b"", [0x1301], []),
    ServerHello(R32, b"\x22" * 32, 0x1301, [(0x2B, b"\x03\x04")]),
    ServerHello(HRR_RANDOM, b"", 0x1302, [(0x33, b"\x00\x17")]),
    ServerHello(R32, b"", 0xC02F, [], extensions_absent=True),
    EncryptedExtensions([]),
    EncryptedExtensions(EXTS),
    CertificateRequest13(b"", [(0x0D, b"\x00\x02\x08\x04")]),
    CertificateRequest13(b"ctx", []),
    Certificate13(b"", [CertificateEntry(b"\x30\x03abc", [(5, b"ocsp")]),
                        CertificateEntry(b"\x30\x01x")]),
    Certificate13(b"ctx", []),
    Certificate12([b"\x30\x02ab", b"\x30\x00"]),
    Certificate12([]),
    CertificateVerify(0x0804, b"sig" * 30),
    CertificateVerify(0x0403, b""),
    Finished(b"\xaa" * 32),
    Finished(b""),
    NewSessionTicket13(7200, 0xDEADBEEF, b"\x00", b"ticket", [(0x2A, b"\x00\x00\x40\x00")]),
    NewSessionTicket12(300, b"opaque-ticket"),
    NewSessionTicket12(0, b""),
    KeyUpdate(0),
    KeyUpdate(1),
    EndOfEarlyData(),
    HelloRequest(),
    ServerHelloDone(),
    ServerKeyExchangeECDHE(0x001D, b"\x04" * 32, 0x0804, b"s" * 64),
    CertificateRequest12(b"\x01\x40", [0x0401, 0x0403], [b"\x30\x00", b"\x30\x02\x31\x00"]),
    CertificateRequest12(b"\x01", [0x0804], []),
    ClientKeyExchangeECDHE(b"\x04" + b"\x01" * 64),
    ClientKeyExchangeRSA(b"\x99" * 256),
    MessageHash(b"\x55" * 32),
]

# Messages whose body is free-form (any bytes decode).
FREE_FORM = (Finished, MessageHash)


def _id(m: Any) -> str:
    return type(m).__name__


def _ext_block_start(msg: Any) -> int | None:
    """Offset where the (optional) extension block of a hello begins."""
    if isinstance(msg, ClientHello | ServerHello):
        body = msg.encode_body()
        tail = b"" if (msg.extensions_absent and not msg.extensions) else encode_extensions(
            msg.extensions)
        return len(body) - len(tail)
    return None


def test_every_class_has_a_sample() -> None:
    assert {type(m) for m in SAMPLES} == set(ALL_MESSAGES)


@pytest.mark.parametrize("msg", SAMPLES, ids=_id)
def test_round_trip(msg: Any) -> None:
    body = msg.encode_body()
    decoded = type(msg).decode(body)
    assert decoded == msg
    assert decoded.encode_body() == body
    assert msg.to_bytes() == frame_handshake(msg.msg_type, body)
    assert parse_handshake_header(msg.to_bytes()) == (msg.msg_type, len(body))


@pytest.mark.parametrize("msg", [m for m in SAMPLES if not isinstance(m, FREE_FORM)], ids=_id)
def test_truncation_at_every_offset(msg: Any) -> None:
    body = msg.encode_body()
    optional_ext_start = _ext_block_start(msg)
    for n in range(len(body)):
        if n == optional_ext_start:
            # Without its extension block a hello is still well-formed (RFC 5246 §7.4.1.2).
            assert type(msg).decode(body[:n]).extensions == []
            continue
        with pytest.raises(DecodeError):
            type(msg).decode(body[:n])


@pytest.mark.parametrize("msg", [m for m in SAMPLES if not isinstance(m, FREE_FORM)], ids=_id)
# (not b"\x00\x00": after a hello without extensions, that is a valid empty extension block)
@pytest.mark.parametrize("extra", [b"\x00", b"\x01", b"\x00\x00\x00"])
def test_trailing_bytes(msg: Any, extra: bytes) -> None:
    with pytest.raises(DecodeError):
        type(msg).decode(msg.encode_body() + extra)


def _dup(exts: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    return [*exts, (0x0A, b"\x00\x02\x00\x17")] if exts else [(1, b""), (1, b"")]


@pytest.mark.parametrize("msg", [
    ClientHello(R32, b"", [0x1301], EXTS),
    ServerHello(R32, b"", 0x1301, [(0x0A, b"")]),
    EncryptedExtensions(EXTS),
    CertificateRequest13(b"", EXTS),
    Certificate13(b"", [CertificateEntry(b"\x30\x00", EXTS)]),
    NewSessionTicket13(1, 2, b"", b"t", EXTS),
], ids=_id)
def test_duplicate_extension_is_illegal(msg: Any) -> None:
    if isinstance(msg, Certificate13):
        msg.certificate_list[0].extensions = _dup(msg.certificate_list[0].extensions)
    else:
        msg.extensions = _dup(msg.extensions)
    with pytest.raises(IllegalParameter, match="duplicate"):
        type(msg).decode(msg.encode_body())


# --- RFC 8448 -----------------------------------------------------------------------------------
def test_rfc8448_client_hello() -> None:
    msg_type, length = parse_handshake_header(RFC8448_CLIENT_HELLO)
    assert msg_type == HandshakeType.CLIENT_HELLO
    assert length == len(RFC8448_CLIENT_HELLO) - 4 == 0xC0
    ch = ClientHello.decode(RFC8448_CLIENT_HELLO[4:])
    assert ch.to_bytes() == RFC8448_CLIENT_HELLO
    assert ch.legacy_version == 0x0303
    assert ch.random.hex().startswith("cb34ecb1")
    assert ch.legacy_session_id == b""
    assert ch.cipher_suites == [CipherSuite.TLS_AES_128_GCM_SHA256,
                                CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
                                CipherSuite.TLS_AES_256_GCM_SHA384]
    assert ch.legacy_compression_methods == b"\x00"
    assert ch.ext_types() == [0, 0xFF01, 10, 35, 51, 43, 13, 45, 28]
    assert ch.view(X.ServerNameList) == X.ServerNameList(["server"])
    versions = ch.view(X.SupportedVersionsClient)
    assert versions is not None and versions.versions == [0x0304]
    shares = ch.view(X.KeyShareClientHello)
    assert shares is not None and [e.group for e in shares.entries] == [NamedGroup.x25519]
    assert shares.entries[0].key_exchange.hex() == (
        "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c")
    groups = ch.view(X.SupportedGroups)
    assert groups is not None and groups.groups[:4] == [0x1D, 0x17, 0x18, 0x19]
    assert ch.view(X.RecordSizeLimit) == X.RecordSizeLimit(0x4001)
    assert ch.view(X.PskKeyExchangeModes) == X.PskKeyExchangeModes([1])
    assert ch.view(X.RenegotiationInfo) == X.RenegotiationInfo(b"")
    assert ch.ext(ExtensionType.session_ticket) == b""
    assert ch.ext(ExtensionType.cookie) is None
    assert ch.has_ext(ExtensionType.key_share) and not ch.has_ext(ExtensionType.cookie)
    assert ch.view(X.Cookie) is None
    # every typed view re-encodes to the raw bytes it came from
    views: list[tuple[type[X.ExtensionView], bytes | None]] = [
        (X.ServerNameList, ch.ext(0)), (X.SupportedGroups, ch.ext(10)),
        (X.KeyShareClientHello, ch.ext(51)), (X.SupportedVersionsClient, ch.ext(43)),
        (X.SignatureAlgorithms, ch.ext(13))]
    for view_cls, raw in views:
        assert raw is not None
        assert view_cls.decode(raw).encode() == raw


def test_rfc8448_server_hello() -> None:
    assert parse_handshake_header(RFC8448_SERVER_HELLO) == (HandshakeType.SERVER_HELLO, 0x56)
    sh = ServerHello.decode(RFC8448_SERVER_HELLO[4:])
    assert sh.to_bytes() == RFC8448_SERVER_HELLO
    assert not sh.is_hello_retry_request
    assert sh.cipher_suite == CipherSuite.TLS_AES_128_GCM_SHA256
    assert sh.legacy_session_id_echo == b""
    assert sh.view(X.SupportedVersionsServer) == X.SupportedVersionsServer(0x0304)
    share = sh.view(X.KeyShareServerHello)
    assert share is not None and share.entry.group == NamedGroup.x25519
    assert share.entry.key_exchange.hex().startswith("c9828876")


# --- rules --------------------------------------------------------------------------------------
def test_constants() -> None:
    assert HRR_RANDOM == hashlib.sha256(b"HelloRetryRequest").digest()
    assert DOWNGRADE_TLS12 == bytes.fromhex("444f574e47524401")
    assert DOWNGRADE_TLS11 == bytes.fromhex("444f574e47524400")


def test_hello_retry_request_detection() -> None:
    hrr = ServerHello.decode(ServerHello(HRR_RANDOM, b"", 0x1301, []).encode_body())
    assert hrr.is_hello_retry_request


def _ch_body(**over: Any) -> bytes:
    parts = {"version": b"\x03\x03", "random": R32, "sid": b"\x00",
             "suites": b"\x00\x02\x13\x01", "comp": b"\x01\x00", "exts": b"\x00\x00"}
    parts.update(over)
    return b"".join(parts.values())


@pytest.mark.parametrize("over,match", [
    ({"random": R32[:31]}, "random|truncated"),
    ({"sid": b"\x21" + bytes(33)}, "legacy_session_id"),
    ({"suites": b"\x00\x00"}, "cipher_suites"),
    ({"suites": b"\x00\x03\x13\x01\x13"}, "cipher_suites"),
    ({"comp": b"\x00"}, "compression"),
    ({"exts": b"\x00"}, "extensions"),
    ({"exts": b"\x00\x05\x00\x0a\x00\x02\x00"}, "extension"),
])
def test_client_hello_malformed(over: dict[str, bytes], match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        ClientHello.decode(_ch_body(**over))


def test_client_hello_without_extension_block() -> None:
    body = _ch_body(exts=b"")
    ch = ClientHello.decode(body)
    assert ch.extensions == [] and ch.extensions_absent
    assert ch.encode_body() == body
    empty_block = ClientHello.decode(_ch_body())
    assert not empty_block.extensions_absent
    assert empty_block.encode_body() == _ch_body()
    assert ch == empty_block  # the same meaning: no extensions


def test_pre_shared_key_must_be_last() -> None:
    psk = (ExtensionType.pre_shared_key, b"\x00")
    ok = ClientHello(R32, b"", [0x1301], [(43, b"\x02\x03\x04"), psk])
    assert ClientHello.decode(ok.encode_body()) == ok
    bad = ClientHello(R32, b"", [0x1301], [psk, (43, b"\x02\x03\x04")])
    with pytest.raises(IllegalParameter, match="pre_shared_key"):
        ClientHello.decode(bad.encode_body())


def test_server_hello_session_id_too_long() -> None:
    body = b"\x03\x03" + R32 + b"\x21" + bytes(33) + b"\x13\x01\x00"
    with pytest.raises(DecodeError, match="legacy_session_id_echo"):
        ServerHello.decode(body)


@pytest.mark.parametrize("value", [2, 0x80, 0xFF])
def test_key_update_value(value: int) -> None:
    with pytest.raises(IllegalParameter, match="request_update"):
        KeyUpdate.decode(bytes((value,)))


@pytest.mark.parametrize("cls", [EndOfEarlyData, HelloRequest, ServerHelloDone])
def test_empty_messages_reject_content(cls: Any) -> None:
    assert cls.decode(b"").encode_body() == b""
    with pytest.raises(DecodeError, match="empty body"):
        cls.decode(b"\x00")


def test_certificate_entries_must_not_be_empty() -> None:
    with pytest.raises(DecodeError, match="cert_data"):
        Certificate13.decode(b"\x00" + b"\x00\x00\x05" + b"\x00\x00\x00" + b"\x00\x00")
    with pytest.raises(DecodeError, match="ASN.1Cert"):
        Certificate12.decode(b"\x00\x00\x03\x00\x00\x00")


def test_certificate_entry_extensions() -> None:
    entry = CertificateEntry(b"\x30\x00", [(5, b"ocsp")])
    assert entry.ext(5) == b"ocsp" and entry.has_ext(5) and entry.ext(18) is None


def test_server_key_exchange_params() -> None:
    ske = ServerKeyExchangeECDHE(0x0017, b"\x04" + b"\x07" * 64, 0x0403, b"sig")
    params = ske.params_bytes()
    assert params == b"\x03\x00\x17\x41" + b"\x04" + b"\x07" * 64
    assert ske.encode_body() == params + b"\x04\x03\x00\x03sig"


@pytest.mark.parametrize("curve_type", [1, 2, 0, 255])
def test_server_key_exchange_only_named_curves(curve_type: int) -> None:
    body = bytes((curve_type,)) + b"\x00\x17\x01\x04\x04\x03\x00\x00"
    with pytest.raises(IllegalParameter, match="named_curve"):
        ServerKeyExchangeECDHE.decode(body)


def test_server_key_exchange_empty_point() -> None:
    with pytest.raises(DecodeError, match="public"):
        ServerKeyExchangeECDHE.decode(b"\x03\x00\x17\x00\x04\x03\x00\x00")


def test_client_key_exchange_ecdhe_non_empty() -> None:
    with pytest.raises(DecodeError):
        ClientKeyExchangeECDHE.decode(b"\x00")


def test_certificate_request12_needs_types_and_algorithms() -> None:
    with pytest.raises(DecodeError, match="certificate_types"):
        CertificateRequest12.decode(b"\x00\x00\x02\x04\x01\x00\x00")
    with pytest.raises(DecodeError, match="supported_signature_algorithms"):
        CertificateRequest12.decode(b"\x01\x01\x00\x00\x00\x00")
    with pytest.raises(DecodeError, match="DistinguishedName"):
        CertificateRequest12.decode(b"\x01\x01\x00\x02\x04\x01\x00\x02\x00\x00")


def test_new_session_ticket13_ticket_non_empty() -> None:
    body = NewSessionTicket13(1, 2, b"n", b"t", []).encode_body().replace(b"\x00\x01t", b"\x00\x00")
    with pytest.raises(DecodeError, match="ticket"):
        NewSessionTicket13.decode(body)


def test_finished_and_message_hash_take_any_body() -> None:
    assert Finished.decode(b"\x01" * 12).verify_data == b"\x01" * 12
    assert MessageHash(b"h" * 48).to_bytes() == b"\xfe\x00\x00\x30" + b"h" * 48


def test_handshake_header_truncated() -> None:
    with pytest.raises(DecodeError):
        parse_handshake_header(b"\x01\x00\x00")
    with pytest.raises(ValueError):
        frame_handshake(1, bytes(1 << 24))


# --- fuzzing ------------------------------------------------------------------------------------
def _check_decode(cls: Any, data: bytes) -> None:
    try:
        msg = cls.decode(data)
    except ProtocolError as exc:
        assert isinstance(exc, DecodeError | IllegalParameter)
        return
    assert msg.encode_body() == data  # whatever decodes re-encodes byte for byte


@pytest.mark.parametrize("cls", ALL_MESSAGES, ids=lambda c: c.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=200))
def test_fuzz_random_bytes(cls: Any, data: bytes) -> None:
    _check_decode(cls, data)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzz_mutated_samples(data: st.DataObject) -> None:
    msg = data.draw(st.sampled_from(SAMPLES + [ClientHello.decode(RFC8448_CLIENT_HELLO[4:])]))
    body = bytearray(msg.encode_body())
    for _ in range(data.draw(st.integers(1, 4))):
        if not body:
            break
        i = data.draw(st.integers(0, len(body) - 1))
        body[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(body)))
    _check_decode(type(msg), bytes(body[:cut]))


# --- generated round-trips ----------------------------------------------------------------------
u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
raw_exts = st.lists(
    st.tuples(u16.filter(lambda t: t != ExtensionType.pre_shared_key), st.binary(max_size=16)),
    max_size=5, unique_by=lambda e: e[0])
opaque = st.binary(max_size=40)
nonempty = st.binary(min_size=1, max_size=40)

MESSAGE_STRATEGIES: list[st.SearchStrategy[Any]] = [
    st.builds(ClientHello, st.binary(min_size=32, max_size=32), st.binary(max_size=32),
              st.lists(u16, min_size=1, max_size=8), raw_exts, u16, nonempty),
    st.builds(ServerHello, st.binary(min_size=32, max_size=32), st.binary(max_size=32), u16,
              raw_exts, u16, u8),
    st.builds(EncryptedExtensions, raw_exts),
    st.builds(CertificateRequest13, st.binary(max_size=255), raw_exts),
    st.builds(Certificate13, st.binary(max_size=255),
              st.lists(st.builds(CertificateEntry, nonempty, raw_exts), max_size=3)),
    st.builds(Certificate12, st.lists(nonempty, max_size=3)),
    st.builds(CertificateVerify, u16, opaque),
    st.builds(Finished, opaque),
    st.builds(NewSessionTicket13, u32, u32, st.binary(max_size=255), nonempty, raw_exts),
    st.builds(NewSessionTicket12, u32, opaque),
    st.builds(KeyUpdate, st.integers(0, 1)),
    st.builds(ServerKeyExchangeECDHE, u16, nonempty, u16, opaque),
    st.builds(CertificateRequest12, nonempty, st.lists(u16, min_size=1, max_size=5),
              st.lists(nonempty, max_size=3)),
    st.builds(ClientKeyExchangeECDHE, nonempty),
    st.builds(ClientKeyExchangeRSA, opaque),
    st.builds(MessageHash, opaque),
]


@settings(max_examples=300, deadline=None)
@given(st.one_of(MESSAGE_STRATEGIES))
def test_generated_round_trip(msg: Any) -> None:
    body = msg.encode_body()
    decoded = type(msg).decode(body)
    assert decoded == msg
    assert decoded.encode_body() == body
