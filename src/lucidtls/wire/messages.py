"""Handshake messages (RFC 8446 §4, RFC 5246 §7.4, RFC 8422 §5): one dataclass each.

Each class has ``msg_type``, ``encode_body()``, ``to_bytes()`` (with the 4-byte handshake
header) and a strict ``decode(body)``. Extensions stay raw and ordered so that
``decode(b).encode_body() == b`` and unknown extensions survive; parse them with the views in
``lucidtls.wire.extensions`` (``msg.view(SupportedVersionsClient)``).

Several TLS 1.2 and TLS 1.3 messages share a ``msg_type`` (Certificate, CertificateRequest,
NewSessionTicket): the caller, knowing the negotiated version, picks the class.

The messages of every handshake decode in two steps. A direct path cuts a well-formed body
along its length prefixes, with explicit bounds checks and ``struct``, and checks that the
prefixes add up to the body exactly; a body it does not accept goes to ``_decode_with_reader``,
the general decoder over a ``Reader``, which accepts or names the first fault. The direct path
only ever accepts what the Reader would accept, with the same result (tests/wire compare them).
"""

from __future__ import annotations

import operator
import struct
from dataclasses import dataclass, field
from typing import ClassVar, Self

from lucidtls.errors import DecodeError, IllegalParameter
from lucidtls.wire.codec import Reader, Writer, u16_vector, vector8, vector16
from lucidtls.wire.enums import ExtensionType, HandshakeType
from lucidtls.wire.extensions import (
    HasExtensions,
    RawExtensions,
    encode_extensions,
    read_distinguished_names,
    read_extensions,
    split_extensions,
    split_hello_extensions,
    write_distinguished_names,
    write_extensions,
)

HANDSHAKE_HEADER_LEN = 4

# RFC 8446 §4.1.3: SHA-256("HelloRetryRequest")
HRR_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
# RFC 8446 §4.1.3: last 8 bytes of ServerHello.random when a TLS 1.3 server negotiates lower
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"

_U16 = struct.Struct(">H")
_U16_U16 = struct.Struct(">HH")
_U32 = struct.Struct(">I")
_HELLO_HEAD = struct.Struct(">H32sB")  # legacy_version, random, legacy_session_id length
_SERVER_HELLO_TAIL = struct.Struct(">HBH")  # cipher_suite, compression, extensions length


def frame_handshake(msg_type: int, body: bytes) -> bytes:
    """``Handshake`` struct: msg_type (1) + u24 length + body (RFC 8446 §4)."""
    n = len(body)
    if n >= 1 << 24:
        raise ValueError(f"handshake body of {n} bytes does not fit a u24 length")
    return _U32.pack(msg_type << 24 | n) + body


def parse_handshake_header(data: bytes | bytearray | memoryview) -> tuple[int, int]:
    """``(msg_type, body_length)`` from the first 4 bytes of *data*."""
    if len(data) < HANDSHAKE_HEADER_LEN:
        raise DecodeError(f"truncated handshake header: need 4 byte(s), have {len(data)}")
    return data[0], (data[1] << 16) | (data[2] << 8) | data[3]


class _Message:
    """Shared ``to_bytes`` for every handshake message."""

    __slots__ = ()
    msg_type: ClassVar[HandshakeType]

    def encode_body(self) -> bytes:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        return frame_handshake(self.msg_type, self.encode_body())

    @classmethod
    def decode(cls, body: bytes) -> Self:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Encoded:
    """A handshake message already framed (RFC 8446 §4), sent as it is: for messages that are
    the same on every handshake. Only sent when no hook reshapes messages (hooks see objects)."""

    raw: bytes

    def to_bytes(self) -> bytes:
        return self.raw


def _empty_body(body: bytes, name: str) -> None:
    if body:
        raise DecodeError(f"{name} must have an empty body, has {len(body)} byte(s)")


