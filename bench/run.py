"""lucidtls benchmark: lucidtls, stdlib ``ssl`` (OpenSSL), tlslite-ng and the crypto floor,
interleaved in one run. ``python -m bench.run [--quick] [--json FILE]``; see bench/README.md."""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import ssl
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import memory, net
from bench.common import BULK_SCENARIO, PKI, SCENARIOS, cpu_per_call, median
from bench.floor import Floor
from bench.inmemory import Lucid, Stdlib, TlsLite

MB = 1_000_000
MIB = 1 << 20
IMPLS = ("lucidtls", "stdlib", "tlslite-ng", "floor")


@dataclass
class Params:
    rounds: int
    rounds_tlslite: int  # handshake rounds in which tlslite-ng runs too (the first ones)
    hs_batch: dict[str, int]
    bulk_mem: int
    bulk_mem_tlslite: int
    bulk_rounds: int
    bulk_rounds_tlslite: int
    bulk_tcp: int
    tcp_rounds: int
    idle_connections: int
    concurrent: int
    concurrent_rounds: int


# Handshakes: many short rounds (each implementation ~10 ms a round) rather than a few long ones,
# so that the machine's drifting speed is nearly the same for the batches a ratio compares.
FULL = Params(rounds=45, rounds_tlslite=9,
              hs_batch={"lucidtls": 5, "stdlib": 5, "tlslite-ng": 2, "floor": 10},
              bulk_mem=32 * MIB, bulk_mem_tlslite=256 * 1024, bulk_rounds=11, bulk_rounds_tlslite=3,
              bulk_tcp=64 * MIB, tcp_rounds=5, idle_connections=300, concurrent=1000,
              concurrent_rounds=3)
QUICK = Params(rounds=1, rounds_tlslite=1,
               hs_batch={"lucidtls": 2, "stdlib": 2, "tlslite-ng": 1, "floor": 2},
               bulk_mem=1 * MIB, bulk_mem_tlslite=16 * 1024, bulk_rounds=1, bulk_rounds_tlslite=1,
               bulk_tcp=1 * MIB, tcp_rounds=1, idle_connections=10, concurrent=20,
               concurrent_rounds=1)


@dataclass
class Row:
    id: str
    title: str
    metric: str
    unit: str
    better: str  # "lower" or "higher"
    what: str
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)  # per implementation: n/a, negotiated
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, impl: str, value: float) -> None:
        self.samples.setdefault(impl, []).append(value)

    def medians(self) -> dict[str, float | None]:
        return {impl: median(xs) for impl, xs in self.samples.items()}

    def ratio(self, a: str, b: str) -> float | None:
        """The median of the per-round ratios a/b (the issue's "medians of ratios"): both were
        measured in the same round, minutes apart at most, so drift of the machine's load
        between rounds cancels. If a round is missing for either, the ratio of the medians."""
        xs, ys = self.samples.get(a), self.samples.get(b)
        if xs and ys and len(xs) == len(ys) and all(ys):
            return median([x / y for x, y in zip(xs, ys)])
        m = self.medians()
        x, y = m.get(a), m.get(b)
        return x / y if x is not None and y else None

    def ratio_quartiles(self, a: str, b: str) -> tuple[float, float] | None:
        """The middle half of the per-round ratios a/b: how far one run's median can be
        trusted on this machine. None without at least four paired rounds."""
        xs, ys = self.samples.get(a), self.samples.get(b)
        if not xs or not ys or len(xs) != len(ys) or len(xs) < 4 or not all(ys):
            return None
        q1, _, q3 = statistics.quantiles([x / y for x, y in zip(xs, ys)], n=4)
        return q1, q3

    def to_json(self) -> dict[str, Any]:
        med = self.medians()
        results = {impl: {"median": med[impl], "samples": xs}
                   for impl, xs in self.samples.items()}
        for impl, note in self.notes.items():
            results.setdefault(impl, {"median": None, "samples": []})["note"] = note
        return {"id": self.id, "title": self.title, "metric": self.metric, "unit": self.unit,
                "better": self.better, "what": self.what, "results": results,
                "ratios": {"lucidtls/stdlib": self.ratio("lucidtls", "stdlib"),
                           "lucidtls/floor": self.ratio("lucidtls", "floor")},
                "ratio_quartiles": {
                    "lucidtls/stdlib": self.ratio_quartiles("lucidtls", "stdlib"),
                    "lucidtls/floor": self.ratio_quartiles("lucidtls", "floor")},
                "extra": self.extra}


