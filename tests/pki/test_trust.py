from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509

from lucidtls.errors import CertificateError, ConfigError, ProtocolError
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import issue_certificate, issue_intermediate, make_ca, write_pem
from lucidtls.pki.trust import (
    TrustStore,
    VerifiedChain,
    describe_certificate,
    verify_client_chain,
    verify_server_chain,
)
from lucidtls.wire.enums import AlertDescription
from tests.pki.conftest import Pki

NOW = datetime.datetime.now(datetime.UTC)


def store_of(ca: Credential) -> TrustStore:
    return TrustStore.from_certificates([ca.leaf])


def reject(
    fn: object, *args: object, alert: AlertDescription, **kwargs: object
) -> CertificateError:
    with pytest.raises(CertificateError) as info:
        fn(*args, **kwargs)  # type: ignore[operator]
    assert info.value.alert is alert, info.value
    return info.value


# --- trust stores ----------------------------------------------------------------------------


def test_default_store_is_certifi_and_cached() -> None:
    store = TrustStore.default()
    assert len(store) > 50
    assert TrustStore.default() is store
    assert all(isinstance(s, bytes) for s in store.subjects)


def test_store_from_pem_file(tmp_path: Path, ca: Credential, other_ca: Credential) -> None:
    path = write_pem(tmp_path / "cas.pem", [ca.leaf, other_ca.leaf])
    store = TrustStore.from_pem_file(path)
    assert len(store) == 2
    assert store.subjects[0] == ca.leaf.subject.public_bytes()
    assert x509.Name.from_rfc4514_string  # subjects are DER Names
    assert TrustStore.from_pem(path.read_bytes()).certificates == store.certificates


@pytest.mark.parametrize("content", [b"", b"not a certificate\n"])
def test_store_from_bad_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="bad.pem"):
        TrustStore.from_pem_file(path)


def test_store_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing.pem"):
        TrustStore.from_pem_file(tmp_path / "missing.pem")


def test_store_empty_list() -> None:
    with pytest.raises(ConfigError):
        TrustStore.from_certificates([])


# --- server chains ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["localhost", "LOCALHOST", "127.0.0.1", "::1", "[::1]"])
def test_server_chain_by_name_and_ip(ca: Credential, server_cred: Credential, name: str) -> None:
    result = verify_server_chain(store_of(ca), list(server_cred.chain), name)
    assert isinstance(result, VerifiedChain)
    assert result.chain[0] == server_cred.leaf
    assert result.chain[-1] == ca.leaf
    assert result.subject == "CN=localhost"
    assert result.issuer == ca.leaf.subject.rfc4514_string()
    assert result.anchor_subject == result.issuer
    assert result.sans == ("DNS:localhost", "IP:127.0.0.1", "IP:::1")
    assert result.not_after == server_cred.leaf.not_valid_after_utc


def test_server_chain_leaf_only(ca: Credential, server_cred: Credential) -> None:
    assert len(verify_server_chain(store_of(ca), [server_cred.leaf], "localhost").chain) == 2


def test_no_name_check_when_disabled(ca: Credential, server_cred: Credential) -> None:
    assert verify_server_chain(store_of(ca), [server_cred.leaf], None).subject == "CN=localhost"


def test_wildcard(ca: Credential) -> None:
    cred = issue_certificate(ca, "wild", dns=["*.example.org"])
    verify_server_chain(store_of(ca), list(cred.chain), "www.example.org")
    verify_server_chain(store_of(ca), list(cred.chain), None)
    err = reject(
        verify_server_chain,
        store_of(ca),
        list(cred.chain),
        "a.b.example.org",
        alert=AlertDescription.bad_certificate,
    )
    assert "a.b.example.org" in err.reason


def test_unknown_ca(other_ca: Credential, server_cred: Credential) -> None:
    err = reject(
        verify_server_chain,
        store_of(other_ca),
        list(server_cred.chain),
        "localhost",
        alert=AlertDescription.unknown_ca,
    )
    assert "no path to a trusted CA" in err.reason


def test_self_signed_leaf_not_in_store(ca: Credential, other_ca: Credential) -> None:
    err = reject(
        verify_server_chain,
        store_of(ca),
        [other_ca.leaf],
        "localhost",
        alert=AlertDescription.unknown_ca,
    )
    assert "self-signed" in err.reason


def test_wrong_host(ca: Credential, server_cred: Credential) -> None:
    err = reject(
        verify_server_chain,
        store_of(ca),
        list(server_cred.chain),
        "evil.example",
        alert=AlertDescription.bad_certificate,
    )
    assert "'evil.example'" in err.reason
    assert "DNS:localhost" in err.reason


def test_wrong_ip(ca: Credential, server_cred: Credential) -> None:
    err = reject(
        verify_server_chain,
        store_of(ca),
        list(server_cred.chain),
        "10.1.2.3",
        alert=AlertDescription.bad_certificate,
    )
    assert "10.1.2.3" in err.reason


def test_expired(ca: Credential) -> None:
    expired = issue_certificate(
        ca,
        "localhost",
        not_before=NOW - datetime.timedelta(days=30),
        not_after=NOW - datetime.timedelta(days=1),
    )
    err = reject(
        verify_server_chain,
        store_of(ca),
        list(expired.chain),
        "localhost",
        alert=AlertDescription.certificate_expired,
    )
    assert "expired" in err.reason and "CN=localhost" in err.reason