# --- hellos -------------------------------------------------------------------------------------
_EXTENSION_TYPE = operator.itemgetter(0)
_PRE_SHARED_KEY = int(ExtensionType.pre_shared_key)  # a global: an enum attribute costs ~10
_PSK_TYPE = _U16.pack(_PRE_SHARED_KEY)


def _check_pre_shared_key_last(extensions: RawExtensions) -> None:
    # RFC 8446 §4.2.11: pre_shared_key MUST be the last extension in the ClientHello
    if _PRE_SHARED_KEY in map(_EXTENSION_TYPE, extensions[:-1]):
        raise IllegalParameter("ClientHello: pre_shared_key is not the last extension")


@dataclass(slots=True)
class ClientHello(_Message, HasExtensions):
    """RFC 8446 §4.1.2 (and RFC 5246 §7.4.1.2, where the extension block may be absent)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CLIENT_HELLO
    random: bytes
    legacy_session_id: bytes
    cipher_suites: list[int]
    extensions: RawExtensions
    legacy_version: int = 0x0303
    legacy_compression_methods: bytes = b"\x00"
    # True when the peer sent no extension block at all (not even an empty one); only
    # consulted, to re-encode byte for byte, when ``extensions`` is empty.
    extensions_absent: bool = field(default=False, compare=False)

    def encode_body(self) -> bytes:
        parts = [self.legacy_version.to_bytes(2, "big"), self.random,
                 vector8(self.legacy_session_id), u16_vector(self.cipher_suites),
                 vector8(self.legacy_compression_methods)]
        if self.extensions or not self.extensions_absent:
            parts.append(encode_extensions(self.extensions))
        return b"".join(parts)

    @classmethod
    def decode(cls, body: bytes) -> ClientHello:
        try:
            legacy_version, random, session_id_len = _HELLO_HEAD.unpack_from(body)
            suites_at = 35 + session_id_len
            (suites_len,) = _U16.unpack_from(body, suites_at)
            compression_at = suites_at + 2 + suites_len
            compression_len = body[compression_at]
            extensions_at = compression_at + 1 + compression_len
            (extensions_len,) = _U16.unpack_from(body, extensions_at)
        except (struct.error, IndexError):
            return cls._decode_with_reader(body)
        if (session_id_len > 32 or suites_len < 2 or suites_len & 1 or not compression_len
                or extensions_at + 2 + extensions_len != len(body)):
            return cls._decode_with_reader(body)
        block = body[extensions_at + 2:]
        extensions = split_hello_extensions(block, "ClientHello.extensions")
        if _PSK_TYPE in block:  # its type's two bytes appear somewhere: is it the last?
            _check_pre_shared_key_last(extensions)
        suites = list(struct.unpack_from(f">{suites_len >> 1}H", body, suites_at + 2))
        return cls(random, body[35:suites_at], suites, extensions, legacy_version,
                   body[compression_at + 1:extensions_at], False)

    @classmethod
    def _decode_with_reader(cls, body: bytes) -> ClientHello:
        r = Reader(body)
        legacy_version = r.u16("ClientHello.legacy_version")
        random = r.raw(32, "ClientHello.random")
        session_id = r.vec8("ClientHello.legacy_session_id")
        if len(session_id) > 32:
            raise DecodeError(f"ClientHello.legacy_session_id is {len(session_id)} bytes (> 32)")
        suites = r.u16_list("ClientHello.cipher_suites", min_len=2)
        compression = r.vec8("ClientHello.legacy_compression_methods", min_len=1)
        absent = r.at_end()
        extensions = [] if absent else read_extensions(r, "ClientHello.extensions")
        r.finish("ClientHello")
        _check_pre_shared_key_last(extensions)
        return cls(random, session_id, suites, extensions, legacy_version, compression, absent)


@dataclass(slots=True)
class ServerHello(_Message, HasExtensions):
    """RFC 8446 §4.1.3; also a HelloRetryRequest (random == HRR_RANDOM) and TLS 1.2's."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.SERVER_HELLO
    random: bytes
    legacy_session_id_echo: bytes
    cipher_suite: int
    extensions: RawExtensions
    legacy_version: int = 0x0303
    legacy_compression_method: int = 0
    extensions_absent: bool = field(default=False, compare=False)

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HRR_RANDOM

    def encode_body(self) -> bytes:
        # bytearray((u8,)) refuses a value over 255 as Writer.u8 does, with the same message
        parts: list[bytes | bytearray] = [self.legacy_version.to_bytes(2, "big"), self.random,
                 vector8(self.legacy_session_id_echo), self.cipher_suite.to_bytes(2, "big"),
                 bytearray((self.legacy_compression_method,))]
        if self.extensions or not self.extensions_absent:
            parts.append(encode_extensions(self.extensions))
        return b"".join(parts)

    @classmethod
    def decode(cls, body: bytes) -> ServerHello:
        try:
            legacy_version, random, session_id_len = _HELLO_HEAD.unpack_from(body)
            suite, compression, extensions_len = _SERVER_HELLO_TAIL.unpack_from(
                body, 35 + session_id_len)
        except struct.error:
            return cls._decode_with_reader(body)
        extensions_at = 40 + session_id_len
        if session_id_len > 32 or extensions_at + extensions_len != len(body):
            return cls._decode_with_reader(body)
        return cls(random, body[35:35 + session_id_len], suite,
                   split_hello_extensions(body[extensions_at:], "ServerHello.extensions"),
                   legacy_version, compression, False)

    @classmethod
    def _decode_with_reader(cls, body: bytes) -> ServerHello:
        r = Reader(body)
        legacy_version = r.u16("ServerHello.legacy_version")
        random = r.raw(32, "ServerHello.random")
        session_id = r.vec8("ServerHello.legacy_session_id_echo")
        if len(session_id) > 32:
            raise DecodeError(
                f"ServerHello.legacy_session_id_echo is {len(session_id)} bytes (> 32)")
        suite = r.u16("ServerHello.cipher_suite")
        compression = r.u8("ServerHello.legacy_compression_method")
        absent = r.at_end()
        extensions = [] if absent else read_extensions(r, "ServerHello.extensions")
        r.finish("ServerHello")
        return cls(random, session_id, suite, extensions, legacy_version, compression, absent)


