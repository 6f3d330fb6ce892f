"""The blocking driver (``lucidtls.io.sync``) over a socketpair."""

from __future__ import annotations

import socket
import threading
import warnings

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.errors import ConfigError
from lucidtls.io.sync import TLSServer, connect, wrap_client, wrap_server

WAIT = 30


def test_close_after_the_peer_closed_sends_close_notify(client_config: ClientConfig,
                                                        server_config: ServerConfig) -> None:
    # RFC 8446 §6.1: each side sends close_notify before closing its write side, also when
    # the peer closed first; otherwise the peer sees a truncated stream.
    a, b = socket.socketpair()
    a.settimeout(WAIT)
    b.settimeout(WAIT)
    served: list[bytes] = []

    def serve() -> None:
        with wrap_server(b, server_config) as tls:
            served.append(tls.recv_all())  # until the client's close_notify
            tls.sendall(b"reply")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with wrap_client(a, client_config, "localhost") as tls:
        tls.sendall(b"request")
        tls.conn.close()  # half-close: close_notify, keep reading
        tls.sock.sendall(tls.conn.data_to_send())
        assert tls.recv_all() == b"reply"
        assert tls.clean_close, "the server closed without close_notify"
    thread.join(WAIT)
    assert served == [b"request"]


def test_wrong_config_types_are_refused_up_front(client_config: ClientConfig,
                                                 server_config: ServerConfig) -> None:
    """Before any socket exists (connect) or any client arrives (TLSServer), not per
    connection in a worker thread."""
    with pytest.raises(TypeError, match="^TLSServer needs a ServerConfig, not ClientConfig$"):
        TLSServer(client_config, lambda tls: None)  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)  # no socket left open behind the error
        with pytest.raises(TypeError, match="^a ClientConnection needs a ClientConfig, not "
                                            "ServerConfig$"):
            connect("127.0.0.1", 9, server_config)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="^server_hostname is required"):
            connect("", 9, client_config)
