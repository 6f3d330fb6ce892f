"""TLS 1.3 key schedule against RFC 8448 §3; TLS 1.2 PRF against the published vectors."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes

from lucidtls.crypto import keyschedule as ks
from lucidtls.crypto.aead import Tls13Protection
from lucidtls.crypto.groups import KeyShare
from lucidtls.crypto.suites import SUITES, suite_by_id
from lucidtls.wire.enums import CipherSuite, NamedGroup

from . import rfc8448 as v
from .rfc8448 import h

SUITE = SUITES[CipherSuite.TLS_AES_128_GCM_SHA256]
SHA256 = hashes.SHA256()


def _hash(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(parts)).digest()


# --- RFC 8448 §3 ---------------------------------------------------------------------------------
def test_x25519_shared_secret_from_rfc_private_keys() -> None:
    client = KeyShare.generate(NamedGroup.x25519, private_bytes=v.CLIENT_PRIVATE)
    server = KeyShare.generate(NamedGroup.x25519, private_bytes=v.SERVER_PRIVATE)
    assert client.public_bytes() == v.CLIENT_PUBLIC
    assert server.public_bytes() == v.SERVER_PUBLIC
    assert client.exchange(v.SERVER_PUBLIC) == v.ECDHE_SHARED
    assert server.exchange(v.CLIENT_PUBLIC) == v.ECDHE_SHARED


def test_transcript_hashes_from_the_hellos() -> None:
    assert _hash(v.CLIENT_HELLO, v.SERVER_HELLO) == v.HASH_CH_SH
    flight = v.CLIENT_HELLO + v.SERVER_HELLO + v.SERVER_FLIGHT_BEFORE_FINISHED
    assert ks.hash_bytes(SHA256, flight) == v.HASH_CH_CV
    assert _hash(flight, v.SERVER_FINISHED) == v.HASH_CH_SF
    assert _hash(flight, v.SERVER_FINISHED, v.CLIENT_FINISHED) == v.HASH_CH_CF


def test_full_schedule_byte_for_byte() -> None:
    early = ks.EarlySecret(SUITE.hash)
    assert early.secret == v.EARLY_SECRET

    hs = early.handshake(v.ECDHE_SHARED)
    assert hs.secret == v.HANDSHAKE_SECRET
    c_hs = hs.client_handshake_traffic_secret(v.HASH_CH_SH)
    s_hs = hs.server_handshake_traffic_secret(v.HASH_CH_SH)
    assert c_hs == v.CLIENT_HS_TRAFFIC
    assert s_hs == v.SERVER_HS_TRAFFIC
    assert ks.traffic_keys(SUITE, s_hs) == (v.SERVER_HS_KEY, v.SERVER_HS_IV)
    assert ks.traffic_keys(SUITE, c_hs) == (v.CLIENT_HS_KEY, v.CLIENT_HS_IV)

    assert ks.finished_key(SUITE.hash, c_hs) == v.CLIENT_FINISHED_KEY
    assert ks.finished_key(SUITE.hash, s_hs) == v.SERVER_FINISHED_KEY
    assert ks.finished_verify_data(SUITE.hash, s_hs, v.HASH_CH_CV) == v.SERVER_VERIFY_DATA
    assert ks.finished_verify_data(SUITE.hash, c_hs, v.HASH_CH_SF) == v.CLIENT_VERIFY_DATA
    assert v.SERVER_FINISHED[4:] == v.SERVER_VERIFY_DATA
    assert v.CLIENT_FINISHED[4:] == v.CLIENT_VERIFY_DATA

    master = hs.master()
    assert master.secret == v.MASTER_SECRET
    c_ap = master.client_application_traffic_secret_0(v.HASH_CH_SF)
    s_ap = master.server_application_traffic_secret_0(v.HASH_CH_SF)
    assert c_ap == v.CLIENT_AP_TRAFFIC
    assert s_ap == v.SERVER_AP_TRAFFIC
    assert ks.traffic_keys(SUITE, s_ap) == (v.SERVER_AP_KEY, v.SERVER_AP_IV)
    assert ks.traffic_keys(SUITE, c_ap) == (v.CLIENT_AP_KEY, v.CLIENT_AP_IV)
    assert master.exporter_master_secret(v.HASH_CH_SF) == v.EXPORTER_MASTER
    rms = master.resumption_master_secret(v.HASH_CH_CF)
    assert rms == v.RESUMPTION_MASTER

    # RFC 8448 §4: the ticket (nonce 00 00) gives the PSK of the resumed handshake.
    psk = ks.resumption_psk(SUITE.hash, rms, b"\x00\x00")
    assert psk == v.RESUMPTION_PSK
    resumed = ks.EarlySecret(SUITE.hash, psk)
    assert resumed.secret == v.RESUMED_EARLY_SECRET
    assert resumed.binder_key(external=False) == v.RESUMED_BINDER_KEY


def test_server_flight_record_matches_rfc() -> None:
    seal = Tls13Protection(SUITE, v.SERVER_HS_KEY, v.SERVER_HS_IV)
    inner = v.SERVER_FLIGHT_BEFORE_FINISHED + v.SERVER_FINISHED + b"\x16"
    assert seal.seal(inner) == v.SERVER_FLIGHT_RECORD
    opener = Tls13Protection(SUITE, v.SERVER_HS_KEY, v.SERVER_HS_IV)
    record = v.SERVER_FLIGHT_RECORD
    assert opener.open(record[:5], record[5:]) == inner


def test_client_finished_record_matches_rfc() -> None:
    seal = Tls13Protection(SUITE, v.CLIENT_HS_KEY, v.CLIENT_HS_IV)
    assert seal.seal(v.CLIENT_FINISHED + b"\x16") == v.CLIENT_FINISHED_RECORD


def test_verify_finished_is_a_plain_comparison() -> None:
    assert ks.verify_finished(v.SERVER_VERIFY_DATA, bytes(v.SERVER_VERIFY_DATA))
    assert not ks.verify_finished(v.SERVER_VERIFY_DATA, v.CLIENT_VERIFY_DATA)
    assert not ks.verify_finished(v.SERVER_VERIFY_DATA, v.SERVER_VERIFY_DATA[:-1])


def test_hkdf_expand_label_info_layout() -> None:
    # RFC 8448 shows the HkdfLabel for "key": 00 10 09 "tls13 key" 00.
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    info = bytes.fromhex("0010") + b"\x09tls13 key" + b"\x00"
    expected = HKDFExpand(SHA256, 16, info).derive(v.SERVER_HS_TRAFFIC)
    assert ks.hkdf_expand_label(SHA256, v.SERVER_HS_TRAFFIC, b"key", b"", 16) == expected


def test_key_update_and_exporter_shapes() -> None:
    nxt = ks.next_traffic_secret(SHA256, v.CLIENT_AP_TRAFFIC)
    assert len(nxt) == 32 and nxt != v.CLIENT_AP_TRAFFIC
    assert nxt == ks.hkdf_expand_label(SHA256, v.CLIENT_AP_TRAFFIC, b"traffic upd", b"", 32)
    a = ks.exporter_13(SHA256, v.EXPORTER_MASTER, b"EXPORTER-test", b"", 32)
    b = ks.exporter_13(SHA256, v.EXPORTER_MASTER, b"EXPORTER-test", b"ctx", 32)
    assert len(a) == 32 and a != b
    # RFC 8446 §7.5 by hand.
    inner = ks.derive_secret(SHA256, v.EXPORTER_MASTER, b"EXPORTER-test", _hash(b""))
    assert a == ks.hkdf_expand_label(SHA256, inner, b"exporter", _hash(b""), 32)


def test_psk_ke_mode_handshake_uses_zeros() -> None:
    early = ks.EarlySecret(SHA256, b"\x01" * 32)
    assert early.handshake(None).secret == early.handshake(bytes(32)).secret


def test_sha384_schedule_lengths() -> None:
    suite = suite_by_id(CipherSuite.TLS_AES_256_GCM_SHA384)
    assert suite is not None
    early = ks.EarlySecret(suite.hash)
    assert len(early.secret) == 48
    master = early.handshake(b"\x02" * 48).master()
    secret = master.client_application_traffic_secret_0(bytes(48))
    key, iv = ks.traffic_keys(suite, secret)
    assert (len(secret), len(key), len(iv)) == (48, 32, 12)


# --- TLS 1.2 PRF (RFC 5246 §5) -------------------------------------------------------------------
PRF_SHA256_OUT = h("""
e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95 32 9b 52 d4
e6 1e db 5a 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7 07 7d ef 17
ab fd 37 97 c0 56 4b ab 4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba a4 80 82 d1
22 ee 42 c5 a7 2e 5a 51 10 ff f7 01 87 34 7b 66
""")

PRF_SHA384_OUT = h("""
7b 0c 18 e9 ce d4 10 ed 18 04 f2 cf a3 4a 33 6a 1c 14 df fb 49 00 bb 5f d7 94 21 07
e8 1c 83 cd e9 ca 0f aa 60 be 9f e3 4f 82 b1 23 3c 91 46 a0 e5 34 cb 40 0f ed 27 00
88 4f 9d c2 36 f8 0e dd 8b fa 96 11 44 c9 e8 d7 92 ec a7 22 a7 b3 2f c3 d4 16 d4 73
eb c2 c5 fd 4a bf da d0 5d 91 84 25 9b 5b f8 cd 4d 90 fa 0d 31 e2 de c4 79 e4 f1 a2
60 66 f2 ee a9 a6 92 36 a3 e5 26 55 c9 e9 ae e6 91 c8 f3 a2 68 54 30 8d 5e aa 3b e8
5e 09 90 70 3d 73 e5 6f
""")


def test_prf12_sha256_vector() -> None:
    secret = h("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35")
    seed = h("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c")
    assert ks.prf12(SHA256, secret, b"test label", seed, 100) == PRF_SHA256_OUT


def test_prf12_sha384_vector() -> None:
    secret = h("b8 0b 73 3d 6c ee fc dc 71 56 6e a4 8e 55 67 df")
    seed = h("cd 66 5c f6 a8 44 7d d6 ff 8b 27 55 5e db 74 65")
    assert ks.prf12(hashes.SHA384(), secret, b"test label", seed, 148) == PRF_SHA384_OUT


@pytest.mark.parametrize("length", [0, 1, 31, 32, 33, 64, 100])
def test_prf12_output_is_a_prefix_stream(length: int) -> None:
    full = ks.prf12(SHA256, b"k", b"label", b"seed", 100)
    assert ks.prf12(SHA256, b"k", b"label", b"seed", length) == full[:length]


def test_master_and_extended_master_secret_definitions() -> None:
    pms, cr, sr = b"\x03\x03" + b"\x11" * 46, b"\xaa" * 32, b"\xbb" * 32
    ms = ks.master_secret_12(SHA256, pms, cr, sr)
    assert ms == ks.prf12(SHA256, pms, b"master secret", cr + sr, 48)
    session_hash = _hash(b"handshake messages")
    ems = ks.extended_master_secret_12(SHA256, pms, session_hash)
    assert ems == ks.prf12(SHA256, pms, b"extended master secret", session_hash, 48)
    assert len(ms) == len(ems) == 48 and ms != ems
    # The written-out P_hash: one block of SHA-384 (and of SHA-512), two of SHA-256, three of
    # SHA-1 (not a TLS 1.2 suite hash here, but the loop must still fill 48 bytes).
    for alg in (hashes.SHA384(), hashes.SHA512(), hashes.SHA1()):
        ems = ks.extended_master_secret_12(alg, pms, session_hash)
        assert ems == ks.prf12(alg, pms, b"extended master secret", session_hash, 48)


def test_key_block_split() -> None:
    ms, cr, sr = b"\x01" * 48, b"\xaa" * 32, b"\xbb" * 32
    gcm = SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
    ck, sk, civ, siv = ks.key_block_12(gcm, ms, cr, sr)
    block = ks.prf12(SHA256, ms, b"key expansion", sr + cr, 40)
    assert ck + sk + civ + siv == block
    assert (len(ck), len(sk), len(civ), len(siv)) == (16, 16, 4, 4)
    chacha = SUITES[CipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]
    parts = ks.key_block_12(chacha, ms, cr, sr)
    assert [len(p) for p in parts] == [32, 32, 12, 12]


def test_prf12_object_reused_for_several_outputs() -> None:
    # A handshake keeps one Prf12 of the master secret for the key block and both Finished:
    # each call must start from the keyed HMAC, untouched by the previous one.
    ms, cr, sr = b"\x07" * 48, b"\xaa" * 32, b"\xbb" * 32
    suite = SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
    prf = ks.Prf12(SHA256, ms)
    assert prf.key_block(suite, cr, sr) == ks.key_block_12(suite, ms, cr, sr)
    assert prf.finished(b"client finished", _hash(b"x")) == \
        ks.finished_12(SHA256, ms, b"client finished", _hash(b"x"))
    assert prf.finished(b"server finished", _hash(b"y")) == \
        ks.finished_12(SHA256, ms, b"server finished", _hash(b"y"))
    assert prf(b"label", b"seed", 100) == ks.prf12(SHA256, ms, b"label", b"seed", 100)


def test_finished_12_and_exporter_12() -> None:
    ms = b"\x05" * 48
    fin = ks.finished_12(SHA256, ms, b"client finished", _hash(b"x"))
    assert fin == ks.prf12(SHA256, ms, b"client finished", _hash(b"x"), 12)
    cr, sr = b"\x01" * 32, b"\x02" * 32
    no_ctx = ks.exporter_12(SHA256, ms, b"EXPORTER-x", cr, sr, None, 20)
    empty_ctx = ks.exporter_12(SHA256, ms, b"EXPORTER-x", cr, sr, b"", 20)
    assert no_ctx == ks.prf12(SHA256, ms, b"EXPORTER-x", cr + sr, 20)
    assert empty_ctx == ks.prf12(SHA256, ms, b"EXPORTER-x", cr + sr + b"\x00\x00", 20)
    assert no_ctx != empty_ctx
