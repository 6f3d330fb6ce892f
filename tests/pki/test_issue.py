from __future__ import annotations

import datetime
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

from lucidtls.errors import ConfigError
from lucidtls.pki.credentials import Credential, load_credential
from lucidtls.pki.issue import (
    CADirectory,
    generate_key,
    issue_certificate,
    write_pem,
)
from lucidtls.pki.trust import TrustStore, verify_client_chain
from tests.pki.conftest import Pki

EXPECTED_KEY = {
    "ecdsa-p256": ("ECDSA P-256", hashes.SHA256),
    "ecdsa-p384": ("ECDSA P-384", hashes.SHA384),
    "rsa2048": ("RSA 2048", hashes.SHA256),
    "rsa3072": ("RSA 3072", hashes.SHA256),
    "ed25519": ("Ed25519", type(None)),
}


def ext(
    cert: x509.Certificate, cls: type[x509.ExtensionType]
) -> x509.Extension[x509.ExtensionType]:
    return cert.extensions.get_extension_for_class(cls)


def test_ca_profile(pki: Pki, key_type: str) -> None:
    ca, server, _ = pki.get(key_type)
    name, digest = EXPECTED_KEY[key_type]
    assert ca.key_type == name and server.key_type == name
    root = ca.leaf
    assert root.issuer == root.subject
    bc = ext(root, x509.BasicConstraints)
    assert bc.critical and bc.value.ca  # type: ignore[attr-defined]
    ku = ext(root, x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign  # type: ignore[attr-defined]
    ext(root, x509.SubjectKeyIdentifier)
    assert isinstance(server.leaf.signature_hash_algorithm, digest)


def test_leaf_profile(pki: Pki, key_type: str) -> None:
    ca, server, client = pki.get(key_type)
    for cred, purpose in (
        (server, ExtendedKeyUsageOID.SERVER_AUTH),
        (client, ExtendedKeyUsageOID.CLIENT_AUTH),
    ):
        leaf = cred.leaf
        assert cred.chain == (leaf, ca.leaf)
        assert not ext(leaf, x509.BasicConstraints).value.ca  # type: ignore[attr-defined]
        ku = ext(leaf, x509.KeyUsage).value
        assert ku.digital_signature  # type: ignore[attr-defined]
        assert ku.key_encipherment == key_type.startswith("rsa")  # type: ignore[attr-defined]
        assert list(ext(leaf, x509.ExtendedKeyUsage).value) == [purpose]  # type: ignore[call-overload]
        aki = ext(leaf, x509.AuthorityKeyIdentifier).value
        ski = ext(ca.leaf, x509.SubjectKeyIdentifier).value
        assert aki.key_identifier == ski.digest  # type: ignore[attr-defined]
        assert 0 < leaf.serial_number < 2**159
        assert leaf.not_valid_after_utc <= ca.leaf.not_valid_after_utc


def test_server_without_san_gets_cn(ca: Credential) -> None:
    cred = issue_certificate(ca, "svc.internal")
    san = ext(cred.leaf, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["svc.internal"]  # type: ignore[attr-defined]


def test_bad_inputs(ca: Credential) -> None:
    with pytest.raises(ConfigError, match="not an IP"):
        issue_certificate(ca, "x", ips=["300.1.1.1"])
    with pytest.raises(ConfigError, match="key type"):
        generate_key("dsa1024")
    with pytest.raises(ConfigError, match="days"):
        issue_certificate(ca, "x", days=0)
    now = datetime.datetime.now(datetime.UTC)
    with pytest.raises(ConfigError):
        issue_certificate(ca, "x", not_before=now, not_after=now - datetime.timedelta(days=1))


def test_write_pem_modes(tmp_path: Path, server_cred: Credential) -> None:
    key = write_pem(tmp_path / "k.pem", server_cred.private_key)
    cert = write_pem(tmp_path / "c.pem", server_cred.leaf)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(cert.stat().st_mode) & 0o077 != 0o077
    # an existing, world-readable file becomes private when a key is written over it
    loose = tmp_path / "loose.key"
    loose.write_text("x")
    loose.chmod(0o644)
    write_pem(loose, server_cred.private_key)
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600
    with pytest.raises(ConfigError, match="already exists"):
        write_pem(cert, server_cred.leaf, exclusive=True)


def test_ca_directory(tmp_path: Path) -> None:
    d = CADirectory(tmp_path / "ca")
    with pytest.raises(ConfigError, match="no CA"):
        d.load()
    cert, key = d.init()
    assert (cert.name, key.name) == ("ca.pem", "ca.key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    with pytest.raises(ConfigError, match="a CA already exists"):
        d.init()
    s_cert, s_key = d.issue("localhost", ips=["127.0.0.1"])
    assert stat.S_IMODE(s_key.stat().st_mode) == 0o600
    cred = load_credential(s_cert, s_key)
    assert cred.chain[1] == d.load().leaf
    with pytest.raises(ConfigError, match="already exists"):
        d.issue("localhost")
    for bad in ("../x", "a/b", "", "ca", ".hidden"):
        with pytest.raises(ConfigError, match="invalid name"):
            d.issue(bad)


def test_client_certificate_without_any_name_is_refused(ca: Credential) -> None:
    # Our own client verifier would reject it (no subjectAltName): say so when issuing.
    with pytest.raises(ConfigError, match="needs a subjectAltName"):
        issue_certificate(ca, "Alice Smith", client=True)
    named = issue_certificate(ca, "Alice Smith", client=True, dns=["alice.example"])
    verify_client_chain(TrustStore.from_certificates([ca.leaf]), list(named.chain))
