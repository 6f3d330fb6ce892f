"""Config objects refuse bad values at construction, each with a ConfigError that says what is
wrong: never a TypeError or ValueError from deep inside, and never a silent misreading (a
string iterated as its characters). Connections refuse arguments of the wrong type with a
TypeError that names the argument."""

from __future__ import annotations

from typing import Any

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.connection import ClientConnection, ServerConnection
from lucidtls.errors import ConfigError
from lucidtls.events import ApplicationData
from lucidtls.pki.credentials import Credential
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import NamedGroup, ProtocolVersion
from tests.pairs import pump

BAD_COMMON: list[tuple[dict[str, Any], str]] = [
    ({"versions": ()}, "no protocol version enabled"),
    ({"versions": (0x0301,)}, "protocol version 0x0301 is not supported (TLS 1.0, 1.1 and SSL"),
    ({"versions": ("1.3",)},
     "protocol version '1.3' is not a code point: use e.g. ProtocolVersion.TLS1_3"),
    ({"versions": ProtocolVersion.TLS1_3},
     "versions must be a sequence, e.g. (ProtocolVersion.TLS1_3,), not <ProtocolVersion"),
    ({"cipher_suites": ()}, "no cipher suite enabled"),
    ({"cipher_suites": (0x0005,)}, "cipher suite 0x0005 is not supported"),
    ({"cipher_suites": ("TLS_AES_128_GCM_SHA256",)},
     "cipher suite 'TLS_AES_128_GCM_SHA256' is not a code point"),
    ({"groups": ("x25519",)}, "group 'x25519' is not a code point: use e.g. NamedGroup.x25519"),
    ({"groups": (0x9999,)}, "group 0x9999 is not supported"),
    ({"signature_schemes": ("ecdsa",)}, "signature scheme 'ecdsa' is not a code point"),
    ({"alpn_protocols": "h2"},
     "alpn_protocols must be a sequence, e.g. ('h2', 'http/1.1'), not 'h2'"),
    ({"alpn_protocols": (b"h2",)}, "ALPN protocol name b'h2' must be a str"),
    ({"alpn_protocols": ("",)}, "ALPN protocol name '' must be 1..255 bytes"),
]


