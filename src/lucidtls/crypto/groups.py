"""Key exchange groups: one interface for (EC)DH and the hybrid ML-KEM group.

* x25519 (RFC 7748, RFC 8446 §4.2.8.2): 32-byte raw public keys; an all-zero shared secret
  (a small-order peer point) is rejected (RFC 7748 §6.1).
* secp256r1 / secp384r1 (RFC 8446 §4.2.8.2): uncompressed points only; the shared secret is the
  x coordinate.
* X25519MLKEM768 (0x11EC, draft-ietf-tls-ecdhe-mlkem): the client share is the ML-KEM-768
  encapsulation key (1184) || X25519 public key (32); the server share is the ML-KEM ciphertext
  (1088) || X25519 public key (32); the shared secret is the ML-KEM secret (32) || the X25519
  secret (32). ML-KEM comes first for this group.

Every malformed or invalid peer share raises ``IllegalParameter`` with a specific reason.
"""

from __future__ import annotations

import hmac
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey

from lucidtls.crypto.names import parse_name_list
from lucidtls.errors import ConfigError, IllegalParameter
from lucidtls.wire.enums import NamedGroup

X25519_LEN = 32
MLKEM768_ENCAP_KEY_LEN = 1184
MLKEM768_CIPHERTEXT_LEN = 1088
MLKEM768_SEED_LEN = 64  # FIPS 203 (d || z) seed that cryptography accepts as the private key

# Preference order (hybrid post-quantum first).
SUPPORTED_GROUPS: tuple[NamedGroup, ...] = (
    NamedGroup.X25519MLKEM768,
    NamedGroup.x25519,
    NamedGroup.secp256r1,
    NamedGroup.secp384r1,
)
# The hybrid is TLS 1.3 only (it is a KEM, not a Diffie-Hellman group usable in RFC 8422).
TLS12_GROUPS: tuple[NamedGroup, ...] = (
    NamedGroup.x25519,
    NamedGroup.secp256r1,
    NamedGroup.secp384r1,
)

_CURVES: dict[NamedGroup, ec.EllipticCurve] = {
    NamedGroup.secp256r1: ec.SECP256R1(),
    NamedGroup.secp384r1: ec.SECP384R1(),
}
_POINT_LEN = {NamedGroup.secp256r1: 65, NamedGroup.secp384r1: 97}

_NAMES: dict[str, NamedGroup] = {
    "x25519": NamedGroup.x25519,
    "secp256r1": NamedGroup.secp256r1,
    "p-256": NamedGroup.secp256r1,
    "p256": NamedGroup.secp256r1,
    "prime256v1": NamedGroup.secp256r1,
    "secp384r1": NamedGroup.secp384r1,
    "p-384": NamedGroup.secp384r1,
    "p384": NamedGroup.secp384r1,
    "x25519mlkem768": NamedGroup.X25519MLKEM768,
}


def parse_group_names(text: str) -> list[NamedGroup]:
    """Parse a comma- or colon-separated list of group names (case-insensitive)."""
    return parse_name_list(text, lambda name: _NAMES.get(name.lower()),
                           "or unsupported group")


_SUPPORTED_BY_CODE: dict[int, NamedGroup] = {int(g): g for g in SUPPORTED_GROUPS}
# Read per handshake: a module global (an enum class attribute read costs ~10 global reads).
_X25519 = NamedGroup.x25519


def _check_supported(group: int) -> NamedGroup:
    named = _SUPPORTED_BY_CODE.get(group)  # by code point: no enum construction per handshake
    if named is None:
        try:
            name = NamedGroup(group).name
        except ValueError:
            name = f"{group:#06x}"
        raise ConfigError(f"unsupported group {name}")
    return named


# --- X25519 ------------------------------------------------------------------------------------
_X25519_ZERO = bytes(X25519_LEN)


def _x25519_private(private_bytes: bytes | None) -> x25519.X25519PrivateKey:
    if private_bytes is None:
        return x25519.X25519PrivateKey.generate()
    if len(private_bytes) != X25519_LEN:
        raise ConfigError("an x25519 private key is 32 bytes")
    return x25519.X25519PrivateKey.from_private_bytes(private_bytes)


def _x25519_public_bytes(key: x25519.X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes_raw()


def _x25519_exchange(key: x25519.X25519PrivateKey, peer: bytes) -> bytes:
    if len(peer) != X25519_LEN:
        raise IllegalParameter(f"x25519 key share is {len(peer)} bytes, expected 32")
    try:
        shared = key.exchange(x25519.X25519PublicKey.from_public_bytes(peer))
    except ValueError:
        # OpenSSL refuses to return the all-zero output of a small-order point.
        raise IllegalParameter("x25519 key share is a small-order point (RFC 7748 §6.1)") from None
    if hmac.compare_digest(shared, _X25519_ZERO):
        raise IllegalParameter("x25519 shared secret is all zeros (RFC 7748 §6.1)")
    return shared


# --- NIST curves -------------------------------------------------------------------------------
def _ec_private(group: NamedGroup, private_bytes: bytes | None) -> ec.EllipticCurvePrivateKey:
    curve = _CURVES[group]
    if private_bytes is None:
        return ec.generate_private_key(curve)
    return ec.derive_private_key(int.from_bytes(private_bytes, "big"), curve)


def _ec_public_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _ec_exchange(group: NamedGroup, key: ec.EllipticCurvePrivateKey, peer: bytes) -> bytes:
    # RFC 8446 §4.2.8.2: UncompressedPointRepresentation only (legacy_form = 4).
    if len(peer) != _POINT_LEN[group] or peer[0] != 4:
        raise IllegalParameter(
            f"{group.name} key share must be a {_POINT_LEN[group]}-byte uncompressed point"
        )
    try:
        peer_key = ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[group], peer)
    except ValueError:
        raise IllegalParameter(f"{group.name} key share is not a point on the curve") from None
    return key.exchange(ec.ECDH(), peer_key)  # the x coordinate (RFC 8446 §7.4.2)


