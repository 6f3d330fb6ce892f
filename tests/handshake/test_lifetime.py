"""A connection is freed as soon as its last reference goes.

Nothing in a connection refers back to it (procedures reach it through a weak proxy), so
reference counting frees it, with everything it holds, the moment the application drops it.
A reference cycle would leave every connection to the cyclic garbage collector, whose pauses
grow with the garbage: it cost about 5 % of a handshake's CPU before it was removed.

A connection that failed is the exception: it keeps its error to raise it again, and the
error's traceback refers to the connection's frames. That cycle is left to the collector on
purpose, since the traceback is what a user debugs with.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterator

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection, Connection, ServerConnection
from lucidtls.events import PostHandshakeAuth
from lucidtls.pki.credentials import Credential
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import ProtocolVersion
from tests.pairs import pump


@pytest.fixture(autouse=True)
def no_cyclic_collector() -> Iterator[None]:
    """Only reference counting may free anything while a test runs."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def used_and_dropped(make: Callable[[], tuple[Connection, Connection]]
                     ) -> list[weakref.ref[Connection]]:
    """Make a pair, use it, drop it; return weak references to both ends."""
    client, server = make()
    return [weakref.ref(client), weakref.ref(server)]


def assert_freed(refs: list[weakref.ref[Connection]]) -> None:
    assert [r() for r in refs] == [None, None]


def exchange(client: Connection, server: Connection) -> None:
    pump(client, server)
    assert client.handshake_complete and server.handshake_complete
    client.send(b"ping")
    server.send(b"pong")
    pump(client, server)
    client.close()
    pump(client, server)


@pytest.mark.parametrize("version", [ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2],
                         ids=["TLS1.3", "TLS1.2"])
def test_a_used_pair_is_freed(trust: TrustStore, server_cred: Credential,
                              version: ProtocolVersion) -> None:
    def make() -> tuple[Connection, Connection]:
        client = ClientConnection(ClientConfig(trust=trust, versions=(version,)), "localhost")
        server = ServerConnection(ServerConfig(credentials=(server_cred,)))
        exchange(client, server)
        return client, server
    assert_freed(used_and_dropped(make))


def test_a_mutual_pair_after_post_handshake_auth_is_freed(
        trust: TrustStore, server_cred: Credential, client_cred: Credential) -> None:
    def make() -> tuple[Connection, Connection]:
        client = ClientConnection(ClientConfig(trust=trust, credentials=(client_cred,),
                                               post_handshake_auth=True), "localhost")
        server = ServerConnection(ServerConfig(credentials=(server_cred,), client_trust=trust))
        pump(client, server)
        server.request_client_certificate()
        _, server_events = pump(client, server)
        assert any(isinstance(e, PostHandshakeAuth) and e.client_auth for e in server_events)
        exchange(client, server)
        return client, server
    assert_freed(used_and_dropped(make))


def test_a_connection_dropped_mid_handshake_is_freed(trust: TrustStore,
                                                     server_cred: Credential) -> None:
    def make() -> tuple[Connection, Connection]:
        client = ClientConnection(ClientConfig(trust=trust), "localhost")
        server = ServerConnection(ServerConfig(credentials=(server_cred,)))
        server.receive_data(client.data_to_send())  # the server waits for the client's Finished
        return client, server
    assert_freed(used_and_dropped(make))