def _rotate(items: list[Any], k: int) -> list[Any]:
    k %= len(items)
    return items[k:] + items[:k]


def _safe(row: Row, impl: str, fn: Callable[[], float]) -> None:
    if impl in row.notes and row.notes[impl].startswith("n/a"):
        return
    try:
        row.add(impl, fn())
    except Exception as exc:  # noqa: BLE001 - one broken implementation must not sink the run
        row.notes[impl] = f"n/a ({type(exc).__name__}: {exc})"[:200]
        traceback.print_exc(file=sys.stderr)


# --- the measurements ------------------------------------------------------------------------------
def handshake_rows(pki: PKI, p: Params) -> list[Row]:
    rows, makers = [], []
    for sc in SCENARIOS:
        row = Row(f"hs/{sc.id}", f"handshake {sc.title}", "CPU ms per handshake, both ends",
                  "ms", "lower", sc.what)
        impls: dict[str, Any] = {}
        for cls in (Lucid, Stdlib, TlsLite, Floor):
            if cls is Lucid and sc.available:
                row.notes["lucidtls"] = sc.available
                continue
            try:
                impl = cls(pki, sc)  # type: ignore[abstract]
                row.extra.setdefault("negotiated", {})[cls.name] = impl.negotiated()
                impls[cls.name] = impl
            except Exception as exc:  # noqa: BLE001 - reported as n/a
                row.notes[cls.name] = f"n/a ({type(exc).__name__}: {exc})"[:200]
        rows.append(row)
        makers.append(impls)
    for r in range(p.rounds):
        for row, impls in zip(rows, makers):
            # The implementations a target compares (lucidtls, stdlib, floor) run back to back in
            # rotating order; tlslite-ng (slow, no target) after them.
            compared = [n for n in ("lucidtls", "stdlib", "floor") if n in impls]
            others = [n for n in impls if n not in compared] if r < p.rounds_tlslite else []
            for name in _rotate(compared, r) + others:
                impl = impls[name]

                def batch(impl: Any = impl, n: int = p.hs_batch[name]) -> float:
                    impl.handshake()  # untimed: the others' code has just been in the caches
                    return 1000 * cpu_per_call(impl.handshake, n)
                _safe(row, name, batch)
    for row in rows:
        row.extra["handshakes_per_s"] = {impl: (1000 / m if m else None)
                                         for impl, m in row.medians().items()}
    return rows


def bulk_memory_row(pki: PKI, p: Params) -> Row:
    sc = BULK_SCENARIO
    row = Row("bulk/memory", "bulk in memory", "MB/s of CPU time (both ends)", "MB/s", "higher",
              f"{sc.openssl_cipher}, 64 KiB writes, client to server, sans-I/O / MemoryBIO"
              " (tlslite-ng: socketpair + threads, smaller size)")
    sizes = {"lucidtls": p.bulk_mem, "stdlib": p.bulk_mem, "tlslite-ng": p.bulk_mem_tlslite}
    makers = {"lucidtls": Lucid(pki, sc), "stdlib": Stdlib(pki, sc), "tlslite-ng": TlsLite(pki, sc)}
    for r in range(p.bulk_rounds):
        # lucidtls and stdlib back to back (their ratio is the target; each takes ~0.05 s), in
        # alternating order; tlslite-ng (~2.5 s a run, no target) after them, in a few rounds.
        order = _rotate(["lucidtls", "stdlib"], r)
        if r < p.bulk_rounds_tlslite:
            order.append("tlslite-ng")
        for name in order:
            def one(name: str = name) -> float:
                run = makers[name].bulk(sizes[name])
                gc.collect()
                t0 = time.process_time()
                got = run()
                cpu = time.process_time() - t0
                if got != sizes[name]:
                    raise RuntimeError(f"{name} delivered {got} of {sizes[name]} bytes")
                return sizes[name] / MB / cpu
            _safe(row, name, one)
    row.extra["cpu_ms_per_MB"] = {impl: (1000 / m if m else None)
                                  for impl, m in row.medians().items()}
    row.extra["bytes"] = sizes
    return row


