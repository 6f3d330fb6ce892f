"""Blocking-socket driver: moves bytes between a socket and a sans-I/O ``Connection``.

    import lucidtls
    with lucidtls.connect("example.com", 443) as tls:
        tls.sendall(b"GET / HTTP/1.0\\r\\nHost: example.com\\r\\n\\r\\n")
        print(tls.recv_all())
"""

from __future__ import annotations

import socket
import threading
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Self

from lucidtls.config import ClientConfig, ServerConfig, require_config
from lucidtls.connection import ClientConnection, Connection, Hooks, ServerConnection, TraceEvent
from lucidtls.errors import ConnectionClosedError, PeerAlertError, ProtocolError, TLSError
from lucidtls.events import ApplicationData, ConnectionClosed, HandshakeComplete
from lucidtls.info import ConnectionInfo

RECV_SIZE = 65536
# Bytes asked of the socket per read: several records, so fewer reads and fewer records split
# between two reads (each split one is copied once). asyncio's selector transport reads as much.
_READ_SIZE = 1 << 18


class TLSSocket:
    """A TLS channel over a connected blocking socket."""

    def __init__(self, sock: socket.socket, conn: Connection) -> None:
        self.sock = sock
        self.conn = conn
        # Decrypted record payloads not yet returned by recv(), kept as they came (no joining).
        self._pending: deque[bytes] = deque()
        self._eof = False
        self._clean_close = False

    # --- handshake ------------------------------------------------------------------------
    def do_handshake(self) -> ConnectionInfo:
        conn = self.conn
        self._flush()
        while not conn.handshake_complete:
            self._read_some()
        assert conn.info is not None
        return conn.info

    @property
    def info(self) -> ConnectionInfo:
        if self.conn.info is None:
            raise TLSError("the handshake is not complete")
        return self.conn.info

    # --- data -----------------------------------------------------------------------------
    def sendall(self, data: bytes) -> None:
        self.conn.send(data)
        self._flush()

    def recv(self, bufsize: int = RECV_SIZE) -> bytes:
        """Up to *bufsize* bytes; ``b""`` once the peer has closed (cleanly or not — see
        ``clean_close``)."""
        pending = self._pending
        while not pending and not self._eof:
            self._read_some()
        if not pending:
            return b""
        chunk = pending[0]
        if len(chunk) <= bufsize:  # one record's data at most, like ssl.SSLSocket.recv
            pending.popleft()
            return chunk
        pending[0] = chunk[bufsize:]
        return chunk[:bufsize]

    def recv_all(self) -> bytes:
        chunks = []
        while chunk := self.recv():
            chunks.append(chunk)
        return b"".join(chunks)

    @property
    def clean_close(self) -> bool:
        """True if the peer ended with close_notify (False: truncated by the transport)."""
        return self._clean_close

    def key_update(self, request_peer: bool = True) -> None:
        self.conn.key_update(request_peer)
        self._flush()

    def close(self) -> None:
        try:
            # Also after the peer's close_notify (RFC 8446 §6.1); close() is a no-op once we
            # closed or failed.
            self.conn.close()
            self._flush()
        except (OSError, TLSError):
            pass
        finally:
            self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------------------------
    def _flush(self) -> None:
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def _read_some(self) -> None:
        try:
            data = self.sock.recv(_READ_SIZE)
        except ConnectionResetError:
            data = b""
        try:
            self.conn.receive_data(data)
        except (ProtocolError, PeerAlertError, ConnectionClosedError):
            try:
                self._flush()  # the alert we owe the peer
            except OSError:
                pass
            raise
        for event in self.conn.events():
            if isinstance(event, ApplicationData):
                if event.data:
                    self._pending.append(event.data)
            elif isinstance(event, ConnectionClosed):
                self._eof = True
                self._clean_close = event.clean
            elif isinstance(event, HandshakeComplete):
                pass
        try:
            self._flush()
        except OSError:
            if not self._eof:
                raise


def wrap_client(sock: socket.socket, config: ClientConfig | None = None,
                server_hostname: str | None = None, *, hooks: Hooks | None = None,
                observer: Callable[[TraceEvent], None] | None = None,
                do_handshake: bool = True) -> TLSSocket:
    conn = ClientConnection(config, server_hostname, hooks=hooks, observer=observer)
    return _wrap(sock, conn, do_handshake)


def wrap_server(sock: socket.socket, config: ServerConfig, *, hooks: Hooks | None = None,
                observer: Callable[[TraceEvent], None] | None = None,
                do_handshake: bool = True) -> TLSSocket:
    return _wrap(sock, ServerConnection(config, hooks=hooks, observer=observer), do_handshake)


def _wrap(sock: socket.socket, conn: Connection, do_handshake: bool) -> TLSSocket:
    tls = TLSSocket(sock, conn)
    if do_handshake:
        try:
            tls.do_handshake()
        except BaseException:
            sock.close()  # a failed handshake leaves nothing usable behind
            raise
    return tls


def connect(host: str, port: int, config: ClientConfig | None = None, *,
            server_hostname: str | None = None, timeout: float | None = 30.0,
            observer: Callable[[TraceEvent], None] | None = None) -> TLSSocket:
    """Open a TCP connection and complete a TLS handshake; the certificate is verified
    against *server_hostname* (default: *host*)."""
    # The connection first: a bad config or host name is refused before a socket exists.
    conn = ClientConnection(config, server_hostname or host, observer=observer)
    sock = socket.create_connection((host, port), timeout=timeout)
    return _wrap(sock, conn, do_handshake=True)


class TLSServer:
    """A small threaded TLS server: ``handler(tls_socket)`` runs per connection."""

    def __init__(self, config: ServerConfig, handler: Callable[[TLSSocket], None],
                 host: str = "127.0.0.1", port: int = 0,
                 on_error: Callable[[tuple[str, int], Exception], None] | None = None) -> None:
        require_config(config, ServerConfig, "TLSServer")  # here, not in each client's thread
        self.config = config
        self.handler = handler
        self.on_error = on_error
        family = socket.AF_INET6 if ":" in host else socket.AF_INET  # "::1" needs AF_INET6
        self.listener = socket.create_server((host, port), family=family)
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def serve_forever(self, max_connections: int | None = None) -> None:
        served = 0
        while not self._stop.is_set():
            try:
                sock, peer = self.listener.accept()
            except OSError:
                break
            t = threading.Thread(target=self._serve_one, args=(sock, peer), daemon=True)
            t.start()
            served += 1
            if max_connections is not None and served >= max_connections:
                t.join()
                break

    def _serve_one(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        sock.settimeout(30)
        try:
            tls = wrap_server(sock, self.config)
        except (TLSError, OSError) as exc:
            if self.on_error:
                self.on_error(peer, exc)
            sock.close()
            return
        try:
            self.handler(tls)
        except (TLSError, OSError) as exc:
            if self.on_error:
                self.on_error(peer, exc)
        finally:
            tls.close()

    def start(self) -> TLSServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.listener.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
