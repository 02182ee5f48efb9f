"""Every code block of README.md and docs/*.md runs as written, in page order and in a scratch
directory, as a reader pasting them into one session would: Python blocks share one namespace
per page, bash blocks run in a shell with the installed `kleene` on PATH. Blocks fenced as
`sh` install the package or need a cluster (README's install and test commands, which CI runs
itself; a Slurm script) and are not run here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```(python|bash)\n(.*?)```", re.S)


def _pages():
    for page in PAGES:
        blocks = BLOCK.findall((ROOT / page).read_text())
        if blocks:
            yield pytest.param(page, blocks, id=page)


@pytest.mark.parametrize(("page", "blocks"), list(_pages()))
def test_code_blocks_run(page, blocks, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__doc__"}
    saved = dict(os.environ)  # a block may set KLEENE_* limits: keep them out of the suite
    try:
        for i, (lang, code) in enumerate(blocks):
            where = f"{page} block {i} ({lang})"
            if lang == "python":
                exec(compile(code, where, "exec"), namespace)
            else:
                _run_bash(code, where)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _run_bash(code: str, where: str) -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
    res = subprocess.run(["bash", "-e", "-c", code], capture_output=True, text=True, env=env)
    assert res.returncode == 0, f"{where}: {res.stderr}"
