"""The public sans-I/O connection (h11 style).

``receive_data(bytes)`` feeds what the transport delivered; ``next_event()`` returns what
happened; ``send(data)`` / ``close()`` queue records; ``data_to_send()`` returns the bytes to
write. Nothing here touches a socket, a clock or a thread.

A protocol failure queues the fatal alert (so ``data_to_send()`` still returns it), makes the
connection fail for good (sticky), and raises a ``ProtocolError`` naming the alert and the cause.
"""

from __future__ import annotations

import dataclasses
import os
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lucidtls.config import ClientConfig, ServerConfig, require_config
from lucidtls.crypto import keyschedule as ks
from lucidtls.crypto import signatures
from lucidtls.crypto.aead import Tls12Protection, Tls13Protection, confidentiality_limit
from lucidtls.crypto.suites import Suite
from lucidtls.errors import (
    ConfigError,
    ConnectionClosedError,
    DecodeError,
    LocalError,
    PeerAlertError,
    ProtocolError,
    StateError,
    TLSError,
    alert_error,
)
from lucidtls.events import (
    AlertReceived,
    ApplicationData,
    ConnectionClosed,
    Event,
    HandshakeComplete,
    KeyUpdated,
    PostHandshakeAuth,
    SessionTicketReceived,
)
from lucidtls.handshake.client import ClientHandshake
from lucidtls.handshake.common import (
    CHANGE_CIPHER_SPEC,
    Expect,
    HandshakeIO,
    HandshakeResult,
    Message,
)
from lucidtls.handshake.server import ServerHandshake
from lucidtls.info import ConnectionInfo
from lucidtls.record import HandshakeReader, RecordLayer
from lucidtls.wire.enums import (
    AlertDescription,
    AlertLevel,
    ContentType,
    ExtensionType,
    HandshakeType,
    KeyUpdateRequest,
    ProtocolVersion,
    describe,
)
from lucidtls.wire.messages import KeyUpdate, NewSessionTicket13
from lucidtls.wire.records import Alert

