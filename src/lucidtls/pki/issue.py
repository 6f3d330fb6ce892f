"""Making certificates for demos, tests and ``lucidtls ca``.

The profiles follow RFC 5280 and are accepted by ``cryptography``'s verifier (a WebPKI
profile), ``openssl verify`` and the stdlib ``ssl`` module:

* root CA — self-signed, basicConstraints cA=TRUE (critical), keyUsage keyCertSign|cRLSign
  (critical), subjectKeyIdentifier (RFC 5280 §4.2.1.2, §4.2.1.3, §4.2.1.9);
* intermediate CA — as the root plus pathLenConstraint 0 and authorityKeyIdentifier;
* leaf — basicConstraints cA=FALSE (critical), keyUsage digitalSignature (+keyEncipherment for
  RSA, TLS 1.2 key transport) (critical), extKeyUsage serverAuth or clientAuth, subjectAltName,
  authority and subject key identifiers; a random 159-bit positive serial (RFC 5280 §4.1.2.2).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal, get_args

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lucidtls.errors import ConfigError
from lucidtls.pki.credentials import Credential, PrivateKey, load_credential

KeyType = Literal["ecdsa-p256", "ecdsa-p384", "rsa2048", "rsa3072", "ed25519"]
KEY_TYPES: tuple[str, ...] = get_args(KeyType)

_BACKDATE = datetime.timedelta(minutes=5)  # tolerate small clock skew between peers


def generate_key(key_type: str) -> PrivateKey:
    """A fresh private key of *key_type* (one of ``KEY_TYPES``)."""
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ecdsa-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type == "rsa2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "rsa3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ConfigError(f"unknown key type {key_type!r} (choose from {', '.join(KEY_TYPES)})")


def _signing_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | None:
    # Ed25519/Ed448 sign the message itself (RFC 8410 §6); P-384 pairs with SHA-384.
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return hashes.SHA384() if key.curve.key_size >= 384 else hashes.SHA256()
    if isinstance(key, rsa.RSAPrivateKey):
        return hashes.SHA256()
    return None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _name(common_name: str) -> x509.Name:
    if not common_name:
        raise ConfigError("a certificate needs a non-empty common name")
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _validity(
    days: int,
    not_before: datetime.datetime | None,
    not_after: datetime.datetime | None,
) -> tuple[datetime.datetime, datetime.datetime]:
    if days <= 0:
        raise ConfigError(f"days must be positive, not {days}")
    start = not_before if not_before is not None else _now() - _BACKDATE
    end = not_after if not_after is not None else start + datetime.timedelta(days=days)
    if end <= start:
        raise ConfigError("not_after must be later than not_before")
    return start, end


def _subject_builder(
    common_name: str, key: PrivateKey, start: datetime.datetime, end: datetime.datetime
) -> x509.CertificateBuilder:
    """What every certificate we make starts with: subject, key, serial, validity and SKI."""
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())  # RFC 5280 §4.1.2.2: positive, ≤ 20 bytes
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def make_ca(
    common_name: str = "lucidtls demo CA",
    key_type: str = "ecdsa-p256",
    days: int = 3650,
) -> Credential:
    """A self-signed root CA (RFC 5280 §4.2.1.9: cA=TRUE, critical)."""
    key = generate_key(key_type)
    start, end = _validity(days, None, None)
    cert = (
        _subject_builder(common_name, key, start, end)
        .issuer_name(_name(common_name))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .sign(key, _signing_hash(key))
    )
    return Credential((cert,), key)


def _issuer_extensions(builder: x509.CertificateBuilder, ca: Credential) -> x509.CertificateBuilder:
    # RFC 5280 §4.2.1.1: the AKI names the issuer's key, taken from its SKI when present.
    try:
        ski = ca.leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.private_key.public_key())
    return builder.issuer_name(ca.leaf.subject).add_extension(aki, critical=False)


def issue_intermediate(
    ca: Credential,
    common_name: str,
    *,
    key_type: str = "ecdsa-p256",
    days: int = 1825,
) -> Credential:
    """An intermediate CA signed by *ca*, allowed to issue leaves only (pathLen 0)."""
    key = generate_key(key_type)
    start, end = _validity(days, None, None)
    end = min(end, ca.leaf.not_valid_after_utc)
    builder = (
        _subject_builder(common_name, key, start, end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
    )
    cert = _issuer_extensions(builder, ca).sign(ca.private_key, _signing_hash(ca.private_key))
    return Credential((cert, *ca.chain), key)


_LABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _looks_like_hostname(text: str) -> bool:
    # RFC 1123 §2.1 labels, at most 253 characters in all.
    labels = text.removesuffix(".").split(".")
    return len(text) <= 253 and all(_LABEL_RE.fullmatch(label) for label in labels)


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IP literal for a SAN; ConfigError names the bad text."""
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        raise ConfigError(f"not an IP address: {text!r}") from None


