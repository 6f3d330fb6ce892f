"""What every implementation in the benchmark shares: one PKI, one set of scenarios, and the
configuration of each implementation for each scenario, so every row compares the same work."""

from __future__ import annotations

import ssl
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from lucidtls import config as lconfig
from lucidtls.config import ClientConfig, ServerConfig
from lucidtls.pki.credentials import Credential
from lucidtls.pki.issue import issue_certificate, make_ca
from lucidtls.pki.trust import TrustStore
from lucidtls.wire.enums import CipherSuite, NamedGroup, ProtocolVersion

HOSTNAME = "localhost"


@dataclass(frozen=True)
class Scenario:
    """One handshake shape; every implementation is configured to do exactly this."""

    id: str
    title: str
    version: ProtocolVersion
    mutual: bool = False
    rsa_kx: bool = False
    # lucidtls keeps what a returning peer sent (parsed certificates, decoded Certificate,
    # EncryptedExtensions and CertificateRequest, ClientHello extensions) in small caches, which
    # every repeated handshake hits; a "new peer" row empties them before each handshake.
    new_peer: bool = False

    @property
    def suite(self) -> CipherSuite:
        if self.version == ProtocolVersion.TLS1_3:
            # OpenSSL's first TLS 1.3 preference; Python 3.11's ssl cannot change TLS 1.3 suites.
            return CipherSuite.TLS_AES_256_GCM_SHA384
        if self.rsa_kx:
            return CipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384
        return CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384

    @property
    def openssl_cipher(self) -> str:
        return {CipherSuite.TLS_AES_256_GCM_SHA384: "TLS_AES_256_GCM_SHA384",
                CipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384: "AES256-GCM-SHA384",
                CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
                    "ECDHE-ECDSA-AES256-GCM-SHA384"}[self.suite]

    @property
    def what(self) -> str:
        """The work each implementation does in this row, for the table."""
        if self.rsa_kx:
            kx = "RSA-2048 key transport, RSA-2048 leaf"
        else:
            kx = "X25519, ECDSA P-256 leaf"
        auth = ", client cert ECDSA P-256" if self.mutual else ""
        new = "; lucidtls's caches of what peers sent emptied each time" if self.new_peer else ""
        return f"{self.openssl_cipher}, {kx}{auth}, CA ECDSA P-256, chain+name verified{new}"

    @property
    def available(self) -> str | None:
        """None if lucidtls can run this scenario, else why not."""
        if self.version not in lconfig.IMPLEMENTED_VERSIONS:
            return "n/a (TLS 1.2 not available)"
        return None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("tls13-oneway", "TLS 1.3 one-way", ProtocolVersion.TLS1_3),
    Scenario("tls13-mutual", "TLS 1.3 mutual", ProtocolVersion.TLS1_3, mutual=True),
    Scenario("tls13-mutual-new", "TLS 1.3 mutual, new peer", ProtocolVersion.TLS1_3,
             mutual=True, new_peer=True),
    Scenario("tls12-ecdhe", "TLS 1.2 ECDHE-ECDSA", ProtocolVersion.TLS1_2),
    Scenario("tls12-rsa", "TLS 1.2 RSA kx", ProtocolVersion.TLS1_2, rsa_kx=True),
)
BULK_SCENARIO = SCENARIOS[0]


@dataclass
class PKI:
    """One CA (ECDSA P-256) and the leaves every implementation uses, as objects and PEM."""

    ca: Credential
    server: Credential
    rsa_server: Credential
    client: Credential
    trust: TrustStore
    dir: Path
    files: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def make(cls) -> PKI:
        ca = make_ca("lucidtls bench CA")
        server = issue_certificate(ca, HOSTNAME, dns=[HOSTNAME], ips=["127.0.0.1"])
        rsa_server = issue_certificate(ca, HOSTNAME, dns=[HOSTNAME], ips=["127.0.0.1"],
                                       key_type="rsa2048")
        client = issue_certificate(ca, "bench-client", client=True)
        pki = cls(ca, server, rsa_server, client, TrustStore.from_certificates([ca.leaf]),
                  Path(tempfile.mkdtemp(prefix="lucidtls-bench-")))
        pki.files["ca"] = pki._write("ca.pem", _certs_pem([ca.leaf]))
        for name, cred in (("server", server), ("rsa_server", rsa_server), ("client", client)):
            pki.files[f"{name}_chain"] = pki._write(f"{name}.pem", _certs_pem(cred.chain))
            pki.files[f"{name}_key"] = pki._write(f"{name}.key", _key_pem(cred))
        return pki

    def _write(self, name: str, data: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(data)
        return path

    def server_cred(self, sc: Scenario) -> Credential:
        return self.rsa_server if sc.rsa_kx else self.server

    def server_files(self, sc: Scenario) -> tuple[str, str]:
        name = "rsa_server" if sc.rsa_kx else "server"
        return str(self.files[f"{name}_chain"]), str(self.files[f"{name}_key"])


def _certs_pem(certs: Any) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _key_pem(cred: Credential) -> bytes:
    return cred.private_key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())


