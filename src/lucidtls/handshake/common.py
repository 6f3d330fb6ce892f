"""What every handshake procedure shares: the effect it yields, the I/O surface it calls,
and the checks that both roles and both versions make the same way."""

from __future__ import annotations

import functools
import ipaddress
import struct
from collections.abc import Callable, Generator, Hashable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

from cryptography import x509

from lucidtls.errors import CertificateError, DecodeError, ProtocolError, alert_error
from lucidtls.pki import parsed
from lucidtls.pki.parsed import load_certificate
from lucidtls.wire.enums import AlertDescription, ExtensionType, HandshakeType, describe
from lucidtls.wire.extensions import forget_blocks
from lucidtls.wire.messages import (
    Certificate12,
    Certificate13,
    CertificateEntry,
    CertificateVerify,
    Encoded,
    ServerHello,
    frame_handshake,
)

if TYPE_CHECKING:
    from lucidtls.config import VerifyCallback
    from lucidtls.crypto.suites import Suite
    from lucidtls.info import ConnectionInfo
    from lucidtls.pki.credentials import Credential
    from lucidtls.pki.trust import TrustStore, VerifiedChain
    from lucidtls.wire.extensions import V


# Pseudo message type a TLS 1.2 procedure expects for the peer's ChangeCipherSpec record
# (RFC 5246 §7.1); not a HandshakeType, outside its one-byte range.
CHANGE_CIPHER_SPEC = 0x1014


class Message(NamedTuple):
    """A complete handshake message as received: its type, body and raw bytes (header too)."""

    msg_type: int
    body: bytes
    raw: bytes


@dataclass(frozen=True, slots=True)
class Expect:
    """The one effect a procedure yields: "resume me with the next handshake message, which
    must be one of *types*". Anything else is an unexpected_message, raised by the driver."""

    types: tuple[int, ...]

    def describe(self) -> str:
        return " or ".join("ChangeCipherSpec" if t == CHANGE_CIPHER_SPEC else
                           describe(HandshakeType, t) for t in self.types)


@functools.cache
def expect(*types: int) -> Expect:
    """``Expect(types)``: one shared object per set of types (an Expect is immutable, and a
    handshake yields about six), built the first time it is asked for."""
    return Expect(types)


T = TypeVar("T")

# A handshake procedure: yields Expect, is sent Messages, returns the result.
Procedure = Generator[Expect, Message, "HandshakeResult"]
# One step of a procedure: waits for messages like a procedure, returns a T.
Step = Generator[Expect, Message, T]


@dataclass
class HandshakeResult:
    """What a finished procedure hands to the connection for the post-handshake phase."""

    info: ConnectionInfo
    suite: Suite
    # TLS 1.3: current application traffic secrets (for KeyUpdate) and the exporter secret.
    read_secret: bytes = b""
    write_secret: bytes = b""
    exporter_master_secret: bytes = b""
    # TLS 1.2: master secret and randoms for the RFC 5705 exporter.
    master_secret: bytes = b""
    client_random: bytes = b""
    server_random: bytes = b""
    extras: dict[str, Any] = field(default_factory=dict)


class HandshakeIO(Protocol):
    """What the connection does for a procedure. Calls, not yields: none of these wait."""

    def random(self, n: int) -> bytes: ...
    def send_message(self, msg: Any) -> bytes: ...
    def send_ccs(self) -> None: ...
    def set_version(self, version: int) -> None: ...
    def install_13(self, direction: str, suite: Suite, secret: bytes, label: str) -> None: ...
    def install_12(self, direction: str, suite: Suite, key: bytes, iv: bytes) -> None: ...
    def log_secret(self, label: str, secret: bytes) -> None: ...
    def trace(self, kind: str, **fields: Any) -> None: ...
    @property
    def tracing(self) -> bool: ...
    @property
    def reshaping(self) -> bool: ...
    def key_share_private(self, group: int) -> bytes | None: ...
    def sign(self, scheme: int, private_key: Any, content: bytes) -> bytes: ...


def certificate_message(io: HandshakeIO, cred: Credential, tls13: bool,
                        context: bytes = b"") -> Any:
    """The Certificate message carrying *cred*'s chain (RFC 8446 §4.4.2 with *context* and no
    entry extensions; RFC 5246 §7.4.2). Its encoding depends on the credential alone, so it is
    kept on the credential; a hook that reshapes messages gets the message object instead."""
    if io.reshaping or context:
        return _certificate(cred, tls13, context)
    key = "certificate13" if tls13 else "certificate12"
    encoded = cred.encoded.get(key)
    if encoded is None:
        encoded = cred.encoded[key] = Encoded(_certificate(cred, tls13, context).to_bytes())
    return encoded


def _certificate(cred: Credential, tls13: bool, context: bytes) -> Any:
    if tls13:
        return Certificate13(context, [CertificateEntry(der, []) for der in cred.chain_der])
    return Certificate12(list(cred.chain_der))


