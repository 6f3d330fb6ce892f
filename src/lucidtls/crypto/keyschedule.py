"""Key schedules: TLS 1.3 (RFC 8446 §7) and TLS 1.2 (RFC 5246 §5, §6.3, §8.1; RFC 7627; RFC 5705).

The TLS 1.3 schedule is a chain of types — ``EarlySecret`` → ``HandshakeSecret`` →
``MasterSecret`` — and each stage only offers the secrets RFC 8446 §7.1 derives from it.
Traffic keys can only come from a derived traffic secret, never from an extracted stage secret.

``hash`` arguments are ``cryptography`` hash instances (``suite.hash``).

Every HMAC is ``cryptography``'s. TLS 1.3 labels are all at most Hash.length long, so
HKDF-Expand-Label is one HMAC block (RFC 5869 §2.3) rather than an ``HKDFExpand`` object. A
secret expanded several times (a stage secret into its traffic secrets, a traffic secret into
key and IV) keys one HMAC and copies it per expansion: a copy skips the key setup and
``cryptography``'s argument checks, about 60% of a fresh HMAC's cost.
"""

from __future__ import annotations

import functools
import hmac as _std_hmac
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from lucidtls.crypto.suites import SUITES, Suite

_HashAlg = hashes.HashAlgorithm


# --- primitives ----------------------------------------------------------------------------------
def hash_bytes(hash: _HashAlg, data: bytes) -> bytes:
    """Hash(data) with a fresh context."""
    h = hashes.Hash(hash)
    h.update(data)
    return h.finalize()


def hmac_bytes(hash: _HashAlg, key: bytes, data: bytes) -> bytes:
    h = _hmac.HMAC(key, hash)
    h.update(data)
    return h.finalize()


def hkdf_extract(hash: _HashAlg, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 §2.2): HMAC-Hash(salt, IKM)."""
    return hmac_bytes(hash, salt, ikm)


@functools.lru_cache(maxsize=64)
def _label_prefix(label: bytes, length: int) -> bytes:
    """HkdfLabel up to its context (RFC 8446 §7.1): length, then the "tls13 "-prefixed label.
    Constant per (label, length), so built once for the handful of labels the schedule uses."""
    full_label = b"tls13 " + label
    return length.to_bytes(2, "big") + bytes((len(full_label),)) + full_label


def hkdf_expand_label(
    hash: _HashAlg, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """HKDF-Expand-Label (RFC 8446 §7.1); *label* is given without the "tls13 " prefix."""
    if length <= hash.digest_size:
        return _expand_label_keyed(_hmac.HMAC(secret, hash), label, context, length)
    info = b"".join((_label_prefix(label, length), bytes((len(context),)), context))
    return HKDFExpand(hash, length, info).derive(secret)


def _expand_label_keyed(keyed: _hmac.HMAC, label: bytes, context: bytes, length: int) -> bytes:
    """HKDF-Expand-Label for outputs of at most Hash.length bytes, from an HMAC already keyed
    with the secret (consumed unless the caller passes a copy)."""
    # RFC 5869 §2.3: T(1) = HMAC-Hash(PRK, info || 0x01) is all the output needed.
    keyed.update(b"".join((_label_prefix(label, length), _U8[len(context)], context, b"\x01")))
    return keyed.finalize()[:length]


_U8 = [bytes((n,)) for n in range(256)]  # the context's length byte (contexts are < 256 bytes)


@functools.lru_cache(maxsize=64)
def _label_info(label: bytes, length: int) -> bytes:
    """The whole HKDF-Expand-Label input block for an empty context (key, iv, finished, ...)."""
    return _label_prefix(label, length) + b"\x00\x01"


@functools.lru_cache(maxsize=64)
def _derive_prefix(label: bytes, hash_len: int) -> bytes:
    """Derive-Secret's HkdfLabel up to the transcript hash: length and label as above, then the
    context's length byte, which is Hash.length (a transcript hash; RFC 8446 §7.1)."""
    return _label_prefix(label, hash_len) + bytes((hash_len,))


