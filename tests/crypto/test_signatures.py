from __future__ import annotations

from functools import cache

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from lucidtls.crypto.signatures import (
    DEFAULT_SIGNATURE_SCHEMES,
    TLS13_CERTIFICATE_VERIFY_FORBIDDEN,
    certificate_verify_input,
    key_auth,
    key_matches_scheme,
    schemes_for_key,
    sign,
    verify,
)
from lucidtls.errors import ConfigError, CryptoError, IllegalParameter
from lucidtls.wire.enums import AlertDescription, ProtocolVersion, SignatureScheme

S = SignatureScheme
TLS12, TLS13 = ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_3


@cache
def key(kind: str) -> PrivateKeyTypes:
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "rsa1024":
        return rsa.generate_private_key(65537, 1024)
    return rsa.generate_private_key(65537, 2048)


KEY_FOR = {
    S.ecdsa_secp256r1_sha256: "p256",
    S.ecdsa_secp384r1_sha384: "p384",
    S.ed25519: "ed25519",
    S.rsa_pss_rsae_sha256: "rsa",
    S.rsa_pss_rsae_sha384: "rsa",
    S.rsa_pss_rsae_sha512: "rsa",
    S.rsa_pkcs1_sha256: "rsa",
    S.rsa_pkcs1_sha384: "rsa",
    S.rsa_pkcs1_sha512: "rsa",
}