A = AlertDescription
HT = HandshakeType
_HANDSHAKE = int(ContentType.HANDSHAKE)
_APPDATA = int(ContentType.APPLICATION_DATA)
_ALERT = int(ContentType.ALERT)
_CCS = int(ContentType.CHANGE_CIPHER_SPEC)
_TLS12 = int(ProtocolVersion.TLS1_2)
_TLS13 = int(ProtocolVersion.TLS1_3)
_SEQUENCE_SPACE = 1 << 64  # record sequence numbers stop below this (aead refuses to wrap)
_CCS_MESSAGE = Message(CHANGE_CIPHER_SPEC, b"\x01", b"")  # a TLS 1.2 CCS, as procedures get it


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One thing that happened during the connection, for ``explain`` and observers."""

    kind: str  # "message", "keys", "secret", "verify", "alert", "key_share", ...
    fields: dict[str, Any]


@dataclass
class Hooks:
    """Test and research hooks: fix randomness and keys, reshape outgoing messages.

    A connection reads ``random``, ``sign`` and whether ``shape`` is set when it is made:
    set them before creating the connection (the hooks object may be shared by many)."""

    random: Callable[[int], bytes] | None = None
    key_share_private: dict[int, bytes] = field(default_factory=dict)
    # Called with each outgoing handshake message object; returns the object (possibly
    # changed) or raw handshake bytes to send instead.
    shape: Callable[[Any], Any] | None = None
    sign: Callable[[int, Any, bytes], bytes] | None = None
    # Legacy record version of the first ClientHello's record (RFC 8446 §5.1 allows 0x0301
    # there); None keeps 0x0303.
    first_record_version: int | None = None


_NO_HOOKS = Hooks()  # the default: read, never changed
_new_tuple = tuple.__new__  # builds a NamedTuple from a tuple in C
_new_object, _set_attribute = object.__new__, object.__setattr__
# _deliver_application_data builds ApplicationData the way its dataclass __init__ would; if the
# event ever gains a field or a __post_init__, that shortcut must go.
assert [f.name for f in dataclasses.fields(ApplicationData)] == ["data"] and \
    not hasattr(ApplicationData, "__post_init__")


def _data_across_key_change() -> ProtocolError:
    # RFC 8446 §5.1: handshake messages must not span a key change (held to in TLS 1.2 too).
    return alert_error(A.unexpected_message, "handshake data left over across a key change")


def _no_procedure(msg: Message) -> Expect:
    raise AssertionError("no handshake procedure is running")  # (never called: see _waiting)


def _require_bytes(data: object, method: str) -> None:
    # None or a str here would otherwise mean end of file, or fail deep in the record layer.
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{method}() takes bytes, bytearray or memoryview, "
                        f"not {type(data).__name__}")


class Connection:
    """Common machinery of ``ClientConnection`` and ``ServerConnection``."""

    is_client: bool
    # Set by _start, which the constructor of each side calls.
    _handshake: ClientHandshake | ServerHandshake | None
    # The running procedure's generator send (resumes it), _no_procedure once none runs.
    _resume: Callable[[Message], Expect]
    _waiting: Expect | None  # what the running procedure waits for; None once it returned
    # Read at most once or twice per connection: defaults kept by the class, not set per object.
    info: ConnectionInfo | None = None
    # What runs when the current procedure returns; None: _handshake_done. (Not the bound
    # method itself: the connection would then hold a reference cycle to itself.)
    _on_done: Callable[[HandshakeResult], None] | None = None
    _trace_log: list[TraceEvent] | None = None

    def __init__(self, config: ClientConfig | ServerConfig, *, hooks: Hooks | None = None,
                 observer: Callable[[TraceEvent], None] | None = None) -> None:
        self.config = config
        self._hooks = hooks = hooks or _NO_HOOKS
        # Whether a hook may change outgoing messages (else what is sent is what was built): a
        # plain attribute, read by procedures at each pre-encoded message; hooks are read here.
        self.reshaping = hooks.shape is not None
        # Randomness and signatures as procedures call them (HandshakeIO):
        # the hooks' or the real ones, chosen here, so that a call goes straight to them.
        self.random: Callable[[int], bytes] = hooks.random or os.urandom
        self.sign: Callable[[int, Any, bytes], bytes] = hooks.sign or signatures.sign
        self._observer = observer
        self._record = RecordLayer()
        self._hs_reader = HandshakeReader()
        self._events: deque[Event] = deque()
        self._result: HandshakeResult | None = None
        self._error: TLSError | None = None
        self._peer_closed = False
        self._we_closed = False
        # Looked up once per connection (SSLKEYLOGFILE is in os.environ), not per secret.
        self._keylog_path = config.keylog_path()
        # Whether anybody observes trace events: guards call sites whose arguments cost. A
        # plain attribute (read a dozen times per handshake), kept in step by trace_log's setter.
        self.tracing = observer is not None

    # --- public API -----------------------------------------------------------------------
    @property
    def handshake_complete(self) -> bool:
        return self._result is not None

    @property
    def closed(self) -> bool:
        return self._peer_closed or self._we_closed or self._error is not None

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feed bytes from the transport; ``b""`` means the transport reached end of file."""
        if self._error is not None:
            raise self._error
        if type(data) is not bytes:
            _require_bytes(data, "receive_data")
        if not data:
            self._on_eof()
            return
        self._record.feed(data)
        try:
            self._process_records()
        except ProtocolError as exc:
            self._fail(exc)
            raise
        except PeerAlertError as exc:
            self._error = exc
            raise
        except LocalError as exc:
            # Our misuse surfaced mid-handshake (e.g. an invalid host name at verification):
            # raised as is, but the peer still gets an alert and the failure sticks.
            self._fail(ProtocolError(f"local error: {exc}", A.internal_error))
            raise
        except TLSError:
            raise
        except Exception as exc:  # a bug of ours must still end in an alert, not a stray error
            err = ProtocolError(f"internal error: {exc!r}", A.internal_error)
            self._fail(err)
            raise err from exc

    def next_event(self) -> Event | None:
        """The next event, or None when more data is needed."""
        return self._events.popleft() if self._events else None

    def events(self) -> list[Event]:
        """All pending events."""
        out = list(self._events)
        self._events.clear()
        return out

    def data_to_send(self) -> bytes:
        """Bytes to write to the transport (records; alerts included after a failure)."""
        return self._record.take_output()

    def send(self, data: bytes | bytearray | memoryview) -> None:
        """Queue application data (fragmented to records of at most 2^14 bytes)."""
        if type(data) is not bytes:
            _require_bytes(data, "send")
        self._check_can_send()
        if self._record.write_seq >= self._write_limit:  # (never reached in TLS 1.2)
            self.key_update(request_peer=False)  # RFC 8446 §5.5: rekey before the limit
        if data:
            self._record.write(_APPDATA, data)

    def close(self) -> None:
        """Send close_notify; nothing can be sent afterwards."""
        if self._we_closed or self._error is not None:
            return
        self._we_closed = True
        self._send_alert(A.close_notify, AlertLevel.WARNING)

    def key_update(self, request_peer: bool = True) -> None:
        """TLS 1.3 KeyUpdate (RFC 8446 §4.6.3): new write keys; optionally ask the peer to
        update its own."""
        self._check_can_send()
        result = self._result
        assert result is not None
        if result.info.version != _TLS13:
            raise StateError("KeyUpdate exists only in TLS 1.3")
        req = KeyUpdateRequest.update_requested if request_peer else \
            KeyUpdateRequest.update_not_requested
        self._send_key_update(int(req))

    def export_keying_material(self, label: bytes | str, context: bytes | None,
                               length: int) -> bytes:
        """RFC 8446 §7.5 / RFC 5705 exporter."""
        result = self._result
        if result is None:
            raise StateError("the exporter is available after the handshake")
        if isinstance(label, str):
            label = label.encode()
        if result.info.version == _TLS13:
            return ks.exporter_13(result.suite.hash, result.exporter_master_secret, label,
                                  context or b"", length)
        return ks.exporter_12(result.suite.hash, result.master_secret, label,
                              result.client_random, result.server_random, context, length)

    # --- records in -----------------------------------------------------------------------
    def _process_records(self) -> None:
        if self._peer_closed:
            return
        record = self._record
        next_record = record.next_record
        while True:
            if self._result is None:
                rec = next_record()
            else:
                # Once established, runs of application-data records take the record layer's
                # fast path, which hands anything else (and any record it declines) to
                # next_record. What it decrypted is delivered even if a later record fails.
                contents: list[bytes] = []
                try:
                    rec = record.read_application_data_13(contents)
                finally:
                    if contents:
                        self._deliver_application_data(contents)
            if rec is None:
                return
            ctype, payload = rec
            if ctype == _APPDATA:
                if self._result is None:
                    raise alert_error(A.unexpected_message,
                                      "application data before the handshake completed")
                self._events.append(ApplicationData(payload))
                continue
            if ctype == _HANDSHAKE:
                self._on_handshake_data(payload)
            elif ctype == _CCS:
                self._on_ccs(payload)
            elif ctype == _ALERT:
                self._on_alert(payload)
                if self._peer_closed:  # nothing after close_notify is read (RFC 8446 §6.1)
                    return

    def _deliver_application_data(self, contents: list[bytes]) -> None:
        # ApplicationData(content) for each, built the way its frozen dataclass __init__ does
        # but without that extra frame: this runs once per record of a bulk stream.
        append = self._events.append
        for content in contents:
            event = _new_object(ApplicationData)
            _set_attribute(event, "data", content)
            append(event)

    def _on_handshake_data(self, payload: bytes) -> None:
        reader = self._hs_reader
        reader.feed(payload)
        # Each message leaves the queue before it is handled, so what a key change finds still
        # queued is what the key change would strand (RFC 8446 §5.1).
        ready = reader.ready
        while ready:
            item = ready.popleft()
            msg = _new_tuple(Message, item)  # Message(*item) in C
            msg_type = item[0]
            if self.tracing:
                self.trace("message", direction="received", msg_type=msg_type, raw=msg.raw,
                           protected=self._record.read_protected)
            # A procedure is running exactly when it waits for a message (_waiting).
            waiting = self._waiting
            if waiting is not None and msg_type in waiting.types:
                self._advance(msg)
            elif waiting is not None and self._result is None:
                self._unexpected_handshake_message(msg, waiting)
            else:
                self._post_handshake(msg)

    def _unexpected_handshake_message(self, msg: Message, waiting: Expect) -> None:
        if msg.msg_type == HT.HELLO_REQUEST and self.is_client and \
                self._record.version != _TLS13:
            # RFC 5246 §7.4.1.1: ignored while negotiating; never part of the transcript.
            if msg.body:
                raise DecodeError("HelloRequest must be empty")
            self.trace("hello_request_ignored")
            return
        raise alert_error(A.unexpected_message,
                          f"expected {waiting.describe()}, received "
                          f"{describe(HandshakeType, msg.msg_type)}")

    def _advance(self, msg: Message | None) -> None:
        """Resume the procedure with *msg* (None starts it) until it waits or returns."""
        try:
            self._waiting = self._resume(msg)  # type: ignore[arg-type]  # send(None) is next()
        except StopIteration as stop:  # the procedure returned its result
            self._resume, self._waiting = _no_procedure, None
            on_done, self._on_done = self._on_done, None
            (on_done or self._handshake_done)(stop.value)

    def _handshake_done(self, result: HandshakeResult) -> None:
        self._result = result
        info = self.info = result.info
        # Records sent under one key before send() rekeys (RFC 8446 §5.5); TLS 1.2 has no
        # KeyUpdate, and its sequence numbers end before this limit.
        self._write_limit = confidentiality_limit(result.suite) \
            if info.version == _TLS13 else _SEQUENCE_SPACE
        if self.tracing:
            self.trace("handshake_complete", info=info)
        event = _new_object(HandshakeComplete)  # HandshakeComplete(info), without its frame
        _set_attribute(event, "info", info)
        self._events.append(event)

    def _on_ccs(self, payload: bytes) -> None:
        version = self._record.version
        if version == _TLS12 and (waiting := self._waiting) is not None and \
                CHANGE_CIPHER_SPEC in waiting.types:
            if payload != b"\x01":
                raise DecodeError("ChangeCipherSpec must be the single byte 1")
            if not self._hs_reader.empty:
                raise alert_error(A.unexpected_message,
                                  "ChangeCipherSpec in the middle of a handshake message")
            if self.tracing:
                self.trace("message", direction="received", msg_type=CHANGE_CIPHER_SPEC,
                           raw=payload, protected=self._record.read_protected)
            self._advance(_CCS_MESSAGE)
            return
        # RFC 8446 §5: one byte 0x01 between the first ClientHello and the peer's Finished is
        # dropped (middlebox compatibility); anything else is an unexpected record.
        if version != _TLS12 and self._result is None and \
                self._first_hello_seen() and payload == b"\x01":
            if self.tracing:
                self.trace("ccs_ignored")
            return
        raise alert_error(A.unexpected_message, "unexpected ChangeCipherSpec record")

    def _on_alert(self, payload: bytes) -> None:
        try:
            alert = Alert.decode(payload)
        except ProtocolError:
            raise DecodeError(f"alert record of {len(payload)} bytes (must be 2)") from None
        self.trace("alert", direction="received", level=alert.level,
                    description=alert.description)
        if alert.description == A.close_notify:
            self._peer_closed = True
            if self._result is None:
                # The handshake can never complete; fail now rather than leave a driver
                # waiting for it (its next read only sees end of file, which we ignored).
                err = ConnectionClosedError("the peer sent close_notify during the handshake")
                self._error = err
                raise err
            self._events.append(ConnectionClosed(clean=True))
            return
        tls13 = self._record.version != _TLS12
        if alert.level == AlertLevel.WARNING and (
                not tls13 or alert.description == A.user_canceled):
            # RFC 8446 §6: in TLS 1.3 only close_notify and user_canceled may be warnings.
            self._events.append(AlertReceived(alert.level, alert.description))
            return
        raise PeerAlertError(alert.description)

    def _on_eof(self) -> None:
        if self._peer_closed:
            return
        self._peer_closed = True
        if self._result is None:
            err = ConnectionClosedError("the peer closed the connection during the handshake")
            self._error = err
            raise err
        self._events.append(ConnectionClosed(clean=False))

    # --- post-handshake messages (RFC 8446 §4.6) ------------------------------------------
    def _post_handshake(self, msg: Message) -> None:
        result = self._result
        assert result is not None
        if result.info.version != _TLS13:
            self._post_handshake_12(msg)
            return
        if msg.msg_type == HT.KEY_UPDATE:
            ku = KeyUpdate.decode(msg.body)
            # RFC 8446 §5.1: a key change must fall on a record boundary.
            if not self._hs_reader.empty:
                raise alert_error(A.unexpected_message, "KeyUpdate not at a record boundary")
            result.read_secret = ks.next_traffic_secret(result.suite.hash, result.read_secret)
            self._install_13_read(result.suite, result.read_secret)
            self._events.append(KeyUpdated("read", requested_by_peer=False))
            if ku.request_update == KeyUpdateRequest.update_requested and not self._we_closed:
                self._send_key_update(int(KeyUpdateRequest.update_not_requested))
                self._events.append(KeyUpdated("write", requested_by_peer=True))
            return
        if msg.msg_type == HT.NEW_SESSION_TICKET and self.is_client:
            nst = NewSessionTicket13.decode(msg.body)
            self._events.append(SessionTicketReceived(nst.ticket_lifetime, nst.ticket))
            return
        if msg.msg_type == HT.CERTIFICATE_REQUEST and self.is_client:
            self._post_handshake_auth_request(msg)
            return
        if not self.is_client and self._post_handshake_expect(msg):
            return
        raise alert_error(A.unexpected_message,
                          f"unexpected post-handshake {describe(HandshakeType, msg.msg_type)}")

    def _post_handshake_12(self, msg: Message) -> None:
        # Our policy: renegotiation is refused. RFC 5246 §7.2.2: no_renegotiation "is always a
        # warning", sent by a client for a HelloRequest and by a server for a ClientHello; the
        # hello is ignored and the side that asked decides whether to go on (as OpenSSL does).
        if (msg.msg_type == HT.HELLO_REQUEST and self.is_client) or \
                (msg.msg_type == HT.CLIENT_HELLO and not self.is_client):
            self._send_alert(A.no_renegotiation, AlertLevel.WARNING)
            self.trace("renegotiation_refused", msg_type=msg.msg_type)
            return
        raise alert_error(A.unexpected_message,
                          f"unexpected post-handshake {describe(HandshakeType, msg.msg_type)}")

    def _post_handshake_auth_request(self, msg: Message) -> None:
        hs, result = self._handshake, self._result
        assert isinstance(hs, ClientHandshake) and result is not None
        sent = hs.answer_post_handshake_auth(msg, result.write_secret)
        cred = hs.client_credential
        subject = cred.leaf.subject.rfc4514_string() if sent and cred is not None else None
        self._events.append(PostHandshakeAuth(client_auth=sent, subject=subject))

    def _post_handshake_expect(self, msg: Message) -> bool:
        return False

    def _send_key_update(self, request: int) -> None:
        result = self._result
        assert result is not None
        self._record.write(_HANDSHAKE, self._encode(KeyUpdate(request)))
        result.write_secret = ks.next_traffic_secret(result.suite.hash, result.write_secret)
        self._record.set_write_13(Tls13Protection(
            result.suite, *ks.traffic_keys(result.suite, result.write_secret)))
        self.trace("keys", direction="write", label="application traffic (updated)")

    # --- HandshakeIO: what procedures call ------------------------------------------------
    def key_share_private(self, group: int) -> bytes | None:
        return self._hooks.key_share_private.get(group)

    def send_message(self, msg: Any) -> bytes:
        """Encode and queue one handshake message; returns the bytes that went out."""
        # Queued in the record layer, which writes a flight as one record per key epoch.
        raw = self._encode(msg) if self.reshaping else msg.to_bytes()
        self._record.handshake_out += raw
        if self.tracing and raw:  # a test hook may drop the message by shaping it to b""
            self.trace("message", direction="sent", msg_type=raw[0], raw=raw,
                       protected=self._record.write_protected)
        return raw

    def _encode(self, msg: Any) -> bytes:
        shape = self._hooks.shape
        if shape is not None:
            msg = shape(msg)
            if isinstance(msg, (bytes, bytearray)):
                return bytes(msg)
        raw: bytes = msg.to_bytes()
        return raw

    def send_ccs(self) -> None:
        self._record.write_ccs()
        if self.tracing:
            self.trace("message", direction="sent", msg_type=CHANGE_CIPHER_SPEC, raw=b"\x01",
                       protected=False)

    def set_version(self, version: int) -> None:
        self._record.version = version

    def install_13(self, direction: str, suite: Suite, secret: bytes, label: str) -> None:
        if label and (self.tracing or self._keylog_path is not None):  # else log_secret is a no-op
            self.log_secret(label, secret)
        if direction == "write":
            self._record.set_write_13(Tls13Protection(suite, *ks.traffic_keys(suite, secret)))
        elif self._hs_reader.empty:
            self._record.set_read_13(Tls13Protection(suite, *ks.traffic_keys(suite, secret)))
        else:
            raise _data_across_key_change()
        if self.tracing:
            self.trace("keys", direction=direction, label=label, suite=suite.name)

    def _install_13_read(self, suite: Suite, secret: bytes) -> None:
        if not self._hs_reader.empty:
            raise _data_across_key_change()
        self._record.set_read_13(Tls13Protection(suite, *ks.traffic_keys(suite, secret)))

    def install_12(self, direction: str, suite: Suite, key: bytes, iv: bytes) -> None:
        if direction == "write":
            self._record.set_write_12(Tls12Protection(suite, key, iv))
        else:
            if not self._hs_reader.empty:
                raise _data_across_key_change()
            self._record.set_read_12(Tls12Protection(suite, key, iv))
        if self.tracing:
            self.trace("keys", direction=direction, suite=suite.name)

    def log_secret(self, label: str, secret: bytes) -> None:
        if self.tracing:
            self.trace("secret", label=label, length=len(secret))
        path = self._keylog_path
        if path is None:
            return
        hs = self._handshake
        client_random = hs.client_random if hs is not None else b""
        # Opened per line (a debugging aid, a few lines per connection): no file is left open
        # for the connection's lifetime, and the connection needs no finaliser to close one.
        with open(path, "a", encoding="ascii") as keylog:
            keylog.write(f"{label} {client_random.hex()} {secret.hex()}\n")

    @property
    def trace_log(self) -> list[TraceEvent] | None:
        """Trace events recorded so far; set to ``[]`` to start recording."""
        return self._trace_log

    @trace_log.setter
    def trace_log(self, log: list[TraceEvent] | None) -> None:
        self._trace_log = log
        self.tracing = self._observer is not None or log is not None

    def trace(self, kind: str, **fields: Any) -> None:
        """Record a trace event (free when nobody observes)."""
        if not self.tracing:
            return
        event = TraceEvent(kind, fields)
        if self._trace_log is not None:
            self._trace_log.append(event)
        if self._observer is not None:
            self._observer(event)

    # --- internals ------------------------------------------------------------------------
    def _as_io(self) -> HandshakeIO:
        """This connection as the procedures see it: through a weak proxy. The connection keeps
        its handshake object (post-handshake messages need it); a strong reference back would
        make a cycle, and a finished connection would wait for the cyclic garbage collector
        instead of being freed when its last reference goes."""
        io: HandshakeIO = weakref.proxy(self)  # (annotated, not cast(): no call at run time)
        return io

    def _start(self, handshake: ClientHandshake | ServerHandshake) -> None:
        self._handshake = handshake
        self._resume = handshake.run().send
        self._advance(None)

    def _check_can_send(self) -> None:
        if self._error is not None:
            raise StateError(f"the connection failed: {self._error}")
        if self._result is None:
            raise StateError("the handshake is not complete")
        if self._we_closed:
            raise StateError("the connection was closed")

    def _first_hello_seen(self) -> bool:
        return True  # (a client: it sends the first ClientHello; ServerConnection overrides)

    def _send_alert(self, description: AlertDescription, level: AlertLevel) -> None:
        self._record.write(_ALERT, Alert(int(level), int(description)).encode())
        self.trace("alert", direction="sent", level=int(level), description=int(description))

    def _fail(self, exc: ProtocolError) -> None:
        if self._error is not None:
            return
        self._error = exc
        self._record.handshake_out.clear()  # a flight cut short is not sent
        self.trace("error", alert=exc.alert.name, reason=exc.reason)
        try:
            self._send_alert(exc.alert, AlertLevel.FATAL)
        except Exception:  # noqa: BLE001, S110 - the alert is best effort; the error matters
            pass


