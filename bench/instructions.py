"""Instructions per handshake, counted by valgrind: a measure that the machine's load cannot move.

CPU time on a shared 2-core machine drifts by 10-30 % between runs, which hides the 1-3 % that
one optimisation buys. ``callgrind`` counts the instructions executed instead; it only collects
inside ``functools.reduce``, which this script uses (in its inner mode) to run N handshakes, so
imports, key generation and warm-up are not counted. The split by shared object tells the
interpreter (our protocol logic) from ``cryptography``'s Rust/OpenSSL code (the primitives).

    python -m bench.instructions                      # every scenario, lucidtls
    python -m bench.instructions --impl lucidtls,stdlib,floor --scenarios tls13-oneway

Instructions are not time: the interpreter runs far fewer instructions per nanosecond than
the crypto code does, so read the interpreter column as the part worth cutting. Needs valgrind
(`apt-get install valgrind`); not part of `make bench` or `make test`.
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict

IMPLS = ("lucidtls", "stdlib", "floor")


def _inner(scenario_id: str, impl: str, n: int) -> None:
    from bench.common import PKI, SCENARIOS
    from bench.floor import Floor
    from bench.inmemory import Lucid, Stdlib

    sc = next(s for s in SCENARIOS if s.id == scenario_id)
    cls = {"lucidtls": Lucid, "stdlib": Stdlib, "floor": Floor}[impl]
    runner = cls(PKI.make(), sc)  # type: ignore[abstract]
    for _ in range(5):
        runner.handshake()
    functools.reduce(lambda _acc, _i: runner.handshake(), range(n), None)


def _count(scenario_id: str, impl: str, n: int) -> tuple[int, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             "--collect-atstart=no", "--toggle-collect=functools_reduce",
             sys.executable, "-m", "bench.instructions", "--inner", scenario_id, impl, str(n)],
            check=True, capture_output=True)
        report = subprocess.run(["callgrind_annotate", "--threshold=100", out], check=True,
                                capture_output=True, text=True).stdout
    by_object: dict[str, int] = defaultdict(int)
    total = 0
    for line in report.splitlines():
        m = re.match(r"\s*([\d,]+) \(.*\)\s+\S+ \[(.+)\]$", line)
        if m:
            count = int(m.group(1).replace(",", ""))
            obj = os.path.basename(m.group(2))
            by_object[obj] += count
            total += count
    return total // n, {k: v // n for k, v in by_object.items()}


def _group(obj: str) -> str:
    if obj.startswith(("libpython", "python")):
        return "interpreter"
    if obj.startswith(("_rust", "libcrypto", "libssl", "_hashlib")):
        return "crypto/TLS library"
    if obj.startswith("libc"):
        return "libc"
    return "other"


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--inner":
        _inner(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    from bench.common import SCENARIOS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--impl", default="lucidtls", help=f"comma-separated, from {IMPLS}")
    ap.add_argument("--scenarios", default=",".join(s.id for s in SCENARIOS))
    ap.add_argument("-n", type=int, default=20, help="handshakes counted (default 20)")
    args = ap.parse_args()
    impls = args.impl.split(",")
    unknown = [i for i in impls if i not in IMPLS]
    if unknown:
        ap.error(f"unknown implementation {unknown[0]!r} (choose from {', '.join(IMPLS)})")
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        sys.exit("bench.instructions needs valgrind (apt-get install valgrind)")
    groups = ("interpreter", "crypto/TLS library", "libc", "other")
    print(f"{'scenario':14} {'implementation':14} {'instructions':>13} "
          + " ".join(f"{g:>18}" for g in groups))
    for sid in args.scenarios.split(","):
        for impl in impls:
            total, objects = _count(sid, impl, args.n)
            grouped: dict[str, int] = defaultdict(int)
            for obj, count in objects.items():
                grouped[_group(obj)] += count
            print(f"{sid:14} {impl:14} {total:13,} "
                  + " ".join(f"{grouped[g]:18,}" for g in groups))


if __name__ == "__main__":
    main()
