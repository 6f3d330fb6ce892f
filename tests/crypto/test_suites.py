from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes

from lucidtls.crypto.suites import (
    SUITES,
    TLS12_DEFAULT_SUITES,
    TLS12_RSA_KX_SUITES,
    TLS13_DEFAULT_SUITES,
    parse_suite_names,
    suite_by_id,
)
from lucidtls.errors import ConfigError
from lucidtls.wire.enums import CipherSuite, ProtocolVersion


def test_table_is_complete_and_consistent() -> None:
    assert len(SUITES) == 11
    for sid, s in SUITES.items():
        assert int(s.id) == sid
        assert s.name == CipherSuite(sid).name
        assert s.key_len == (16 if s.aead == "AES_128_GCM" else 32)
        assert s.hash_len == {"sha256": 32, "sha384": 48}[s.hash_name]
        assert isinstance(s.hash, hashes.HashAlgorithm)
        assert s.hash.digest_size == s.hash_len
        if s.version == ProtocolVersion.TLS1_3:
            assert (s.kx, s.auth, s.iv_len) == ("any", "any", 12)
            assert s.openssl_name == s.name
        else:
            assert s.kx in ("ECDHE", "RSA") and s.auth in ("ECDSA", "RSA")
            assert s.iv_len == (12 if s.aead == "CHACHA20_POLY1305" else 4)


def test_lookup() -> None:
    s = suite_by_id(0x1301)
    assert s is not None and s.name == "TLS_AES_128_GCM_SHA256"
    assert suite_by_id(0x1304) is None  # CCM: known code point, not implemented
    assert suite_by_id(0xFFFF) is None


def test_defaults_order() -> None:
    assert [s.id for s in TLS13_DEFAULT_SUITES] == [0x1301, 0x1302, 0x1303]
    assert [s.id for s in TLS12_DEFAULT_SUITES] == [0xC02B, 0xC02C, 0xCCA9, 0xC02F, 0xC030, 0xCCA8]
    assert all(s.kx == "ECDHE" for s in TLS12_DEFAULT_SUITES)
    assert [s.id for s in TLS12_RSA_KX_SUITES] == [0x009C, 0x009D]


def test_parse_names() -> None:
    got = parse_suite_names(
        "tls_aes_256_gcm_sha384: ECDHE-ECDSA-AES128-GCM-SHA256, aes128-gcm-sha256,"
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
    )
    assert [s.id for s in got] == [0x1302, 0xC02B, 0x009C, 0xCCA8]
    assert parse_suite_names("") == []
    assert [s.id for s in parse_suite_names("AES256-GCM-SHA384:AES256-GCM-SHA384")] == [0x009D]


def test_parse_unknown_name_is_named() -> None:
    with pytest.raises(ConfigError, match="RC4-MD5"):
        parse_suite_names("TLS_AES_128_GCM_SHA256:RC4-MD5")
