"""The one table of cipher suites lucidtls speaks.

Every property of a suite (names, version, AEAD, key sizes, hash, key exchange, authentication)
lives here and nowhere else; the rest of the stack asks this table instead of branching on ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes

from lucidtls.crypto.names import parse_name_list
from lucidtls.wire.enums import CipherSuite, ProtocolVersion

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
}
_HASH_INSTANCES: dict[str, hashes.HashAlgorithm] = {name: cls() for name, cls in _HASHES.items()}


@dataclass(frozen=True, slots=True)
class Suite:
    """One cipher suite.

    ``iv_len`` is the per-key IV the key schedule must produce: 12 for TLS 1.3 (RFC 8446 §5.3)
    and for TLS 1.2 ChaCha20-Poly1305 (RFC 7905 §2); 4 (the implicit "salt") for TLS 1.2
    AES-GCM (RFC 5288 §3).
    """

    id: CipherSuite
    name: str
    openssl_name: str
    version: ProtocolVersion
    aead: str  # "AES_128_GCM" | "AES_256_GCM" | "CHACHA20_POLY1305"
    key_len: int
    iv_len: int
    hash_name: str  # "sha256" | "sha384"
    kx: str  # "any" (TLS 1.3) | "ECDHE" | "RSA"
    auth: str  # "any" (TLS 1.3) | "ECDSA" | "RSA"

    # The suite's ``cryptography`` hash instance (the PRF / HKDF / transcript hash): stateless,
    # so one shared instance per hash serves every call. A field filled in by __post_init__
    # rather than a property: it is read about 16 times per handshake.
    hash: hashes.HashAlgorithm = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hash", _HASH_INSTANCES[self.hash_name])

    @property
    def hash_len(self) -> int:
        return _HASH_INSTANCES[self.hash_name].digest_size

    @property
    def is_tls13(self) -> bool:
        return self.version == ProtocolVersion.TLS1_3

    def __str__(self) -> str:
        return self.name


def _s13(cs: CipherSuite, aead: str, key_len: int, hash_name: str) -> Suite:
    return Suite(
        cs, cs.name, cs.name, ProtocolVersion.TLS1_3, aead, key_len, 12, hash_name, "any", "any"
    )


def _s12(
    cs: CipherSuite, openssl_name: str, aead: str, key_len: int, hash_name: str, kx: str, auth: str
) -> Suite:
    # RFC 5288 §3: GCM uses a 4-byte implicit salt; RFC 7905 §2: ChaCha20 uses a 12-byte IV.
    iv_len = 12 if aead == "CHACHA20_POLY1305" else 4
    return Suite(
        cs,
        cs.name,
        openssl_name,
        ProtocolVersion.TLS1_2,
        aead,
        key_len,
        iv_len,
        hash_name,
        kx,
        auth,
    )


_CS = CipherSuite
# fmt: off
_ALL: tuple[Suite, ...] = (
    # TLS 1.3 (RFC 8446 §B.4)
    _s13(_CS.TLS_AES_128_GCM_SHA256, "AES_128_GCM", 16, "sha256"),
    _s13(_CS.TLS_AES_256_GCM_SHA384, "AES_256_GCM", 32, "sha384"),
    _s13(_CS.TLS_CHACHA20_POLY1305_SHA256, "CHACHA20_POLY1305", 32, "sha256"),
    # TLS 1.2 ECDHE (RFC 5289, RFC 7905)
    _s12(_CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256",
         "AES_128_GCM", 16, "sha256", "ECDHE", "ECDSA"),
    _s12(_CS.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384",
         "AES_256_GCM", 32, "sha384", "ECDHE", "ECDSA"),
    _s12(_CS.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305",
         "CHACHA20_POLY1305", 32, "sha256", "ECDHE", "ECDSA"),
    _s12(_CS.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256",
         "AES_128_GCM", 16, "sha256", "ECDHE", "RSA"),
    _s12(_CS.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384",
         "AES_256_GCM", 32, "sha384", "ECDHE", "RSA"),
    _s12(_CS.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305",
         "CHACHA20_POLY1305", 32, "sha256", "ECDHE", "RSA"),
    # TLS 1.2 RSA key transport (RFC 5288): no forward secrecy, never on by default
    _s12(_CS.TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256",
         "AES_128_GCM", 16, "sha256", "RSA", "RSA"),
    _s12(_CS.TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384",
         "AES_256_GCM", 32, "sha384", "RSA", "RSA"),
)
# fmt: on

SUITES: dict[int, Suite] = {int(s.id): s for s in _ALL}


def suite_by_id(suite_id: int) -> Suite | None:
    """The suite with this code point, or None if lucidtls does not implement it."""
    return SUITES.get(suite_id)


def _sid(cs: CipherSuite) -> Suite:
    return SUITES[int(cs)]


TLS13_DEFAULT_SUITES: tuple[Suite, ...] = (
    _sid(_CS.TLS_AES_128_GCM_SHA256),
    _sid(_CS.TLS_AES_256_GCM_SHA384),
    _sid(_CS.TLS_CHACHA20_POLY1305_SHA256),
)

# ECDHE only; ECDSA before RSA; AES-GCM before ChaCha20.
TLS12_DEFAULT_SUITES: tuple[Suite, ...] = (
    _sid(_CS.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
    _sid(_CS.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
    _sid(_CS.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
    _sid(_CS.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
    _sid(_CS.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
    _sid(_CS.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
)

TLS12_RSA_KX_SUITES: tuple[Suite, ...] = (
    _sid(_CS.TLS_RSA_WITH_AES_128_GCM_SHA256),
    _sid(_CS.TLS_RSA_WITH_AES_256_GCM_SHA384),
)

_BY_NAME: dict[str, Suite] = {}
for _s in _ALL:
    _BY_NAME[_s.name.upper()] = _s
    _BY_NAME[_s.openssl_name.upper()] = _s


def parse_suite_names(text: str) -> list[Suite]:
    """Parse a comma- or colon-separated list of IANA or OpenSSL suite names.

    Case-insensitive; duplicates are dropped keeping the first position. An unknown name raises
    ``ConfigError`` naming it.
    """
    return parse_name_list(text, lambda name: _BY_NAME.get(name.upper()), "cipher suite")