def preencoded(io: HandshakeIO, config: object, key: Hashable, build: Callable[[], Any]) -> Any:
    """The message *build* makes, for a message that depends only on the (frozen) *config* and
    on *key*: encoded the first time, kept on the configuration, then sent pre-framed. A hook
    that may reshape messages gets a freshly built message object instead."""
    if io.reshaping:
        return build()
    cache: dict[Hashable, Encoded] | None = config.__dict__.get("_preencoded")
    if cache is None:
        cache = {}
        object.__setattr__(config, "_preencoded", cache)
    encoded = cache.get(key)
    if encoded is None:
        encoded = cache[key] = Encoded(build().to_bytes())
    return encoded


# For messages the procedures encode themselves (the ClientHello, the ServerHello,
# CertificateVerify): the same bytes the message objects encode, with fewer steps.
U8 = [bytes((n,)) for n in range(256)]  # a one-byte length
U16 = struct.Struct(">H")
U16_PAIR = struct.Struct(">HH")  # an extension's type and length; a scheme and its length


# The Handshake header (msg_type, u24 length; RFC 8446 §4) of a CertificateVerify, then its
# algorithm and its signature's length: one pack.
_CERTIFICATE_VERIFY_HEAD = struct.Struct(">IHH")
_CERTIFICATE_VERIFY = int(HandshakeType.CERTIFICATE_VERIFY) << 24 | 4  # + len(signature)


def certificate_verify_message(io: HandshakeIO, scheme: int, signature: bytes) -> Any:
    """CertificateVerify (RFC 8446 §4.4.3, RFC 5246 §7.4.8): its algorithm and its
    signature<0..2^16-1>, framed; the message object when a hook may reshape messages."""
    n = len(signature)
    if io.reshaping or n > 0xFFFF:
        return CertificateVerify(scheme, signature)
    return Encoded(_CERTIFICATE_VERIFY_HEAD.pack(_CERTIFICATE_VERIFY + n, scheme, n) + signature)


def server_hello_message(io: HandshakeIO, random: bytes, session_id: bytes, cipher_suite: int,
                         extensions: list[tuple[int, bytes]]) -> Any:
    """A ServerHello (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3): the bytes ``ServerHello(...)
    .to_bytes()`` makes, encoded directly; the message object when a hook may reshape it."""
    if io.reshaping:
        return ServerHello(random=random, legacy_session_id_echo=session_id,
                           cipher_suite=cipher_suite, extensions=extensions)
    block = b"".join([U16_PAIR.pack(t, len(data)) + data for t, data in extensions])
    return Encoded(frame_handshake(HandshakeType.SERVER_HELLO, b"".join((
        b"\x03\x03", random, U8[len(session_id)], session_id, U16.pack(cipher_suite), b"\x00",
        U16.pack(len(block)), block))))


def decode(cls: Any, body: bytes) -> Any:
    """``cls.decode(body)``; anything other than a ProtocolError becomes decode_error."""
    try:
        return cls.decode(body)
    except ProtocolError:
        raise
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise DecodeError(f"malformed {cls.__name__}: {exc}") from exc


# What the two caches below keep, at most: a few hundred KiB of a peer's bytes. A larger message
# or extension (a long certificate chain, say) is decoded every time and never kept.
MAX_CACHED_MESSAGE = 1 << 14
MAX_CACHED_EXTENSION = 1 << 10


def decode_repeated(cls: Any, body: bytes) -> Any:
    """``decode(cls, body)`` for a message a peer sends byte for byte the same on every
    handshake (its Certificate, a server's EncryptedExtensions and CertificateRequest): a
    returning peer's message is decoded once, as its certificates are parsed once
    (``pki.parsed``). Decoding is a pure function of the bytes; every check the handshake
    makes on the message still runs each time, and a malformed message is refused each time
    (exceptions are not cached). The decoded object is shared, so it is never modified."""
    if len(body) > MAX_CACHED_MESSAGE:
        return decode(cls, body)
    return _decode_cached(cls, body)


# decode itself, cached: no frame of its own around a first decode
_decode_cached = functools.lru_cache(maxsize=64)(decode)


def view_repeated(msg: Any, view_cls: type[V]) -> V | None:
    """``msg.view(view_cls)`` for an extension a peer sends the same on every handshake (the
    requests and acknowledgements in decode_repeated's messages, a ServerHello's version):
    parsed once per distinct extension_data (a pure function of the bytes, as above)."""
    ext_type = view_cls.ext_type  # msg.ext() and parse_view(), inlined: five a handshake
    for t, data in msg.extensions:
        if t == ext_type:
            if len(data) > MAX_CACHED_EXTENSION:
                return view_cls.decode(data)
            view: V = _parse_cached(view_cls, data)
            return view
    return None


def view_in(extensions: dict[int, bytes], view_cls: type[V]) -> V | None:
    """``msg.view(view_cls)`` over ``dict(msg.extensions)`` (for a message whose extensions
    are read several times), each parsed once per distinct value (parse_view)."""
    data = extensions.get(view_cls.ext_type)
    return None if data is None else parse_view(view_cls, data)


