"""TLS 1.2 master secret and key expansion against a published vector.

A SHA-256 case in the layout of NIST's CAVS SP 800-135 TLS 1.2 KDF files (pre-master secret,
both hello randoms, master secret, then a 1024-bit key block from the master secret with a
second pair of randoms), as published in other TLS implementations' test suites. Computed
independently of our code; the PRF itself is also checked in tests/crypto.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

from lucidtls.crypto import keyschedule as ks
from lucidtls.crypto.suites import SUITES
from lucidtls.wire.enums import CipherSuite

PREMASTER = bytes.fromhex(
    "f8938ecc9edebc5030c0c6a441e213cd24e6f770a50dda07876f8d55da062bcadb386b411fd4fe4313a604fce6c17fbc")
CLIENT_HELLO_RANDOM = bytes.fromhex(
    "36c129d01a3200894b9179faac589d9835d58775f9b5ea3587cb8fd0364cae8c")
SERVER_HELLO_RANDOM = bytes.fromhex(
    "f6c9575ed7ddd73e1f7d16eca115415812a43c2b747daaaae043abfb50053fce")
MASTER_SECRET = bytes.fromhex(
    "202c88c00f84a17a20027079604787461176455539e705be730890602c289a5001e34eeb3a043e5d52a65e66125188bf")
CLIENT_RANDOM = bytes.fromhex("62e1fd91f23f558a605f28478c58cf72637b89784d959df7e946d3f07bd1b616")
SERVER_RANDOM = bytes.fromhex("ae6c806f8ad4d80784549dff28a4b58fd837681a51d928c3e30ee5ff14f39868")
KEY_BLOCK = bytes.fromhex(
    "d06139889fffac1e3a71865f504aa5d0d2a2e89506c6f2279b670c3e1b74f531016a2530c51a3a0f7e1d6590d0f0566b"
    "2f387f8d11fd4f731cdd572d2eae927f6f2f81410b25e6960be68985add6c38445ad9f8c64bf8068bf9a6679485d966f"
    "1ad6f68b43495b10a683755ea2b858d70ccac7ec8b053c6bd41ca299d4e51928")


def test_master_secret() -> None:
    assert ks.master_secret_12(hashes.SHA256(), PREMASTER, CLIENT_HELLO_RANDOM,
                               SERVER_HELLO_RANDOM) == MASTER_SECRET


def test_key_expansion() -> None:
    # RFC 5246 §6.3: seed = server_random + client_random.
    block = ks.prf12(hashes.SHA256(), MASTER_SECRET, b"key expansion",
                     SERVER_RANDOM + CLIENT_RANDOM, len(KEY_BLOCK))
    assert block == KEY_BLOCK


def test_key_block_split_for_a_gcm_suite() -> None:
    # AES-128-GCM: 16-byte keys, 4-byte implicit IVs, no MAC keys (RFC 5288 §3).
    suite = SUITES[CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
    ck, sk, civ, siv = ks.key_block_12(suite, MASTER_SECRET, CLIENT_RANDOM, SERVER_RANDOM)
    assert ck + sk + civ + siv == KEY_BLOCK[:40]
    assert (len(ck), len(civ)) == (16, 4)