def issue_certificate(
    ca: Credential,
    common_name: str,
    *,
    dns: Iterable[str] = (),
    ips: Iterable[str] = (),
    client: bool = False,
    days: int = 825,
    key_type: str = "ecdsa-p256",
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> Credential:
    """A leaf certificate for a TLS server (or, with ``client=True``, a TLS client).

    The chain of the returned credential is the leaf followed by *ca*'s chain. A server
    certificate with neither *dns* nor *ips* gets ``DNS:<common_name>`` (RFC 6125 §6.4.4: clients
    match SANs, not the CN); so does a client certificate whose CN looks like a host name, and
    any other client certificate without names is refused (``ConfigError``), since our verifier
    would reject it. *not_before*/*not_after* override the validity window, e.g. to make an
    expired certificate for tests; without them the window is clamped to the CA's.
    """
    key = generate_key(key_type)
    start, end = _validity(days, not_before, not_after)
    if not_after is None:
        end = min(end, ca.leaf.not_valid_after_utc)
    dns_names = [d.strip() for d in dns if d.strip()]
    ip_addrs = [parse_ip(i) for i in ips if i.strip()]
    if not dns_names and not ip_addrs and (not client or _looks_like_hostname(common_name)):
        # Server: RFC 6125 §6.4.4, clients match SANs only. Client: cryptography's client
        # verifier also requires a subjectAltName, so a host-like CN is repeated there too.
        dns_names = [common_name]
    if not dns_names and not ip_addrs:
        # RFC 5280 allows it, but cryptography's client verifier (like the WebPKI profile)
        # requires a subjectAltName: refuse now rather than issue a certificate we would reject.
        raise ConfigError(
            f"client certificate {common_name!r} needs a subjectAltName: pass dns=[...] or "
            "ips=[...] (or use a host-like name, which becomes DNS:<name>)")
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    sans += [x509.IPAddress(ip) for ip in ip_addrs]
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPrivateKey),  # TLS 1.2 RSA key transport
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    purpose = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        _subject_builder(common_name, key, start, end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = _issuer_extensions(builder, ca).sign(ca.private_key, _signing_hash(ca.private_key))
    return Credential((cert, *ca.chain), key)


# --- files ---------------------------------------------------------------------------------


def _pem(obj: x509.Certificate | Sequence[x509.Certificate] | PrivateKey) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    if isinstance(obj, Sequence):
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in obj)
    return obj.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_pem(
    path: str | Path,
    cert_or_key: x509.Certificate | Sequence[x509.Certificate] | PrivateKey,
    private: bool = False,
    *,
    exclusive: bool = False,
) -> Path:
    """Write a certificate, a chain or a private key as PEM.

    Private keys are always written with mode 0600 (as is anything with ``private=True``);
    ``exclusive=True`` refuses to replace an existing file.
    """
    path = Path(path)
    secret = private or not isinstance(cert_or_key, x509.Certificate | Sequence)
    mode = 0o600 if secret else 0o644
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    data = _pem(cert_or_key)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise ConfigError(f"{path} already exists") from None
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as f:
        if secret:
            os.fchmod(fd, 0o600)  # an existing file keeps its old mode otherwise
        f.write(data)
    return path


_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class CADirectory:
    """A directory holding a demo CA (``ca.pem``, ``ca.key``) and the credentials it issued."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def cert_path(self) -> Path:
        return self.path / "ca.pem"

    @property
    def key_path(self) -> Path:
        return self.path / "ca.key"

    def init(
        self, key_type: str = "ecdsa-p256", common_name: str | None = None
    ) -> tuple[Path, Path]:
        """Create a new root CA; refuse to replace an existing one."""
        if self.cert_path.exists() or self.key_path.exists():
            raise ConfigError(f"a CA already exists in {self.path}")
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"{self.path} is not a directory")
        ca = make_ca(common_name or "lucidtls demo CA", key_type=key_type)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {self.path}: {exc.strerror or exc}") from None
        write_pem(self.key_path, ca.private_key, exclusive=True)
        write_pem(self.cert_path, ca.leaf, exclusive=True)
        return self.cert_path, self.key_path

    def load(self) -> Credential:
        """The CA credential; ConfigError if the directory holds none."""
        if not self.cert_path.exists() or not self.key_path.exists():
            raise ConfigError(f"no CA in {self.path} (run 'lucidtls ca init {self.path}' first)")
        return load_credential(self.cert_path, self.key_path)

    def issue(
        self,
        name: str,
        *,
        client: bool = False,
        dns: Iterable[str] = (),
        ips: Iterable[str] = (),
        days: int = 825,
        key_type: str = "ecdsa-p256",
    ) -> tuple[Path, Path]:
        """Issue DIR/<name>.pem (leaf then CA) and DIR/<name>.key; never overwrite."""
        if not _NAME_RE.fullmatch(name) or name.lower() == "ca":
            raise ConfigError(
                f"invalid name {name!r}: use letters, digits, '.', '_' or '-' (and not 'ca')"
            )
        cert_path, key_path = self.path / f"{name}.pem", self.path / f"{name}.key"
        for p in (cert_path, key_path):
            if p.exists():
                raise ConfigError(f"{p} already exists")
        ca = self.load()
        cred = issue_certificate(
            ca, name, dns=dns, ips=ips, client=client, days=days, key_type=key_type
        )
        write_pem(key_path, cred.private_key, exclusive=True)
        write_pem(cert_path, cred.chain, exclusive=True)
        return cert_path, key_path
