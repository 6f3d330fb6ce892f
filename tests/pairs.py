"""In-memory client/server pairs: pump bytes between two sans-I/O connections."""

from __future__ import annotations

from collections.abc import Callable

from lucidtls.connection import Connection
from lucidtls.events import Event

Tamper = Callable[[bytes], bytes]


def pump(client: Connection, server: Connection, *, rounds: int = 20,
         to_server: Tamper | None = None, to_client: Tamper | None = None
         ) -> tuple[list[Event], list[Event]]:
    """Move bytes both ways until neither side has anything to send. Optional *to_server* /
    *to_client* functions may rewrite each flight in flight. Exceptions propagate."""
    client_events: list[Event] = []
    server_events: list[Event] = []
    for _ in range(rounds):
        moved = False
        data = client.data_to_send()
        if data:
            moved = True
            server.receive_data(to_server(data) if to_server else data)
            server_events += server.events()
        data = server.data_to_send()
        if data:
            moved = True
            client.receive_data(to_client(data) if to_client else data)
            client_events += client.events()
        if not moved:
            break
    return client_events, server_events


def split_records(data: bytes) -> list[bytes]:
    """Split a flight into its records (header included)."""
    out = []
    while data:
        n = 5 + int.from_bytes(data[3:5], "big")
        out.append(data[:n])
        data = data[n:]
    return out