# --- per-implementation configuration -------------------------------------------------------------
# TLS 1.2 (RFC 8422 §5.1): the client's supported_groups also govern the curve of the server's
# ECDSA certificate, so P-256 must be listed; X25519 stays first and is what ECDHE uses.
tls12_groups = (NamedGroup.x25519, NamedGroup.secp256r1)


def lucid_configs(pki: PKI, sc: Scenario) -> tuple[ClientConfig, ServerConfig]:
    suites = (int(sc.suite),)
    groups = tls12_groups if sc.version == ProtocolVersion.TLS1_2 else (NamedGroup.x25519,)
    cc = ClientConfig(trust=pki.trust, versions=(sc.version,), cipher_suites=suites,
                      groups=groups, key_share_groups=(NamedGroup.x25519,),
                      credentials=(pki.client,) if sc.mutual else (),
                      allow_rsa_key_exchange=sc.rsa_kx)
    return cc, lucid_server_config(pki.server_cred(sc), sc, pki.trust)


def lucid_server_config(cred: Credential, sc: Scenario,
                        trust: TrustStore | None = None) -> ServerConfig:
    """The server side of *sc*; *trust* verifies client certificates in mutual scenarios."""
    groups = tls12_groups if sc.version == ProtocolVersion.TLS1_2 else (NamedGroup.x25519,)
    return ServerConfig(credentials=(cred,), versions=(sc.version,),
                        cipher_suites=(int(sc.suite),), groups=groups,
                        verify_client="required" if sc.mutual else "none",
                        client_trust=trust if sc.mutual else None,
                        allow_rsa_key_exchange=sc.rsa_kx)


def _stdlib_limits(ctx: ssl.SSLContext, sc: Scenario) -> ssl.SSLContext:
    ctx.minimum_version = ctx.maximum_version = (
        ssl.TLSVersion.TLSv1_3 if sc.version == ProtocolVersion.TLS1_3 else ssl.TLSVersion.TLSv1_2)
    if sc.version == ProtocolVersion.TLS1_3:
        ctx.set_ecdh_curve("X25519")  # SSL_CTX_set1_groups with OpenSSL 3: x25519 only
    else:  # OpenSSL's default list starts x25519, P-256 (see tls12_groups)
        ctx.set_ciphers(sc.openssl_cipher)
    return ctx


def stdlib_server_context(sc: Scenario, chain: str, key: str) -> ssl.SSLContext:
    """The server side of a one-way *sc* (mutual adds client verification in stdlib_contexts)."""
    sctx = _stdlib_limits(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), sc)
    sctx.load_cert_chain(chain, key)
    sctx.num_tickets = 0  # lucidtls and the floor send no tickets
    return sctx


def stdlib_contexts(pki: PKI, sc: Scenario) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cctx = _stdlib_limits(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), sc)
    cctx.load_verify_locations(str(pki.files["ca"]))  # CERT_REQUIRED + check_hostname
    sctx = stdlib_server_context(sc, *pki.server_files(sc))
    if sc.mutual:
        sctx.verify_mode = ssl.CERT_REQUIRED
        sctx.load_verify_locations(str(pki.files["ca"]))
        cctx.load_cert_chain(str(pki.files["client_chain"]), str(pki.files["client_key"]))
    return cctx, sctx


# --- measuring ----------------------------------------------------------------------------------
def cpu_per_call(fn: Callable[[], Any], n: int) -> float:
    """CPU seconds per call of *fn*, over *n* calls (all threads of the process)."""
    t0 = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t0) / n


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None