# --- TLS 1.3 server flight ----------------------------------------------------------------------
@dataclass(slots=True)
class EncryptedExtensions(_Message, HasExtensions):
    """RFC 8446 §4.3.1."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.ENCRYPTED_EXTENSIONS
    extensions: RawExtensions

    def encode_body(self) -> bytes:
        return encode_extensions(self.extensions)

    @classmethod
    def decode(cls, body: bytes) -> EncryptedExtensions:
        if len(body) >= 2 and (body[0] << 8 | body[1]) == len(body) - 2:
            return cls(split_extensions(body[2:], "EncryptedExtensions.extensions"))
        return cls._decode_with_reader(body)

    @classmethod
    def _decode_with_reader(cls, body: bytes) -> EncryptedExtensions:
        r = Reader(body)
        extensions = read_extensions(r, "EncryptedExtensions.extensions")
        r.finish("EncryptedExtensions")
        return cls(extensions)


@dataclass(slots=True)
class CertificateRequest13(_Message, HasExtensions):
    """RFC 8446 §4.3.2. ``signature_algorithms`` presence is the handshake's check."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_REQUEST
    certificate_request_context: bytes
    extensions: RawExtensions

    def encode_body(self) -> bytes:
        return vector8(self.certificate_request_context) + encode_extensions(self.extensions)

    @classmethod
    def decode(cls, body: bytes) -> CertificateRequest13:
        try:
            extensions_at = 3 + body[0]
            (extensions_len,) = _U16.unpack_from(body, extensions_at - 2)
        except (struct.error, IndexError):
            return cls._decode_with_reader(body)
        if extensions_at + extensions_len != len(body):
            return cls._decode_with_reader(body)
        return cls(body[1:extensions_at - 2],
                   split_extensions(body[extensions_at:], "CertificateRequest.extensions"))

    @classmethod
    def _decode_with_reader(cls, body: bytes) -> CertificateRequest13:
        r = Reader(body)
        context = r.vec8("CertificateRequest.certificate_request_context")
        extensions = read_extensions(r, "CertificateRequest.extensions")
        r.finish("CertificateRequest")
        return cls(context, extensions)