def tcp_rows(pki: PKI, p: Params) -> list[Row]:
    sc = BULK_SCENARIO
    what = (f"{sc.openssl_cipher}, {p.bulk_tcp // MIB} MiB client to server over 127.0.0.1, "
            "both ends in this process")
    runners: dict[str, dict[str, Callable[[], tuple[float, float]]]] = {
        "blocking": {"lucidtls": lambda: net.blocking_lucid(pki, sc, p.bulk_tcp),
                     "stdlib": lambda: net.blocking_stdlib(pki, sc, p.bulk_tcp)},
        "asyncio": {"lucidtls": lambda: net.asyncio_bulk(pki, sc, p.bulk_tcp, "lucidtls"),
                    "stdlib": lambda: net.asyncio_bulk(pki, sc, p.bulk_tcp, "stdlib")},
    }
    # "blocking" runs both ends as threads of this process: cryptography's AEAD holds the GIL,
    # stdlib's SSL_read/SSL_write release it, so that row measures the GIL as much as TLS. The
    # "process" rows put the receiver in a child process (bench/sink.py) for both.
    titles = {"blocking": "bulk TCP blocking, both ends in one process (threads)",
              "asyncio": "bulk TCP asyncio"}
    rows: list[Row] = []
    for mode, impls in runners.items():
        thr = Row(f"tcp/{mode}", titles[mode], "MB/s wall clock", "MB/s", "higher",
                  what + (" (lucidtls.connect/TLSServer vs ssl.wrap_socket)" if mode ==
                          "blocking" else " (lucidtls.aio vs asyncio ssl=)"))
        cpu = Row(f"tcp/{mode}/cpu", titles[mode] + ", CPU", "CPU ms per MB, both ends",
                  "ms/MB", "lower", "same transfer as the row above")
        for r in range(p.tcp_rounds):
            for name in _rotate(list(impls), r):
                try:
                    wall, cpu_s = impls[name]()
                except Exception as exc:  # noqa: BLE001 - reported as n/a
                    thr.notes[name] = cpu.notes[name] = f"n/a ({type(exc).__name__}: {exc})"
                    traceback.print_exc(file=sys.stderr)
                    continue
                thr.add(name, p.bulk_tcp / MB / wall)
                cpu.add(name, 1000 * cpu_s / (p.bulk_tcp / MB))
        rows += [thr, cpu]
    rows += _process_rows(pki, p)
    return rows


def _process_rows(pki: PKI, p: Params) -> list[Row]:
    what = (f"{BULK_SCENARIO.openssl_cipher}, {p.bulk_tcp // MIB} MiB over 127.0.0.1, blocking "
            "sockets, receiver in a child process (bench/sink.py), same code for both")
    thr = Row("tcp/process", "bulk TCP blocking, receiver in its own process", "MB/s wall clock",
              "MB/s", "higher", what)
    snd = Row("tcp/process/cpu-sender", "  sender CPU (this process)", "CPU ms per MB, sender",
              "ms/MB", "lower", "same transfer as the row above")
    rcv = Row("tcp/process/cpu-receiver", "  receiver CPU (child process)",
              "CPU ms per MB, receiver (reported by the child)", "ms/MB", "lower",
              "same transfer as the row above")
    mb = p.bulk_tcp / MB
    for r in range(p.tcp_rounds):
        for name in _rotate(["lucidtls", "stdlib"], r):
            try:
                wall, cpu_s, cpu_r = net.process_bulk(pki, p.bulk_tcp, name)
            except Exception as exc:  # noqa: BLE001 - reported as n/a
                for row in (thr, snd, rcv):
                    row.notes[name] = f"n/a ({type(exc).__name__}: {exc})"
                traceback.print_exc(file=sys.stderr)
                continue
            thr.add(name, mb / wall)
            snd.add(name, 1000 * cpu_s / mb)
            rcv.add(name, 1000 * cpu_r / mb)
    return [thr, snd, rcv]


def idle_memory_rows(pki: PKI, p: Params) -> list[Row]:
    sc = SCENARIOS[0]
    n = p.idle_connections
    tm = Row("memory/idle/tracemalloc", "idle connection (tracemalloc)",
             "KiB per established idle connection, per side", "KiB", "lower",
             f"{n} in-memory pairs after a {sc.title} handshake; Python heap only "
             "(stdlib's OpenSSL memory is invisible here)")
    rss = Row("memory/idle/rss", "idle connection (RSS)",
              "KiB per established idle connection, per side", "KiB", "lower",
              f"{n} in-memory pairs; growth of the resident set (includes OpenSSL's heap)")
    for name in ("lucidtls", "stdlib"):
        try:
            res = memory.idle_memory(pki, sc, n, name)
        except Exception as exc:  # noqa: BLE001 - reported as n/a
            tm.notes[name] = rss.notes[name] = f"n/a ({type(exc).__name__}: {exc})"
            continue
        tm.add(name, res["tracemalloc_per_side"] / 1024)
        rss.add(name, res["rss_per_side"] / 1024)
        if "tracemalloc_client" in res:
            tm.extra[f"{name}_client_KiB"] = res["tracemalloc_client"] / 1024
            tm.extra[f"{name}_server_KiB"] = res["tracemalloc_server"] / 1024
    return [tm, rss]


