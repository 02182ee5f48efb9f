"""bench/gpu/run.sh --dry-run: the one-command GPU proof, exercised on CPU (Triton's
interpreter, tiny shapes) so that it cannot rot between GPU runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("triton")

ROOT = Path(__file__).resolve().parent.parent


def run_script(*args: str, out: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET", "OUT")}
    env.update(OUT=str(out), PYTHON=sys.executable)
    return subprocess.run(
        ["bash", str(ROOT / "bench" / "gpu" / "run.sh"), *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip


def test_dry_run_prints_the_table_and_writes_json(tmp_path):
    r = run_script("--dry-run", out=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    result = json.loads((tmp_path / "table.json").read_text())
    assert result["dry_run"] is True and result["copy_GBps"] > 0
    rows = result["rows"]
    groups = {row["group"] for row in rows}
    assert any(g.startswith("linrec fwd ") for g in groups)
    assert any(g.startswith("S6 fwd+bwd ") for g in groups)
    for group in groups:
        impls = {row["impl"]: row for row in rows if row["group"] == group}
        kleene = next(row for name, row in impls.items() if name.startswith("kleene"))
        assert kleene["error"] is None and kleene["median_ms"] > 0
        assert kleene["ratio_to_kleene"] == 1.0
        assert "bound: HBM at the copy bandwidth" in impls
        # every peer is a row: timed, or failed with its error
        peers = [row for name, row in impls.items() if not name.startswith(("kleene", "bound"))]
        assert len(peers) >= 3
        assert all((row["median_ms"] is None) == (row["error"] is not None) for row in peers)
    assert "| implementation |" in r.stdout and "kleene linear_recurrence" in r.stdout
    assert (tmp_path / "table.md").read_text().startswith("device: cpu (dry run)")
    assert "tests collected" in r.stdout  # the kernel tests were collected


def test_unknown_argument_is_a_one_line_error(tmp_path):
    r = run_script("--fast", out=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip() == "kleene: error: unknown argument '--fast' (expected --dry-run)"