@dataclass(slots=True)
class CertificateEntry(HasExtensions):
    """RFC 8446 §4.4.2: ``opaque cert_data<1..2^24-1>; Extension extensions<0..2^16-1>``."""

    cert_data: bytes
    extensions: RawExtensions = field(default_factory=list)


@dataclass(slots=True)
class Certificate13(_Message):
    """RFC 8446 §4.4.2."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE
    certificate_request_context: bytes
    certificate_list: list[CertificateEntry]

    def encode_body(self) -> bytes:
        w = Writer().vec8(self.certificate_request_context)
        with w.prefixed(3):
            for entry in self.certificate_list:
                w.vec24(entry.cert_data)
                write_extensions(w, entry.extensions)
        return w.getvalue()

    @classmethod
    def decode(cls, body: bytes) -> Certificate13:
        # u24 lengths are read from slices: a slice cut short by the end of the body makes a
        # length that no longer adds up to the body, and the Reader takes over.
        end = len(body)
        if not end:
            return cls._decode_with_reader(body)
        pos = 4 + body[0]  # the first entry, after the context<0..255> and the u24 list length
        if pos + int.from_bytes(body[pos - 3:pos], "big") != end:
            return cls._decode_with_reader(body)
        entries: list[CertificateEntry] = []
        append = entries.append
        from_bytes = int.from_bytes
        while pos < end:
            start = pos + 3
            cert_end = start + from_bytes(body[pos:start], "big")
            try:
                (extensions_len,) = _U16.unpack_from(body, cert_end)
            except struct.error:
                return cls._decode_with_reader(body)
            pos = cert_end + 2 + extensions_len
            if start == cert_end or pos > end:
                return cls._decode_with_reader(body)
            if extensions_len:
                append(CertificateEntry(body[start:cert_end], split_extensions(
                    body[cert_end + 2:pos], "CertificateEntry.extensions")))
            else:
                append(CertificateEntry(body[start:cert_end], []))
        return cls(body[1:1 + body[0]], entries)

    @classmethod
    def _decode_with_reader(cls, body: bytes) -> Certificate13:
        r = Reader(body)
        context = r.vec8("Certificate.certificate_request_context")
        block = r.sub24("Certificate.certificate_list")
        r.finish("Certificate")
        entries: list[CertificateEntry] = []
        while not block.at_end():
            cert_data = block.vec24("Certificate.cert_data", min_len=1)
            extensions = read_extensions(block, "CertificateEntry.extensions")
            entries.append(CertificateEntry(cert_data, extensions))
        return cls(context, entries)


@dataclass(slots=True)
class Certificate12(_Message):
    """RFC 5246 §7.4.2: ``ASN.1Cert certificate_list<0..2^24-1>``, each ``<1..2^24-1>``."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE
    certificate_list: list[bytes]

    def encode_body(self) -> bytes:
        w = Writer()
        with w.prefixed(3):
            for cert in self.certificate_list:
                w.vec24(cert)
        return w.getvalue()

    @classmethod
    def decode(cls, body: bytes) -> Certificate12:
        # u24 lengths are read from slices: one cut short by the end of the body makes a
        # length that does not add up to the body, and the Reader takes over.
        end = len(body)
        if int.from_bytes(body[:3], "big") + 3 != end:
            return cls._decode_with_reader(body)
        certs: list[bytes] = []
        pos = 3
        while pos < end:
            cert_len = int.from_bytes(body[pos:pos + 3], "big")
            next_pos = pos + 3 + cert_len
            if not cert_len or next_pos > end:
                return cls._decode_with_reader(body)
            certs.append(body[pos + 3:next_pos])
            pos = next_pos
        return cls(certs)

    @classmethod
    def _decode_with_reader(cls, body: bytes) -> Certificate12:
        r = Reader(body)
        block = r.sub24("Certificate.certificate_list")
        r.finish("Certificate")
        certs: list[bytes] = []
        while not block.at_end():
            certs.append(block.vec24("Certificate.ASN.1Cert", min_len=1))
        return cls(certs)