class ClientConnection(Connection):
    """A TLS client. The ClientHello is ready in ``data_to_send()`` right after construction."""

    is_client = True

    def __init__(self, config: ClientConfig | None = None, server_hostname: str | None = None,
                 *, hooks: Hooks | None = None,
                 observer: Callable[[TraceEvent], None] | None = None) -> None:
        config = config or ClientConfig()
        require_config(config, ClientConfig, "a ClientConnection")
        if server_hostname is not None and not isinstance(server_hostname, str):
            raise TypeError(f"server_hostname must be a str (a DNS name or an IP address) or "
                            f"None, not {type(server_hostname).__name__}")
        if config.check_hostname and not server_hostname and \
                not config.dangerously_skip_verification:
            raise ConfigError("server_hostname is required to verify the server's certificate "
                              "(or set check_hostname=False)")
        super().__init__(config, hooks=hooks, observer=observer)
        self.server_hostname = server_hostname
        self._start(ClientHandshake(self._as_io(), config, server_hostname))
        first = self._hooks.first_record_version
        if first is not None and self._record.handshake_out:
            # The ClientHello's record, and only it, carries this version.
            self._record.plaintext_version = first
            self._record.flush_handshake()
            self._record.plaintext_version = _TLS12


class ServerConnection(Connection):
    """A TLS server; waits for the ClientHello."""

    is_client = False

    def __init__(self, config: ServerConfig, *, hooks: Hooks | None = None,
                 observer: Callable[[TraceEvent], None] | None = None) -> None:
        require_config(config, ServerConfig, "a ServerConnection")
        super().__init__(config, hooks=hooks, observer=observer)
        self._start(ServerHandshake(self._as_io(), config))

    def _first_hello_seen(self) -> bool:
        # The procedure keeps the ClientHello it read (and is failed if it could not read one).
        hs = self._handshake
        return isinstance(hs, ServerHandshake) and hs.client_hello is not None

    def request_client_certificate(self, required: bool = True) -> None:
        """TLS 1.3 post-handshake client authentication (RFC 8446 §4.6.2): send a
        CertificateRequest; a ``PostHandshakeAuth`` event follows when the client answered."""
        self._check_can_send()
        hs, result = self._handshake, self._result
        assert isinstance(hs, ServerHandshake) and result is not None
        if result.info.version != _TLS13:
            raise StateError("post-handshake authentication exists only in TLS 1.3")
        if self._waiting is not None:  # (a procedure runs exactly while it waits)
            raise StateError("a post-handshake authentication is already in progress")
        if hs.client_hello is None or not hs.client_hello.has_ext(
                ExtensionType.post_handshake_auth):
            raise StateError("the client did not offer post_handshake_auth")
        if hs.config.client_trust is None:
            raise StateError("post-handshake authentication needs ServerConfig.client_trust")

        def done(pha: HandshakeResult) -> None:
            assert self._result is not None and self.info is not None
            extras = pha.extras
            chain = extras["peer_chain"] if extras["client_auth"] else []
            self.info = dataclasses.replace(
                self.info, peer_certificates=tuple(chain), verified=extras["verified"],
                verification=extras["verification"], client_auth=extras["client_auth"])
            self._result.info = self.info
            subject = chain[0].subject.rfc4514_string() if chain else None
            self._events.append(PostHandshakeAuth(extras["client_auth"], subject))

        self._on_done = done
        self._resume = hs.post_handshake_auth(lambda: result.read_secret, required).send
        self._advance(None)
