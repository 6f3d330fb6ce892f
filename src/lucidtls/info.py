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


@dataclass(frozen=True)
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
