"""The ClientHello, the ServerHello, CertificateVerify and the TLS 1.2 ServerKeyExchange are sent
pre-encoded (the ClientHello's configuration parts encoded once; the per-connection fields with
struct): their bytes must be exactly those the message objects encode, which a hook that
reshapes messages still sends."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection, Hooks, ServerConnection
from lucidtls.events import HandshakeComplete
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import issue_certificate
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import HandshakeType, NamedGroup, ProtocolVersion
from lucidtls.wire.messages import ClientHello, ServerHello, ServerKeyExchangeECDHE
from tests.pairs import pump

V = ProtocolVersion
CONFIGS = {
    "default": {},
    "tls13 only": {"versions": (V.TLS1_3,)},
    "tls12 only (no key_share)": {"versions": (V.TLS1_2,)},
    "alpn": {"alpn_protocols": ("h2", "http/1.1")},
    "hybrid and two shares": {"groups": (NamedGroup.X25519MLKEM768, NamedGroup.x25519),
                              "key_share_groups": (NamedGroup.X25519MLKEM768,
                                                   NamedGroup.x25519)},
    "no key share (asks for a retry)": {"key_share_groups": ()},
    "no middlebox compatibility": {"middlebox_compat": False},
}


def _first_hello(config: ClientConfig, server_name: str | None, hooks: Hooks) -> bytes:
    client = ClientConnection(config, server_name, hooks=hooks)
    record = client.data_to_send()
    hello = record[5:]  # one record, the handshake message in it
    # What the client holds as offered (the answers are checked against it) is what it sent.
    assert set(client._handshake.offered_exts) == \
        set(ClientHello.decode(hello[4:]).ext_types())  # type: ignore[union-attr]
    return hello


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("server_name", ["example.com", "127.0.0.1", None])
def test_pre_encoded_hello_is_what_the_message_encodes(
        trust: TrustStore, name: str, server_name: str | None) -> None:
    config = ClientConfig(trust=trust, check_hostname=server_name is not None,
                          **CONFIGS[name])  # type: ignore[arg-type]
    counter = itertools.count()

    def fixed(n: int) -> bytes:
        return bytes([next(counter) % 256]) * n

    keys = {int(NamedGroup.x25519): bytes(range(1, 33)),
            int(NamedGroup.X25519MLKEM768): bytes(range(96))}
    fast = _first_hello(config, server_name, Hooks(random=fixed, key_share_private=keys))
    counter = itertools.count()
    # A reshaping hook (here one that changes nothing) makes the client send the object.
    slow = _first_hello(config, server_name, Hooks(random=fixed, key_share_private=keys,
                                                   shape=lambda msg: msg))
    assert fast == slow
    assert ClientHello.decode(fast[4:]).to_bytes() == fast


def test_pre_encoded_server_hello_and_certificate_verify_are_what_the_messages_encode(
        demo_ca: Credential, trust: TrustStore) -> None:
    # Ed25519 signatures are deterministic: with the randoms and key shares fixed too, both
    # sides' flights are the same bytes whether sent pre-encoded or as message objects.
    server_cred = issue_certificate(demo_ca, "localhost", dns=["localhost"], key_type="ed25519")
    client_cred = issue_certificate(demo_ca, "alice", client=True, key_type="ed25519")

    def run(shape: Callable[[Any], Any] | None) -> list[bytes]:
        def hooks() -> Hooks:
            counter = itertools.count()
            return Hooks(random=lambda n: bytes([next(counter) % 256]) * n,
                         key_share_private={int(NamedGroup.x25519): bytes(range(1, 33))},
                         shape=shape)

        # The Ed25519 leaves are outside the WebPKI profile: verification is skipped or
        # overridden, the CertificateVerify signatures are still checked.
        # (x25519 alone: the hybrid's ML-KEM encapsulation randomness cannot be fixed.)
        client = ClientConnection(ClientConfig(trust=trust, credentials=(client_cred,),
                                               groups=(NamedGroup.x25519,),
                                               key_share_groups=(NamedGroup.x25519,),
                                               dangerously_skip_verification=True),
                                  "localhost", hooks=hooks())
        server = ServerConnection(ServerConfig(credentials=(server_cred,),
                                               verify_client="required", client_trust=trust,
                                               verify_callback=lambda chain, verdict: True),
                                  hooks=hooks())
        flights: list[bytes] = []

        def record(data: bytes) -> bytes:
            flights.append(data)
            return data

        client_events, _ = pump(client, server, to_server=record, to_client=record)
        assert any(isinstance(e, HandshakeComplete) for e in client_events)
        assert client.info is not None and client.info.client_auth
        return flights

    assert run(None) == run(lambda msg: msg)


@pytest.mark.parametrize("alpn", [(), ("h2",)])
def test_pre_encoded_tls12_server_hello_is_what_the_message_encodes(
        server_cred: Credential, trust: TrustStore, alpn: tuple[str, ...]) -> None:
    def server_hello(shape: Callable[[Any], Any] | None) -> bytes:
        def hooks(reshape: Callable[[Any], Any] | None) -> Hooks:
            counter = itertools.count()
            return Hooks(random=lambda n: bytes([next(counter) % 256]) * n,
                         key_share_private={int(NamedGroup.x25519): bytes(range(1, 33))},
                         shape=reshape)

        client = ClientConnection(ClientConfig(trust=trust, versions=(V.TLS1_2,),
                                               alpn_protocols=alpn), "localhost",
                                  hooks=hooks(None))
        server = ServerConnection(ServerConfig(credentials=(server_cred,),
                                               alpn_protocols=alpn), hooks=hooks(shape))
        server.receive_data(client.data_to_send())
        flight = server.data_to_send()[5:]  # the first record: ServerHello leads it
        n = 4 + int.from_bytes(flight[1:4], "big")
        return flight[:n]

    fast = server_hello(None)
    assert fast == server_hello(lambda msg: msg)
    assert ServerHello.decode(fast[4:]).to_bytes() == fast


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa2048"])
def test_pre_encoded_tls12_server_key_exchange_is_what_the_message_encodes(
        demo_ca: Credential, key_type: str) -> None:
    # The server's whole first flight (ServerHello, Certificate, ServerKeyExchange,
    # ServerHelloDone), with randoms, key shares and the signature fixed by hooks.
    cred = issue_certificate(demo_ca, "localhost", dns=["localhost"], key_type=key_type)

    def flight(shape: Callable[[Any], Any] | None) -> bytes:
        def hooks(reshape: Callable[[Any], Any] | None) -> Hooks:
            counter = itertools.count()
            return Hooks(random=lambda n: bytes([next(counter) % 256]) * n,
                         key_share_private={int(NamedGroup.x25519): bytes(range(1, 33))},
                         sign=lambda scheme, key, content: bytes(range(71)),
                         shape=reshape)

        client = ClientConnection(ClientConfig(dangerously_skip_verification=True,
                                               versions=(V.TLS1_2,)), "localhost",
                                  hooks=hooks(None))
        server = ServerConnection(ServerConfig(credentials=(cred,)), hooks=hooks(shape))
        server.receive_data(client.data_to_send())
        return server.data_to_send()

    fast = flight(None)
    assert fast == flight(lambda msg: msg)
    messages, at = {}, 5  # one record: the messages after its header
    while at < len(fast):
        n = int.from_bytes(fast[at + 1:at + 4], "big")
        messages[fast[at]] = fast[at + 4:at + 4 + n]
        at += 4 + n
    ske_body = messages[HandshakeType.SERVER_KEY_EXCHANGE]
    decoded = ServerKeyExchangeECDHE.decode(ske_body)
    assert decoded.signature == bytes(range(71)) and decoded.encode_body() == ske_body
