"""Client and server configuration: frozen, validated when built, secure by default."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from lucidtls.crypto import suites as _suites
from lucidtls.crypto.groups import SUPPORTED_GROUPS
from lucidtls.crypto.signatures import DEFAULT_SIGNATURE_SCHEMES
from lucidtls.errors import ConfigError
from lucidtls.pki.credentials import Credential
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import AlertDescription, NamedGroup, ProtocolVersion, describe

if TYPE_CHECKING:
    from cryptography import x509

    from lucidtls.errors import CertificateError
    from lucidtls.pki.trust import VerifiedChain

# What a verify callback returns: None keeps the built-in verdict; True accepts the peer
# even if the built-in verification failed (an explicit override); an AlertDescription rejects
# the peer with that alert.
VerifyDecision = None | bool | AlertDescription
VerifyCallback = Callable[
    ["list[x509.Certificate]", "VerifiedChain | CertificateError"], VerifyDecision]

# TLS 1.3 preferred; TLS 1.2 (AEAD suites, ECDHE, extended master secret) for older peers.
SUPPORTED_VERSIONS: tuple[ProtocolVersion, ...] = (ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2)
IMPLEMENTED_VERSIONS = frozenset({ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2})

DEFAULT_GROUPS: tuple[NamedGroup, ...] = (
    NamedGroup.X25519MLKEM768, NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1)
# Like current browsers: a hybrid post-quantum share and a classic one in the first flight.
DEFAULT_KEY_SHARES: tuple[NamedGroup, ...] = (NamedGroup.X25519MLKEM768, NamedGroup.x25519)


def _require_code_point(value: object, what: str, example: str) -> None:
    """A name or other non-integer given where a code point belongs: say what is expected."""
    if not isinstance(value, int):
        raise ConfigError(f"{what} {value!r} is not a code point: use e.g. {example}")


def _require_sequence(value: object, what: str, example: str) -> None:
    """A lone value (or one string) where a sequence belongs would be iterated wrongly or
    fail with a TypeError deep inside; say so at construction."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        shown = repr(value) if isinstance(value, (str, bytes, int)) else \
            f"a {type(value).__name__}"
        raise ConfigError(f"{what} must be a sequence, e.g. {example}, not {shown}")


def _require_instances(values: Sequence[object], cls: type, what: str, how: str) -> None:
    for value in values:
        if not isinstance(value, cls):
            raise ConfigError(f"{what} must be {cls.__name__} objects ({how}), "
                              f"not {type(value).__name__}")


def _require_trust(value: object, what: str) -> None:
    if value is not None and not isinstance(value, TrustStore):
        raise ConfigError(f"{what} must be a TrustStore (TrustStore.from_pem_file(path) or "
                          f"TrustStore.from_certificates(certs)), not {type(value).__name__}")


def _check_common(versions: Sequence[int], suites: Sequence[int], groups: Sequence[int],
                  schemes: Sequence[int], alpn: Sequence[str]) -> None:
    _require_sequence(versions, "versions", "(ProtocolVersion.TLS1_3,)")
    _require_sequence(suites, "cipher_suites", "(CipherSuite.TLS_AES_128_GCM_SHA256,)")
    _require_sequence(groups, "groups", "(NamedGroup.x25519,)")
    _require_sequence(schemes, "signature_schemes",
                      "(SignatureScheme.ecdsa_secp256r1_sha256,)")
    _require_sequence(alpn, "alpn_protocols", "('h2', 'http/1.1')")
    if not versions:
        raise ConfigError("no protocol version enabled")
    for v in versions:
        if v not in IMPLEMENTED_VERSIONS:
            _require_code_point(v, "protocol version", "ProtocolVersion.TLS1_3")
            raise ConfigError(f"protocol version 0x{v:04x} is not supported "
                              "(TLS 1.0, 1.1 and SSL 3.0 are refused)")
    if not suites:
        raise ConfigError("no cipher suite enabled")
    for s in suites:
        suite = _suites.suite_by_id(s)
        if suite is None:
            _require_code_point(s, "cipher suite", "CipherSuite.TLS_AES_128_GCM_SHA256")
            raise ConfigError(f"cipher suite 0x{s:04x} is not supported")
    usable = [s for s in suites if _suites.SUITES[s].version in versions]
    if not usable:
        raise ConfigError("none of the enabled cipher suites fits an enabled protocol version")
    if not groups:
        raise ConfigError("no key-exchange group enabled")
    for g in groups:
        if g not in SUPPORTED_GROUPS:
            _require_code_point(g, "group", "NamedGroup.x25519")
            raise ConfigError(f"group 0x{g:04x} is not supported")
    for scheme in schemes:
        _require_code_point(scheme, "signature scheme", "SignatureScheme.ecdsa_secp256r1_sha256")
    for p in alpn:
        if not isinstance(p, str):
            raise ConfigError(f"ALPN protocol name {p!r} must be a str")
        if not p or len(p.encode()) > 255:
            raise ConfigError(f"ALPN protocol name {p!r} must be 1..255 bytes")


def _fix_keylog_path(config: object, keylog_file: str | None) -> None:
    """The key log path, fixed when a configuration is made: the environment is read once per
    configuration, not once per connection (stdlib ``ssl`` reads SSLKEYLOGFILE when a context
    is made, too). Kept beside the fields, as the handshake keeps its per-config encodings."""
    object.__setattr__(config, "_keylog_path",
                       keylog_file or os.environ.get("SSLKEYLOGFILE") or None)


_CREDENTIAL_HOW = "Credential.from_pem(cert_pem, key_pem) or pki.issue"


