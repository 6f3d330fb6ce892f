"""Hypothesis drives random and mutated records into both roles.

Whatever arrives, a connection may only raise ``ProtocolError`` (having queued its alert),
``PeerAlertError`` or ``ConnectionClosedError``; never another exception, never a hang, and never
an internal_error alert (that would be a bug of ours caught by the safety net).

The mutated flights come from a real in-memory handshake whose randomness, key shares and
signatures are fixed through ``Hooks``, so a fresh peer accepts the unmutated flight exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection, Connection, Hooks, ServerConnection
from lucidtls.errors import ConnectionClosedError, PeerAlertError, ProtocolError, StateError
from lucidtls.events import ApplicationData
from lucidtls.pki.credentials import Credential
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import AlertDescription, NamedGroup
from tests.pairs import split_records

FUZZ = settings(max_examples=80, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
GROUP = NamedGroup.x25519


def deterministic_sign(scheme: int, key: object, content: bytes) -> bytes:
    # RFC 6979 deterministic ECDSA, so the server's flight is the same every time.
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    h = hashes.SHA384() if key.curve.key_size >= 384 else hashes.SHA256()
    return key.sign(content, ec.ECDSA(h, deterministic_signing=True))


def client_hooks() -> Hooks:
    return Hooks(random=lambda n: bytes([0x11]) * n, key_share_private={GROUP: bytes([1]) * 32})


def server_hooks() -> Hooks:
    return Hooks(random=lambda n: bytes([0x22]) * n, key_share_private={GROUP: bytes([2]) * 32},
                 sign=deterministic_sign)


@dataclass
class Recording:
    """The flights of one fixed handshake, then application data in both directions."""

    cc: ClientConfig
    sc: ServerConfig
    client_hello: bytes
    server_flight: bytes
    client_flight: bytes
    client_app: bytes  # application data + KeyUpdate + more data, client to server
    server_app: bytes

    def client(self) -> ClientConnection:
        client = ClientConnection(self.cc, "localhost", hooks=client_hooks())
        assert client.data_to_send() == self.client_hello
        return client

    def server(self) -> ServerConnection:
        return ServerConnection(self.sc, hooks=server_hooks())

    def server_after_hello(self) -> ServerConnection:
        server = self.server()
        server.receive_data(self.client_hello)
        assert server.data_to_send() == self.server_flight
        return server

    def established_server(self) -> ServerConnection:
        server = self.server_after_hello()
        server.receive_data(self.client_flight)
        assert server.handshake_complete
        return server

    def established_client(self) -> ClientConnection:
        client = self.client()
        client.receive_data(self.server_flight)
        assert client.handshake_complete
        client.data_to_send()
        return client


@pytest.fixture(scope="module")
def rec(demo_ca: Credential, server_cred: Credential) -> Recording:
    trust = TrustStore.from_certificates([demo_ca.leaf])
    cc = ClientConfig(trust=trust, groups=(GROUP,), key_share_groups=(GROUP,))
    sc = ServerConfig(credentials=(server_cred,), groups=(GROUP,))
    client = ClientConnection(cc, "localhost", hooks=client_hooks())
    server = ServerConnection(sc, hooks=server_hooks())
    hello = client.data_to_send()
    server.receive_data(hello)
    server_flight = server.data_to_send()
    client.receive_data(server_flight)
    client_flight = client.data_to_send()
    server.receive_data(client_flight)
    assert client.handshake_complete and server.handshake_complete
    client.send(b"GET / HTTP/1.1\r\n\r\n")
    client.key_update(request_peer=True)
    client.send(b"after the update")
    client_app = client.data_to_send()
    server.send(b"HTTP/1.1 200 OK\r\n\r\n" + bytes(300))
    server_app = server.data_to_send()
    rec = Recording(cc, sc, hello, server_flight, client_flight, client_app, server_app)
    # The recording replays exactly into fresh peers (the premise of the mutation tests).
    fresh_server = rec.established_server()
    fresh_server.receive_data(client_app)
    assert ApplicationData(b"after the update") in fresh_server.events()
    fresh_client = rec.established_client()
    fresh_client.receive_data(server_app)
    assert fresh_client.events()
    return rec


# --- the property -------------------------------------------------------------------------------


def feed(conn: Connection, data: bytes, chunk: int) -> None:
    """Feed *data* in *chunk*-sized pieces, then end of file; only the allowed errors may
    escape, a ProtocolError must leave its alert to send, and the failure must stick."""
    try:
        for i in range(0, len(data), chunk):
            conn.receive_data(data[i:i + chunk])
        conn.receive_data(b"")
    except ProtocolError as err:
        assert err.alert != AlertDescription.internal_error, f"internal error: {err!r}"
        out = conn.data_to_send()
        records = split_records(out)
        assert records, f"{err!r} sent no alert"
        last = records[-1]
        if last[0] == 21:
            assert last[5:] == bytes((2, int(err.alert))), last.hex()
        else:
            # Encrypted under TLS 1.3 keys: the record must be at least a sealed alert.
            assert last[0] == 23 and len(last) >= 5 + 3 + 16, last.hex()
        check_sticky(conn, err)
    except (PeerAlertError, ConnectionClosedError) as err:
        check_sticky(conn, err)


def check_sticky(conn: Connection, err: Exception) -> None:
    with pytest.raises(type(err)):
        conn.receive_data(b"\x17\x03\x03\x00\x01\x00")
    with pytest.raises(StateError):
        conn.send(b"x")


chunks = st.sampled_from([1, 3, 5, 64, 1 << 20])

# A record-shaped input: valid-looking headers with random types and bodies, so that the
# fuzzing gets past the header checks into the layers above.
content_types = st.sampled_from([20, 21, 22, 23, 24, 0, 99, 255])
handshake_types = st.sampled_from([0, 1, 2, 4, 5, 8, 11, 13, 15, 20, 24, 254])


@st.composite
def handshake_payload(draw: st.DrawFn) -> bytes:
    body = draw(st.binary(max_size=120))
    length = draw(st.one_of(st.just(len(body)), st.integers(0, 0xFFFFFF)))
    return bytes((draw(handshake_types),)) + length.to_bytes(3, "big") + body


@st.composite
def records(draw: st.DrawFn) -> bytes:
    out = b""
    for _ in range(draw(st.integers(1, 4))):
        ctype = draw(content_types)
        payload = draw(handshake_payload()) if ctype == 22 else draw(st.binary(max_size=80))
        length = draw(st.one_of(st.just(len(payload)), st.integers(0, 0xFFFF)))
        version = draw(st.sampled_from([b"\x03\x03", b"\x03\x01", b"\x03\x04", b"\x02\x00"]))
        out += bytes((ctype,)) + version + length.to_bytes(2, "big") + payload
    return out


random_input = st.one_of(st.binary(max_size=600), records())


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """*original* after a few bit flips, truncations, insertions, deletions and rewrites of
    length fields (record and handshake headers)."""
    data = bytearray(original)
    bounds = []
    pos = 0
    while pos + 5 <= len(original):
        bounds.append(pos)
        pos += 5 + int.from_bytes(original[pos + 3:pos + 5], "big")
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "byte",
                                   "record_length", "handshake_length"]))
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        elif op == "byte":
            data[at] = draw(st.integers(0, 255))
        elif bounds:
            start = draw(st.sampled_from(bounds))
            if op == "record_length" and start + 5 <= len(data):
                new = draw(st.one_of(st.integers(0, 0xFFFF),
                                     st.integers(-3, 3).map(lambda d, s=start: max(
                                         0, int.from_bytes(original[s + 3:s + 5], "big") + d))))
                data[start + 3:start + 5] = min(new, 0xFFFF).to_bytes(2, "big")
            elif op == "handshake_length" and start + 9 <= len(data):
                data[start + 6:start + 9] = draw(st.integers(0, 0xFFFFFF)).to_bytes(3, "big")
    return bytes(data)


# --- random input -------------------------------------------------------------------------------


@FUZZ
@given(data=random_input, chunk=chunks)
def test_random_into_server(rec, data, chunk):
    feed(rec.server(), data, chunk)


@FUZZ
@given(data=random_input, chunk=chunks)
def test_random_into_client(rec, data, chunk):
    feed(rec.client(), data, chunk)


@FUZZ
@given(data=random_input, chunk=chunks)
def test_random_after_server_hello(rec, data, chunk):
    # The server has keys now: random records meet the protected record layer.
    feed(rec.server_after_hello(), data, chunk)


# --- mutated real flights ----------------------------------------------------------------------


@FUZZ
@given(st.data(), chunks)
def test_mutated_client_hello(rec, data, chunk):
    feed(rec.server(), data.draw(mutated(rec.client_hello)), chunk)


@FUZZ
@given(st.data(), chunks)
def test_mutated_server_flight(rec, data, chunk):
    feed(rec.client(), data.draw(mutated(rec.server_flight)), chunk)


@FUZZ
@given(st.data(), chunks)
def test_mutated_client_finished_flight(rec, data, chunk):
    feed(rec.server_after_hello(), data.draw(mutated(rec.client_flight)), chunk)


@FUZZ
@given(st.data(), chunks)
def test_mutated_application_records_to_server(rec, data, chunk):
    feed(rec.established_server(), data.draw(mutated(rec.client_app)), chunk)


@FUZZ
@given(st.data(), chunks)
def test_mutated_application_records_to_client(rec, data, chunk):
    feed(rec.established_client(), data.draw(mutated(rec.server_app)), chunk)
