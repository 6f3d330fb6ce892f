"""SignatureScheme ⇄ sign/verify (RFC 8446 §4.2.3, §4.4.3; RFC 5246 §7.4.1.4.1; RFC 8422).

Supported: ECDSA on P-256/P-384/P-521, Ed25519, RSASSA-PSS with rsaEncryption keys
(``rsa_pss_rsae_*``, salt length = hash length) and RSASSA-PKCS1-v1_5 (``rsa_pkcs1_*``: legal in
certificates and TLS 1.2, never in a TLS 1.3 CertificateVerify). SHA-1 schemes and
``rsa_pss_pss_*`` (RSASSA-PSS keys) are not implemented.

Version rules for ECDSA: in TLS 1.3 the scheme names the curve and the key must be on it; in
TLS 1.2 the scheme only names the hash, any supported curve may sign (RFC 8446 §4.2.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
    PublicKeyTypes,
)

from lucidtls.errors import ConfigError, CryptoError, IllegalParameter
from lucidtls.wire.enums import ProtocolVersion, SignatureScheme

_S = SignatureScheme


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str  # "ecdsa" | "ed25519" | "rsa_pss" | "rsa_pkcs1"
    hash: type[hashes.HashAlgorithm] | None
    curve: type[ec.EllipticCurve] | None = None
    # Worked out once rather than per signature: the kind of key that signs ("ecdsa",
    # "ed25519" or "rsa"), the hash instance, and the stateless ``cryptography`` arguments that
    # follow the data in ``key.sign(data, ...)`` and ``key.verify(signature, data, ...)``:
    # (ECDSA(hash),), () for Ed25519, or (padding, hash).
    key_kind: str = field(init=False, default="")
    hash_instance: hashes.HashAlgorithm | None = field(init=False, default=None)
    args: tuple[Any, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        h = self.hash() if self.hash is not None else None
        args: tuple[Any, ...] = ()
        if self.kind == "ecdsa":
            assert h is not None
            args = (ec.ECDSA(h),)
        elif self.kind == "rsa_pss":
            assert h is not None
            args = (_pss(h), h)
        elif self.kind == "rsa_pkcs1":
            args = (padding.PKCS1v15(), h)
        object.__setattr__(self, "key_kind", "rsa" if self.kind.startswith("rsa") else self.kind)
        object.__setattr__(self, "hash_instance", h)
        object.__setattr__(self, "args", args)


def _pss(hash_alg: hashes.HashAlgorithm) -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hash_alg), salt_length=hash_alg.digest_size)


_RULES: dict[SignatureScheme, _Rule] = {
    _S.ecdsa_secp256r1_sha256: _Rule("ecdsa", hashes.SHA256, ec.SECP256R1),
    _S.ecdsa_secp384r1_sha384: _Rule("ecdsa", hashes.SHA384, ec.SECP384R1),
    _S.ecdsa_secp521r1_sha512: _Rule("ecdsa", hashes.SHA512, ec.SECP521R1),
    _S.ed25519: _Rule("ed25519", None),
    _S.rsa_pss_rsae_sha256: _Rule("rsa_pss", hashes.SHA256),
    _S.rsa_pss_rsae_sha384: _Rule("rsa_pss", hashes.SHA384),
    _S.rsa_pss_rsae_sha512: _Rule("rsa_pss", hashes.SHA512),
    _S.rsa_pkcs1_sha256: _Rule("rsa_pkcs1", hashes.SHA256),
    _S.rsa_pkcs1_sha384: _Rule("rsa_pkcs1", hashes.SHA384),
    _S.rsa_pkcs1_sha512: _Rule("rsa_pkcs1", hashes.SHA512),
}

SUPPORTED_SIGNATURE_SCHEMES: tuple[SignatureScheme, ...] = tuple(_RULES)

# What we offer in signature_algorithms (and accept), in preference order.
DEFAULT_SIGNATURE_SCHEMES: tuple[SignatureScheme, ...] = (
    _S.ecdsa_secp256r1_sha256,
    _S.ecdsa_secp384r1_sha384,
    _S.ed25519,
    _S.rsa_pss_rsae_sha256,
    _S.rsa_pss_rsae_sha384,
    _S.rsa_pss_rsae_sha512,
    _S.rsa_pkcs1_sha256,
    _S.rsa_pkcs1_sha384,
    _S.rsa_pkcs1_sha512,
)

# RFC 8446 §4.4.3: PKCS#1 v1.5 and SHA-1 MUST NOT be used in a TLS 1.3 CertificateVerify.
TLS13_CERTIFICATE_VERIFY_FORBIDDEN: frozenset[SignatureScheme] = frozenset(
    {
        _S.rsa_pkcs1_sha256,
        _S.rsa_pkcs1_sha384,
        _S.rsa_pkcs1_sha512,
        _S.rsa_pkcs1_sha1,
        _S.ecdsa_sha1,
    }
)


# By code point: no SignatureScheme(...) construction (and its ValueError) per call.
_RULES_BY_CODE: dict[int, _Rule] = {int(s): rule for s, rule in _RULES.items()}


def _name(scheme: int) -> str:
    try:
        return SignatureScheme(scheme).name
    except ValueError:
        return f"{scheme:#06x}"


def _pss_fits(key_size_bits: int, rule: _Rule) -> bool:
    # RFC 8017 §9.1.1: emLen >= hLen + sLen + 2 with sLen = hLen.
    assert rule.hash_instance is not None
    return (key_size_bits - 1 + 7) // 8 >= 2 * rule.hash_instance.digest_size + 2


def key_matches_scheme(
    public_key: CertificatePublicKeyTypes | PublicKeyTypes | PrivateKeyTypes,
    scheme: int,
    *,
    version: int | None = None,
) -> bool:
    """Whether *scheme* can be used with this key (public or private).

    ``version`` adds the protocol rules: TLS 1.3 forbids PKCS#1 v1.5 / SHA-1 and binds ECDSA to
    its curve; TLS 1.2 lets any ECDSA curve use any ECDSA scheme. ``None`` checks only the
    key/scheme pairing (curve-strict), as for certificates.
    """
    rule = _RULES_BY_CODE.get(scheme)
    if rule is None:
        return False
    return _fits(rule, public_key, scheme, version)


_TLS12 = int(ProtocolVersion.TLS1_2)
_TLS13 = int(ProtocolVersion.TLS1_3)
_KIND_BY_CLASS: dict[type, str] = {}
_ECDSA_CURVES = tuple(r.curve for r in _RULES.values() if r.curve is not None)


def _key_kind(key: object) -> str:
    """"ecdsa", "ed25519", "rsa" or "" for a public or private key, remembered per key class in
    _KIND_BY_CLASS (an isinstance check against cryptography's key ABCs runs Python code on
    every call, and the answer depends on the class alone)."""
    if isinstance(key, (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)):
        kind = "ecdsa"
    elif isinstance(key, (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)):
        kind = "ed25519"
    elif isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)):
        kind = "rsa"
    else:
        kind = ""
    _KIND_BY_CLASS[type(key)] = kind
    return kind


def key_kind(key: object) -> str:
    """"ecdsa", "ed25519", "rsa" or "" for a public or private key (cached per class)."""
    kind = _KIND_BY_CLASS.get(type(key))
    return kind if kind is not None else _key_kind(key)


_AUTH_FOR_KIND = {"ecdsa": "ECDSA", "ed25519": "ECDSA", "rsa": "RSA", "": "none"}


def key_auth(key: object) -> str:
    """The TLS 1.2 suite authentication a public or private key can serve: "RSA", "ECDSA"
    (EdDSA too, RFC 8422 §5.1) or "none"."""
    return _AUTH_FOR_KIND[key_kind(key)]


def _fits(rule: _Rule, key: Any, scheme: int, version: int | None) -> bool:
    """key_matches_scheme once the scheme's rule is known."""
    if version == _TLS13 and scheme in TLS13_CERTIFICATE_VERIFY_FORBIDDEN:
        return False
    kind = _KIND_BY_CLASS.get(type(key))
    if kind is None:
        kind = _key_kind(key)
    if kind != rule.key_kind:
        return False
    if rule.curve is not None:  # ECDSA
        return isinstance(key.curve, _ECDSA_CURVES if version == _TLS12 else rule.curve)
    return rule.kind != "rsa_pss" or _pss_fits(key.key_size, rule)


