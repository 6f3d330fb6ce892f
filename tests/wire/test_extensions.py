"""Extension blocks and typed extension views: round-trips, strictness, RFC rules, fuzzing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lucidtls.errors import DecodeError, IllegalParameter, ProtocolError
from lucidtls.handshake.common import forget_peers
from lucidtls.wire.codec import Reader
from lucidtls.wire.enums import ExtensionType
from lucidtls.wire.extensions import (
    ALL_VIEWS,
    ALPN,
    MAX_CACHED_BLOCK,
    CertificateAuthorities,
    Cookie,
    EarlyDataIndication,
    EarlyDataMaxSize,
    ECPointFormats,
    ExtendedMasterSecret,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    Padding,
    PostHandshakeAuth,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    PskIdentity,
    PskKeyExchangeModes,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerNameAck,
    ServerNameList,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
    SupportedGroups,
    SupportedVersionsClient,
    SupportedVersionsServer,
    _split_cached,
    decode_extensions,
    encode_extensions,
    read_extensions,
    split_extensions,
    split_hello_extensions,
)

X25519_PUB = bytes(range(32))

SAMPLES: list[Any] = [
    ServerNameList(["example.com"]),
    ServerNameAck(),
    SupportedVersionsClient([0x0304, 0x0303]),
    SupportedVersionsServer(0x0304),
    SupportedGroups([0x001D, 0x0017, 0x11EC]),
    SignatureAlgorithms([0x0804, 0x0403, 0x0807]),
    SignatureAlgorithmsCert([0x0401]),
    KeyShareClientHello([KeyShareEntry(0x001D, X25519_PUB), KeyShareEntry(0x0017, b"\x04" * 65)]),
    KeyShareClientHello([]),
    KeyShareServerHello(KeyShareEntry(0x001D, X25519_PUB)),
    KeyShareHelloRetryRequest(0x0017),
    ALPN([b"h2", b"http/1.1"]),
    Cookie(b"\x01" * 40),
    PskKeyExchangeModes([1, 0]),
    PreSharedKeyClientHello([PskIdentity(b"ticket", 0x01020304)], [b"\xbb" * 32]),
    PreSharedKeyClientHello([PskIdentity(b"a", 1), PskIdentity(b"bb", 2)],
                            [b"\x01" * 32, b"\x02" * 48]),
    PreSharedKeyServerHello(0),
    PostHandshakeAuth(),
    ExtendedMasterSecret(),
    EarlyDataIndication(),
    EarlyDataMaxSize(16384),
    RenegotiationInfo(b""),
    RenegotiationInfo(b"\x12" * 24),
    ECPointFormats([0]),
    CertificateAuthorities([b"\x30\x03\x31\x01\x00", b"\x30\x00"]),
    Padding(0),
    Padding(17),
    RecordSizeLimit(64),
    RecordSizeLimit(0x4001),
]

# Views that accept more than one length of data, so a prefix of valid data may be valid too.
PREFIX_OK = (Padding,)


def _id(v: Any) -> str:
    return type(v).__name__


def test_every_view_has_a_sample() -> None:
    assert {type(v) for v in SAMPLES} == set(ALL_VIEWS)


@pytest.mark.parametrize("view", SAMPLES, ids=_id)
def test_round_trip(view: Any) -> None:
    data = view.encode()
    decoded = type(view).decode(data)
    assert decoded == view
    assert decoded.encode() == data
    assert isinstance(type(view).ext_type, ExtensionType)


@pytest.mark.parametrize("view", [v for v in SAMPLES if not isinstance(v, PREFIX_OK)], ids=_id)
def test_truncation_at_every_offset(view: Any) -> None:
    data = view.encode()
    for n in range(len(data)):
        with pytest.raises(DecodeError):
            type(view).decode(data[:n])


@pytest.mark.parametrize("view", SAMPLES, ids=_id)
@pytest.mark.parametrize("extra", [b"\x01", b"\x01\x00"])
def test_trailing_bytes(view: Any, extra: bytes) -> None:
    with pytest.raises(DecodeError):
        type(view).decode(view.encode() + extra)


def test_views_sharing_a_code_point() -> None:
    assert ServerNameList.ext_type == ServerNameAck.ext_type == ExtensionType.server_name
    assert (KeyShareClientHello.ext_type == KeyShareServerHello.ext_type
            == KeyShareHelloRetryRequest.ext_type == ExtensionType.key_share)
    assert SignatureAlgorithmsCert.ext_type == ExtensionType.signature_algorithms_cert
    assert SignatureAlgorithms.ext_type == ExtensionType.signature_algorithms
    assert SignatureAlgorithms([0x0804]) != SignatureAlgorithmsCert([0x0804])


# --- the extension block ------------------------------------------------------------------------
def test_extension_block_round_trip_keeps_order_and_unknowns() -> None:
    exts = [(0xFAFA, b""), (0x2B, b"\x02\x03\x04"), (0x1234, b"unknown"), (0, b"")]
    block = encode_extensions(exts)
    assert block[:2] == (len(block) - 2).to_bytes(2, "big")
    assert decode_extensions(block) == exts
    assert encode_extensions(decode_extensions(block)) == block


def test_extension_block_duplicate() -> None:
    block = encode_extensions([(0x2B, b"\x03\x04"), (0x0A, b""), (0x2B, b"\x03\x04")])
    with pytest.raises(IllegalParameter, match="duplicate extension supported_versions"):
        decode_extensions(block)


def test_extension_block_strict() -> None:
    block = encode_extensions([(0x2B, b"\x03\x04")])
    for n in range(len(block)):
        with pytest.raises(DecodeError):
            decode_extensions(block[:n])
    with pytest.raises(DecodeError):
        decode_extensions(block + b"\x00")
    # an extension_data length running past the block
    with pytest.raises(DecodeError, match="extension_data"):
        decode_extensions(b"\x00\x05\x00\x2b\x00\x03\x03")


def test_read_extensions_leaves_the_rest() -> None:
    r = Reader(encode_extensions([(1, b"x")]) + b"\xff")
    assert read_extensions(r) == [(1, b"x")]
    assert r.u8() == 0xFF


# --- server_name --------------------------------------------------------------------------------
def _sni(*names: bytes, name_type: int = 0) -> bytes:
    entries = b"".join(bytes((name_type,)) + len(n).to_bytes(2, "big") + n for n in names)
    return len(entries).to_bytes(2, "big") + entries


def test_server_name_bytes() -> None:
    assert ServerNameList(["server"]).encode() == bytes.fromhex("0009000006736572766572")
    assert ServerNameList.decode(_sni(b"a.example")).host_names == ["a.example"]


@pytest.mark.parametrize("data,exc,match", [
    (b"\x00\x00", DecodeError, "server_name_list"),
    (_sni(b""), DecodeError, "host_name"),
    (_sni("bücher.de".encode()), DecodeError, "ASCII"),
    (_sni(b"example.com."), DecodeError, "trailing dot"),
    (_sni(b"a.example", b"b.example"), IllegalParameter, "more than one"),
    (_sni(b"x", name_type=1), DecodeError, "name_type"),
])
def test_server_name_rules(data: bytes, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        ServerNameList.decode(data)


@pytest.mark.parametrize("cls", [ServerNameAck, PostHandshakeAuth, ExtendedMasterSecret,
                                 EarlyDataIndication])
def test_empty_extensions_reject_content(cls: Any) -> None:
    assert cls.decode(b"") == cls()
    with pytest.raises(DecodeError, match="must be empty"):
        cls.decode(b"\x00")


# --- versions, groups, schemes ------------------------------------------------------------------
@pytest.mark.parametrize("data", [b"\x00", b"\x01\x03", b"\x03\x03\x04\x03", b"\x00\x03"])
def test_supported_versions_client_malformed(data: bytes) -> None:
    with pytest.raises(DecodeError):
        SupportedVersionsClient.decode(data)


def test_supported_versions_bytes() -> None:
    assert SupportedVersionsClient([0x0304]).encode() == b"\x02\x03\x04"
    assert SupportedVersionsServer(0x0304).encode() == b"\x03\x04"


@pytest.mark.parametrize("cls", [SupportedGroups, SignatureAlgorithms, SignatureAlgorithmsCert])
@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00", b"\x00\x01\x00",
                                  b"\x00\x03\x00\x1d\x00", b"\x00\x02\x00\x1d\x00",
                                  b"\x00\x04\x00\x1d"])
def test_u16_lists_malformed(cls: Any, data: bytes) -> None:
    with pytest.raises(DecodeError):
        cls.decode(data)


# --- key_share ----------------------------------------------------------------------------------
def test_key_share_duplicate_group() -> None:
    data = KeyShareClientHello([KeyShareEntry(0x1D, b"a"), KeyShareEntry(0x17, b"b"),
                                KeyShareEntry(0x1D, b"c")]).encode()
    with pytest.raises(IllegalParameter, match="two shares"):
        KeyShareClientHello.decode(data)


def test_key_share_empty_key_exchange() -> None:
    with pytest.raises(DecodeError, match="key_exchange"):
        KeyShareClientHello.decode(b"\x00\x04\x00\x1d\x00\x00")
    with pytest.raises(DecodeError, match="key_exchange"):
        KeyShareServerHello.decode(b"\x00\x1d\x00\x00")


def test_key_share_bytes() -> None:
    data = KeyShareServerHello(KeyShareEntry(0x1D, b"\xaa\xbb")).encode()
    assert data == b"\x00\x1d\x00\x02\xaa\xbb"
    assert KeyShareHelloRetryRequest(0x17).encode() == b"\x00\x17"


# --- ALPN, cookie, modes, misc ------------------------------------------------------------------
@pytest.mark.parametrize("data,match", [
    (b"\x00\x00", "protocol_name_list"),
    (b"\x00\x01\x00", "protocol_name_list"),
    (b"\x00\x03\x03h2", "protocol name"),
    (b"\x00\x04\x02h2\x00", "protocol name"),
])
def test_alpn_malformed(data: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        ALPN.decode(data)


def test_alpn_bytes() -> None:
    assert ALPN([b"h2", b"http/1.1"]).encode() == b"\x00\x0c\x02h2\x08http/1.1"


def test_cookie_non_empty() -> None:
    with pytest.raises(DecodeError, match="cookie"):
        Cookie.decode(b"\x00\x00")


def test_psk_modes_non_empty() -> None:
    with pytest.raises(DecodeError):
        PskKeyExchangeModes.decode(b"\x00")


def test_ec_point_formats_non_empty() -> None:
    with pytest.raises(DecodeError):
        ECPointFormats.decode(b"\x00")


def test_certificate_authorities_rules() -> None:
    with pytest.raises(DecodeError, match="certificate_authorities"):
        CertificateAuthorities.decode(b"\x00\x00")
    with pytest.raises(DecodeError, match="DistinguishedName"):
        CertificateAuthorities.decode(b"\x00\x04\x00\x00\x00\x00")


def test_padding_must_be_zero() -> None:
    assert Padding(3).encode() == b"\x00\x00\x00"
    with pytest.raises(DecodeError, match="zero"):
        Padding.decode(b"\x00\x01\x00")


@pytest.mark.parametrize("limit", [0, 1, 63])
def test_record_size_limit_minimum(limit: int) -> None:
    with pytest.raises(IllegalParameter, match="below the minimum"):
        RecordSizeLimit.decode(limit.to_bytes(2, "big"))


def test_early_data_forms() -> None:
    assert EarlyDataMaxSize(0x4000).encode() == b"\x00\x00\x40\x00"
    assert EarlyDataIndication().encode() == b""


# --- pre_shared_key -----------------------------------------------------------------------------
def test_pre_shared_key_layout() -> None:
    psk = PreSharedKeyClientHello([PskIdentity(b"id", 7)], [b"\xbb" * 32])
    data = psk.encode()
    assert data == b"\x00\x08\x00\x02id\x00\x00\x00\x07" + b"\x00\x21\x20" + b"\xbb" * 32
    assert psk.binders_length() == len(psk.encode_binders()) == 35
    assert data.endswith(psk.encode_binders())


def test_pre_shared_key_binder_count_must_match() -> None:
    data = (PreSharedKeyClientHello([PskIdentity(b"a", 1), PskIdentity(b"b", 2)], []).
            encode_identities() + PreSharedKeyClientHello([], [b"\x00" * 32]).encode_binders())
    with pytest.raises(IllegalParameter, match="binders"):
        PreSharedKeyClientHello.decode(data)


def test_pre_shared_key_short_binder() -> None:
    psk = PreSharedKeyClientHello([PskIdentity(b"a", 1)], [b"\x00" * 33])
    data = psk.encode_identities() + b"\x00\x21\x20" + b"\x00" * 32  # fine
    assert PreSharedKeyClientHello.decode(data).binders == [b"\x00" * 32]
    short = psk.encode_identities() + b"\x00\x21\x1f" + b"\x00" * 32
    with pytest.raises(DecodeError):
        PreSharedKeyClientHello.decode(short)


# --- fuzzing ------------------------------------------------------------------------------------
def _check_decode(cls: Any, data: bytes) -> None:
    try:
        view = cls.decode(data)
    except ProtocolError as exc:
        assert isinstance(exc, DecodeError | IllegalParameter)
        return
    assert view.encode() == data


@pytest.mark.parametrize("cls", ALL_VIEWS, ids=lambda c: c.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=120))
def test_fuzz_random_bytes(cls: Any, data: bytes) -> None:
    _check_decode(cls, data)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=120))
def test_fuzz_extension_block(data: bytes) -> None:
    try:
        exts = decode_extensions(data)
    except ProtocolError as exc:
        assert isinstance(exc, DecodeError | IllegalParameter)
        return
    assert encode_extensions(exts) == data


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzz_mutated_samples(data: st.DataObject) -> None:
    view = data.draw(st.sampled_from(SAMPLES))
    buf = bytearray(view.encode())
    for _ in range(data.draw(st.integers(1, 3))):
        if not buf:
            break
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    _check_decode(type(view), bytes(buf[:data.draw(st.integers(0, len(buf)))]))


# --- generated round-trips ----------------------------------------------------------------------
u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
nonempty = st.binary(min_size=1, max_size=40)
hostname = st.text("abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=30).filter(
    lambda s: not s.endswith("."))

VIEW_STRATEGIES: list[st.SearchStrategy[Any]] = [
    st.builds(ServerNameList, st.lists(hostname, min_size=1, max_size=1)),
    st.builds(SupportedVersionsClient, st.lists(u16, min_size=1, max_size=127)),
    st.builds(SupportedVersionsServer, u16),
    st.builds(SupportedGroups, st.lists(u16, min_size=1, max_size=10)),
    st.builds(SignatureAlgorithms, st.lists(u16, min_size=1, max_size=10)),
    st.builds(SignatureAlgorithmsCert, st.lists(u16, min_size=1, max_size=10)),
    st.builds(KeyShareClientHello, st.lists(st.builds(KeyShareEntry, u16, nonempty),
                                            max_size=4, unique_by=lambda e: e.group)),
    st.builds(KeyShareServerHello, st.builds(KeyShareEntry, u16, nonempty)),
    st.builds(KeyShareHelloRetryRequest, u16),
    st.builds(ALPN, st.lists(st.binary(min_size=1, max_size=255), min_size=1, max_size=4)),
    st.builds(Cookie, nonempty),
    st.builds(PskKeyExchangeModes, st.lists(u8, min_size=1, max_size=5)),
    st.integers(1, 3).flatmap(lambda n: st.builds(
        PreSharedKeyClientHello,
        st.lists(st.builds(PskIdentity, nonempty, u32), min_size=n, max_size=n),
        st.lists(st.binary(min_size=32, max_size=64), min_size=n, max_size=n))),
    st.builds(PreSharedKeyServerHello, u16),
    st.builds(EarlyDataMaxSize, u32),
    st.builds(RenegotiationInfo, st.binary(max_size=255)),
    st.builds(ECPointFormats, st.lists(u8, min_size=1, max_size=5)),
    st.builds(CertificateAuthorities, st.lists(nonempty, min_size=1, max_size=4)),
    st.builds(Padding, st.integers(0, 300)),
    st.builds(RecordSizeLimit, st.integers(64, 0xFFFF)),
]


@settings(max_examples=300, deadline=None)
@given(st.one_of(VIEW_STRATEGIES))
def test_generated_round_trip(view: Any) -> None:
    data = view.encode()
    decoded = type(view).decode(data)
    assert decoded == view
    assert decoded.encode() == data


@pytest.mark.parametrize("data", [b"", b"\x03", b"\x03\x04\x00"])
def test_fixed_size_two_byte_views_malformed(data: bytes) -> None:
    with pytest.raises(DecodeError, match="selected_version"):
        SupportedVersionsServer.decode(data)
    with pytest.raises(DecodeError, match="selected_group"):
        KeyShareHelloRetryRequest.decode(data)
    assert SupportedVersionsServer.decode(b"\x03\x04") == SupportedVersionsServer(0x0304)
    assert KeyShareHelloRetryRequest.decode(b"\x00\x17") == KeyShareHelloRetryRequest(0x17)


@pytest.mark.parametrize("data", [b"\x00\x1d\x00", b"\x00\x1d\x00\x02\xaa",
                                  b"\x00\x1d\x00\x02\xaa\xbb\xcc"])
def test_server_key_share_wrong_length(data: bytes) -> None:
    with pytest.raises(DecodeError, match="key_share"):
        KeyShareServerHello.decode(data)


# --- split_hello_extensions: a repeated block is split once ------------------------------------
def _block(*exts: tuple[int, bytes]) -> bytes:
    return b"".join(t.to_bytes(2, "big") + len(d).to_bytes(2, "big") + d for t, d in exts)


def test_split_hello_extensions_keeps_a_repeated_block() -> None:
    forget_peers()
    block = _block((0, b""), (23, b""), (0xFF01, b"\x00"), (11, b"\x01\x00"))
    first = split_hello_extensions(bytes(block), "ClientHello.extensions")
    assert first == split_extensions(block, "ClientHello.extensions")
    first.append((99, b"mine"))  # each caller gets its own list
    again = split_hello_extensions(bytes(block), "ClientHello.extensions")
    assert again == split_extensions(block, "ClientHello.extensions")
    assert _split_cached.cache_info().hits == 1
    forget_peers()
    assert _split_cached.cache_info().currsize == 0


@pytest.mark.parametrize("fresh", [(51, b"\x00\x02\x00\x1d"), (41, b"\x00")],
                         ids=["key_share", "pre_shared_key"])
def test_split_hello_extensions_never_keeps_a_block_with_fresh_values(
        fresh: tuple[int, bytes]) -> None:
    _split_cached.cache_clear()
    for block in (_block((0, b""), fresh), _block((21, bytes(MAX_CACHED_BLOCK)))):
        for _ in range(2):
            split_hello_extensions(block, "ClientHello.extensions")
    assert _split_cached.cache_info().currsize == 0


def test_split_hello_extensions_refuses_a_bad_block_every_time() -> None:
    bad = _block((0, b""), (0, b""))
    for _ in range(2):
        with pytest.raises(IllegalParameter, match="duplicate extension"):
            split_hello_extensions(bad, "ClientHello.extensions")
    for _ in range(2):
        with pytest.raises(DecodeError, match="overruns"):
            split_hello_extensions(b"\x00\x17\x00\x00\x00\x00\x00\x09",
                                   "ClientHello.extensions")
