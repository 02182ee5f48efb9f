"""The fast examples run as documented: each prints the numbers its docstring states."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name", ["automata_regbench.py"])
def test_example_prints_its_documented_numbers(name):
    path = EXAMPLES / name
    res = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    doc = path.read_text().split('"""')[1]
    table = [line.strip() for line in doc.splitlines() if line.startswith("    ")]
    assert table, "the docstring states no numbers"
    printed = [line.strip() for line in res.stdout.splitlines()]
    for row in table:
        assert row in printed, (row, res.stdout)
