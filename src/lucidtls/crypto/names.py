"""Name lists as users type them: ``"x25519:secp256r1"``, ``"TLS_AES_128_GCM_SHA256, ..."``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from lucidtls.errors import ConfigError

T = TypeVar("T")


def parse_name_list(text: str, lookup: Callable[[str], T | None], what: str) -> list[T]:
    """Split a comma- or colon-separated list, look each name up, keep the first of duplicates;
    an unknown name raises ``ConfigError`` naming it (``what`` says what kind of name)."""
    out: list[T] = []
    for raw in re.split(r"[,:]", text):
        name = raw.strip()
        if not name:
            continue
        item = lookup(name)
        if item is None:
            raise ConfigError(f"unknown {what} {name!r}")
        if item not in out:
            out.append(item)
    return out