@pytest.mark.parametrize(("kw", "message"), BAD_COMMON, ids=[m for _, m in BAD_COMMON])
def test_client_config_refuses(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        ClientConfig(**kw)
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize(("kw", "message"), BAD_COMMON, ids=[m for _, m in BAD_COMMON])
def test_server_config_refuses(server_cred: Credential, kw: dict[str, Any],
                               message: str) -> None:
    with pytest.raises(ConfigError) as info:
        ServerConfig(credentials=(server_cred,), **kw)
    assert str(info.value).startswith(message), str(info.value)


def test_client_only_fields(server_cred: Credential) -> None:
    with pytest.raises(ConfigError, match=r"^key share group 'x25519' is not a code point"):
        ClientConfig(key_share_groups=("x25519",))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^key share group secp256r1 is not in groups"):
        ClientConfig(groups=(NamedGroup.x25519,), key_share_groups=(NamedGroup.secp256r1,))
    with pytest.raises(ConfigError, match=r"^credentials must be a sequence, e\.g\. "
                                          r"\(credential,\), not a Credential$"):
        ClientConfig(credentials=server_cred)  # type: ignore[arg-type]


def test_server_only_fields(server_cred: Credential) -> None:
    with pytest.raises(ConfigError, match="^credentials must be a sequence"):
        ServerConfig(credentials=server_cred)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="^a server needs at least one credential"):
        ServerConfig()
    with pytest.raises(ConfigError, match="^verify_client must be none, optional or required"):
        ServerConfig(credentials=(server_cred,), verify_client="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="^verify_client needs client_trust"):
        ServerConfig(credentials=(server_cred,), verify_client="required")


def test_lists_are_accepted_like_tuples(server_cred: Credential) -> None:
    cfg = ClientConfig(versions=[ProtocolVersion.TLS1_3],  # type: ignore[arg-type]
                       alpn_protocols=["h2"])  # type: ignore[arg-type]
    assert list(cfg.versions) == [ProtocolVersion.TLS1_3]
    ServerConfig(credentials=[server_cred])  # type: ignore[arg-type]


def test_objects_of_the_wrong_type(server_cred: Credential, trust: TrustStore) -> None:
    with pytest.raises(ConfigError, match=r"^trust must be a TrustStore \(TrustStore\.from_pem_"
                                          r"file\(path\) or TrustStore\.from_certificates\(certs\)"
                                          r"\), not list$"):
        ClientConfig(trust=[server_cred.leaf])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^credentials must be Credential objects .*, not str$"):
        ClientConfig(credentials=("alice.pem",))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^credentials must be Credential objects .*, not str$"):
        ServerConfig(credentials=("server.pem",))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^client_trust must be a TrustStore .*, not list$"):
        ServerConfig(credentials=(server_cred,), verify_client="required",
                     client_trust=[server_cred.leaf])  # type: ignore[arg-type]


# --- the sans-I/O connection's arguments ------------------------------------------------------


def test_connections_refuse_the_other_sides_config(server_cred: Credential,
                                                   trust: TrustStore) -> None:
    with pytest.raises(TypeError, match="^a ClientConnection needs a ClientConfig, not "
                                        "ServerConfig$"):
        ClientConnection(ServerConfig(credentials=(server_cred,)),  # type: ignore[arg-type]
                         "localhost")
    with pytest.raises(TypeError, match="^a ServerConnection needs a ServerConfig, not "
                                        "ClientConfig$"):
        ServerConnection(ClientConfig(trust=trust))  # type: ignore[arg-type]


def test_server_hostname_must_be_text(trust: TrustStore) -> None:
    with pytest.raises(TypeError, match=r"^server_hostname must be a str \(a DNS name or an IP "
                                        r"address\) or None, not bytes$"):
        ClientConnection(ClientConfig(trust=trust), b"localhost")  # type: ignore[arg-type]


@pytest.mark.parametrize("data", ["hello", None, 42], ids=["str", "None", "int"])
def test_data_must_be_bytes_like(trust: TrustStore, server_cred: Credential,
                                 data: object) -> None:
    """A str or None is refused with a TypeError, and the connection is unharmed: None is not
    taken for end of file, and the data that follows still flows."""
    client = ClientConnection(ClientConfig(trust=trust), "localhost")
    server = ServerConnection(ServerConfig(credentials=(server_cred,)))
    pump(client, server)
    kind = type(data).__name__
    with pytest.raises(TypeError, match=f"^send\\(\\) takes bytes, bytearray or memoryview, "
                                        f"not {kind}$"):
        client.send(data)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=f"^receive_data\\(\\) takes bytes, bytearray or "
                                        f"memoryview, not {kind}$"):
        server.receive_data(data)  # type: ignore[arg-type]
    client.send(bytearray(b"still "))
    client.send(memoryview(b"open"))
    _, server_events = pump(client, server)
    assert b"".join(e.data for e in server_events if isinstance(e, ApplicationData)) == \
        b"still open"
    assert not server.closed


# --- the key log ------------------------------------------------------------------------------


def test_sslkeylogfile_is_read_when_the_config_is_made(tmp_path: Any, trust: TrustStore,
                                                       server_cred: Credential,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Like ``ssl.create_default_context``: SSLKEYLOGFILE counts as it was when the
    configuration was made; an explicit keylog_file wins; connections of that configuration
    write their secrets there."""
    path = tmp_path / "env-keys.log"
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)
    made_before = ClientConfig(trust=trust)
    server_before = ServerConfig(credentials=(server_cred,))
    monkeypatch.setenv("SSLKEYLOGFILE", str(path))
    client_config = ClientConfig(trust=trust)
    server_config = ServerConfig(credentials=(server_cred,))
    explicit = ClientConfig(trust=trust, keylog_file=str(tmp_path / "mine.log"))
    assert made_before.keylog_path() is None and server_before.keylog_path() is None
    assert client_config.keylog_path() == server_config.keylog_path() == str(path)
    assert explicit.keylog_path() == str(tmp_path / "mine.log")

    pump(ClientConnection(made_before, "localhost"), ServerConnection(server_before))
    assert not path.exists()
    monkeypatch.delenv("SSLKEYLOGFILE")  # too late for configs already made
    pump(ClientConnection(client_config, "localhost"), ServerConnection(server_before))
    labels = [line.split()[0] for line in path.read_text().splitlines()]
    assert labels == ["SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                      "SERVER_TRAFFIC_SECRET_0", "CLIENT_TRAFFIC_SECRET_0", "EXPORTER_SECRET"]
