"""Trust stores and certificate path validation.

Path building and validation (RFC 5280 §6) and host/IP matching (RFC 6125 §6) are done by
``cryptography.x509.verification``, which applies a WebPKI profile (CA/B Forum Baseline
Requirements). This module only chooses the policy, and turns a ``VerificationError`` into a
``CertificateError`` carrying the right alert, in one place: ``_error_for``.

Alerts (RFC 8446 §6.2, RFC 5246 §7.2.2):

=========================================================  ===========================
cause                                                      alert
=========================================================  ===========================
a certificate is expired or not yet valid                  certificate_expired
no path to a trust anchor (unknown issuer, self-signed     unknown_ca
leaf not in the store, chain longer than the maximum, an
issuer of the right name whose key does not verify)
name mismatch (host or IP not among the SANs)              bad_certificate
wrong extendedKeyUsage (client cert used by a server or    unsupported_certificate
vice versa); key or signature algorithm the profile
forbids (e.g. an Ed25519 CA)
anything else (bad signature, missing extension, ...)      bad_certificate
=========================================================  ===========================

The EKU choice follows OpenSSL, which sends unsupported_certificate for X509_V_ERR_INVALID_PURPOSE.
An empty chain is reported with the alert the caller passes as ``empty_alert``: RFC 8446
§4.4.2.4 wants decode_error from a TLS 1.3 client and certificate_required from a server that
requires client authentication; TLS 1.2 servers send handshake_failure (RFC 5246 §7.4.6).
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.verification import (
    PolicyBuilder,
    Store,
    Subject,
    VerificationError,
)

from lucidtls.errors import ConfigError, ProtocolError, alert_error
from lucidtls.pki.credentials import describe_public_key
from lucidtls.wire.enums import AlertDescription


class TrustStore:
    """A set of trust anchors (root certificates)."""

    def __init__(self, certificates: Iterable[x509.Certificate], origin: str = "memory") -> None:
        self._certificates = tuple(certificates)
        self.origin = origin
        if not self._certificates:
            raise ConfigError(f"no trust anchors in {origin}")

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def default(cls) -> TrustStore:
        """certifi's Mozilla-derived bundle, parsed on first use and then shared."""
        return _default_store()

    @classmethod
    def from_pem(cls, data: bytes, origin: str = "PEM data") -> TrustStore:
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise ConfigError(f"cannot load trust anchors from {origin}: {exc}") from None
        return cls(certs, origin)

    @classmethod
    def from_pem_file(cls, path: str | Path) -> TrustStore:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read CA file {path}: {exc.strerror or exc}") from None
        return cls.from_pem(data, str(path))

    @classmethod
    def from_certificates(cls, certificates: Sequence[x509.Certificate]) -> TrustStore:
        return cls(certificates)

    # --- views -------------------------------------------------------------------------------
    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        return self._certificates

    @functools.cached_property
    def subjects(self) -> list[bytes]:
        """DER subject Names, for the certificate_authorities extension (RFC 8446 §4.2.4)."""
        return [cert.subject.public_bytes() for cert in self._certificates]

    @functools.cached_property
    def store(self) -> Store:
        return Store(list(self._certificates))

    @functools.cached_property
    def policy_builder(self) -> PolicyBuilder:
        """A verifier builder on this store, with no time or depth fixed: builders are
        immutable, and the validation time is taken when a verifier is built from it."""
        return PolicyBuilder().store(self.store)

    def __len__(self) -> int:
        return len(self._certificates)

    def __repr__(self) -> str:
        return f"<TrustStore {self.origin}: {len(self)} anchors>"


@functools.cache
def _default_store() -> TrustStore:
    import certifi

    with warnings.catch_warnings():
        # A few bundled roots have non-positive serials; cryptography warns, anchors still work.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return TrustStore.from_pem_file(certifi.where())


@dataclass(frozen=True)
class VerifiedChain:
    """The result of a successful validation.

    Only the path is stored; the descriptions below are formatted on first use (most
    connections never read them).
    """

    chain: tuple[x509.Certificate, ...]  # the validated path, leaf first, trust anchor last

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]

    @functools.cached_property
    def subject(self) -> str:
        """RFC 4514 string of the leaf's subject."""
        return self.chain[0].subject.rfc4514_string()

    @functools.cached_property
    def issuer(self) -> str:
        return self.chain[0].issuer.rfc4514_string()

    @functools.cached_property
    def sans(self) -> tuple[str, ...]:
        """"DNS:example.com", "IP:127.0.0.1", ..."""
        return tuple(certificate_sans(self.chain[0]))

    @property
    def not_after(self) -> datetime.datetime:
        return self.chain[0].not_valid_after_utc

    @functools.cached_property
    def anchor_subject(self) -> str:
        return self.chain[-1].subject.rfc4514_string()

    @classmethod
    def from_path(cls, path: Sequence[x509.Certificate]) -> VerifiedChain:
        return cls(chain=tuple(path))


