"""``make bench`` must not rot: run the benchmark once in quick mode and check its JSON.

Nothing here looks at a number's size (no timing assertions): only that every row ran for
every implementation it should have, and produced well-formed results."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lucidtls import config as lconfig
from lucidtls.wire.enums import ProtocolVersion

ROOT = Path(__file__).resolve().parent.parent

# Every row and the implementations it must have measured.
EXPECTED = {
    "hs/tls13-oneway": {"lucidtls", "stdlib", "tlslite-ng", "floor"},
    "hs/tls13-mutual": {"lucidtls", "stdlib", "tlslite-ng", "floor"},
    "hs/tls13-mutual-new": {"lucidtls", "stdlib", "tlslite-ng", "floor"},
    "hs/tls12-ecdhe": {"lucidtls", "stdlib", "tlslite-ng", "floor"},
    "hs/tls12-rsa": {"lucidtls", "stdlib", "tlslite-ng", "floor"},
    "bulk/memory": {"lucidtls", "stdlib", "tlslite-ng"},
    "tcp/blocking": {"lucidtls", "stdlib"},
    "tcp/blocking/cpu": {"lucidtls", "stdlib"},
    "tcp/asyncio": {"lucidtls", "stdlib"},
    "tcp/asyncio/cpu": {"lucidtls", "stdlib"},
    "tcp/process": {"lucidtls", "stdlib"},
    "tcp/process/cpu-sender": {"lucidtls", "stdlib"},
    "tcp/process/cpu-receiver": {"lucidtls", "stdlib"},
    "memory/idle/tracemalloc": {"lucidtls", "stdlib"},
    "memory/idle/rss": {"lucidtls", "stdlib"},
    "aio/concurrent": {"lucidtls", "stdlib"},
}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    pytest.importorskip("tlslite", reason="tlslite-ng is in the test extra")
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT),
                                                      env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "bench.run", "--quick", "--json", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


def test_quick_bench_produces_every_row(quick_run):
    doc, stdout = quick_run
    assert doc["meta"]["quick"] is True
    rows = {row["id"]: row for row in doc["rows"]}
    assert set(rows) == set(EXPECTED)
    tls12 = ProtocolVersion.TLS1_2 in lconfig.IMPLEMENTED_VERSIONS
    for row_id, impls in EXPECTED.items():
        row = rows[row_id]
        assert row["unit"] and row["what"] and row["better"] in ("lower", "higher")
        for impl in impls:
            result = row["results"].get(impl)
            assert result is not None, f"{row_id}: no {impl} result"
            if impl == "lucidtls" and row_id.startswith("hs/tls12") and not tls12:
                assert result["note"] == "n/a (TLS 1.2 not available)"
                continue
            assert "note" not in result, f"{row_id}/{impl}: {result.get('note')}"
            value = result["median"]
            assert isinstance(value, (int, float)) and math.isfinite(value) and value >= 0, \
                (row_id, impl, value)
            assert result["samples"], (row_id, impl)
        ratio = row["ratios"]["lucidtls/stdlib"]
        assert ratio is None or math.isfinite(ratio)
    # The table names every row and says what each one does.
    for row in doc["rows"]:
        assert row["title"] in stdout
    assert "luc/std" in stdout


def test_quick_bench_forces_the_same_parameters(quick_run):
    doc, _ = quick_run
    rows = {row["id"]: row for row in doc["rows"]}
    negotiated = rows["hs/tls13-oneway"]["extra"]["negotiated"]
    assert "TLS_AES_256_GCM_SHA384" in negotiated["lucidtls"]
    assert "x25519" in negotiated["lucidtls"]
    assert "TLS_AES_256_GCM_SHA384" in negotiated["stdlib"]
    assert "aes256gcm" in negotiated["tlslite-ng"]