# --- key shares ----------------------------------------------------------------------------------
_Private = x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey | MLKEM768PrivateKey


class KeyShare:
    """Our private key for one group: a TLS 1.3 client share, or a TLS 1.2 ECDHE share.

    For X25519MLKEM768 (client side only) ``private_bytes`` is the 64-byte ML-KEM seed
    followed by the 32-byte x25519 private key.
    """

    __slots__ = ("_dh", "_kem", "_public", "group")

    def __init__(self, group: NamedGroup, dh: _Private, kem: MLKEM768PrivateKey | None,
                 public: bytes | None = None) -> None:
        self.group = group
        self._dh = dh
        self._kem = kem
        self._public = self._compute_public() if public is None else public

    @classmethod
    def generate(cls, group: int, *, private_bytes: bytes | None = None) -> KeyShare:
        named = _check_supported(group)
        if named == _X25519:  # the usual share: its public key taken here
            dh = _x25519_private(private_bytes)
            return cls(named, dh, None, dh.public_key().public_bytes_raw())
        if named in _CURVES:
            return cls(named, _ec_private(named, private_bytes), None)
        # X25519MLKEM768
        kem_seed: bytes | None = None
        x_priv: bytes | None = None
        if private_bytes is not None:
            if len(private_bytes) != MLKEM768_SEED_LEN + X25519_LEN:
                raise ConfigError("X25519MLKEM768 private_bytes is a 64-byte seed || 32 bytes")
            kem_seed, x_priv = private_bytes[:MLKEM768_SEED_LEN], private_bytes[MLKEM768_SEED_LEN:]
        kem = (
            MLKEM768PrivateKey.generate()
            if kem_seed is None
            else MLKEM768PrivateKey.from_seed_bytes(kem_seed)
        )
        return cls(named, _x25519_private(x_priv), kem)

    def _compute_public(self) -> bytes:
        # The group says what the key is (generate() built it): no ABC isinstance checks,
        # and no typing.cast() calls at run time.
        dh: Any = self._dh
        if self.group in _CURVES:
            classical = _ec_public_bytes(dh)
        else:  # x25519, alone or in the hybrid
            classical = _x25519_public_bytes(dh)
        if self._kem is not None:
            return self._kem.public_key().public_bytes_raw() + classical
        return classical

    def public_bytes(self) -> bytes:
        """The key_exchange bytes to send (KeyShareEntry / ECDHE params public point)."""
        return self._public

    def exchange(self, peer_public: bytes) -> bytes:
        """Combine with the peer's share; for the hybrid, *peer_public* is the server's share."""
        dh: Any = self._dh  # of the group's key class, as in _compute_public
        if self._kem is not None:
            assert isinstance(dh, x25519.X25519PrivateKey)
            expected = MLKEM768_CIPHERTEXT_LEN + X25519_LEN
            if len(peer_public) != expected:
                raise IllegalParameter(
                    f"X25519MLKEM768 server share is {len(peer_public)} bytes, expected {expected}"
                )
            ciphertext = peer_public[:MLKEM768_CIPHERTEXT_LEN]
            try:
                kem_secret = self._kem.decapsulate(ciphertext)
            except ValueError:
                raise IllegalParameter("X25519MLKEM768 ML-KEM ciphertext is invalid") from None
            return kem_secret + _x25519_exchange(dh, peer_public[MLKEM768_CIPHERTEXT_LEN:])
        if self.group in _CURVES:
            return _ec_exchange(self.group, dh, peer_public)
        return _x25519_exchange(dh, peer_public)

    def __repr__(self) -> str:
        return f"KeyShare({self.group.name})"


def server_key_share(
    group: int, client_share: bytes, *, private_bytes: bytes | None = None
) -> tuple[bytes, bytes]:
    """Answer a client's key share: return (server_share, shared_secret).

    DH groups generate a key and exchange; X25519MLKEM768 encapsulates to the client's ML-KEM
    key and does X25519 (``private_bytes`` then fixes only the 32-byte x25519 key; ML-KEM
    encapsulation randomness cannot be fixed).
    """
    named = _check_supported(group)
    if named == _X25519:  # the usual answer, without a KeyShare object around it
        key = _x25519_private(private_bytes)
        return key.public_key().public_bytes_raw(), _x25519_exchange(key, client_share)
    if named != NamedGroup.X25519MLKEM768:
        ours = KeyShare.generate(named, private_bytes=private_bytes)
        shared = ours.exchange(client_share)
        return ours.public_bytes(), shared
    expected = MLKEM768_ENCAP_KEY_LEN + X25519_LEN
    if len(client_share) != expected:
        raise IllegalParameter(
            f"X25519MLKEM768 client share is {len(client_share)} bytes, expected {expected}"
        )
    try:
        encap_key = MLKEM768PublicKey.from_public_bytes(client_share[:MLKEM768_ENCAP_KEY_LEN])
    except ValueError:
        # FIPS 203 §7.2 encapsulation key check (coefficients reduced mod q).
        raise IllegalParameter("X25519MLKEM768 ML-KEM encapsulation key is invalid") from None
    kem_secret, ciphertext = encap_key.encapsulate()  # cryptography returns (secret, ciphertext)
    x_priv = _x25519_private(private_bytes)
    x_secret = _x25519_exchange(x_priv, client_share[MLKEM768_ENCAP_KEY_LEN:])
    return ciphertext + _x25519_public_bytes(x_priv), kem_secret + x_secret