def derive_secret(hash: _HashAlg, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Derive-Secret (RFC 8446 §7.1), given Transcript-Hash(Messages) already computed."""
    return hkdf_expand_label(hash, secret, label, transcript_hash, hash.digest_size)


_EMPTY_HASHES: dict[str, bytes] = {}


def _empty_hash(hash: _HashAlg) -> bytes:
    """Hash(""), computed once per hash function."""
    digest = _EMPTY_HASHES.get(hash.name)
    if digest is None:
        digest = _EMPTY_HASHES[hash.name] = hash_bytes(hash, b"")
    return digest


_NO_PSK: dict[str, tuple[bytes, _hmac.HMAC]] = {}


def _no_psk_secrets(hash: _HashAlg) -> tuple[bytes, _hmac.HMAC]:
    """Without a PSK the Early Secret, HKDF-Extract(0, 0), and its Derive-Secret(., "derived",
    "") are constants of the hash function (RFC 8446 §7.1): computed once each. The second, the
    salt of the Handshake Secret's HKDF-Extract, is kept as an HMAC keyed with it, which every
    handshake copies (never updates)."""
    pair = _NO_PSK.get(hash.name)
    if pair is None:
        zeros = bytes(hash.digest_size)
        early = hkdf_extract(hash, zeros, zeros)
        salt = derive_secret(hash, early, b"derived", _empty_hash(hash))
        pair = _NO_PSK[hash.name] = (early, _hmac.HMAC(salt, hash))
    return pair


# --- TLS 1.3 typestate schedule (RFC 8446 §7.1) --------------------------------------------------
class EarlySecret:
    """Early Secret = HKDF-Extract(0, PSK or 0). Leads to the handshake secret."""

    __slots__ = ("_salted", "hash", "secret")

    def __init__(self, suite_hash: _HashAlg, psk: bytes | None = None) -> None:
        self.hash = suite_hash
        # _salted: an HMAC keyed with the handshake stage's salt, when it is a constant.
        self._salted: _hmac.HMAC | None
        if psk is None:
            self.secret, self._salted = _no_psk_secrets(suite_hash)
        else:
            self.secret = hkdf_extract(suite_hash, bytes(suite_hash.digest_size), psk)
            self._salted = None

    @property
    def has_psk(self) -> bool:
        return self._salted is None

    def binder_key(self, *, external: bool) -> bytes:
        """ "ext binder" / "res binder" (RFC 8446 §7.1, §4.2.11.2)."""
        label = b"ext binder" if external else b"res binder"
        return derive_secret(self.hash, self.secret, label, _empty_hash(self.hash))

    def client_early_traffic_secret(self, client_hello_hash: bytes) -> bytes:
        return derive_secret(self.hash, self.secret, b"c e traffic", client_hello_hash)

    def early_exporter_master_secret(self, client_hello_hash: bytes) -> bytes:
        return derive_secret(self.hash, self.secret, b"e exp master", client_hello_hash)

    def handshake(self, shared_secret: bytes | None) -> HandshakeSecret:
        """Handshake Secret = HKDF-Extract(Derive-Secret(., "derived", ""), (EC)DHE).

        ``None`` means psk_ke mode (no (EC)DHE): the IKM is a string of zeros.
        """
        hash = self.hash
        salted = self._salted
        if salted is None:  # with a PSK the salt depends on it
            salted = _hmac.HMAC(derive_secret(hash, self.secret, b"derived", _empty_hash(hash)),
                                hash)
        extract = salted.copy()  # HKDF-Extract (RFC 5869 §2.2)
        extract.update(shared_secret if shared_secret is not None else bytes(hash.digest_size))
        return HandshakeSecret(hash, extract.finalize())


class _StageSecret:
    """A stage secret that Derive-Secret (RFC 8446 §7.1) expands three or four times: its
    HMAC is keyed once and copied for each."""

    __slots__ = ("_hash_len", "_keyed", "hash", "secret")

    def __init__(self, suite_hash: _HashAlg, secret: bytes) -> None:
        self.hash = suite_hash
        self.secret = secret
        self._hash_len = suite_hash.digest_size
        self._keyed = _hmac.HMAC(secret, suite_hash)

    def _derive(self, label: bytes, transcript_hash: bytes) -> bytes:
        # Derive-Secret is Hash.length bytes: the one HMAC block T(1) (RFC 5869 §2.3).
        keyed = self._keyed.copy()
        keyed.update(_derive_prefix(label, self._hash_len) + transcript_hash + b"\x01")
        return keyed.finalize()


class HandshakeSecret(_StageSecret):
    """Handshake Secret: the handshake traffic secrets, then the master secret."""

    __slots__ = ()

    def client_handshake_traffic_secret(self, transcript_hash: bytes) -> bytes:
        """Over ClientHello...ServerHello."""
        return self._derive(b"c hs traffic", transcript_hash)

    def server_handshake_traffic_secret(self, transcript_hash: bytes) -> bytes:
        """Over ClientHello...ServerHello."""
        return self._derive(b"s hs traffic", transcript_hash)

    def traffic_secrets(self, transcript_hash: bytes) -> tuple[bytes, bytes]:
        """(client, server) handshake traffic secrets, both over ClientHello...ServerHello."""
        derive = self._derive
        return (derive(b"c hs traffic", transcript_hash),
                derive(b"s hs traffic", transcript_hash))

    def master(self) -> MasterSecret:
        hash = self.hash
        extract = _hmac.HMAC(self._derive(b"derived", _empty_hash(hash)), hash)  # HKDF-Extract
        extract.update(bytes(self._hash_len))
        return MasterSecret(hash, extract.finalize())


class MasterSecret(_StageSecret):
    """Master Secret: application traffic, exporter and resumption secrets."""

    __slots__ = ()

    def client_application_traffic_secret_0(self, transcript_hash: bytes) -> bytes:
        """Over ClientHello...server Finished."""
        return self._derive(b"c ap traffic", transcript_hash)

    def server_application_traffic_secret_0(self, transcript_hash: bytes) -> bytes:
        """Over ClientHello...server Finished."""
        return self._derive(b"s ap traffic", transcript_hash)

    def exporter_master_secret(self, transcript_hash: bytes) -> bytes:
        """Over ClientHello...server Finished."""
        return self._derive(b"exp master", transcript_hash)

    def resumption_master_secret(self, transcript_hash: bytes) -> bytes:
        """Over ClientHello...client Finished."""
        return self._derive(b"res master", transcript_hash)

    def application_secrets(self, transcript_hash: bytes) -> tuple[bytes, bytes, bytes]:
        """(client_application_traffic_secret_0, server_application_traffic_secret_0,
        exporter_master_secret), all three over ClientHello...server Finished."""
        derive = self._derive
        return (derive(b"c ap traffic", transcript_hash),
                derive(b"s ap traffic", transcript_hash),
                derive(b"exp master", transcript_hash))


# --- TLS 1.3 free functions ----------------------------------------------------------------------
def traffic_keys(suite: Suite, secret: bytes) -> tuple[bytes, bytes]:
    """(write_key, write_iv) from a traffic secret (RFC 8446 §7.3)."""
    # Two expansions of one secret with empty contexts: one keyed HMAC, its copy for the key.
    key_len = suite.key_len
    keyed = _hmac.HMAC(secret, suite.hash)
    for_key = keyed.copy()
    for_key.update(_KEY_INFO[key_len])
    keyed.update(_IV_INFO)
    return for_key.finalize()[:key_len], keyed.finalize()[:12]


# The two HKDF-Expand-Label input blocks of traffic_keys: "key" per AEAD key length, "iv".
_KEY_INFO = {s.key_len: _label_info(b"key", s.key_len) for s in SUITES.values()}
_IV_INFO = _label_info(b"iv", 12)


def next_traffic_secret(hash: _HashAlg, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 (RFC 8446 §7.2, KeyUpdate)."""
    return hkdf_expand_label(hash, secret, b"traffic upd", b"", hash.digest_size)


def finished_key(hash: _HashAlg, base_key: bytes) -> bytes:
    """finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length) (RFC 8446 §4.4.4)."""
    size = hash.digest_size
    keyed = _hmac.HMAC(base_key, hash)
    keyed.update(_label_info(b"finished", size))
    return keyed.finalize()


def finished_verify_data(hash: _HashAlg, base_key: bytes, transcript_hash: bytes) -> bytes:
    """verify_data = HMAC(finished_key, Transcript-Hash(...)) (RFC 8446 §4.4.4).

    Also the PSK binder when *base_key* is the binder key (RFC 8446 §4.2.11.2).
    """
    keyed = _hmac.HMAC(base_key, hash)  # finished_key(), inline: it runs four times a handshake
    keyed.update(_label_info(b"finished", hash.digest_size))
    mac = _hmac.HMAC(keyed.finalize(), hash)
    mac.update(transcript_hash)
    return mac.finalize()


# Constant-time comparison of Finished verify_data (or a binder): verify_finished(expected,
# received) is the stdlib's compare_digest itself, without a wrapper frame per Finished.
verify_finished = _std_hmac.compare_digest


def resumption_psk(hash: _HashAlg, resumption_master_secret: bytes, ticket_nonce: bytes) -> bytes:
    """The PSK of a ticket (RFC 8446 §4.6.1)."""
    return hkdf_expand_label(
        hash, resumption_master_secret, b"resumption", ticket_nonce, hash.digest_size
    )


def exporter_13(
    hash: _HashAlg, exporter_master_secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """TLS-Exporter(label, context_value, key_length) (RFC 8446 §7.5)."""
    inner = derive_secret(hash, exporter_master_secret, label, _empty_hash(hash))
    return hkdf_expand_label(hash, inner, b"exporter", hash_bytes(hash, context), length)


# --- TLS 1.2 (RFC 5246 §5) -----------------------------------------------------------------------
class Prf12:
    """PRF(secret, label, seed) = P_hash(secret, label + seed) (RFC 5246 §5) for one secret.

    Its HMAC is keyed once and copied for each block, so a handshake that keeps the master
    secret's ``Prf12`` for the key block and both Finished sets the key up once, not three times.
    """

    __slots__ = ("_copy",)

    def __init__(self, hash: _HashAlg, secret: bytes) -> None:
        self._copy = _hmac.HMAC(secret, hash).copy

    def __call__(self, label: bytes, seed: bytes, length: int) -> bytes:
        return _p_hash(self._copy, label + seed, length)

    def key_block(
        self, suite: Suite, client_random: bytes, server_random: bytes
    ) -> tuple[bytes, bytes, bytes, bytes]:
        """(client_write_key, server_write_key, client_write_IV, server_write_IV) from the
        master secret (RFC 5246 §6.3).

        AEAD suites have no MAC keys; the IVs are ``suite.iv_len`` bytes (RFC 5288 §3,
        RFC 7905 §2).
        """
        length, client_key, server_key, client_iv, server_iv = _key_block_layout(
            suite.key_len, suite.iv_len)
        block = _p_hash(self._copy, b"key expansion" + server_random + client_random, length)
        return block[client_key], block[server_key], block[client_iv], block[server_iv]

    def finished(self, label: bytes, handshake_hash: bytes) -> bytes:
        """verify_data (12 bytes) from the master secret; label b"client finished" or
        b"server finished" (RFC 5246 §7.4.9)."""
        # One block of P_hash, written out (12 bytes is less than any suite's hash).
        copy = self._copy
        full_seed = label + handshake_hash
        h = copy()
        h.update(full_seed)
        a = h.finalize()
        h = copy()
        h.update(a + full_seed)
        return h.finalize()[:12]


def _p_hash(copy: Callable[[], _hmac.HMAC], seed: bytes, length: int) -> bytes:
    """P_hash(secret, seed) (RFC 5246 §5) truncated to *length*; *copy* copies an HMAC keyed
    with the secret (each block starts from a copy). Straight-line for the first block: a
    master secret is one or two."""
    h = copy()
    h.update(seed)
    a = h.finalize()  # A(1) = HMAC(secret, A(0)), A(0) = seed
    h = copy()
    h.update(a + seed)
    out = h.finalize()
    while len(out) < length:
        h = copy()
        h.update(a)
        a = h.finalize()  # A(i) = HMAC(secret, A(i-1))
        h = copy()
        h.update(a + seed)
        out += h.finalize()
    return out[:length]


@functools.lru_cache(maxsize=8)
def _key_block_layout(key_len: int, iv_len: int) -> tuple[int, slice, slice, slice, slice]:
    """The key block's length and where each of its four parts lies (RFC 5246 §6.3)."""
    k, n = key_len, iv_len
    return (2 * k + 2 * n, slice(0, k), slice(k, 2 * k), slice(2 * k, 2 * k + n),
            slice(2 * k + n, 2 * k + 2 * n))


def prf12(hash: _HashAlg, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """PRF(secret, label, seed) = P_hash(secret, label + seed), truncated to *length*."""
    return Prf12(hash, secret)(label, seed, length)


def master_secret_12(
    hash: _HashAlg, premaster: bytes, client_random: bytes, server_random: bytes
) -> bytes:
    """RFC 5246 §8.1."""
    seed = b"master secret" + client_random + server_random
    return _p_hash(_hmac.HMAC(premaster, hash).copy, seed, 48)


def extended_master_secret_12(hash: _HashAlg, premaster: bytes, session_hash: bytes) -> bytes:
    """RFC 7627 §4: session_hash = Hash(handshake messages through ClientKeyExchange)."""
    return _p_hash(_hmac.HMAC(premaster, hash).copy, b"extended master secret" + session_hash, 48)


def key_block_12(
    suite: Suite, master: bytes, client_random: bytes, server_random: bytes
) -> tuple[bytes, bytes, bytes, bytes]:
    """(client_write_key, server_write_key, client_write_IV, server_write_IV) (RFC 5246 §6.3)."""
    return Prf12(suite.hash, master).key_block(suite, client_random, server_random)


def finished_12(hash: _HashAlg, master: bytes, label: bytes, handshake_hash: bytes) -> bytes:
    """verify_data (12 bytes); label b"client finished" or b"server finished" (RFC 5246 §7.4.9)."""
    return Prf12(hash, master).finished(label, handshake_hash)


def exporter_12(
    hash: _HashAlg,
    master: bytes,
    label: bytes,
    client_random: bytes,
    server_random: bytes,
    context: bytes | None,
    length: int,
) -> bytes:
    """RFC 5705 §4 keying material exporter. ``None`` context differs from an empty one."""
    seed = client_random + server_random
    if context is not None:
        if len(context) > 0xFFFF:
            raise ValueError("exporter context longer than 65535 bytes")
        seed += len(context).to_bytes(2, "big") + context
    return prf12(hash, master, label, seed, length)
