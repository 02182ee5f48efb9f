"""Every code block of the pages listed here runs as written (Python in-process, bash in a
shell with the installed `kleene` on PATH), in a scratch directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["docs/evaluation.md", "docs/labels.md", "docs/limits.md"]
BLOCK = re.compile(r"```(python|bash)\n(.*?)```", re.S)


def _blocks():
    for page in PAGES:
        for i, (lang, code) in enumerate(BLOCK.findall((ROOT / page).read_text())):
            yield pytest.param(lang, code, id=f"{page}#{i}-{lang}")


@pytest.mark.parametrize(("lang", "code"), list(_blocks()))
def test_code_block_runs(lang, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if lang == "python":
        saved = dict(os.environ)  # a block may set KLEENE_* limits: keep them out of the suite
        try:
            exec(compile(code, "<doc>", "exec"), {"__name__": "__doc__"})
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
    res = subprocess.run(["bash", "-e", "-c", code], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