@dataclass(slots=True)
class CertificateVerify(_Message):
    """RFC 8446 §4.4.3 (and TLS 1.2's ``digitally-signed`` CertificateVerify, same bytes)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_VERIFY
    algorithm: int
    signature: bytes

    def encode_body(self) -> bytes:
        return self.algorithm.to_bytes(2, "big") + vector16(self.signature)

    @classmethod
    def decode(cls, body: bytes) -> CertificateVerify:
        try:
            algorithm, signature_len = _U16_U16.unpack_from(body)
        except struct.error:
            return cls._decode_with_reader(body)
        if 4 + signature_len != len(body):
            return cls._decode_with_reader(body)
        return cls(algorithm, body[4:])

    @classmethod
    def _decode_with_reader(cls, body: bytes) -> CertificateVerify:
        r = Reader(body)
        algorithm = r.u16("CertificateVerify.algorithm")
        signature = r.vec16("CertificateVerify.signature")
        r.finish("CertificateVerify")
        return cls(algorithm, signature)


@dataclass(slots=True)
class Finished(_Message):
    """RFC 8446 §4.4.4 / RFC 5246 §7.4.9: the body is verify_data; the caller checks its length."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.FINISHED
    verify_data: bytes

    def encode_body(self) -> bytes:
        return self.verify_data

    @classmethod
    def decode(cls, body: bytes) -> Finished:
        return cls(bytes(body))


# --- post-handshake -----------------------------------------------------------------------------
@dataclass(slots=True)
class NewSessionTicket13(_Message, HasExtensions):
    """RFC 8446 §4.6.1."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.NEW_SESSION_TICKET
    ticket_lifetime: int
    ticket_age_add: int
    ticket_nonce: bytes
    ticket: bytes
    extensions: RawExtensions

    def encode_body(self) -> bytes:
        w = Writer().u32(self.ticket_lifetime).u32(self.ticket_age_add)
        w.vec8(self.ticket_nonce).vec16(self.ticket)
        write_extensions(w, self.extensions)
        return w.getvalue()

    @classmethod
    def decode(cls, body: bytes) -> NewSessionTicket13:
        r = Reader(body)
        lifetime = r.u32("NewSessionTicket.ticket_lifetime")
        age_add = r.u32("NewSessionTicket.ticket_age_add")
        nonce = r.vec8("NewSessionTicket.ticket_nonce")
        ticket = r.vec16("NewSessionTicket.ticket", min_len=1)
        extensions = read_extensions(r, "NewSessionTicket.extensions")
        r.finish("NewSessionTicket")
        return cls(lifetime, age_add, nonce, ticket, extensions)


@dataclass(slots=True)
class NewSessionTicket12(_Message):
    """RFC 5077 §3.3: ``uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>``."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.NEW_SESSION_TICKET
    ticket_lifetime_hint: int
    ticket: bytes

    def encode_body(self) -> bytes:
        return Writer().u32(self.ticket_lifetime_hint).vec16(self.ticket).getvalue()

    @classmethod
    def decode(cls, body: bytes) -> NewSessionTicket12:
        r = Reader(body)
        hint = r.u32("NewSessionTicket.ticket_lifetime_hint")
        ticket = r.vec16("NewSessionTicket.ticket")
        r.finish("NewSessionTicket")
        return cls(hint, ticket)


