"""The server's group choice (RFC 8446 §4.2.8, §4.1.4), against its definition."""

from __future__ import annotations

import itertools

from lucidtls.handshake.negotiate import choose_group
from lucidtls.wire.enums import NamedGroup

GROUPS = [int(NamedGroup.X25519MLKEM768), int(NamedGroup.x25519), int(NamedGroup.secp256r1),
          int(NamedGroup.secp384r1)]


def _by_definition(client_groups: list[int], client_shares: list[int],
                   enabled: list[int]) -> tuple[int | None, bool]:
    mutual = [g for g in enabled if g in client_groups]
    with_share = [g for g in mutual if g in client_shares]
    if with_share:
        return with_share[0], False  # our preferred group among those with a share
    if mutual:
        return mutual[0], True  # our preferred mutual group, by HelloRetryRequest
    return None, False


def _subsets(items: list[int]) -> list[list[int]]:
    return [list(c) for n in range(len(items) + 1) for c in itertools.combinations(items, n)]


def test_choose_group_everywhere() -> None:
    for client_groups in _subsets(GROUPS):
        for client_shares in _subsets(client_groups):
            for enabled in itertools.permutations(GROUPS[:3]):
                assert choose_group(client_groups, client_shares, list(enabled)) == \
                    _by_definition(client_groups, client_shares, list(enabled))
