"""The examples run as documented. Fast ones print exactly the numbers their docstring states;
the training examples run with small settings (their full numbers depend on torch's CPU
kernels, so only their output's shape is checked here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name: str, *args: str) -> str:
    cmd = [sys.executable, str(EXAMPLES / name), *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr
    return res.stdout


def documented_lines(name: str) -> list[str]:
    doc = (EXAMPLES / name).read_text().split('"""')[1]
    return [line.strip() for line in doc.splitlines() if line.startswith("    ")]


def test_regbench_example_prints_its_documented_numbers():
    printed = [line.strip() for line in run("automata_regbench.py").splitlines()]
    table = documented_lines("automata_regbench.py")
    assert table, "the docstring states no numbers"
    for row in table:
        assert row in printed, row


def test_parity_example_scores_every_model_at_every_length(tmp_path):
    args = ["--steps", "20", "--test-lens", "8", "32", "--num", "16", "--report", str(tmp_path)]
    out = run("linrec_parity.py", *args)
    rows = [line for line in out.splitlines() if line.startswith("| gates")]
    assert len(rows) == 6  # three models at two lengths
    assert len(documented_lines("linrec_parity.py")) == 12  # the full run's table
    assert (tmp_path / "model0" / "accuracy_vs_length.png").exists()


def test_markov_example_reports_excess_loss_by_position():
    args = ["--steps", "3", "--length", "16", "--batch", "8", "--held-out", "16"]
    out = run("mamba_markov.py", *args, "--eval-every", "3")
    assert "kleene.evaluate: cross-entropy" in out and "excess loss by position: t=1" in out
