"""Config objects refuse bad values at construction, each with a ConfigError that says what is
wrong: never a TypeError or ValueError from deep inside, and never a silent misreading (a
string iterated as its characters)."""

from __future__ import annotations

from typing import Any

import pytest

from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.errors import ConfigError
from lucidtls.pki.credentials import Credential
from lucidtls.wire.enums import NamedGroup, ProtocolVersion

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