@dataclass(slots=True)
class KeyUpdate(_Message):
    """RFC 8446 §4.6.3: ``KeyUpdateRequest request_update`` (0 or 1)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.KEY_UPDATE
    request_update: int

    def encode_body(self) -> bytes:
        return bytes((self.request_update,))

    @classmethod
    def decode(cls, body: bytes) -> KeyUpdate:
        r = Reader(body)
        value = r.u8("KeyUpdate.request_update")
        r.finish("KeyUpdate")
        if value not in (0, 1):
            # RFC 8446 §4.6.3: any other value is an illegal_parameter
            raise IllegalParameter(f"KeyUpdate.request_update is {value}, not 0 or 1")
        return cls(value)


# --- empty messages -----------------------------------------------------------------------------
@dataclass(slots=True)
class EndOfEarlyData(_Message):
    """RFC 8446 §4.5."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.END_OF_EARLY_DATA

    def encode_body(self) -> bytes:
        return b""

    @classmethod
    def decode(cls, body: bytes) -> EndOfEarlyData:
        _empty_body(body, "EndOfEarlyData")
        return cls()


@dataclass(slots=True)
class HelloRequest(_Message):
    """RFC 5246 §7.4.1.1."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.HELLO_REQUEST

    def encode_body(self) -> bytes:
        return b""

    @classmethod
    def decode(cls, body: bytes) -> HelloRequest:
        _empty_body(body, "HelloRequest")
        return cls()


@dataclass(slots=True)
class ServerHelloDone(_Message):
    """RFC 5246 §7.4.5."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.SERVER_HELLO_DONE

    def encode_body(self) -> bytes:
        return b""

    @classmethod
    def decode(cls, body: bytes) -> ServerHelloDone:
        _empty_body(body, "ServerHelloDone")
        return cls()


# --- TLS 1.2 key exchange -----------------------------------------------------------------------
_NAMED_CURVE = 3
_SKE_PARAMS = struct.Struct(">BHB")  # curve_type, namedcurve, length of point (RFC 8422 §5.4)


def _len8(b: bytes) -> int:
    if len(b) > 0xFF:
        raise ValueError(f"{len(b)} bytes do not fit a 1-byte length prefix")
    return len(b)


def _len16(b: bytes) -> int:
    if len(b) > 0xFFFF:
        raise ValueError(f"{len(b)} bytes do not fit a 2-byte length prefix")
    return len(b)


@dataclass(slots=True)
class ServerKeyExchangeECDHE(_Message):
    """RFC 8422 §5.4 with the TLS 1.2 ``digitally-signed`` (RFC 5246 §4.7) signature."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.SERVER_KEY_EXCHANGE
    named_group: int
    public: bytes
    algorithm: int
    signature: bytes

    # Encoded with struct rather than a Writer: the server builds these bytes twice per
    # ECDHE handshake (to sign, to send) and the client once (to verify).
    def params_bytes(self) -> bytes:
        """The ServerECDHParams, signed after client_random + server_random."""
        return _SKE_PARAMS.pack(_NAMED_CURVE, self.named_group,
                                _len8(self.public)) + self.public

    def encode_body(self) -> bytes:
        signature = self.signature
        return b"".join((self.params_bytes(),
                         _U16_U16.pack(self.algorithm, _len16(signature)), signature))

    @classmethod
    def decode(cls, body: bytes) -> ServerKeyExchangeECDHE:
        try:
            curve_type, group, public_len = _SKE_PARAMS.unpack_from(body)
            algorithm, signature_len = _U16_U16.unpack_from(body, 4 + public_len)
        except struct.error:
            return cls._decode_with_reader(body)
        signature_at = 8 + public_len
        if (curve_type != _NAMED_CURVE or not public_len
                or signature_at + signature_len != len(body)):
            return cls._decode_with_reader(body)
        return cls(group, body[4:4 + public_len], algorithm, body[signature_at:])

    @classmethod
    def _decode_with_reader(cls, body: bytes) -> ServerKeyExchangeECDHE:
        r = Reader(body)
        curve_type = r.u8("ServerKeyExchange.curve_type")
        if curve_type != _NAMED_CURVE:
            # RFC 8422 §5.4: explicit curves are deprecated; only named_curve is allowed
            raise IllegalParameter(
                f"ServerKeyExchange.curve_type is {curve_type}, not named_curve (3)")
        group = r.u16("ServerKeyExchange.namedcurve")
        public = r.vec8("ServerKeyExchange.public", min_len=1)
        algorithm = r.u16("ServerKeyExchange.algorithm")
        signature = r.vec16("ServerKeyExchange.signature")
        r.finish("ServerKeyExchange")
        return cls(group, public, algorithm, signature)


@dataclass(slots=True)
class CertificateRequest12(_Message):
    """RFC 5246 §7.4.4."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_REQUEST
    certificate_types: bytes
    supported_signature_algorithms: list[int]
    certificate_authorities: list[bytes]

    def encode_body(self) -> bytes:
        w = Writer().vec8(self.certificate_types).u16_list(self.supported_signature_algorithms)
        write_distinguished_names(w, self.certificate_authorities)
        return w.getvalue()

    @classmethod
    def decode(cls, body: bytes) -> CertificateRequest12:
        r = Reader(body)
        types = r.vec8("CertificateRequest.certificate_types", min_len=1)
        algorithms = r.u16_list("CertificateRequest.supported_signature_algorithms", min_len=2)
        authorities = read_distinguished_names(
            r, "CertificateRequest.certificate_authorities", min_len=0)
        r.finish("CertificateRequest")
        return cls(types, algorithms, authorities)


