"""The TLS 1.3 ServerHello a server encodes directly (handshake.server._server_hello_13) is the
one the message object encodes (test_hello_encoding compares whole flights for x25519 only)."""

from __future__ import annotations

import pytest

from lucidtls.handshake.server import _SELECTED_TLS13, _server_hello_13
from lucidtls.wire.enums import ExtensionType as E
from lucidtls.wire.messages import ServerHello


@pytest.mark.parametrize("share_len", [32, 65, 97, 1120 + 32])
@pytest.mark.parametrize("session_id", [b"", bytes(range(32))])
def test_direct_tls13_server_hello_is_what_the_message_encodes(share_len: int,
                                                              session_id: bytes) -> None:
    share = bytes(i % 251 for i in range(share_len))
    random = bytes(range(100, 132))
    message = ServerHello(random=random, legacy_session_id_echo=session_id, cipher_suite=0x1302,
                          extensions=[(E.key_share, (0x11EC).to_bytes(2, "big")
                                       + share_len.to_bytes(2, "big") + share),
                                      (E.supported_versions, _SELECTED_TLS13)])
    assert _server_hello_13(random, session_id, 0x1302, 0x11EC, share) == message.to_bytes()
