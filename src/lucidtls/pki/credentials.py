"""Credentials: a certificate chain together with the private key of its leaf.

A ``Credential`` is what a server (or a client doing certificate authentication) presents:
``chain[0]`` is the end-entity certificate, the rest are the issuers in order (RFC 8446 §4.4.2,
RFC 5246 §7.4.2). It is checked when built: the key must match the leaf's public key.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from lucidtls.errors import ConfigError

if TYPE_CHECKING:
    from lucidtls.wire.messages import Encoded

# The key kinds TLS can sign with (RFC 8446 §4.2.3); DSA and X25519 keys are refused.
PrivateKey = (
    ec.EllipticCurvePrivateKey
    | rsa.RSAPrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)
PublicKey = (
    ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)

_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def describe_public_key(key: object) -> str:
    """A short human name for a key: "ECDSA P-256", "RSA 2048", "Ed25519"."""
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return f"ECDSA {_CURVE_NAMES.get(key.curve.name, key.curve.name)}"
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "Ed25519"
    if isinstance(key, ed448.Ed448PublicKey | ed448.Ed448PrivateKey):
        return "Ed448"
    return type(key).__name__


def _spki(key: object) -> bytes:
    # Compare keys by their encoded SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
    public_bytes = getattr(key, "public_bytes")  # noqa: B009 - every public key type has it
    data: bytes = public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


@dataclass(frozen=True)
class Credential:
    """A certificate chain (leaf first) and the private key matching the leaf."""

    chain: tuple[x509.Certificate, ...]
    private_key: PrivateKey

    def __post_init__(self) -> None:
        if not isinstance(self.chain, tuple):
            object.__setattr__(self, "chain", tuple(self.chain))
        if not self.chain:
            raise ConfigError("a credential needs at least one certificate")
        if not isinstance(self.private_key, PrivateKey):
            kind = type(self.private_key).__name__
            raise ConfigError(f"unsupported private key type {kind}")
        if _spki(self.private_key.public_key()) != _spki(self.chain[0].public_key()):
            raise ConfigError(
                "the private key does not match the certificate "
                f"{self.chain[0].subject.rfc4514_string()!r}"
            )

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @functools.cached_property
    def chain_der(self) -> list[bytes]:
        """The chain as DER, ready for a Certificate message."""
        return [cert.public_bytes(serialization.Encoding.DER) for cert in self.chain]

    @functools.cached_property
    def chain_names(self) -> frozenset[bytes]:
        """The DER issuer and subject names of every certificate in the chain, read once: a
        client matches them against a CertificateRequest's certificate_authorities."""
        return frozenset(name.public_bytes() for c in self.chain for name in (c.issuer, c.subject))

    @functools.cached_property
    def signing_schemes(self) -> dict[int, tuple[int, ...]]:
        """Per protocol version, the signature schemes this key can sign with, in our
        preference order; filled in by the handshake's negotiation the first time."""
        return {}

    @functools.cached_property
    def encoded(self) -> dict[str, Encoded]:
        """Messages that depend on this credential alone, encoded once by the handshake (the
        Certificate message, RFC 8446 §4.4.2 / RFC 5246 §7.4.2, is the same every time)."""
        return {}

    @functools.cached_property
    def leaf_names(self) -> tuple[frozenset[str], frozenset[str]]:
        """The leaf's subjectAltName DNS names (lower case) and IP addresses (as text), read
        once: a server matches SNI against them on every handshake."""
        try:
            san = self.chain[0].extensions.get_extension_for_class(
                x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return frozenset(), frozenset()
        dns = frozenset(n.lower() for n in san.get_values_for_type(x509.DNSName))
        ips = frozenset(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
        return dns, ips

    @property
    def key_type(self) -> str:
        """e.g. "ECDSA P-256", "RSA 2048", "Ed25519"."""
        return describe_public_key(self.private_key)

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes, password: bytes | None = None) -> Credential:
        """Build from a PEM chain (leaf first) and a PEM private key."""
        chain = _parse_chain(cert_pem, "certificate data")
        key = _parse_key(key_pem, password, "key data")
        return cls(tuple(chain), key)


def _parse_chain(data: bytes, origin: str) -> list[x509.Certificate]:
    try:
        chain = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise ConfigError(f"{origin}: no valid PEM certificate found ({exc})") from None
    return chain


def _parse_key(data: bytes, password: bytes | None, origin: str) -> PrivateKey:
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password)
        else:
            key = serialization.load_der_private_key(data, password)
    except TypeError as exc:  # password given but not needed, or needed but not given
        raise ConfigError(f"{origin}: {exc}") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ConfigError(f"{origin}: cannot load private key ({exc})") from None
    if not isinstance(key, PrivateKey):
        raise ConfigError(f"{origin}: unsupported private key type {type(key).__name__}")
    return key


def _read(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None


def load_credential(
    cert_file: str | Path, key_file: str | Path, password: bytes | None = None
) -> Credential:
    """Load a PEM certificate chain (leaf first) and a PEM or DER private key."""
    chain = _parse_chain(_read(cert_file), str(cert_file))
    key = _parse_key(_read(key_file), password, str(key_file))
    try:
        return Credential(tuple(chain), key)
    except ConfigError as exc:
        raise ConfigError(f"{cert_file} / {key_file}: {exc}") from None