# --- descriptions ------------------------------------------------------------------------------


def _format_general_name(name: x509.GeneralName) -> str:
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.IPAddress):
        return f"IP:{name.value}"
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    if isinstance(name, x509.DirectoryName):
        return f"DirName:{name.value.rfc4514_string()}"
    return type(name).__name__


def certificate_sans(cert: x509.Certificate) -> list[str]:
    """The subjectAltName entries (RFC 5280 §4.2.1.6) as "DNS:..." / "IP:..." strings."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    except ValueError:  # a malformed extension; validation reports it properly
        return []
    return [_format_general_name(name) for name in san]


class CertificateDescription(TypedDict):
    subject: str
    issuer: str
    serial: str
    not_before: str
    not_after: str
    sans: list[str]
    key_type: str
    signature_algorithm: str


def describe_certificate(cert: x509.Certificate) -> CertificateDescription:
    """A small summary of *cert* for narration and the CLI."""
    oid = cert.signature_algorithm_oid
    return CertificateDescription(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=f"{cert.serial_number:x}",
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=cert.not_valid_after_utc.isoformat(),
        sans=certificate_sans(cert),
        key_type=describe_public_key(cert.public_key()),
        signature_algorithm=getattr(oid, "_name", None) or oid.dotted_string,
    )


# --- verification ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _subject_for(server_name: str) -> Subject:
    """DNSName or IPAddress for the name we dialled (RFC 6125 §6.2, §6.2.4 for IPs)."""
    text = server_name.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    # Only a name with a colon (IPv6) or of digits and dots (IPv4) can be an IP literal;
    # host names skip ipaddress's exception-driven parse.
    if ":" in text or not text.strip("0123456789."):
        try:
            addr = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        except ValueError:
            pass
        else:
            return IPAddress(addr)
    # A trailing dot marks an absolute name; certificates carry names without it.
    return DNSName(text.removesuffix("."))


def _unchecked_subject(leaf: x509.Certificate) -> Subject | None:
    # With hostname checks disabled the server profile still applies; we name a subject that the
    # leaf's own SANs match, so that only the name comparison is skipped.
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    for name in san:
        if isinstance(name, x509.IPAddress) and not isinstance(
            name.value, ipaddress.IPv4Network | ipaddress.IPv6Network
        ):
            return IPAddress(name.value)
        if isinstance(name, x509.DNSName):
            value = name.value
            if value.startswith("*."):
                value = "unchecked" + value[1:]
            try:
                return DNSName(value)
            except ValueError:
                continue
    return None


def _builder(
    store: TrustStore, now: datetime.datetime | None, max_chain_depth: int | None
) -> PolicyBuilder:
    builder = store.policy_builder
    if now is not None:
        builder = builder.time(now)
    if max_chain_depth is not None:
        builder = builder.max_chain_depth(max_chain_depth)
    return builder


def _check_not_empty(chain: Sequence[x509.Certificate], alert: AlertDescription) -> None:
    if not chain:
        raise alert_error(alert, "the peer sent no certificate")


def verify_server_chain(
    store: TrustStore,
    chain: Sequence[x509.Certificate],
    server_name: str | None,
    now: datetime.datetime | None = None,
    *,
    max_chain_depth: int | None = None,
    empty_alert: AlertDescription = AlertDescription.bad_certificate,
) -> VerifiedChain:
    """Validate a server's chain (leaf first) for *server_name* (a DNS name or an IP literal).

    ``server_name=None`` skips only the name check; callers allow it only when the user
    explicitly disabled hostname checking.
    """
    _check_not_empty(chain, empty_alert)
    leaf = chain[0]
    subject = _subject_for(server_name) if server_name is not None else _unchecked_subject(leaf)
    if subject is None:
        raise alert_error(
            AlertDescription.bad_certificate,
            f"certificate {leaf.subject.rfc4514_string()!r} has no usable subjectAltName",
        )
    try:
        verifier = _builder(store, now, max_chain_depth).build_server_verifier(subject)
    except ValueError:  # the builder checks the DNS name syntax (RFC 1123 §2.1)
        raise ConfigError(f"not a valid host name or IP address: {server_name!r}") from None
    try:
        path = verifier.verify(leaf, list(chain[1:]))
    except VerificationError as exc:
        raise _error_for(
            exc, chain, store, verifier.policy.validation_time, server_name, server=True
        ) from None
    return VerifiedChain(tuple(path))


def verify_client_chain(
    store: TrustStore,
    chain: Sequence[x509.Certificate],
    now: datetime.datetime | None = None,
    *,
    max_chain_depth: int | None = None,
    empty_alert: AlertDescription = AlertDescription.certificate_required,
) -> VerifiedChain:
    """Validate a client's chain (leaf first); the leaf must allow clientAuth."""
    _check_not_empty(chain, empty_alert)
    verifier = _builder(store, now, max_chain_depth).build_client_verifier()
    try:
        verified = verifier.verify(chain[0], list(chain[1:]))
    except VerificationError as exc:
        raise _error_for(
            exc, chain, store, verifier.policy.validation_time, None, server=False
        ) from None
    return VerifiedChain(tuple(verified.chain))


