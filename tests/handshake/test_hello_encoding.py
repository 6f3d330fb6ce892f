"""The ClientHello is sent pre-encoded (the configuration's parts encoded once, the random,
session id, server_name and key_share per connection): its bytes must be exactly those the
ClientHello message object encodes, which a hook that reshapes messages still sends."""

from __future__ import annotations

import itertools

import pytest

from lucidtls.config import ClientConfig
from lucidtls.connection import ClientConnection, Hooks
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import NamedGroup, ProtocolVersion
from lucidtls.wire.messages import ClientHello

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
    return record[5:]  # one record, the handshake message in it


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
