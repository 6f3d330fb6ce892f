"""Extensions: the one extension-block codec, and typed views over extension_data.

Messages keep their extensions raw and ordered (``list[tuple[int, bytes]]``) so that unknown
extensions survive and re-encoding is byte-exact. The views below are parsed on demand, from
the raw data of one extension: ``SupportedVersionsClient.decode(ch.ext(43))`` or
``ch.view(SupportedVersionsClient)``.

Every ``decode`` is strict: a truncated or over-long field or a trailing byte raises
``DecodeError``; a value the RFC forbids raises ``IllegalParameter``. The views a handshake
parses every time cut well-formed data directly and hand anything else to their
``_decode_with_reader``, which accepts or names the fault, as the messages do.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from typing import ClassVar, Protocol, Self, TypeVar

from lucidtls.errors import DecodeError, IllegalParameter
from lucidtls.wire.codec import Reader, Writer, u16_vector, vector8, vector16
from lucidtls.wire.enums import ExtensionType, describe

RawExtensions = list[tuple[int, bytes]]
_EXTENSION_HEADER = struct.Struct(">HH")  # extension_type, extension_data length
_U16 = struct.Struct(">H")
_U16_U16 = struct.Struct(">HH")


# --- the extension block ----------------------------------------------------------------------
def read_extensions(r: Reader, what: str = "extensions") -> RawExtensions:
    """Read ``Extension extensions<0..2^16-1>`` from *r*; the one decoder for extension blocks.

    A repeated extension type raises ``IllegalParameter`` (RFC 8446 §4.2).
    """
    return split_extensions(r.vec16(what), what)


def split_extensions(block: bytes, what: str) -> RawExtensions:
    """The extensions of an extension block whose length prefix was already read and checked.

    Every hello carries a dozen extensions, so the loop does the least per extension: a header
    running past the block surfaces as ``struct.error``, and repeats are looked for once at the
    end (and before any other fault, to report the first fault in block order).
    """
    out: RawExtensions = []
    append = out.append
    unpack_header = _EXTENSION_HEADER.unpack_from
    pos, end = 0, len(block)
    try:
        while pos < end:
            ext_type, n = unpack_header(block, pos)
            start = pos + 4
            pos = start + n
            append((ext_type, block[start:pos]))
    except struct.error:  # fewer than 4 bytes left for the extension's header
        _refuse_duplicates(out, what)
        if end - pos < 2:
            raise DecodeError(f"truncated {what}: extension_type: need 2 byte(s), have "
                              f"{end - pos}") from None
        ext_type = (block[pos] << 8) | block[pos + 1]
        raise DecodeError(f"{what}: extension_data of {describe(ExtensionType, ext_type)} "
                          "overruns the extension block") from None
    if pos > end:  # only the last extension's data can run past the block
        ext_type = out.pop()[0]
        _refuse_duplicates(out, what)
        raise DecodeError(f"{what}: extension_data of {describe(ExtensionType, ext_type)} "
                          "overruns the extension block")
    if len(dict(out)) != len(out):
        _refuse_duplicates(out, what)
    return out


# A hello's extension block that holds no key share and no PSK (a TLS 1.2 ClientHello, any
# TLS 1.2 ServerHello) is the same bytes on every handshake with the same peer: split_hello
# splits it once. Blocks larger than this are split every time and never kept.
MAX_CACHED_BLOCK = 1 << 11
# The two extension types whose data differs per handshake, as their headers start.
_KEY_SHARE_TYPE = _U16.pack(ExtensionType.key_share)
_PSK_TYPE = _U16.pack(ExtensionType.pre_shared_key)


def split_hello_extensions(block: bytes, what: str) -> RawExtensions:
    """``split_extensions`` for a hello's block, once per distinct block a peer repeats (as
    ``handshake.common.parse_view`` does for extension values): a pure function of the bytes;
    a malformed block raises every time (exceptions are not cached). A block that may hold a
    key share or a PSK (its type's two bytes appear anywhere in it) is split every time, since
    it never repeats. The result is a new list each time; the pairs in it are shared."""
    if _KEY_SHARE_TYPE in block or _PSK_TYPE in block or len(block) > MAX_CACHED_BLOCK:
        return split_extensions(block, what)
    return list(_split_cached(block, what))


@functools.lru_cache(maxsize=64)
def _split_cached(block: bytes, what: str) -> tuple[tuple[int, bytes], ...]:
    return tuple(split_extensions(block, what))


def forget_blocks() -> None:
    """Empty split_hello_extensions' cache (``handshake.common.forget_peers`` calls this)."""
    _split_cached.cache_clear()


def _refuse_duplicates(extensions: RawExtensions, what: str) -> None:
    """RFC 8446 §4.2: no extension type twice in one block; the first repeat is named."""
    seen: set[int] = set()
    for ext_type, _ in extensions:
        if ext_type in seen:
            raise IllegalParameter(
                f"{what}: duplicate extension {describe(ExtensionType, ext_type)}")
        seen.add(ext_type)


def write_extensions(w: Writer, extensions: RawExtensions) -> None:
    """Write the u16-length-prefixed extension block, in the given order."""
    w.raw(encode_extensions(extensions))


def encode_extensions(extensions: RawExtensions) -> bytes:
    """The u16-length-prefixed extension block, in the given order."""
    parts: list[bytes] = []
    for ext_type, data in extensions:
        try:
            parts.append(_EXTENSION_HEADER.pack(ext_type, len(data)))
        except struct.error:
            raise ValueError(f"extension {ext_type} with {len(data)} bytes of data does not "
                             "fit its u16 fields") from None
        parts.append(data)
    return vector16(b"".join(parts))


def decode_extensions(data: bytes, what: str = "extensions") -> RawExtensions:
    """A whole extension block (with its length prefix) and nothing else."""
    r = Reader(data)
    out = read_extensions(r, what)
    r.finish(what)
    return out


class ExtensionView(Protocol):
    """What every typed view offers; lets ``HasExtensions.view`` parse by class."""

    ext_type: ClassVar[ExtensionType]

    def encode(self) -> bytes: ...

    @classmethod
    def decode(cls, data: bytes) -> Self: ...


V = TypeVar("V", bound=ExtensionView)


class HasExtensions:
    """Mixin for messages and entries that carry ``extensions: list[tuple[int, bytes]]``."""

    __slots__ = ()
    extensions: RawExtensions

    def ext(self, ext_type: int) -> bytes | None:
        """The raw extension_data of *ext_type*, or ``None`` when absent."""
        for t, data in self.extensions:
            if t == ext_type:
                return data
        return None

    def has_ext(self, ext_type: int) -> bool:
        for t, _ in self.extensions:
            if t == ext_type:
                return True
        return False

    def view(self, view_cls: type[V]) -> V | None:
        """The extension parsed with *view_cls* (strict), or ``None`` when absent."""
        ext_type = view_cls.ext_type  # ext(), inlined: views are looked up a dozen times a hello
        for t, data in self.extensions:
            if t == ext_type:
                return view_cls.decode(data)
        return None

    def ext_types(self) -> list[int]:
        return [t for t, _ in self.extensions]


# --- small helpers ------------------------------------------------------------------------------
def _u8_list(data: bytes) -> list[int]:
    return list(data)


def _u16s(values: list[int]) -> bytes:
    return b"".join(v.to_bytes(2, "big") for v in values)


def _u16_list_ext(data: bytes, what: str) -> list[int]:
    """``uint16 values<2..2^16-2>`` filling the extension_data (groups, schemes)."""
    n = len(data) - 2
    if n >= 2 and not n & 1 and (data[0] << 8 | data[1]) == n:
        return list(struct.unpack_from(f">{n >> 1}H", data, 2))
    if len(data) < 2:
        raise DecodeError(f"truncated {what}: need 2 byte(s), have {len(data)}")
    n = (data[0] << 8) | data[1]
    if n < 2:
        raise DecodeError(f"{what} is {n} byte(s), shorter than the minimum 2")
    if n != len(data) - 2:
        raise DecodeError(f"{what} is {n} byte(s) in an extension of {len(data) - 2}")
    if n % 2:
        raise DecodeError(f"{what} has an odd length {n}")
    return list(struct.unpack_from(f">{n // 2}H", data, 2))


def _require_empty(data: bytes, name: str) -> None:
    if data:
        raise DecodeError(f"{name} extension must be empty, has {len(data)} byte(s)")


class _EmptyExtension:
    """An extension whose extension_data is empty: any byte in it is a decode_error."""

    __slots__ = ()
    ext_type: ClassVar[ExtensionType]

    def encode(self) -> bytes:
        return b""

    @classmethod
    def decode(cls, data: bytes) -> Self:
        if data:  # (the name only for the error: an enum member's name is a property)
            _require_empty(data, cls.ext_type.name)
        return cls()


# --- server_name (RFC 6066 §3) ----------------------------------------------------------------
_HOST_NAME = 0
_HOST_NAME_TYPE = bytes((_HOST_NAME,))
_SERVER_NAME_HEAD = struct.Struct(">HBH")


@dataclass(frozen=True, slots=True)
class ServerNameList:
    """ClientHello ``server_name``: only host_name entries exist; at most one of them."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.server_name
    host_names: list[str]

    def encode(self) -> bytes:
        return vector16(b"".join([_HOST_NAME_TYPE + vector16(name.encode("ascii"))
                                  for name in self.host_names]))

    @classmethod
    def decode(cls, data: bytes) -> ServerNameList:
        # The list of one host_name that clients send: list length, name_type, name length.
        if len(data) > 5:
            list_len, name_type, name_len = _SERVER_NAME_HEAD.unpack_from(data)
            name = data[5:]
            if (list_len == len(data) - 2 and name_type == _HOST_NAME and name_len == len(name)
                    and name.isascii() and not name.endswith(b".")):
                return cls([name.decode("ascii")])
        return cls._decode_with_reader(data)

    @classmethod
    def _decode_with_reader(cls, data: bytes) -> ServerNameList:
        r = Reader(data)
        lst = r.sub16("server_name_list", min_len=1)
        names: list[str] = []
        while not lst.at_end():
            name_type = lst.u8("server_name: name_type")
            if name_type != _HOST_NAME:
                # The ServerName body is undefined for other types, so it cannot be skipped.
                raise DecodeError(f"server_name: unknown name_type {name_type}")
            raw = lst.vec16("server_name: host_name", min_len=1)
            if names:
                # RFC 6066 §3: no more than one name of the same name_type
                raise IllegalParameter("server_name: more than one host_name")
            if not raw.isascii():
                raise DecodeError("server_name: host_name is not ASCII")
            if raw.endswith(b"."):
                # RFC 6066 §3: "without a trailing dot"
                raise DecodeError("server_name: host_name has a trailing dot")
            names.append(raw.decode("ascii"))
        r.finish("server_name")
        return cls(names)


@dataclass(frozen=True, slots=True)
class ServerNameAck(_EmptyExtension):
    """ServerHello / EncryptedExtensions ``server_name``: empty extension_data (RFC 6066 §3)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.server_name


# --- supported_versions (RFC 8446 §4.2.1) -----------------------------------------------------
@dataclass(frozen=True, slots=True)
class SupportedVersionsClient:
    """``ProtocolVersion versions<2..254>`` in the ClientHello."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.supported_versions
    versions: list[int]

    def encode(self) -> bytes:
        return vector8(_u16s(self.versions))

    @classmethod
    def decode(cls, data: bytes) -> SupportedVersionsClient:
        n = len(data) - 1
        if n >= 2 and not n & 1 and data[0] == n:
            return cls(list(struct.unpack_from(f">{n >> 1}H", data, 1)))
        return cls._decode_with_reader(data)

    @classmethod
    def _decode_with_reader(cls, data: bytes) -> SupportedVersionsClient:
        r = Reader(data)
        block = r.vec8("supported_versions: versions", min_len=2)
        r.finish("supported_versions")
        if len(block) % 2:
            raise DecodeError(f"supported_versions: odd length {len(block)}")
        return cls(list(struct.unpack(f">{len(block) // 2}H", block)))


@dataclass(frozen=True, slots=True)
class SupportedVersionsServer:
    """``ProtocolVersion selected_version`` in ServerHello / HelloRetryRequest."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.supported_versions
    version: int

    def encode(self) -> bytes:
        return self.version.to_bytes(2, "big")

    @classmethod
    def decode(cls, data: bytes) -> SupportedVersionsServer:
        if len(data) != 2:
            raise DecodeError(f"supported_versions: selected_version is {len(data)} byte(s), "
                              "not 2")
        return cls((data[0] << 8) | data[1])


# --- u16 lists: supported_groups, signature_algorithms(_cert) ----------------------------------
@dataclass(frozen=True, slots=True)
class SupportedGroups:
    """``NamedGroup named_group_list<2..2^16-1>`` (RFC 8446 §4.2.7)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.supported_groups
    groups: list[int]

    def encode(self) -> bytes:
        return u16_vector(self.groups)

    @classmethod
    def decode(cls, data: bytes) -> SupportedGroups:
        return cls(_u16_list_ext(data, "supported_groups: named_group_list"))


@dataclass(frozen=True, slots=True)
class SignatureAlgorithms:
    """``SignatureScheme supported_signature_algorithms<2..2^16-2>`` (RFC 8446 §4.2.3)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.signature_algorithms
    schemes: list[int]

    def encode(self) -> bytes:
        return u16_vector(self.schemes)

    @classmethod
    def decode(cls, data: bytes) -> Self:
        return cls(_u16_list_ext(data, cls._what))

    _what: ClassVar[str] = "signature_algorithms: supported_signature_algorithms"


@dataclass(frozen=True, slots=True)
class SignatureAlgorithmsCert(SignatureAlgorithms):
    """Same shape as ``signature_algorithms``; constrains certificate signatures."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.signature_algorithms_cert
    _what: ClassVar[str] = "signature_algorithms_cert: supported_signature_algorithms"


# --- key_share (RFC 8446 §4.2.8) ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class KeyShareEntry:
    """``struct { NamedGroup group; opaque key_exchange<1..2^16-1>; }``."""

    group: int
    key_exchange: bytes

    def encode(self) -> bytes:
        return self.group.to_bytes(2, "big") + vector16(self.key_exchange)

    def write(self, w: Writer) -> None:
        w.raw(self.encode())

    @classmethod
    def read(cls, r: Reader) -> KeyShareEntry:
        group = r.u16("key_share: group")
        key_exchange = r.vec16("key_share: key_exchange", min_len=1)
        return cls(group, key_exchange)


@dataclass(frozen=True, slots=True)
class KeyShareClientHello:
    """``KeyShareEntry client_shares<0..2^16-1>``; an empty list asks for a HelloRetryRequest."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.key_share
    entries: list[KeyShareEntry]

    def encode(self) -> bytes:
        return vector16(b"".join([entry.encode() for entry in self.entries]))

    @classmethod
    def decode(cls, data: bytes) -> KeyShareClientHello:
        # key_shares_by_group is the one direct reader (groups are unique, so the dict keeps
        # every entry, in order); anything malformed raises from _decode_with_reader there.
        return cls([KeyShareEntry(group, key) for group, key in key_shares_by_group(data).items()])

    @classmethod
    def _decode_with_reader(cls, data: bytes) -> KeyShareClientHello:
        r = Reader(data)
        block = r.sub16("key_share: client_shares")
        r.finish("key_share")
        entries: list[KeyShareEntry] = []
        seen: set[int] = set()
        while not block.at_end():
            entry = KeyShareEntry.read(block)
            if entry.group in seen:
                # RFC 8446 §4.2.8: clients MUST NOT offer multiple shares for the same group
                raise IllegalParameter(f"key_share: two shares for group 0x{entry.group:04x}")
            seen.add(entry.group)
            entries.append(entry)
        return cls(entries)


def key_shares_by_group(data: bytes) -> dict[int, bytes]:
    """A ClientHello's key_share extension_data as ``{group: key_exchange}``, in the client's
    order, without an object per entry (a server reads it on every handshake, and
    ``KeyShareClientHello.decode`` is built on this); anything else raises from
    ``KeyShareClientHello._decode_with_reader``, which names the fault."""
    end = len(data)
    if end >= 2 and (data[0] << 8 | data[1]) == end - 2:
        shares: dict[int, bytes] = {}
        pos = 2
        try:
            while pos < end:
                group, n = _U16_U16.unpack_from(data, pos)
                start = pos + 4
                pos = start + n
                if not n or pos > end or group in shares:
                    break
                shares[group] = data[start:pos]
            else:
                return shares
        except struct.error:
            pass
    return {e.group: e.key_exchange for e in KeyShareClientHello._decode_with_reader(data).entries}


@dataclass(frozen=True, slots=True)
class KeyShareServerHello:
    """``KeyShareEntry server_share`` in the ServerHello."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.key_share
    entry: KeyShareEntry

    def encode(self) -> bytes:
        return self.entry.encode()

    @classmethod
    def decode(cls, data: bytes) -> KeyShareServerHello:
        return cls(KeyShareEntry(*key_share_server_hello(data)))

    @classmethod
    def _decode_with_reader(cls, data: bytes) -> KeyShareServerHello:
        # One KeyShareEntry filling the extension: group(2) || key_exchange<1..2^16-1>; here
        # for anything key_share_server_hello does not take directly, to name the fault.
        if len(data) < 4:
            raise DecodeError(f"truncated key_share: {len(data)} byte(s)")
        n = (data[2] << 8) | data[3]
        if n == 0:
            raise DecodeError("key_share: key_exchange is 0 byte(s), shorter than the minimum 1")
        if len(data) != 4 + n:
            raise DecodeError(f"key_share: key_exchange of {n} byte(s) in {len(data) - 4}")
        return cls(KeyShareEntry((data[0] << 8) | data[1], data[4:]))


def key_share_server_hello(data: bytes) -> tuple[int, bytes]:
    """A ServerHello's key_share extension_data as ``(group, key_exchange)``, without the two
    objects of ``KeyShareServerHello`` (a client reads one per handshake, and the class's
    ``decode`` is built on this); anything else is named by its ``_decode_with_reader``."""
    if len(data) > 4:
        group, n = _U16_U16.unpack_from(data)
        if n == len(data) - 4:
            return group, data[4:]
    entry = KeyShareServerHello._decode_with_reader(data).entry
    return entry.group, entry.key_exchange


@dataclass(frozen=True, slots=True)
class KeyShareHelloRetryRequest:
    """``NamedGroup selected_group`` in the HelloRetryRequest."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.key_share
    selected_group: int

    def encode(self) -> bytes:
        return self.selected_group.to_bytes(2, "big")

    @classmethod
    def decode(cls, data: bytes) -> KeyShareHelloRetryRequest:
        if len(data) != 2:
            raise DecodeError(f"key_share: selected_group is {len(data)} byte(s), not 2")
        return cls((data[0] << 8) | data[1])


# --- application_layer_protocol_negotiation (RFC 7301 §3.1) ----------------------------------
@dataclass(frozen=True, slots=True)
class ALPN:
    """``ProtocolName protocol_name_list<2..2^16-1>``, each name ``<1..2^8-1>``."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.application_layer_protocol_negotiation
    protocols: list[bytes]

    def encode(self) -> bytes:
        return vector16(b"".join([vector8(name) for name in self.protocols]))

    @classmethod
    def decode(cls, data: bytes) -> ALPN:
        r = Reader(data)
        block = r.sub16("alpn: protocol_name_list", min_len=2)
        r.finish("alpn")
        protocols: list[bytes] = []
        while not block.at_end():
            protocols.append(block.vec8("alpn: protocol name", min_len=1))
        return cls(protocols)


# --- cookie (RFC 8446 §4.2.2) -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Cookie:
    """``opaque cookie<1..2^16-1>``."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.cookie
    cookie: bytes

    def encode(self) -> bytes:
        return vector16(self.cookie)

    @classmethod
    def decode(cls, data: bytes) -> Cookie:
        r = Reader(data)
        cookie = r.vec16("cookie", min_len=1)
        r.finish("cookie")
        return cls(cookie)


# --- psk_key_exchange_modes (RFC 8446 §4.2.9) --------------------------------------------------
@dataclass(frozen=True, slots=True)
class PskKeyExchangeModes:
    """``PskKeyExchangeMode ke_modes<1..255>``."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.psk_key_exchange_modes
    modes: list[int]

    def encode(self) -> bytes:
        return vector8(bytes(self.modes))

    @classmethod
    def decode(cls, data: bytes) -> PskKeyExchangeModes:
        r = Reader(data)
        modes = r.vec8("psk_key_exchange_modes: ke_modes", min_len=1)
        r.finish("psk_key_exchange_modes")
        return cls(_u8_list(modes))


# --- pre_shared_key (RFC 8446 §4.2.11) ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PskIdentity:
    """``struct { opaque identity<1..2^16-1>; uint32 obfuscated_ticket_age; }``."""

    identity: bytes
    obfuscated_ticket_age: int


@dataclass(frozen=True, slots=True)
class PreSharedKeyClientHello:
    """``OfferedPsks``: identities<7..2^16-1> then binders<33..2^16-1> (each <32..255>)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.pre_shared_key
    identities: list[PskIdentity]
    binders: list[bytes]

    def encode_identities(self) -> bytes:
        w = Writer()
        with w.prefixed(2):
            for ident in self.identities:
                w.vec16(ident.identity).u32(ident.obfuscated_ticket_age)
        return w.getvalue()

    def encode_binders(self) -> bytes:
        w = Writer()
        with w.prefixed(2):
            for binder in self.binders:
                w.vec8(binder)
        return w.getvalue()

    def binders_length(self) -> int:
        """Bytes of the binders block (prefix included): what the binder transcript omits."""
        return 2 + sum(1 + len(b) for b in self.binders)

    def encode(self) -> bytes:
        return self.encode_identities() + self.encode_binders()

    @classmethod
    def decode(cls, data: bytes) -> PreSharedKeyClientHello:
        r = Reader(data)
        ids = r.sub16("pre_shared_key: identities", min_len=7)
        identities: list[PskIdentity] = []
        while not ids.at_end():
            identity = ids.vec16("pre_shared_key: identity", min_len=1)
            age = ids.u32("pre_shared_key: obfuscated_ticket_age")
            identities.append(PskIdentity(identity, age))
        bnd = r.sub16("pre_shared_key: binders", min_len=33)
        r.finish("pre_shared_key")
        binders: list[bytes] = []
        while not bnd.at_end():
            binders.append(bnd.vec8("pre_shared_key: binder", min_len=32))
        if len(binders) != len(identities):
            # RFC 8446 §4.2.11: one binder per identity
            raise IllegalParameter(
                f"pre_shared_key: {len(identities)} identities but {len(binders)} binders")
        return cls(identities, binders)


@dataclass(frozen=True, slots=True)
class PreSharedKeyServerHello:
    """``uint16 selected_identity``."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.pre_shared_key
    selected_identity: int

    def encode(self) -> bytes:
        return self.selected_identity.to_bytes(2, "big")

    @classmethod
    def decode(cls, data: bytes) -> PreSharedKeyServerHello:
        r = Reader(data)
        selected = r.u16("pre_shared_key: selected_identity")
        r.finish("pre_shared_key")
        return cls(selected)


# --- empty-bodied extensions --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PostHandshakeAuth(_EmptyExtension):
    """RFC 8446 §4.2.6: empty extension_data."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.post_handshake_auth


@dataclass(frozen=True, slots=True)
class ExtendedMasterSecret(_EmptyExtension):
    """RFC 7627 §5.1: empty extension_data."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.extended_master_secret


@dataclass(frozen=True, slots=True)
class EarlyDataIndication(_EmptyExtension):
    """``early_data`` in ClientHello / EncryptedExtensions: empty (RFC 8446 §4.2.10)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.early_data


@dataclass(frozen=True, slots=True)
class EarlyDataMaxSize:
    """``early_data`` in NewSessionTicket: ``uint32 max_early_data_size`` (RFC 8446 §4.2.10)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.early_data
    max_early_data_size: int

    def encode(self) -> bytes:
        return self.max_early_data_size.to_bytes(4, "big")

    @classmethod
    def decode(cls, data: bytes) -> EarlyDataMaxSize:
        r = Reader(data)
        size = r.u32("early_data: max_early_data_size")
        r.finish("early_data")
        return cls(size)


# --- TLS 1.2 era -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RenegotiationInfo:
    """``opaque renegotiated_connection<0..255>`` (RFC 5746 §3.2)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.renegotiation_info
    renegotiated_connection: bytes = b""

    def encode(self) -> bytes:
        return vector8(self.renegotiated_connection)

    @classmethod
    def decode(cls, data: bytes) -> RenegotiationInfo:
        if data and data[0] == len(data) - 1:
            return cls(data[1:])
        return cls._decode_with_reader(data)

    @classmethod
    def _decode_with_reader(cls, data: bytes) -> RenegotiationInfo:
        r = Reader(data)
        value = r.vec8("renegotiation_info: renegotiated_connection")
        r.finish("renegotiation_info")
        return cls(value)


@dataclass(frozen=True, slots=True)
class ECPointFormats:
    """``ECPointFormat ec_point_format_list<1..2^8-1>`` (RFC 8422 §5.1.2)."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.ec_point_formats
    formats: list[int]

    def encode(self) -> bytes:
        return vector8(bytes(self.formats))

    @classmethod
    def decode(cls, data: bytes) -> ECPointFormats:
        if len(data) > 1 and data[0] == len(data) - 1:
            return cls(list(data[1:]))
        return cls._decode_with_reader(data)

    @classmethod
    def _decode_with_reader(cls, data: bytes) -> ECPointFormats:
        r = Reader(data)
        formats = r.vec8("ec_point_formats: ec_point_format_list", min_len=1)
        r.finish("ec_point_formats")
        return cls(_u8_list(formats))


# --- certificate_authorities (RFC 8446 §4.2.4) ------------------------------------------------
# The usual extension_data of two TLS 1.2 hello extensions, which both ends send and compare as
# bytes: an empty renegotiated_connection (RFC 5746 §3.4, §3.6), and the list [uncompressed]
# (RFC 8422 §5.1.2).
EMPTY_RENEGOTIATION_INFO = RenegotiationInfo(b"").encode()
UNCOMPRESSED_ONLY = ECPointFormats([0]).encode()


def write_distinguished_names(w: Writer, names: list[bytes]) -> None:
    with w.prefixed(2):
        for name in names:
            w.vec16(name)


def read_distinguished_names(r: Reader, what: str, min_len: int) -> list[bytes]:
    """``DistinguishedName names<min_len..2^16-1>``, each ``opaque <1..2^16-1>`` (DER)."""
    block = r.sub16(what, min_len=min_len)
    names: list[bytes] = []
    while not block.at_end():
        names.append(block.vec16(f"{what}: DistinguishedName", min_len=1))
    return names


@dataclass(frozen=True, slots=True)
class CertificateAuthorities:
    """``DistinguishedName authorities<3..2^16-1>``."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.certificate_authorities
    authorities: list[bytes]

    def encode(self) -> bytes:
        w = Writer()
        write_distinguished_names(w, self.authorities)
        return w.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> CertificateAuthorities:
        end = len(data)
        if end < 5 or (data[0] << 8 | data[1]) != end - 2:
            return cls._decode_with_reader(data)
        names: list[bytes] = []
        pos = 2
        while pos < end:
            try:
                (n,) = _U16.unpack_from(data, pos)
            except struct.error:
                return cls._decode_with_reader(data)
            start = pos + 2
            pos = start + n
            if not n or pos > end:
                return cls._decode_with_reader(data)
            names.append(data[start:pos])
        return cls(names)

    @classmethod
    def _decode_with_reader(cls, data: bytes) -> CertificateAuthorities:
        r = Reader(data)
        names = read_distinguished_names(r, "certificate_authorities", min_len=3)
        r.finish("certificate_authorities")
        return cls(names)


# --- padding (RFC 7685 §3) ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Padding:
    """*length* zero bytes."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.padding
    length: int

    def encode(self) -> bytes:
        return bytes(self.length)

    @classmethod
    def decode(cls, data: bytes) -> Padding:
        # RFC 7685 §3: the extension_data consists entirely of zero bytes
        if data.count(0) != len(data):
            raise DecodeError("padding: extension_data is not all zero bytes")
        return cls(len(data))


# --- record_size_limit (RFC 8449 §4) ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RecordSizeLimit:
    """``uint16 RecordSizeLimit``; values below 64 are illegal."""

    ext_type: ClassVar[ExtensionType] = ExtensionType.record_size_limit
    limit: int

    def encode(self) -> bytes:
        return self.limit.to_bytes(2, "big")

    @classmethod
    def decode(cls, data: bytes) -> RecordSizeLimit:
        r = Reader(data)
        limit = r.u16("record_size_limit")
        r.finish("record_size_limit")
        if limit < 64:
            # RFC 8449 §4: receipt of a value below 64 is an illegal_parameter error
            raise IllegalParameter(f"record_size_limit {limit} is below the minimum 64")
        return cls(limit)


ALL_VIEWS: tuple[type[ExtensionView], ...] = (
    ServerNameList, ServerNameAck, SupportedVersionsClient, SupportedVersionsServer,
    SupportedGroups, SignatureAlgorithms, SignatureAlgorithmsCert, KeyShareClientHello,
    KeyShareServerHello, KeyShareHelloRetryRequest, ALPN, Cookie, PskKeyExchangeModes,
    PreSharedKeyClientHello, PreSharedKeyServerHello, PostHandshakeAuth, ExtendedMasterSecret,
    EarlyDataIndication, EarlyDataMaxSize, RenegotiationInfo, ECPointFormats,
    CertificateAuthorities, Padding, RecordSizeLimit,
)
"""Every typed view, for tests and tooling."""