def test_not_yet_valid(ca: Credential, server_cred: Credential) -> None:
    err = reject(
        verify_server_chain,
        store_of(ca),
        list(server_cred.chain),
        "localhost",
        NOW - datetime.timedelta(days=2),
        alert=AlertDescription.certificate_expired,
    )
    assert "not valid before" in err.reason


def test_client_cert_as_server_cert(ca: Credential, client_cred: Credential) -> None:
    err = reject(
        verify_server_chain,
        store_of(ca),
        list(client_cred.chain),
        "alice.example",
        alert=AlertDescription.unsupported_certificate,
    )
    assert "serverAuth" in err.reason


def test_intermediate_chain(ca: Credential) -> None:
    inter = issue_intermediate(ca, "test intermediate")
    leaf = issue_certificate(inter, "deep.example")
    assert leaf.chain == (leaf.leaf, inter.leaf, ca.leaf)
    result = verify_server_chain(store_of(ca), list(leaf.chain[:2]), "deep.example")
    assert [c.subject.rfc4514_string() for c in result.chain] == [
        "CN=deep.example",
        "CN=test intermediate",
        ca.leaf.subject.rfc4514_string(),
    ]
    # without the intermediate there is no path
    reject(
        verify_server_chain,
        store_of(ca),
        [leaf.leaf],
        "deep.example",
        alert=AlertDescription.unknown_ca,
    )
    # longer than allowed
    reject(
        verify_server_chain,
        store_of(ca),
        list(leaf.chain),
        "deep.example",
        max_chain_depth=0,
        alert=AlertDescription.unknown_ca,
    )


def test_bad_signature(ca: Credential) -> None:
    # Issuer named like our CA, signed by another key: no trusted issuer, as OpenSSL says.
    imposter = make_ca(ca.leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value)
    forged = issue_certificate(imposter, "localhost")
    assert forged.leaf.issuer == ca.leaf.subject
    reject(
        verify_server_chain,
        store_of(ca),
        [forged.leaf],
        "localhost",
        alert=AlertDescription.unknown_ca,
    )


def test_empty_chain(ca: Credential) -> None:
    reject(verify_server_chain, store_of(ca), [], "x", alert=AlertDescription.bad_certificate)
    reject(verify_client_chain, store_of(ca), [], alert=AlertDescription.certificate_required)
    with pytest.raises(ProtocolError) as info:
        verify_server_chain(store_of(ca), [], "x", empty_alert=AlertDescription.decode_error)
    assert info.value.alert is AlertDescription.decode_error


def test_invalid_server_name(ca: Credential, server_cred: Credential) -> None:
    with pytest.raises(ConfigError):
        verify_server_chain(store_of(ca), [server_cred.leaf], "not a host")


def test_trailing_dot(ca: Credential, server_cred: Credential) -> None:
    verify_server_chain(store_of(ca), [server_cred.leaf], "localhost.")


def test_ed25519_ca_is_unsupported(pki: Pki) -> None:
    ca, server, _ = pki.get("ed25519")
    err = reject(
        verify_server_chain,
        store_of(ca),
        list(server.chain),
        "localhost",
        alert=AlertDescription.unsupported_certificate,
    )
    assert "Ed25519" in err.reason


def test_ed25519_leaf_under_ecdsa_ca(ca: Credential) -> None:
    leaf = issue_certificate(ca, "ed.example", key_type="ed25519")
    verify_server_chain(store_of(ca), list(leaf.chain), "ed.example")


# --- client chains ---------------------------------------------------------------------------


def test_client_chain(ca: Credential, client_cred: Credential) -> None:
    result = verify_client_chain(store_of(ca), list(client_cred.chain))
    assert result.subject == "CN=alice.example"
    assert result.sans == ("DNS:alice.example",)


def test_server_cert_as_client_cert(ca: Credential, server_cred: Credential) -> None:
    err = reject(
        verify_client_chain,
        store_of(ca),
        list(server_cred.chain),
        alert=AlertDescription.unsupported_certificate,
    )
    assert "clientAuth" in err.reason


def test_client_unknown_ca(other_ca: Credential, client_cred: Credential) -> None:
    reject(
        verify_client_chain,
        store_of(other_ca),
        list(client_cred.chain),
        alert=AlertDescription.unknown_ca,
    )


# --- descriptions ----------------------------------------------------------------------------


def test_describe_certificate(server_cred: Credential) -> None:
    d = describe_certificate(server_cred.leaf)
    assert d["subject"] == "CN=localhost"
    assert d["key_type"] == "ECDSA P-256"
    assert d["signature_algorithm"] == "ecdsa-with-SHA256"
    assert d["sans"] == ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
    assert int(d["serial"], 16) == server_cred.leaf.serial_number
    assert d["not_after"].startswith(str(server_cred.leaf.not_valid_after_utc.year))


def test_expired_anchor(server_cred: Credential, ca: Credential) -> None:
    later = ca.leaf.not_valid_after_utc + datetime.timedelta(days=1)
    err = reject(
        verify_server_chain,
        store_of(ca),
        [server_cred.leaf],
        "localhost",
        later,
        alert=AlertDescription.certificate_expired,
    )
    assert "expired on" in err.reason


def test_der_round_trip(server_cred: Credential) -> None:
    from lucidtls.pki.trust import der_to_certificates

    assert der_to_certificates(server_cred.chain_der) == list(server_cred.chain)
    with pytest.raises(CertificateError) as info:
        der_to_certificates([server_cred.chain_der[0], b"\x30\x03junk"])
    assert info.value.alert is AlertDescription.bad_certificate
    assert "certificate 1" in info.value.reason
