"""asyncio driver: TLS streams over a plain TCP transport, driven by a sans-I/O ``Connection``.

    import lucidtls.aio
    reader, writer = await lucidtls.aio.open_connection("example.com", 443)
    writer.write(b"GET / HTTP/1.0\\r\\nHost: example.com\\r\\n\\r\\n")
    await writer.drain()
    print(await reader.read())

The layering is the one asyncio's own ``sslproto`` uses: ``_TLSProtocol`` is the protocol of the
TCP transport; it feeds received bytes to the ``Connection`` and writes what the connection wants
to send. Once the handshake completes it hands a ``TLSTransport`` (plaintext in, records out) to
an ``asyncio.StreamReaderProtocol``, so the usual ``StreamReader``/``StreamWriter`` work on top.

Differences from ``asyncio.open_connection(ssl=...)``, on purpose:

* a peer that ends the TCP stream without close_notify has *truncated* the data (RFC 8446 §6.1):
  the reader raises ``TruncationError`` once the data received before it has been read, instead
  of returning a clean ``b""``;
* handshake failures raise the typed ``ProtocolError`` / ``PeerAlertError`` (after our alert has
  been written), and a handshake that takes too long raises ``HandshakeTimeoutError``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from lucidtls.config import ClientConfig, ServerConfig, require_config
from lucidtls.connection import ClientConnection, Connection, Hooks, ServerConnection, TraceEvent
from lucidtls.errors import ConnectionClosedError, PeerAlertError, StateError, TLSError
from lucidtls.events import ApplicationData, ConnectionClosed, HandshakeComplete
from lucidtls.info import ConnectionInfo

__all__ = [
    "HandshakeTimeoutError", "PeerAlertError", "TLSStreamReader", "TLSTransport",
    "TruncationError", "connection_info", "open_connection", "start_server", "start_tls",
]

log = logging.getLogger("lucidtls.aio")

DEFAULT_HANDSHAKE_TIMEOUT = 60.0
DEFAULT_CLOSE_TIMEOUT = 30.0
_DEFAULT_LIMIT = 2 ** 16  # asyncio.streams' default buffer limit

ClientConnectedCallback = Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                   Awaitable[None] | None]
HandshakeErrorCallback = Callable[[Any, Connection, BaseException], None]


class TruncationError(ConnectionClosedError):
    """The transport ended without the peer's close_notify: data may have been cut off by an
    attacker or a crash (RFC 8446 §6.1)."""


class HandshakeTimeoutError(TLSError, TimeoutError):
    """The TLS handshake did not complete within the configured time."""


class TLSStreamReader(asyncio.StreamReader):
    """A ``StreamReader`` that hands out the data received before an error first.

    ``asyncio.StreamReader.set_exception`` makes the next read fail at once, dropping data that
    is already buffered; for a truncation or a late alert the bytes before it were authentic,
    so they are delivered first and the error is raised when the reader would wait for more.
    """

    _pending_exc: Exception | None = None

    def set_exception(self, exc: Exception) -> None:
        if self._buffer and self._waiter is None:  # type: ignore[attr-defined]
            self._pending_exc = exc
            return
        super().set_exception(exc)

    async def _wait_for_data(self, func_name: str) -> None:
        exc = self._pending_exc
        if exc is not None:
            self._pending_exc = None
            super().set_exception(exc)
            raise exc
        await super()._wait_for_data(func_name)  # type: ignore[misc]


class TLSTransport(asyncio.Transport):
    """The plaintext transport the stream protocol writes to: data becomes TLS records."""

    def __init__(self, tls: _TLSProtocol) -> None:
        super().__init__()
        self._tls = tls
        self._closing = False
        self._dropped_writes = 0

    # --- information ------------------------------------------------------------------------
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """``"lucidtls"`` / ``"tls_info"``: the ``ConnectionInfo``; ``"tls_connection"``: the
        sans-I/O connection; ``"peercert"``: the peer's leaf certificate (a
        ``cryptography.x509.Certificate``) or None; ``"cipher"``: ``(suite name, version name,
        None)``; anything else is asked of the TCP transport (``peername``, ``socket``, ...)."""
        conn = self._tls.conn
        if name in ("lucidtls", "tls_info"):
            return conn.info
        if name == "tls_connection":
            return conn
        if name == "peercert":
            info = conn.info
            return info.peer_certificates[0] if info and info.peer_certificates else default
        if name == "cipher":
            info = conn.info
            return (info.cipher_name, info.version_name, None) if info else default
        if name == "sslcontext":
            return default  # keeps StreamReaderProtocol honouring half-close (see eof handling)
        tcp = self._tls.tcp
        return tcp.get_extra_info(name, default) if tcp is not None else default

    def is_closing(self) -> bool:
        return self._closing or self._tls.tcp is None or self._tls.tcp.is_closing()

    # --- writing ----------------------------------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}")
        if not data:
            return
        if not self.is_closing():
            try:
                self._tls.conn.send(bytes(data))
            except StateError:  # we sent close_notify, or the connection failed
                pass
            else:
                self._tls.flush()
                return
        # As asyncio's transports do: writes after close are dropped; the reader reports why
        # the connection ended.
        self._dropped_writes += 1
        if self._dropped_writes == 5:
            log.warning("writes to a closed TLS transport are being dropped")

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """Send close_notify and keep reading: TLS 1.3 closes each direction on its own
        (RFC 8446 §6.1). The TCP connection stays open until ``close()``."""
        if not self.is_closing():
            self._tls.conn.close()
            self._tls.flush()

    def get_write_buffer_size(self) -> int:
        tcp = self._tls.tcp
        return tcp.get_write_buffer_size() if tcp is not None else 0

    def get_write_buffer_limits(self) -> tuple[int, int]:
        tcp = self._tls.tcp
        return tcp.get_write_buffer_limits() if tcp is not None else (0, 0)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        tcp = self._tls.tcp
        if tcp is not None:
            tcp.set_write_buffer_limits(high, low)

    # --- reading ----------------------------------------------------------------------------
    def is_reading(self) -> bool:
        tcp = self._tls.tcp
        return tcp is not None and tcp.is_reading()

    def pause_reading(self) -> None:
        # The stream's buffer is full: stop reading the socket, so a slow reader makes the
        # peer's TCP window close instead of our memory grow.
        tcp = self._tls.tcp
        if tcp is not None and not tcp.is_closing():
            tcp.pause_reading()

    def resume_reading(self) -> None:
        tcp = self._tls.tcp
        if tcp is not None and not tcp.is_closing():
            tcp.resume_reading()

    # --- closing ----------------------------------------------------------------------------
    def close(self) -> None:
        """Send close_notify (RFC 8446 §6.1), flush, then close the TCP connection; abort it if
        the flush takes longer than the close timeout."""
        if self._closing:
            return
        self._closing = True
        self._tls.start_close()

    def abort(self) -> None:
        self._closing = True
        self._tls.abort()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._tls.app_protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        protocol: asyncio.BaseProtocol = self._tls.app_protocol
        return protocol


class _TLSProtocol(asyncio.Protocol):
    """The TCP transport's protocol: moves bytes between the socket and the ``Connection``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, conn: Connection,
                 app_protocol: asyncio.Protocol, *, waiter: asyncio.Future[None] | None,
                 handshake_timeout: float | None, close_timeout: float | None,
                 on_handshake_error: HandshakeErrorCallback | None = None) -> None:
        self.loop = loop
        self.conn = conn
        self.app_protocol: Any = app_protocol
        self.tcp: asyncio.Transport | None = None
        self.peername: Any = None
        self.app_transport = TLSTransport(self)
        self._waiter = waiter
        self._handshake_timeout = handshake_timeout
        self._close_timeout = close_timeout
        self._on_handshake_error = on_handshake_error
        self._timer: asyncio.TimerHandle | None = None
        self._app_connected = False
        self._app_lost = False
        self._handshake_reported = False
        self._peer_closed_cleanly = False
        self._writing_paused = False
        self.error: BaseException | None = None
        self.upgraded_from: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    # --- TCP events -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.tcp = transport
        self.peername = transport.get_extra_info("peername")
        if self._handshake_timeout is not None:
            self._timer = self.loop.call_later(self._handshake_timeout, self._handshake_timed_out)
        self.flush()  # the ClientHello

    def data_received(self, data: bytes) -> None:
        self._feed(data)

    def eof_received(self) -> bool | None:
        self._feed(b"")
        return False  # let the TCP transport close; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self.tcp = None
        closed_by_us = self.app_transport._closing
        self.app_transport._closing = True
        if not self.conn.handshake_complete:
            err = self.error or ConnectionClosedError(
                "the connection closed during the handshake" + (f": {exc}" if exc else ""))
            self._handshake_failed(err)
            return
        if self.error is None and not self._peer_closed_cleanly and not closed_by_us:
            # The transport went away (reset, or EOF we did not see) without close_notify.
            self.error = TruncationError(
                "the connection ended without close_notify (truncated)"
                + (f": {exc}" if exc else ""))
        self._app_connection_lost(self.error)

    def pause_writing(self) -> None:
        self._writing_paused = True
        if self._app_connected:
            self.app_protocol.pause_writing()

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._app_connected:
            self.app_protocol.resume_writing()

    # --- driving the connection -------------------------------------------------------------
    def flush(self) -> None:
        tcp = self.tcp
        out = self.conn.data_to_send()
        if out and tcp is not None and not tcp.is_closing():
            tcp.write(out)

    def _feed(self, data: bytes) -> None:
        conn = self.conn
        try:
            conn.receive_data(data)
        except TLSError as exc:
            self._fail(exc)
            return
        for event in conn.events():
            if isinstance(event, ApplicationData):
                if self._app_connected and not self._app_lost:
                    self.app_protocol.data_received(event.data)
            elif isinstance(event, HandshakeComplete):
                self._handshake_done()
            elif isinstance(event, ConnectionClosed):
                if event.clean:
                    self._peer_closed_cleanly = True
                    self._peer_close_notify()
                else:
                    self.error = TruncationError(
                        "the connection ended without close_notify (truncated)")
                    self._app_connection_lost(self.error)
            # KeyUpdated, SessionTicketReceived and warning alerts need nothing from us.
        self.flush()  # KeyUpdate answers and the like

    def _handshake_done(self) -> None:
        self._cancel_timer()
        self._app_connected = True
        self.app_protocol.connection_made(self.app_transport)
        if self._writing_paused:
            self.app_protocol.pause_writing()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _peer_close_notify(self) -> None:
        # RFC 8446 §6.1: close_notify ends the peer's write side. A stream protocol that
        # returns True from eof_received keeps ours open (half-close) until it closes.
        keep_open = self.app_protocol.eof_received() if self._app_connected else False
        if not keep_open:
            self.app_transport.close()

    def _fail(self, exc: BaseException) -> None:
        """A protocol error or the peer's fatal alert: write our alert, close, report."""
        if self.error is not None and self.tcp is None:
            return
        self.error = self.error or exc
        self.flush()  # the alert the connection queued, if any
        if self.tcp is not None:
            self.tcp.close()  # flushes the alert, then connection_lost
        if not self.conn.handshake_complete:
            self._handshake_failed(exc)
        else:
            self._app_connection_lost(exc)

    def _handshake_failed(self, exc: BaseException) -> None:
        self._cancel_timer()
        if self._handshake_reported:
            return
        self._handshake_reported = True
        if self._waiter is not None:
            if not self._waiter.done():
                self._waiter.set_exception(exc)
        elif self._on_handshake_error is not None:
            self._on_handshake_error(self.peername, self.conn, exc)
        else:
            log.debug("TLS handshake with %s failed: %s", self.peername, exc)

    def _handshake_timed_out(self) -> None:
        self._timer = None
        if self.conn.handshake_complete:
            return
        self.error = HandshakeTimeoutError(
            f"the TLS handshake did not complete within {self._handshake_timeout} s")
        self._handshake_failed(self.error)
        if self.tcp is not None:
            self.tcp.abort()

    def _app_connection_lost(self, exc: BaseException | None) -> None:
        if self._app_connected and not self._app_lost:
            self._app_lost = True
            self.app_protocol.connection_lost(exc)

    def start_close(self) -> None:
        tcp = self.tcp
        try:
            self.conn.close()
            self.flush()
        except StateError:
            pass
        if tcp is None:
            return
        tcp.close()  # flushes the write buffer, then connection_lost
        if self._close_timeout is not None:
            self._cancel_timer()
            self._timer = self.loop.call_later(self._close_timeout, self._close_timed_out)

    def _close_timed_out(self) -> None:
        self._timer = None
        if self.tcp is not None:
            log.debug("close did not finish within %s s; aborting", self._close_timeout)
            self.tcp.abort()

    def abort(self) -> None:
        if self.tcp is not None:
            self.tcp.abort()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _asyncio_keywords(call: str, config_kind: str, kwds: dict[str, Any],
                      handshake_timeout: float | None, close_timeout: float | None
                      ) -> tuple[float | None, float | None]:
    """Take asyncio's TLS keywords out of *kwds*, so that a call written for asyncio ports by
    changing the module: ``ssl=True`` (always true here), ``ssl_handshake_timeout`` and
    ``ssl_shutdown_timeout`` (our *handshake_timeout* and *close_timeout*). An
    ``ssl.SSLContext`` cannot configure lucidtls: refused with the keyword to use instead."""
    if "ssl" in kwds:
        ssl_arg = kwds.pop("ssl")
        if ssl_arg is not True:
            what = "ssl=" + (repr(ssl_arg) if ssl_arg in (None, False) else
                             f"<{type(ssl_arg).__name__}>")
            raise TypeError(f"lucidtls.aio.{call}() always speaks TLS and takes "
                            f"config={config_kind}(...), not {what}")
    for asyncio_name, ours, value in (
            ("ssl_handshake_timeout", "handshake_timeout", handshake_timeout),
            ("ssl_shutdown_timeout", "close_timeout", close_timeout)):
        if asyncio_name not in kwds:
            continue
        default = DEFAULT_HANDSHAKE_TIMEOUT if ours == "handshake_timeout" else \
            DEFAULT_CLOSE_TIMEOUT
        if value != default:
            raise TypeError(f"lucidtls.aio.{call}() got both {asyncio_name} and {ours}")
        if ours == "handshake_timeout":
            handshake_timeout = kwds.pop(asyncio_name)
        else:
            close_timeout = kwds.pop(asyncio_name)
    return handshake_timeout, close_timeout