def _default_suites() -> tuple[int, ...]:
    return tuple(s.id for s in (*_suites.TLS13_DEFAULT_SUITES, *_suites.TLS12_DEFAULT_SUITES))


@dataclass(frozen=True)
class ClientConfig:
    """How a client connects. Certificate and host-name verification are on by default."""

    trust: TrustStore | None = None  # None: certifi's bundle
    versions: tuple[ProtocolVersion, ...] = SUPPORTED_VERSIONS
    cipher_suites: tuple[int, ...] = field(default_factory=_default_suites)
    groups: tuple[NamedGroup, ...] = DEFAULT_GROUPS
    key_share_groups: tuple[NamedGroup, ...] = DEFAULT_KEY_SHARES
    signature_schemes: tuple[int, ...] = DEFAULT_SIGNATURE_SCHEMES
    alpn_protocols: tuple[str, ...] = ()
    credentials: tuple[Credential, ...] = ()  # client certificates for mutual TLS
    verify_callback: VerifyCallback | None = None
    check_hostname: bool = True
    # The explicit, loudly named opt-out: no chain or name verification at all.
    dangerously_skip_verification: bool = False
    send_sni: bool = True
    middlebox_compat: bool = True  # RFC 8446 Appendix D.4
    post_handshake_auth: bool = False
    keylog_file: str | None = None  # else $SSLKEYLOGFILE, read when the config is made
    allow_rsa_key_exchange: bool = False  # TLS 1.2 RSA key transport (no forward secrecy)
    # RFC 7627: a TLS 1.2 server that does not echo extended_master_secret is refused.
    require_extended_master_secret: bool = True

    def __post_init__(self) -> None:
        _check_common(self.versions, self.cipher_suites, self.groups, self.signature_schemes,
                      self.alpn_protocols)
        _require_sequence(self.key_share_groups, "key_share_groups", "(NamedGroup.x25519,)")
        _require_sequence(self.credentials, "credentials", "(credential,)")
        _require_instances(self.credentials, Credential, "credentials", _CREDENTIAL_HOW)
        _require_trust(self.trust, "trust")
        for g in self.key_share_groups:
            if g not in self.groups:
                _require_code_point(g, "key share group", "NamedGroup.x25519")
                raise ConfigError(f"key share group {describe(NamedGroup, g)} is not in groups")
        if not self.signature_schemes:
            raise ConfigError("no signature scheme enabled")
        _fix_keylog_path(self, self.keylog_file)

    def trust_store(self) -> TrustStore:
        if self.trust is not None:
            return self.trust
        return TrustStore.default()

    def keylog_path(self) -> str | None:
        """Where connections append the NSS key log: ``keylog_file``, else the
        ``SSLKEYLOGFILE`` environment variable as it was when this configuration was made
        (read once, as ``ssl.create_default_context`` does), else None (no key log)."""
        path: str | None = self.__dict__["_keylog_path"]
        return path


@dataclass(frozen=True)
class ClientHelloInfo:
    """What a server sees of the ClientHello when choosing credentials or configuration."""

    server_name: str | None
    cipher_suites: tuple[int, ...]
    groups: tuple[int, ...]
    signature_schemes: tuple[int, ...]
    alpn_protocols: tuple[str, ...]
    versions: tuple[int, ...]


@dataclass(frozen=True)
class ServerConfig:
    """How a server accepts. It needs at least one credential (certificate chain and key)."""

    credentials: tuple[Credential, ...] = ()
    versions: tuple[ProtocolVersion, ...] = SUPPORTED_VERSIONS
    cipher_suites: tuple[int, ...] = field(default_factory=_default_suites)
    groups: tuple[NamedGroup, ...] = DEFAULT_GROUPS
    signature_schemes: tuple[int, ...] = DEFAULT_SIGNATURE_SCHEMES
    alpn_protocols: tuple[str, ...] = ()
    verify_client: Literal["none", "optional", "required"] = "none"
    client_trust: TrustStore | None = None
    verify_callback: VerifyCallback | None = None
    # Called with the ClientHello's details; may return the credential to use (SNI, etc.).
    select_credential: Callable[[ClientHelloInfo], Credential | None] | None = None
    keylog_file: str | None = None  # else $SSLKEYLOGFILE, read when the config is made
    allow_rsa_key_exchange: bool = False
    require_extended_master_secret: bool = True

    def __post_init__(self) -> None:
        _check_common(self.versions, self.cipher_suites, self.groups, self.signature_schemes,
                      self.alpn_protocols)
        _require_sequence(self.credentials, "credentials", "(credential,)")
        _require_instances(self.credentials, Credential, "credentials", _CREDENTIAL_HOW)
        _require_trust(self.client_trust, "client_trust")
        if not self.credentials and self.select_credential is None:
            raise ConfigError("a server needs at least one credential (certificate and key)")
        if self.verify_client not in ("none", "optional", "required"):
            raise ConfigError(f"verify_client must be none, optional or required, "
                              f"not {self.verify_client!r}")
        if self.verify_client != "none" and self.client_trust is None:
            raise ConfigError("verify_client needs client_trust (the CAs of client certificates)")
        _fix_keylog_path(self, self.keylog_file)

    def keylog_path(self) -> str | None:
        """As ``ClientConfig.keylog_path``: ``keylog_file``, else ``SSLKEYLOGFILE`` as it was
        when this configuration was made, else None."""
        path: str | None = self.__dict__["_keylog_path"]
        return path


def require_config(config: object, kind: type[ClientConfig | ServerConfig],
                   who: str) -> None:
    """The one check that a connection, server or driver got the config of its side."""
    if not isinstance(config, kind):
        raise TypeError(f"{who} needs a {kind.__name__}, not {type(config).__name__}")
