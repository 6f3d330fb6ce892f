"""Memory held by idle established connections (in-memory pairs, handshake done, no data).

Two measures: tracemalloc (what the Python allocator holds — exact for lucidtls, but blind to
OpenSSL's own mallocs, so it under-counts stdlib ``ssl``) and the change of the resident set
size (sees everything, noisy; only meaningful for many connections).
"""

from __future__ import annotations

import gc
import os
import tracemalloc
from typing import Any

from bench.common import PKI, Scenario
from bench.inmemory import Lucid, Stdlib

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def idle_memory(pki: PKI, sc: Scenario, n: int, impl: str) -> dict[str, float]:
    """Bytes per connection *side* (a pair is two sides), by both measures; for lucidtls also
    the client and server sides apart (tracemalloc)."""
    maker: Any = Lucid(pki, sc) if impl == "lucidtls" else Stdlib(pki, sc)
    maker.pair()  # warm caches (trust store, suite tables) outside the measurement
    gc.collect()
    rss0 = _rss()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    pairs = [maker.pair() for _ in range(n)]
    gc.collect()
    both = tracemalloc.get_traced_memory()[0] - base
    rss = _rss() - rss0
    out = {"tracemalloc_per_side": both / (2 * n), "rss_per_side": rss / (2 * n)}
    if impl == "lucidtls":
        servers = [p[1] for p in pairs]
        pairs = [(p[0], None) for p in pairs]
        del servers
        gc.collect()
        client_only = tracemalloc.get_traced_memory()[0] - base
        out["tracemalloc_client"] = client_only / n
        out["tracemalloc_server"] = (both - client_only) / n
    tracemalloc.stop()
    del pairs
    gc.collect()
    return out
