"""The crypto floor: the ``cryptography`` primitives one handshake needs, timed alone.

No protocol logic, no encoding, no state machines: only the operations both ends must perform
for the scenario, done once each, with the cheapest calls available (``hmac.digest`` for
HKDF/PRF, cached AEAD objects). A TLS implementation in any language cannot go below this on
this machine with this library; the ratio lucidtls/floor is the cost of our protocol logic.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.verification import PolicyBuilder, Store

from bench.common import HOSTNAME, PKI, Scenario
from lucidtls.wire.enums import ProtocolVersion

_HASH = "sha384"  # every scenario uses an AES-256-GCM-SHA384 suite


def _hkdf_expand_label(secret: bytes, label: bytes, length: int) -> bytes:
    # RFC 8446 §7.1; one HMAC block covers every length used in a handshake.
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    return hmac.digest(secret, info + b"\x01", _HASH)[:length]


def _tls13_schedule_one_side(shared: bytes) -> None:
    """One side's TLS 1.3 key schedule: 3 extracts, 7 derive-secrets, 8 key/iv expansions,
    2 finished keys, 2 Finished MACs, ~6 transcript hashes (RFC 8446 §7.1, §4.4.4)."""
    zeros = bytes(48)
    for _ in range(6):
        hashlib.sha384(b"transcript" * 40).digest()
    early = hmac.digest(zeros, zeros, _HASH)
    derived = _hkdf_expand_label(early, b"derived", 48)
    hs = hmac.digest(derived, shared, _HASH)
    chs = _hkdf_expand_label(hs, b"c hs traffic", 48)
    shs = _hkdf_expand_label(hs, b"s hs traffic", 48)
    derived = _hkdf_expand_label(hs, b"derived", 48)
    master = hmac.digest(derived, zeros, _HASH)
    secrets = [chs, shs] + [_hkdf_expand_label(master, label, 48)
                            for label in (b"c ap traffic", b"s ap traffic", b"exp master")]
    for s in secrets[:2] + secrets[2:4]:
        _hkdf_expand_label(s, b"key", 32)
        _hkdf_expand_label(s, b"iv", 12)
    for s in secrets[:2]:
        fk = _hkdf_expand_label(s, b"finished", 48)
        hmac.digest(fk, b"h" * 48, _HASH)


def _prf(secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    # RFC 5246 §5 P_SHA384
    seed = label + seed
    out = b""
    a = seed
    while len(out) < length:
        a = hmac.digest(secret, a, _HASH)
        out += hmac.digest(secret, a + seed, _HASH)
    return out[:length]


def _tls12_schedule_one_side(pre_master: bytes) -> None:
    """One side's TLS 1.2 key derivation: EMS master secret, key block, two Finished PRFs
    (RFC 7627 §4, RFC 5246 §6.3, §7.4.9)."""
    for _ in range(4):
        hashlib.sha384(b"transcript" * 40).digest()
    master = _prf(pre_master, b"extended master secret", b"h" * 48, 48)
    _prf(master, b"key expansion", os.urandom(64), 2 * 32 + 2 * 4)
    _prf(master, b"client finished", b"h" * 48, 12)
    _prf(master, b"server finished", b"h" * 48, 12)


class Floor:
    name = "floor"

    def __init__(self, pki: PKI, sc: Scenario) -> None:
        self.sc = sc
        self.server_key = pki.server_cred(sc).private_key
        self.server_leaf_der = pki.server_cred(sc).leaf.public_bytes(serialization.Encoding.DER)
        self.client_key = pki.client.private_key
        self.client_leaf_der = pki.client.leaf.public_bytes(serialization.Encoding.DER)
        self.store = Store([pki.ca.leaf])
        self.aead = AESGCM(os.urandom(32))
        self.record = os.urandom(512)
        self.handshake: Callable[[], None] = (
            self._tls13 if sc.version == ProtocolVersion.TLS1_3 else
            self._tls12_rsa if sc.rsa_kx else self._tls12_ecdhe)

    def negotiated(self) -> str:
        return f"primitives of {self.sc.title}"

    # --- shared pieces -----------------------------------------------------------------------
    def _x25519(self) -> bytes:
        c, s = X25519PrivateKey.generate(), X25519PrivateKey.generate()
        c_pub = c.public_key().public_bytes_raw()
        s_pub = s.public_key().public_bytes_raw()
        s.exchange(X25519PublicKey.from_public_bytes(c_pub))
        return c.exchange(X25519PublicKey.from_public_bytes(s_pub))

    def _verify_server_chain(self) -> x509.Certificate:
        leaf = x509.load_der_x509_certificate(self.server_leaf_der)
        verifier = PolicyBuilder().store(self.store).build_server_verifier(
            x509.DNSName(HOSTNAME))
        verifier.verify(leaf, [])
        return leaf

    def _ecdsa_sign_verify(self, key: ec.EllipticCurvePrivateKey, leaf: x509.Certificate,
                           content: bytes) -> None:
        sig = key.sign(content, ec.ECDSA(hashes.SHA256()))
        public = leaf.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(sig, content, ec.ECDSA(hashes.SHA256()))

    def _records(self, n: int) -> None:
        nonce = bytes(12)
        for _ in range(n):
            self.aead.decrypt(nonce, self.aead.encrypt(nonce, self.record, b"hdr"), b"hdr")

    # --- scenarios ---------------------------------------------------------------------------
    def _tls13(self) -> None:
        shared = self._x25519()
        leaf = self._verify_server_chain()
        key = self.server_key
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self._ecdsa_sign_verify(key, leaf, b" " * 64 + b"TLS 1.3, server CertificateVerify"
                                + b"\x00" + b"h" * 48)
        if self.sc.mutual:
            cleaf = x509.load_der_x509_certificate(self.client_leaf_der)
            PolicyBuilder().store(self.store).build_client_verifier().verify(cleaf, [])
            ckey = self.client_key
            assert isinstance(ckey, ec.EllipticCurvePrivateKey)
            self._ecdsa_sign_verify(ckey, cleaf, b" " * 64 + b"TLS 1.3, client CertificateVerify"
                                    + b"\x00" + b"h" * 48)
        _tls13_schedule_one_side(shared)
        _tls13_schedule_one_side(shared)
        # EE, Certificate, CertificateVerify, Finished from the server; Finished from the
        # client (+ Certificate, CertificateVerify in mutual mode): sealed and opened once.
        self._records(7 if self.sc.mutual else 5)

    def _tls12_ecdhe(self) -> None:
        shared = self._x25519()
        leaf = self._verify_server_chain()
        key = self.server_key
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self._ecdsa_sign_verify(key, leaf, os.urandom(64) + b"\x03\x00\x1d\x20" + b"k" * 32)
        _tls12_schedule_one_side(shared)
        _tls12_schedule_one_side(shared)
        self._records(2)  # the two Finished messages

    def _tls12_rsa(self) -> None:
        leaf = self._verify_server_chain()
        public = leaf.public_key()
        assert isinstance(public, rsa.RSAPublicKey)
        pre_master = b"\x03\x03" + os.urandom(46)
        encrypted = public.encrypt(pre_master, padding.PKCS1v15())
        key = self.server_key
        assert isinstance(key, rsa.RSAPrivateKey)
        key.decrypt(encrypted, padding.PKCS1v15())
        _tls12_schedule_one_side(pre_master)
        _tls12_schedule_one_side(pre_master)
        self._records(2)