@pytest.mark.parametrize("scheme", DEFAULT_SIGNATURE_SCHEMES, ids=lambda s: s.name)
def test_sign_verify_round_trip(scheme: SignatureScheme) -> None:
    priv = key(KEY_FOR[scheme])
    data = certificate_verify_input(b"\x42" * 32, server=True)
    sig = sign(scheme, priv, data)
    verify(scheme, priv.public_key(), data, sig)
    with pytest.raises(CryptoError) as info:
        verify(scheme, priv.public_key(), data + b"x", sig)
    assert info.value.alert == AlertDescription.decrypt_error
    bad = bytearray(sig)
    bad[len(bad) // 2] ^= 1
    with pytest.raises(CryptoError):
        verify(scheme, priv.public_key(), data, bytes(bad))


def test_pss_uses_salt_length_equal_to_hash_length() -> None:
    priv = key("rsa")
    assert isinstance(priv, rsa.RSAPrivateKey)
    sig = sign(S.rsa_pss_rsae_sha384, priv, b"data")
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
    priv.public_key().verify(sig, b"data", pss, hashes.SHA384())


def test_scheme_key_mismatch_is_illegal_parameter() -> None:
    p256 = key("p256").public_key()
    rsa_pub = key("rsa").public_key()
    cases = [
        (S.ecdsa_secp384r1_sha384, p256),
        (S.rsa_pss_rsae_sha256, p256),
        (S.ed25519, rsa_pub),
        (S.ecdsa_secp256r1_sha256, rsa_pub),
        (S.rsa_pss_pss_sha256, rsa_pub),  # not implemented
        (0x1234, rsa_pub),
    ]
    for scheme, pub in cases:
        with pytest.raises(IllegalParameter):
            verify(scheme, pub, b"d", b"s")
    with pytest.raises(ConfigError):
        sign(S.rsa_pss_rsae_sha256, key("p256"), b"d")


def test_key_kind_per_class_matches_each_key_type() -> None:
    # The key's kind is remembered per class: public and private classes, every kind, and a
    # key type we do not sign with (Ed448, X25519), checked twice so the second run is cached.
    from cryptography.hazmat.primitives.asymmetric import ed448, x25519
    others = [ed448.Ed448PrivateKey.generate(), x25519.X25519PrivateKey.generate()]
    for _ in range(2):
        for scheme, kind in KEY_FOR.items():
            for candidate in (key(kind), key(kind).public_key()):
                assert key_matches_scheme(candidate, scheme)
                for other_scheme, other_kind in KEY_FOR.items():
                    fits = key_matches_scheme(candidate, other_scheme)
                    assert fits == (other_kind == kind or {kind, other_kind} <= {"rsa"})
        for other in (*others, *(k.public_key() for k in others)):
            assert not any(key_matches_scheme(other, s) for s in KEY_FOR)  # type: ignore[arg-type]



def test_key_auth_names_the_tls12_suite_authentication_of_public_and_private_keys() -> None:
    from cryptography.hazmat.primitives.asymmetric import x25519
    for kind, auth in (("p256", "ECDSA"), ("p384", "ECDSA"), ("ed25519", "ECDSA"),
                       ("rsa", "RSA")):
        for _ in range(2):  # the second time from the per-class cache
            assert key_auth(key(kind)) == auth
            assert key_auth(key(kind).public_key()) == auth
    assert key_auth(x25519.X25519PrivateKey.generate()) == "none"


def test_version_rules() -> None:
    rsa_priv, p384 = key("rsa"), key("p384")
    sig = sign(S.rsa_pkcs1_sha256, rsa_priv, b"d")
    verify(S.rsa_pkcs1_sha256, rsa_priv.public_key(), b"d", sig, version=TLS12)
    with pytest.raises(IllegalParameter):
        verify(S.rsa_pkcs1_sha256, rsa_priv.public_key(), b"d", sig, version=TLS13)
    # TLS 1.2: ECDSA schemes name only the hash; a P-384 key may sign with SHA-256.
    assert key_matches_scheme(p384.public_key(), S.ecdsa_secp256r1_sha256, version=TLS12)
    assert not key_matches_scheme(p384.public_key(), S.ecdsa_secp256r1_sha256, version=TLS13)
    assert not key_matches_scheme(p384.public_key(), S.ecdsa_secp256r1_sha256)


def test_schemes_for_key() -> None:
    assert schemes_for_key(key("p256"), TLS13) == [S.ecdsa_secp256r1_sha256]
    assert schemes_for_key(key("p384"), TLS12) == [S.ecdsa_secp384r1_sha384]
    assert schemes_for_key(key("ed25519"), TLS13) == [S.ed25519]
    pss = [S.rsa_pss_rsae_sha256, S.rsa_pss_rsae_sha384, S.rsa_pss_rsae_sha512]
    pkcs1 = [S.rsa_pkcs1_sha256, S.rsa_pkcs1_sha384, S.rsa_pkcs1_sha512]
    assert schemes_for_key(key("rsa"), TLS13) == pss
    assert schemes_for_key(key("rsa"), TLS12) == pss + pkcs1
    # RSA-1024 cannot hold a PSS-SHA512 signature with a 64-byte salt (RFC 8017 §9.1.1).
    assert schemes_for_key(key("rsa1024"), TLS13) == pss[:2]
    for scheme in schemes_for_key(key("rsa"), TLS13):
        assert scheme not in TLS13_CERTIFICATE_VERIFY_FORBIDDEN


def test_forbidden_set() -> None:
    assert S.rsa_pkcs1_sha256 in TLS13_CERTIFICATE_VERIFY_FORBIDDEN
    assert S.rsa_pkcs1_sha1 in TLS13_CERTIFICATE_VERIFY_FORBIDDEN
    assert S.ecdsa_sha1 in TLS13_CERTIFICATE_VERIFY_FORBIDDEN
    assert S.rsa_pss_rsae_sha256 not in TLS13_CERTIFICATE_VERIFY_FORBIDDEN


def test_certificate_verify_input_layout() -> None:
    th = bytes(range(32))
    server = certificate_verify_input(th, server=True)
    client = certificate_verify_input(th, server=False)
    assert server == b" " * 64 + b"TLS 1.3, server CertificateVerify\x00" + th
    assert client == b" " * 64 + b"TLS 1.3, client CertificateVerify\x00" + th