def concurrency_row(pki: PKI, p: Params) -> Row:
    sc = SCENARIOS[0]
    row = Row("aio/concurrent", f"{p.concurrent} concurrent asyncio connections",
              "wall seconds for all (handshake + 1 KiB echo each)", "s", "lower",
              f"{sc.title}, {sc.openssl_cipher}, X25519; server and clients in one event loop")
    for r in range(p.concurrent_rounds):
        for name in _rotate(["lucidtls", "stdlib"], r):
            def one(name: str = name) -> float:
                wall, cpu = net.concurrent(pki, sc, p.concurrent, name)
                row.extra.setdefault("cpu_s", {}).setdefault(name, []).append(cpu)
                return wall
            _safe(row, name, one)
    return row


# --- output ----------------------------------------------------------------------------------------
def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if x >= 0.1 else f"{x:.3g}"


def table(rows: list[Row]) -> str:
    head = ["row", "unit", *IMPLS, "luc/std", "(middle half)", "luc/floor"]
    lines = []
    for row in rows:
        med = row.medians()
        cells = [row.title, row.unit]
        for impl in IMPLS:
            note = row.notes.get(impl)
            cells.append("n/a" if med.get(impl) is None and note else _fmt(med.get(impl)))
        spread = row.ratio_quartiles("lucidtls", "stdlib")
        cells += [_fmt(row.ratio("lucidtls", "stdlib")),
                  f"{_fmt(spread[0])}–{_fmt(spread[1])}" if spread else "",
                  _fmt(row.ratio("lucidtls", "floor"))]
        lines.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(head, *lines)]
    out = ["  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in
                     enumerate(zip(head, widths)))]
    out.append("  ".join("-" * w for w in widths))
    for cells in lines:
        out.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in
                             enumerate(zip(cells, widths))))
    out.append("")
    out.append("What each row does (same work for every implementation in a row):")
    for row in rows:
        out.append(f"  {row.title}: {row.metric}; {row.what}")
        for impl, note in row.notes.items():
            out.append(f"      {impl}: {note}")
    return "\n".join(out)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def meta(quick: bool) -> dict[str, Any]:
    from cryptography.hazmat.backends.openssl.backend import backend
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "stdlib_openssl": ssl.OPENSSL_VERSION,
        "cryptography": _version("cryptography"),
        "cryptography_openssl": backend.openssl_version_text(),
        "tlslite-ng": _version("tlslite-ng"),
        "lucidtls": _version("lucidtls"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    ap.add_argument("--quick", action="store_true",
                    help="tiny sizes and counts: checks that everything runs, measures nothing")
    ap.add_argument("--json", default="out/bench.json", help="where to write the results")
    ap.add_argument("--only", default="",
                    help="comma-separated groups: hs,bulk,tcp,memory,aio (default: all)")
    args = ap.parse_args(argv)
    p = QUICK if args.quick else FULL
    groups = set(filter(None, args.only.split(","))) or {"hs", "bulk", "tcp", "memory", "aio"}

    pki = PKI.make()
    rows: list[Row] = []
    started = time.perf_counter()
    if "hs" in groups:
        rows += handshake_rows(pki, p)
    if "bulk" in groups:
        rows.append(bulk_memory_row(pki, p))
    if "tcp" in groups:
        rows += tcp_rows(pki, p)
    if "memory" in groups:
        rows += idle_memory_rows(pki, p)
    if "aio" in groups:
        rows.append(concurrency_row(pki, p))
    elapsed = time.perf_counter() - started

    print(table(rows))
    print(f"\n{'quick mode: numbers mean nothing; ' if args.quick else ''}"
          f"medians of {p.rounds} rounds (handshakes; tlslite-ng in {p.rounds_tlslite}), "
          f"{p.bulk_rounds} (bulk in memory), "
          f"{p.tcp_rounds} (TCP), {p.concurrent_rounds} (concurrency); {elapsed:.1f} s")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"meta": {**meta(args.quick), "elapsed_s": elapsed},
           "rows": [row.to_json() for row in rows]}
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
