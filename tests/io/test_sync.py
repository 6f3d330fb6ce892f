"""The blocking driver (``lucidtls.io.sync``) over a socketpair."""

from __future__ import annotations

import socket
import threading

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.io.sync import wrap_client, wrap_server

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