async def open_connection(
    host: str | None = None, port: int | None = None, *,
    config: ClientConfig | None = None,
    server_hostname: str | None = None,
    handshake_timeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT,
    close_timeout: float | None = DEFAULT_CLOSE_TIMEOUT,
    limit: int = _DEFAULT_LIMIT,
    hooks: Hooks | None = None,
    observer: Callable[[TraceEvent], None] | None = None,
    **kwds: Any,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect over TCP and complete a TLS handshake; like ``asyncio.open_connection(ssl=...)``.

    The certificate is verified against *server_hostname* (default: *host*). Extra keyword
    arguments go to ``loop.create_connection`` (``family``, ``local_addr``, ``sock``, ...).
    Raises ``ProtocolError`` / ``PeerAlertError`` / ``HandshakeTimeoutError`` /
    ``ConnectionClosedError`` if the handshake fails. asyncio's ``ssl=True``,
    ``ssl_handshake_timeout`` and ``ssl_shutdown_timeout`` are accepted too.
    """
    handshake_timeout, close_timeout = _asyncio_keywords(
        "open_connection", "ClientConfig", kwds, handshake_timeout, close_timeout)
    loop = asyncio.get_running_loop()
    conn = ClientConnection(config, server_hostname or host, hooks=hooks, observer=observer)
    tls, reader, waiter = _stream_protocol(loop, conn, limit, handshake_timeout, close_timeout)
    await loop.create_connection(lambda: tls, host, port, **kwds)  # type: ignore[arg-type]
    return await _after_handshake(tls, reader, waiter)


def _stream_protocol(loop: asyncio.AbstractEventLoop, conn: Connection, limit: int,
                     handshake_timeout: float | None, close_timeout: float | None
                     ) -> tuple[_TLSProtocol, TLSStreamReader, asyncio.Future[None]]:
    """A TLS protocol for one stream we open (or upgrade), with its reader and the future the
    handshake's outcome is reported to."""
    reader = TLSStreamReader(limit=limit, loop=loop)
    app_protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    waiter: asyncio.Future[None] = loop.create_future()
    tls = _TLSProtocol(loop, conn, app_protocol, waiter=waiter,
                       handshake_timeout=handshake_timeout, close_timeout=close_timeout)
    return tls, reader, waiter


async def _after_handshake(tls: _TLSProtocol, reader: TLSStreamReader,
                           waiter: asyncio.Future[None]
                           ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        await waiter
    except BaseException:
        tls.abort()
        raise
    return reader, asyncio.StreamWriter(tls.app_transport, tls.app_protocol, reader, tls.loop)


async def start_server(
    client_connected_cb: ClientConnectedCallback,
    host: str | None = None, port: int | None = None, *,
    config: ServerConfig,
    handshake_timeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT,
    close_timeout: float | None = DEFAULT_CLOSE_TIMEOUT,
    limit: int = _DEFAULT_LIMIT,
    hooks: Hooks | None = None,
    observer: Callable[[TraceEvent], None] | None = None,
    trace: bool = False,
    handshake_error_cb: HandshakeErrorCallback | None = None,
    **kwds: Any,
) -> asyncio.Server:
    """Start a TLS server; like ``asyncio.start_server(..., ssl=...)``.

    *client_connected_cb(reader, writer)* runs for each client once its handshake completed;
    connections whose handshake fails are closed after the alert and reported to
    *handshake_error_cb(peername, connection, exc)* (default: logged at DEBUG on
    ``lucidtls.aio``). With *trace*, each connection keeps its own trace events in
    ``connection.trace_log`` (the connection is ``get_extra_info("tls_connection")``), for
    ``lucidtls.explain``. Extra keyword arguments go to ``loop.create_server``; asyncio's
    ``ssl_handshake_timeout`` and ``ssl_shutdown_timeout`` are accepted too.
    """
    handshake_timeout, close_timeout = _asyncio_keywords(
        "start_server", "ServerConfig", kwds, handshake_timeout, close_timeout)
    require_config(config, ServerConfig, "start_server()")  # here, not in each client's factory
    loop = asyncio.get_running_loop()

    def factory() -> _TLSProtocol:
        reader = TLSStreamReader(limit=limit, loop=loop)
        app_protocol = asyncio.StreamReaderProtocol(reader, client_connected_cb, loop=loop)
        conn = ServerConnection(config, hooks=hooks, observer=observer)
        if trace:
            conn.trace_log = []
        return _TLSProtocol(loop, conn, app_protocol, waiter=None,
                            handshake_timeout=handshake_timeout, close_timeout=close_timeout,
                            on_handshake_error=handshake_error_cb)

    return await loop.create_server(factory, host, port, **kwds)


async def start_tls(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
    config: ClientConfig | ServerConfig,
    server_hostname: str | None = None,
    handshake_timeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT,
    close_timeout: float | None = DEFAULT_CLOSE_TIMEOUT,
    limit: int = _DEFAULT_LIMIT,
    hooks: Hooks | None = None,
    observer: Callable[[TraceEvent], None] | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """STARTTLS: upgrade a plain asyncio stream pair to TLS and return the TLS pair.

    The pair comes from ``asyncio.open_connection`` or an ``asyncio.start_server`` handler,
    after the application protocol agreed to start TLS (SMTP's STARTTLS, ...). A
    ``ClientConfig`` makes this end the TLS client (verifying *server_hostname*), a
    ``ServerConfig`` the server. The old pair must not be used afterwards. Bytes that the old
    reader received but nobody read (a ClientHello that came in before this call) go to the
    TLS handshake, never to the application: plaintext injected behind a STARTTLS command, a
    known attack, ends the handshake with a decode error instead of being read as a command.
    """
    transport = writer.transport
    if isinstance(transport, TLSTransport):
        raise StateError("the stream already speaks TLS")
    if not isinstance(transport, asyncio.Transport) or transport.is_closing():
        raise ConnectionClosedError("the stream to upgrade is closed")
    conn: Connection
    if isinstance(config, ClientConfig):
        conn = ClientConnection(config, server_hostname, hooks=hooks, observer=observer)
    elif isinstance(config, ServerConfig):
        conn = ServerConnection(config, hooks=hooks, observer=observer)
    else:
        raise TypeError(f"start_tls() takes a ClientConfig or a ServerConfig, "
                        f"not {type(config).__name__}")
    tls, tls_reader, waiter = _stream_protocol(asyncio.get_running_loop(), conn, limit,
                                               handshake_timeout, close_timeout)
    # The old writer closes its transport when it is collected (asyncio's StreamWriter.__del__),
    # which is the TCP stream under our TLS: the protocol keeps it alive as long as it lives.
    tls.upgraded_from = (reader, writer)
    transport.set_protocol(tls)
    tls.connection_made(transport)  # the ClientHello, if we are the client
    early: bytearray = getattr(reader, "_buffer", bytearray())  # asyncio keeps no public view
    if early:
        data = bytes(early)
        early.clear()
        tls.data_received(data)
    if reader.at_eof():  # the peer had already ended its side: the handshake fails now
        tls.eof_received()
    if not transport.is_reading():
        transport.resume_reading()  # the old reader may have paused it (its buffer limit)
    return await _after_handshake(tls, tls_reader, waiter)


def connection_info(writer: asyncio.StreamWriter) -> ConnectionInfo:
    """The ``ConnectionInfo`` of a stream made by this module."""
    info = writer.get_extra_info("lucidtls")
    if info is None:
        raise StateError("not a lucidtls stream")
    assert isinstance(info, ConnectionInfo)
    return info
