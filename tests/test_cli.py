"""The `kleene` command: generate (formats, determinism, atomic writes), show, tasks, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kleene import tasks
from kleene.cli import Progress, main


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kleene.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_generate_is_byte_identical_for_one_and_two_threads(tmp_path: Path):
    paths = []
    for threads in ("1", "2"):
        out = tmp_path / f"t{threads}.npz"
        res = run(
            "generate",
            "markov",
            "--num",
            "20000",
            "--seed",
            "1",
            "--chunk",
            "3000",
            "--out",
            str(out),
            env={"KLEENE_NUM_THREADS": threads},
        )
        assert res.returncode == 0, res.stderr
        assert "wrote 20,000 items of markov" in res.stdout and "tokens/s" in res.stdout
        paths.append(out)
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_npz_holds_the_stream_and_its_config(tmp_path: Path):
    out = tmp_path / "a.npz"
    assert (
        main(
            [
                "generate",
                "markov",
                "--set",
                "order=2",
                "--set",
                "length=16",
                "--num",
                "50",
                "--seed",
                "3",
                "--start",
                "10",
                "--chunk",
                "16",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    data = np.load(out)
    task = tasks.get("markov", order=2, length=16)
    truth = task.batch(50, seed=3, start=10)
    for key, arr in truth.arrays().items():
        assert np.array_equal(data[key], arr), key
    config = json.loads(data["config"].item())
    assert config["order"] == 2 and config["seed"] == 3 and config["start"] == 10


def test_jsonl_and_parquet_hold_the_same_columns_as_npz(tmp_path: Path):
    pq = pytest.importorskip("pyarrow.parquet")
    args = ["generate", "markov", "--set", "length=10", "--set", "vocab_size=3", "--num", "25"]
    args += ["--chunk", "7", "--quiet"]
    truth = tasks.get("markov", length=10, vocab_size=3).batch(25, seed=0)
    assert main([*args, "--out", str(tmp_path / "a.jsonl")]) == 0
    rows = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert list(rows[0]) == truth.keys()
    assert [r["indices"] for r in rows] == list(range(25))
    assert np.array_equal(np.array([r["tokens"] for r in rows]), truth.tokens)
    assert np.array_equal(np.array([r["bayes"] for r in rows], np.float32), truth.labels["bayes"])
    assert main([*args, "--out", str(tmp_path / "a.parquet")]) == 0
    table = pq.read_table(tmp_path / "a.parquet")
    assert table.column_names == truth.keys()
    assert np.array_equal(np.array(table["tokens"].to_pylist()), truth.tokens)
    bayes = np.array(table["bayes"].to_pylist(), np.float32)
    assert np.array_equal(bayes, truth.labels["bayes"])  # [25, 10, 3], not flattened


def test_show_and_tasks_print_readable_text():
    res = run("show", "markov", "--set", "length=12", "--num", "2")
    assert res.returncode == 0 and res.stdout.count("\n[") == 2  # two samples
    listing = run("tasks")
    assert listing.returncode == 0 and "markov:" in listing.stdout
    assert "vocab_size = 2" in listing.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["generate", "markov", "--set", "order=-1"], "order"),
        (["generate", "markov", "--set", "bogus=1"], "valid parameters"),
        (["generate", "nope"], "valid tasks"),
        (["generate", "markov", "--set", "novalue"], "key=value"),
        (["generate", "markov", "--num", "x"], "--num"),
        (["generate", "markov", "--out", "a.txt"], "format"),
        (["generate", "markov", "--format", "jsonl", "--out", "a.npz"], "contradicts"),
        (["generate", "markov", "--num", "-1"], "--num"),
        (["generate", "markov", "--num-shards", "2", "--out", "a.npz"], "directory"),
        (["generate", "markov", "--jobs", "2", "--out", "a.npz"], "directory"),
        (["generate", "markov", "--jobs", "0", "--out", "d/"], "jobs"),
        (["generate", "markov", "--label-dtype", "int8"], "--label-dtype"),
        (["render"], "required"),
        (["render", "eca", "--bogus", "--out", "a.png"], "unrecognized"),
        (["render", "eca", "--rule", "x", "--out", "a.png"], "--rule"),
        (["render", "eca", "--rule", "300", "--out", "a.png"], "rule"),
        (["render", "life", "--out", "a.txt"], ".gif"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, needle, tmp_path: Path):
    res = subprocess.run(
        [sys.executable, "-m", "kleene.cli", *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kleene: error:") and needle in lines[0]
    assert "Traceback" not in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_unwritable_path_and_failure_midway_leave_nothing(tmp_path: Path):
    res = run("generate", "markov", "--num", "10", "--out", str(tmp_path / "missing" / "a.npz"))
    assert res.returncode == 2 and "cannot write" in res.stderr
    # --threads 0 passes the parser but fails at the first batch, after the file was opened
    res = run(
        "generate", "markov", "--num", "10", "--threads", "0", "--out", str(tmp_path / "a.npz")
    )
    assert res.returncode == 2 and "threads" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_render_writes_atomically(tmp_path: Path):
    res = run("render", "eca", "--width", "31", "--steps", "15", "--out", str(tmp_path / "a.png"))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = run("render", "life", "--size", "8", "--steps", "3", "--out", str(tmp_path / "b.gif"))
    assert res.returncode == 0 and (tmp_path / "b.gif").read_bytes()[:6] == b"GIF89a"
    res = run("render", "eca", "--out", str(tmp_path / "missing" / "c.png"))
    assert res.returncode == 2 and "cannot write" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.gif"]


_FULL_DISK = """
import sys
from kleene import cli, io
def dev_full(path):
    path.touch()
    return open("/dev/full", "wb")
io._open_for_write = dev_full
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("out", ["a.parquet", "a.npz", "a.jsonl", "d/", "p.png"])
def test_full_disk_mid_stream_is_one_line_and_leaves_nothing(out: str, tmp_path: Path):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    args = ["generate", "markov", "--num", "20000", "--chunk", "1000", "--out", f"{tmp_path}/{out}"]
    if out.endswith(".png"):
        args = ["render", "eca", "--out", f"{tmp_path}/{out}"]
    res = subprocess.run([sys.executable, "-c", _FULL_DISK, *args], capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == ["kleene: error: [Errno 28] No space left on device"]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_progress_shows_items_and_shards(capsys):
    progress = Progress(1000, "markov", shards=4, enabled=True)
    progress.update(500, 128_000, 2, 4)
    progress.finish()
    err = capsys.readouterr().err
    assert "500/1,000 items" in err and "shards 2/4" in err and "tokens/s" in err
    assert err.endswith("\n")