def parse_view(view_cls: type[V], data: bytes) -> V:
    """``view_cls.decode(data)``, once per distinct extension_data: for extensions a peer
    sends the same on every connection (never for key shares, new each time)."""
    if len(data) > MAX_CACHED_EXTENSION:
        return view_cls.decode(data)
    view: V = _parse_cached(view_cls, data)  # (lru_cache's wrapper returns Any)
    return view


@functools.lru_cache(maxsize=128)
def _parse_cached(view_cls: type[V], data: bytes) -> V:
    return view_cls.decode(data)


def forget_peers() -> None:
    """Empty every cache of what peers sent: decoded repeated messages and extensions, parsed
    certificates and their public keys. The next handshake with any peer decodes and parses
    everything afresh (the bench's "new peer" rows measure that; it also frees the memory)."""
    _decode_cached.cache_clear()
    _parse_cached.cache_clear()
    forget_blocks()
    parsed.load_certificate.cache_clear()
    parsed.public_key.cache_clear()


def check_extensions(extensions: Iterable[tuple[int, bytes]], allowed: AbstractSet[int],
                     where: str, offered: AbstractSet[int] | None = None) -> None:
    """RFC 8446 §4.2: a known extension in a message where it does not belong is
    illegal_parameter; in a response, an extension we did not offer is unsupported_extension."""
    for ext_type, _ in extensions:
        if offered is not None and ext_type not in offered:
            raise alert_error(AlertDescription.unsupported_extension,
                              f"{where} carries {describe(ExtensionType, ext_type)}, "
                              "which we did not offer")
        if ext_type not in allowed:
            raise alert_error(AlertDescription.illegal_parameter,
                              f"{describe(ExtensionType, ext_type)} is not allowed in {where}")


def parse_certificates(ders: Sequence[bytes]) -> list[x509.Certificate]:
    try:
        return list(map(load_certificate, ders))
    except ValueError:
        pass  # parsed again below, one by one, to name the certificate
    certs = []
    for i, der in enumerate(ders):
        try:
            certs.append(load_certificate(der))
        except ValueError as exc:
            raise alert_error(AlertDescription.bad_certificate,
                              f"certificate {i} in the chain cannot be parsed: {exc}") from exc
    return certs


def is_ip_address(name: str) -> bool:
    # Cheap pre-check: an IPv6 literal has a colon, an IPv4 one only digits and dots; anything
    # else (every host name) skips ipaddress's exception-driven parse.
    if ":" not in name and name.strip("0123456789."):
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def verify_peer_chain(
    chain: list[x509.Certificate],
    *,
    verify: Callable[[], VerifiedChain],
    callback: VerifyCallback | None,
    skip: bool,
    io: HandshakeIO,
) -> tuple[VerifiedChain | None, str]:
    """Run the built-in verification, then the user's callback. Returns the verified chain and
    a word for ConnectionInfo.verification. Raises CertificateError to reject."""
    if skip and callback is None:
        io.trace("verify", outcome="skipped", reason="verification disabled by configuration")
        return None, "skipped (insecure)"
    verdict: VerifiedChain | CertificateError
    try:
        verdict = verify()
    except CertificateError as exc:
        verdict = exc
    if callback is not None:
        decision = callback(chain, verdict)
        if decision is True:
            io.trace("verify", outcome="accepted by callback",
                     builtin=str(verdict) if isinstance(verdict, CertificateError) else "ok")
            return (None if isinstance(verdict, CertificateError) else verdict,
                    "accepted by callback")
        if isinstance(decision, int) and decision is not False:
            alert = AlertDescription(decision)
            io.trace("verify", outcome="rejected by callback", alert=alert.name)
            raise alert_error(alert, f"certificate rejected by the verify callback "
                                     f"({alert.name})")
        if decision is False:
            io.trace("verify", outcome="rejected by callback", alert="bad_certificate")
            raise alert_error(AlertDescription.bad_certificate,
                              "certificate rejected by the verify callback")
    if skip:
        io.trace("verify", outcome="skipped", reason="verification disabled by configuration")
        return None, "skipped (insecure)"
    if isinstance(verdict, CertificateError):
        io.trace("verify", outcome="rejected", alert=verdict.alert.name, reason=verdict.reason)
        raise verdict
    if io.tracing:
        io.trace("verify", outcome="verified", subject=verdict.subject,
                 anchor=verdict.anchor_subject)
    return verdict, "verified"




def first(items: Iterable[T]) -> T | None:
    for item in items:
        return item
    return None


def require(cond: bool, alert: AlertDescription, reason: str) -> None:
    """``require(x, alert, why)``: the check and its alert on one line."""
    if not cond:
        raise alert_error(alert, reason)


def trust_for(store: TrustStore | None) -> TrustStore:
    if store is not None:
        return store
    from lucidtls.pki.trust import TrustStore as _TS
    return _TS.default()
