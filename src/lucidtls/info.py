"""``ConnectionInfo``: what was negotiated, and who the peer is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lucidtls.wire.enums import (
    CipherSuite,
    NamedGroup,
    SignatureScheme,
    describe,
    version_label,
)

if TYPE_CHECKING:
    from cryptography import x509

    from lucidtls.pki.trust import VerifiedChain


_set_attribute = object.__setattr__


@dataclass(frozen=True, init=False)
class ConnectionInfo:
    version: int
    cipher_suite: int
    group: int | None
    signature_scheme: int | None
    alpn_protocol: str | None
    server_name: str | None
    peer_certificates: tuple[x509.Certificate, ...]
    verified: VerifiedChain | None
    verification: str  # "verified", "skipped (insecure)", "accepted by callback", "none"
    hello_retry: bool = False
    client_auth: bool = False  # a client certificate was presented and accepted
    kx: str = "ECDHE"
    extended_master_secret: bool = False
    extras: dict[str, str] = field(default_factory=dict)

    def __init__(self, version: int, cipher_suite: int, group: int | None,
                 signature_scheme: int | None, alpn_protocol: str | None,
                 server_name: str | None, peer_certificates: tuple[x509.Certificate, ...],
                 verified: VerifiedChain | None, verification: str, hello_retry: bool = False,
                 client_auth: bool = False, kx: str = "ECDHE",
                 extended_master_secret: bool = False,
                 extras: dict[str, str] | None = None) -> None:
        # What the generated __init__ does, in one store: a frozen dataclass's own __init__
        # sets its 14 fields by 14 object.__setattr__ calls, and one is built per connection.
        # (tests/test_info.py checks that this signature matches the fields.)
        _set_attribute(self, "__dict__", {
            "version": version, "cipher_suite": cipher_suite, "group": group,
            "signature_scheme": signature_scheme, "alpn_protocol": alpn_protocol,
            "server_name": server_name, "peer_certificates": peer_certificates,
            "verified": verified, "verification": verification, "hello_retry": hello_retry,
            "client_auth": client_auth, "kx": kx,
            "extended_master_secret": extended_master_secret,
            "extras": {} if extras is None else extras})

    @property
    def version_name(self) -> str:
        return version_label(self.version)

    @property
    def cipher_name(self) -> str:
        return describe(CipherSuite, self.cipher_suite)

    @property
    def group_name(self) -> str | None:
        return None if self.group is None else describe(NamedGroup, self.group)

    @property
    def signature_scheme_name(self) -> str | None:
        return None if self.signature_scheme is None else describe(SignatureScheme,
                                                                   self.signature_scheme)

    @property
    def peer_subject(self) -> str | None:
        if not self.peer_certificates:
            return None
        return self.peer_certificates[0].subject.rfc4514_string()

