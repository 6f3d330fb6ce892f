from __future__ import annotations

import pytest

from lucidtls.crypto.groups import (
    SUPPORTED_GROUPS,
    TLS12_GROUPS,
    KeyShare,
    parse_group_names,
    server_key_share,
)
from lucidtls.errors import ConfigError, IllegalParameter
from lucidtls.wire.enums import NamedGroup

PUBLIC_LEN = {
    NamedGroup.x25519: 32,
    NamedGroup.secp256r1: 65,
    NamedGroup.secp384r1: 97,
    NamedGroup.X25519MLKEM768: 1184 + 32,
}
SECRET_LEN = {
    NamedGroup.x25519: 32,
    NamedGroup.secp256r1: 32,
    NamedGroup.secp384r1: 48,
    NamedGroup.X25519MLKEM768: 64,
}


@pytest.mark.parametrize("group", SUPPORTED_GROUPS, ids=lambda g: g.name)
def test_client_and_server_agree(group: NamedGroup) -> None:
    client = KeyShare.generate(group)
    assert client.group == group
    assert len(client.public_bytes()) == PUBLIC_LEN[group]
    server_share, server_secret = server_key_share(group, client.public_bytes())
    assert client.exchange(server_share) == server_secret
    assert len(server_secret) == SECRET_LEN[group]


def test_hybrid_sizes_and_order() -> None:
    client = KeyShare.generate(NamedGroup.X25519MLKEM768)
    server_share, secret = server_key_share(NamedGroup.X25519MLKEM768, client.public_bytes())
    assert (len(client.public_bytes()), len(server_share), len(secret)) == (1216, 1120, 64)
    # The X25519 half sits last in both shares and in the secret (ML-KEM first).
    assert len(client.public_bytes()[1184:]) == len(server_share[1088:]) == 32


def test_hybrid_deterministic_with_fixed_keys() -> None:
    seed, x_priv = bytes(range(64)), bytes(range(100, 132))
    a = KeyShare.generate(NamedGroup.X25519MLKEM768, private_bytes=seed + x_priv)
    b = KeyShare.generate(NamedGroup.X25519MLKEM768, private_bytes=seed + x_priv)
    assert a.public_bytes() == b.public_bytes()
    x_only = KeyShare.generate(NamedGroup.x25519, private_bytes=x_priv)
    assert a.public_bytes()[1184:] == x_only.public_bytes()
    server_x = bytes(range(1, 33))
    share, secret = server_key_share(
        NamedGroup.X25519MLKEM768, a.public_bytes(), private_bytes=server_x
    )
    server_x_share = KeyShare.generate(NamedGroup.x25519, private_bytes=server_x)
    assert share[1088:] == server_x_share.public_bytes()
    assert secret[32:] == x_only.exchange(server_x_share.public_bytes())
    assert a.exchange(share) == secret


@pytest.mark.parametrize("group", TLS12_GROUPS, ids=lambda g: g.name)
def test_dh_groups_symmetric(group: NamedGroup) -> None:
    a, b = KeyShare.generate(group), KeyShare.generate(group)
    assert a.exchange(b.public_bytes()) == b.exchange(a.public_bytes())


@pytest.mark.parametrize("group", SUPPORTED_GROUPS, ids=lambda g: g.name)
def test_wrong_share_length(group: NamedGroup) -> None:
    client = KeyShare.generate(group)
    with pytest.raises(IllegalParameter):
        client.exchange(b"\x04" * 10)
    with pytest.raises(IllegalParameter):
        server_key_share(group, client.public_bytes() + b"\x00")
    with pytest.raises(IllegalParameter):
        server_key_share(group, b"")


def test_x25519_small_order_point_rejected() -> None:
    share = KeyShare.generate(NamedGroup.x25519)
    for bad in (bytes(32), b"\x01" + bytes(31)):
        with pytest.raises(IllegalParameter) as info:
            share.exchange(bad)
        assert "RFC 7748" in info.value.reason
        with pytest.raises(IllegalParameter):
            server_key_share(NamedGroup.x25519, bad)


@pytest.mark.parametrize("group", [NamedGroup.secp256r1, NamedGroup.secp384r1])
def test_nist_invalid_points(group: NamedGroup) -> None:
    share = KeyShare.generate(group)
    good = share.public_bytes()
    not_on_curve = good[:-1] + bytes([good[-1] ^ 1])
    with pytest.raises(IllegalParameter, match="not a point"):
        share.exchange(not_on_curve)
    compressed = bytes([2 + (good[-1] & 1)]) + good[1 : 1 + (len(good) - 1) // 2]
    with pytest.raises(IllegalParameter, match="uncompressed"):
        share.exchange(compressed)
    with pytest.raises(IllegalParameter, match="uncompressed"):
        share.exchange(b"\x05" + good[1:])


def test_hybrid_bad_ciphertext_and_encap_key() -> None:
    client = KeyShare.generate(NamedGroup.X25519MLKEM768)
    server_share, secret = server_key_share(NamedGroup.X25519MLKEM768, client.public_bytes())
    with pytest.raises(IllegalParameter, match="1120"):
        client.exchange(server_share[:1088])
    # A corrupted ciphertext decapsulates (implicit rejection) to a different secret.
    bad = bytearray(server_share)
    bad[0] ^= 1
    assert client.exchange(bytes(bad)) != secret
    # An encapsulation key whose coefficients are not reduced mod q is invalid.
    bad_key = b"\xff" * 1184 + client.public_bytes()[1184:]
    with pytest.raises(IllegalParameter, match="encapsulation key"):
        server_key_share(NamedGroup.X25519MLKEM768, bad_key)
    # A small-order X25519 half is still caught.
    with pytest.raises(IllegalParameter):
        server_key_share(NamedGroup.X25519MLKEM768, client.public_bytes()[:1184] + bytes(32))


def test_parse_group_names() -> None:
    got = parse_group_names("X25519MLKEM768:x25519, P-256:prime256v1:SECP384R1,p-384")
    assert got == [
        NamedGroup.X25519MLKEM768,
        NamedGroup.x25519,
        NamedGroup.secp256r1,
        NamedGroup.secp384r1,
    ]
    with pytest.raises(ConfigError, match="ffdhe2048"):
        parse_group_names("x25519,ffdhe2048")


def test_unsupported_group() -> None:
    # Named when the code point is known, in hex when it is not.
    with pytest.raises(ConfigError, match="unsupported group x448"):
        KeyShare.generate(NamedGroup.x448)
    with pytest.raises(ConfigError, match="unsupported group 0x9999"):
        server_key_share(0x9999, b"")