def schemes_for_key(private_key: PrivateKeyTypes, version: int) -> list[SignatureScheme]:
    """Schemes we may sign with using this key, in our preference order."""
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        for scheme in (
            _S.ecdsa_secp256r1_sha256,
            _S.ecdsa_secp384r1_sha384,
            _S.ecdsa_secp521r1_sha512,
        ):
            rule = _RULES[scheme]
            assert rule.curve is not None
            if isinstance(private_key.curve, rule.curve):
                return [scheme]
        return []
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return [_S.ed25519]
    if isinstance(private_key, rsa.RSAPrivateKey):
        out = [
            s
            for s in (_S.rsa_pss_rsae_sha256, _S.rsa_pss_rsae_sha384, _S.rsa_pss_rsae_sha512)
            if _pss_fits(private_key.key_size, _RULES[s])
        ]
        if version != ProtocolVersion.TLS1_3:
            out += [_S.rsa_pkcs1_sha256, _S.rsa_pkcs1_sha384, _S.rsa_pkcs1_sha512]
        return out
    return []


def sign(scheme: int, private_key: PrivateKeyTypes, data: bytes) -> bytes:
    """Sign *data* (the full message; hashing is part of the scheme).

    A scheme that does not fit the key is our own mistake: ``ConfigError``.
    """
    rule = _RULES_BY_CODE.get(scheme)
    if rule is None or not _fits(rule, private_key, scheme, None):
        raise ConfigError(f"cannot sign with {_name(scheme)} using a {type(private_key).__name__}")
    # _fits checked the key's type: the scheme's arguments are the ones its sign() takes.
    key: Any = private_key
    signature: bytes = key.sign(data, *rule.args)
    return signature


