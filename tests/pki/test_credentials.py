from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from lucidtls.errors import ConfigError
from lucidtls.pki.credentials import Credential, load_credential
from lucidtls.pki.issue import generate_key, write_pem


def test_chain_der_and_key_type(server_cred: Credential) -> None:
    assert server_cred.chain_der[0] == server_cred.leaf.public_bytes(serialization.Encoding.DER)
    assert len(server_cred.chain_der) == 2
    assert server_cred.key_type == "ECDSA P-256"


def test_key_must_match_leaf(server_cred: Credential, client_cred: Credential) -> None:
    with pytest.raises(ConfigError, match="does not match"):
        Credential(server_cred.chain, client_cred.private_key)
    with pytest.raises(ConfigError):
        Credential((), server_cred.private_key)


def test_load_credential_pem_and_der(tmp_path: Path, server_cred: Credential) -> None:
    cert = write_pem(tmp_path / "s.pem", server_cred.chain)
    key = write_pem(tmp_path / "s.key", server_cred.private_key)
    loaded = load_credential(cert, key)
    assert loaded.chain == server_cred.chain
    der = tmp_path / "s.der"
    der.write_bytes(
        server_cred.private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert load_credential(cert, der).chain_der == server_cred.chain_der
    assert Credential.from_pem(cert.read_bytes(), key.read_bytes()).leaf == server_cred.leaf


def test_load_encrypted_key(tmp_path: Path, server_cred: Credential) -> None:
    cert = write_pem(tmp_path / "s.pem", server_cred.chain)
    key = tmp_path / "s.key"
    key.write_bytes(
        server_cred.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    assert load_credential(cert, key, b"secret").leaf == server_cred.leaf
    with pytest.raises(ConfigError, match="s.key"):
        load_credential(cert, key)
    with pytest.raises(ConfigError, match="s.key"):
        load_credential(cert, key, b"wrong")


def test_load_errors_name_the_file(tmp_path: Path, server_cred: Credential) -> None:
    cert = write_pem(tmp_path / "s.pem", server_cred.chain)
    key = write_pem(tmp_path / "s.key", server_cred.private_key)
    other = write_pem(tmp_path / "other.key", generate_key("ecdsa-p256"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"hello")
    with pytest.raises(ConfigError, match="missing.pem"):
        load_credential(tmp_path / "missing.pem", key)
    with pytest.raises(ConfigError, match="garbage.pem"):
        load_credential(garbage, key)
    with pytest.raises(ConfigError, match="garbage.pem"):
        load_credential(cert, garbage)
    with pytest.raises(ConfigError, match="does not match"):
        load_credential(cert, other)