@dataclass(slots=True)
class ClientKeyExchangeECDHE(_Message):
    """RFC 8422 §5.7: ``opaque point <1..2^8-1>``."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CLIENT_KEY_EXCHANGE
    public: bytes

    def encode_body(self) -> bytes:
        return vector8(self.public)

    @classmethod
    def decode(cls, body: bytes) -> ClientKeyExchangeECDHE:
        if len(body) > 1 and body[0] == len(body) - 1:
            return cls(body[1:])
        return cls._decode_with_reader(body)

    @classmethod
    def _decode_with_reader(cls, body: bytes) -> ClientKeyExchangeECDHE:
        r = Reader(body)
        public = r.vec8("ClientKeyExchange.ecdh_Yc", min_len=1)
        r.finish("ClientKeyExchange")
        return cls(public)


@dataclass(slots=True)
class ClientKeyExchangeRSA(_Message):
    """RFC 5246 §7.4.7.1: ``public-key-encrypted PreMasterSecret`` (a vec16 in TLS 1.2)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.CLIENT_KEY_EXCHANGE
    encrypted_premaster: bytes

    def encode_body(self) -> bytes:
        return vector16(self.encrypted_premaster)

    @classmethod
    def decode(cls, body: bytes) -> ClientKeyExchangeRSA:
        if len(body) > 1 and (body[0] << 8 | body[1]) == len(body) - 2:
            return cls(body[2:])
        return cls._decode_with_reader(body)

    @classmethod
    def _decode_with_reader(cls, body: bytes) -> ClientKeyExchangeRSA:
        r = Reader(body)
        encrypted = r.vec16("ClientKeyExchange.encrypted_pre_master_secret")
        r.finish("ClientKeyExchange")
        return cls(encrypted)


# --- synthetic ----------------------------------------------------------------------------------
@dataclass(slots=True)
class MessageHash(_Message):
    """RFC 8446 §4.4.1: replaces ClientHello1 in the transcript after a HelloRetryRequest."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.MESSAGE_HASH
    hash_value: bytes

    def encode_body(self) -> bytes:
        return self.hash_value

    @classmethod
    def decode(cls, body: bytes) -> MessageHash:
        return cls(bytes(body))


ALL_MESSAGES: tuple[type[_Message], ...] = (
    ClientHello, ServerHello, EncryptedExtensions, CertificateRequest13, Certificate13,
    Certificate12, CertificateVerify, Finished, NewSessionTicket13, NewSessionTicket12,
    KeyUpdate, EndOfEarlyData, HelloRequest, ServerHelloDone, ServerKeyExchangeECDHE,
    CertificateRequest12, ClientKeyExchangeECDHE, ClientKeyExchangeRSA, MessageHash,
)
"""Every message class, for tests and tooling."""