def verify(
    scheme: int,
    public_key: CertificatePublicKeyTypes | PublicKeyTypes,
    data: bytes,
    signature: bytes,
    *,
    version: int | None = None,
) -> None:
    """Verify a peer's signature.

    Raises ``IllegalParameter`` if the scheme is unsupported or does not fit the key (or the
    protocol version), and ``CryptoError`` (decrypt_error) if the signature is wrong.
    """
    rule = _RULES_BY_CODE.get(scheme)
    if rule is None:
        raise IllegalParameter(f"unsupported signature scheme {_name(scheme)}")
    if not _fits(rule, public_key, scheme, version):
        raise IllegalParameter(
            f"signature scheme {_name(scheme)} does not match the peer's "
            f"{type(public_key).__name__.lstrip('_')}"
        )
    # _fits checked the key's type: the scheme's arguments are the ones its verify() takes.
    key: Any = public_key
    try:
        key.verify(signature, data, *rule.args)
    except InvalidSignature:
        raise CryptoError(f"{_name(scheme)} signature did not verify") from None


def certificate_verify_input(transcript_hash: bytes, *, server: bool) -> bytes:
    """The content covered by a TLS 1.3 CertificateVerify signature (RFC 8446 §4.4.3)."""
    context = (
        b"TLS 1.3, server CertificateVerify" if server else b"TLS 1.3, client CertificateVerify"
    )
    return b"\x20" * 64 + context + b"\x00" + transcript_hash
