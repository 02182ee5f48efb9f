"""`kleene evaluate`: a model file scored from the command line, and its one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

MODEL = """
import numpy as np

def parity(tokens):
    # the exact parity of each prefix, as two class scores
    odd = np.cumsum(tokens == 1, axis=1) % 2
    return np.stack([np.where(odd == 0, 0.0, -30.0), np.where(odd == 1, 0.0, -30.0)], -1)

def broken(tokens):
    raise RuntimeError("out of memory")
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kleene.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "MPLBACKEND": "Agg"},
        timeout=300,
    )


def test_evaluate_scores_a_model_file_and_writes_a_report(tmp_path: Path):
    (tmp_path / "models.py").write_text(MODEL)
    base = ["evaluate", "parity", "--num", "64", "--lengths", "4,16"]
    res = run(*base, "--model", "models.py:parity", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    metrics = json.loads(res.stdout)["metrics"]
    assert metrics["4"]["accuracy"] == 1.0 and metrics["16"]["position_accuracy"] == 1.0
    report = ["--report", "rep", "--train-lengths", "1,8"]
    res = run(*base, "--model", "models:parity", *report, cwd=tmp_path)  # module form
    assert res.returncode == 0, res.stderr
    assert "| 16 |" in res.stdout
    assert (tmp_path / "rep" / "report.md").exists()
    assert (tmp_path / "rep" / "accuracy_vs_length.png").exists()


def test_evaluate_errors_are_one_line_with_status_2(tmp_path: Path):
    (tmp_path / "models.py").write_text(MODEL)
    cases = [
        ["--model", "models.py:missing"],
        ["--model", "models.py:broken"],
        ["--model", "nosuchmodule:model"],
        ["--model", "models.py:parity", "--lengths", "4,x"],
        ["--model", "models.py"],
    ]
    for extra in cases:
        res = run("evaluate", "parity", "--num", "8", *extra, cwd=tmp_path)
        assert res.returncode == 2, (extra, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kleene: error: "), (extra, res.stderr)