def _clean(message: str) -> str:
    text = message.removeprefix("validation failed: ")
    return text.split(" (encountered processing", 1)[0]


def _validity_problem(
    chain: Sequence[x509.Certificate], store: TrustStore, when: datetime.datetime
) -> str | None:
    """Which certificate is outside its validity period (RFC 5280 §4.1.2.5), in words."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    # The chain as sent, then only the anchors that could have issued its last certificate.
    anchors = [a for a in store.certificates if a.subject == chain[-1].issuer]
    for cert in (*chain, *anchors):
        name = cert.subject.rfc4514_string()
        if when > cert.not_valid_after_utc:
            stamp = cert.not_valid_after_utc.isoformat()
            return f"certificate {name!r} expired on {stamp}"
        if when < cert.not_valid_before_utc:
            stamp = cert.not_valid_before_utc.isoformat()
            return f"certificate {name!r} is not valid before {stamp}"
    return None


def _error_for(
    exc: VerificationError,
    chain: Sequence[x509.Certificate],
    store: TrustStore,
    when: datetime.datetime,
    server_name: str | None,
    *,
    server: bool,
) -> ProtocolError:
    """The one map from cryptography's VerificationError messages to alert and reason."""
    message = _clean(str(exc))
    lowered = message.lower()
    leaf = chain[0]
    leaf_name = leaf.subject.rfc4514_string()
    if leaf.issuer == leaf.subject and leaf not in store.certificates:
        # A self-signed leaf can only be trusted as an anchor itself (RFC 5280 §6.1); whatever
        # else the profile dislikes about it, the first problem is that nobody vouches for it.
        return alert_error(
            AlertDescription.unknown_ca,
            f"self-signed certificate {leaf_name!r} is not in the trust store ({message})",
        )
    if "not valid at validation time" in lowered:
        reason = (
            _validity_problem(chain, store, when) or "a certificate is expired or not yet valid"
        )
        return alert_error(AlertDescription.certificate_expired, reason)
    if "no interior errors" in lowered or "exceeds max depth" in lowered:
        issuer = leaf.issuer.rfc4514_string()
        why = "self-signed" if leaf.issuer == leaf.subject else f"issued by {issuer!r}"
        extra = " within the maximum chain depth" if "max depth" in lowered else ""
        return alert_error(
            AlertDescription.unknown_ca,
            f"no path to a trusted CA{extra} for {leaf_name!r} ({why}; {len(store)} anchors)",
        )
    if "signature does not match" in lowered:
        # An issuer of the right name exists but its key does not verify the signature: as
        # far as trust goes, the real issuer is unknown (OpenSSL: unable to get local issuer).
        issuer = leaf.issuer.rfc4514_string()
        return alert_error(
            AlertDescription.unknown_ca,
            f"no trusted CA's key verifies the chain of {leaf_name!r} (issuer named "
            f"{issuer!r}, but the signature does not match)",
        )
    if "no matching subjectaltname" in lowered:
        sans = ", ".join(certificate_sans(leaf)) or "none"
        return alert_error(
            AlertDescription.bad_certificate,
            f"certificate is not valid for host {server_name!r} (SANs: {sans})",
        )
    if "required eku not found" in lowered:
        want = "serverAuth" if server else "clientAuth"
        return alert_error(
            AlertDescription.unsupported_certificate,
            f"certificate {leaf_name!r} is not allowed for {want} (extendedKeyUsage)",
        )
    if "forbidden public key algorithm" in lowered or "forbidden signature algorithm" in lowered:
        # e.g. "Forbidden public key algorithm: AlgorithmIdentifier { ..., params: Ed25519 }"
        what = "signature" if "signature algorithm" in lowered else "public key"
        found = re.search(r"params: (\w+)", message)
        algorithm = found.group(1) if found else "unknown"
        return alert_error(
            AlertDescription.unsupported_certificate,
            f"{what} algorithm {algorithm} in the chain of {leaf_name!r} is not permitted "
            "by the WebPKI profile",
        )
    return alert_error(AlertDescription.bad_certificate, f"{leaf_name!r}: {message}")


def describe_chain(chain: Sequence[x509.Certificate]) -> list[CertificateDescription]:
    return [describe_certificate(cert) for cert in chain]


def der_to_certificates(chain_der: Iterable[bytes]) -> list[x509.Certificate]:
    """Parse DER certificates from a Certificate message; bad_certificate if one is malformed."""
    certs = []
    for i, der in enumerate(chain_der):
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError as exc:
            raise alert_error(
                AlertDescription.bad_certificate, f"certificate {i} cannot be parsed: {exc}"
            ) from None
    return certs


def certificate_to_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)
