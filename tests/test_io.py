"""kleene.io: streaming files and shards, manifests, resume, atomic writes, kleene.load."""

from __future__ import annotations

import errno
import hashlib
import io as pyio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import kleene
from kleene import io, tasks

pq = pytest.importorskip("pyarrow.parquet")

MARKOV = tasks.get("markov", length=12, vocab_size=3)
# A task with 2-D, bool and scalar labels besides tokens.
TASKS = [
    MARKOV,
    tasks.get("eca", width=16, sample_width=8, seq_length=64),
    tasks.get("binary_addition"),
]


def cli(
    *args: str, cwd: Path | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kleene.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "KLEENE_NUM_THREADS": "1", **(env or {})},
        timeout=300,
    )


def assert_batch_equal(got: kleene.Batch, truth: kleene.Batch, dtypes: bool = True) -> None:
    assert got.keys() == truth.keys()
    for name, array in truth.arrays().items():
        assert got[name].shape == array.shape, name
        assert not dtypes or got[name].dtype == array.dtype, name
        assert np.array_equal(got[name], array), name


def reference_npz(truth: kleene.Batch, config: dict) -> bytes:
    """The .npz an in-memory writer makes of the whole batch (the oracle for streaming)."""
    buf = pyio.BytesIO()
    arrays = {**truth.arrays(), "config": np.array(json.dumps(config, sort_keys=True))}
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, array, allow_pickle=False)
    return buf.getvalue()


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.name)
@pytest.mark.parametrize("fmt", io.FORMATS)
def test_every_format_round_trips_with_the_same_columns_and_shapes(task, fmt, tmp_path: Path):
    truth = task.batch(37, seed=5, start=3)
    out = tmp_path / f"a.{fmt}"
    kleene.write(task, seed=5, num=37, start=3, out=out, chunk=10)
    got = kleene.load(out)
    assert_batch_equal(got, truth, dtypes=fmt != "jsonl")  # JSON keeps values, not dtypes
    if fmt != "jsonl":
        assert got.vocab == task.vocab


def test_streamed_npz_equals_the_in_memory_file_byte_for_byte(tmp_path: Path):
    out = tmp_path / "a.npz"
    kleene.write(MARKOV, seed=2, num=101, out=out, chunk=16)
    config = {**MARKOV.config, "seed": 2, "start": 0}
    assert out.read_bytes() == reference_npz(MARKOV.batch(101, seed=2), config)


def test_float16_labels_halve_the_label_bytes(tmp_path: Path):
    truth = MARKOV.batch(20, seed=0)
    for fmt in ("npz", "parquet"):
        out = tmp_path / f"h.{fmt}"
        kleene.write(MARKOV, seed=0, num=20, out=out, label_dtype="float16")
        got = kleene.load(out)
        for name in ("bayes", "true_probs"):
            assert got[name].dtype == np.float16 and got[name].shape == truth[name].shape
            assert np.array_equal(got[name], truth[name].astype(np.float16))
        assert np.array_equal(got.tokens, truth.tokens)
    with pytest.raises(ValueError, match="label dtype"):
        kleene.write(MARKOV, seed=0, num=2, out=tmp_path / "x.npz", label_dtype="int8")


def test_parquet_keeps_label_shapes_for_other_readers(tmp_path: Path):
    out = tmp_path / "a.parquet"
    kleene.write(MARKOV, seed=0, num=8, out=out)
    table = pq.read_table(out)
    bayes = np.array(table["bayes"].to_pylist())
    assert bayes.shape == (8, 12, 3)
    assert np.array_equal(bayes.astype(np.float32), MARKOV.batch(8, seed=0).labels["bayes"])


def test_parquet_packs_integers_without_a_dictionary(tmp_path: Path):
    """The encodings docs/scale.md chose, read back from the file's own metadata: integer
    columns (also nested ones) delta-packed and zstd-compressed, float labels
    dictionary-encoded, statistics only where one value per item lets a reader skip row
    groups."""
    out = tmp_path / "a.parquet"
    kleene.write(MARKOV, seed=0, num=50, out=out, chunk=16)
    meta = pq.ParquetFile(out).metadata
    assert meta.num_row_groups == 4
    chunks = {
        meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i)
        for i in range(meta.num_columns)
    }
    for path in ("tokens.list.element", "lengths", "indices"):
        assert "DELTA_BINARY_PACKED" in chunks[path].encodings, path
        assert not chunks[path].has_dictionary_page, path
        assert chunks[path].compression == "ZSTD", path
    floats = [k for k, v in MARKOV.batch(1, seed=0).labels.items() if v.dtype.kind == "f"]
    assert floats
    for name in floats:  # [T, V] labels: two list levels
        assert chunks[f"{name}.list.element.list.element"].has_dictionary_page, name
    assert chunks["indices"].statistics.min == 0 and chunks["indices"].statistics.max == 15
    assert not chunks["tokens.list.element"].is_stats_set
    filtered = pq.read_table(out, filters=[("indices", ">=", 40)])
    assert filtered["indices"].to_pylist() == list(range(40, 50))


def test_the_next_chunk_is_generated_while_the_current_one_is_written():
    """``_one_ahead``: maker k+1 runs while the consumer holds batch k (it could not finish
    otherwise: the consumer waits for it), never two ahead, and errors reach the caller."""
    started = [threading.Event() for _ in range(4)]

    def maker(k: int):
        def make() -> int:
            started[k].set()
            return k

        return make

    got = []
    for k in io._one_ahead([maker(k) for k in range(4)]):
        if k + 1 < 4:
            assert started[k + 1].wait(timeout=30), f"chunk {k + 1} was not started during {k}"
        if k + 2 < 4:
            assert not started[k + 2].is_set(), "generated two chunks ahead"
        got.append(k)
    assert got == [0, 1, 2, 3]

    def failing() -> int:
        raise ValueError("generation failed")

    with pytest.raises(ValueError, match="generation failed"):
        list(io._one_ahead([maker(0), failing, maker(2)]))


@pytest.mark.parametrize("fmt", io.FORMATS)
def test_zero_items_give_a_valid_empty_file(fmt, tmp_path: Path):
    out = tmp_path / f"e.{fmt}"
    res = cli("generate", "markov", "--num", "0", "--out", str(out))
    assert res.returncode == 0, res.stderr
    got = kleene.load(out)
    assert len(got) == 0
    if fmt != "jsonl":
        assert got["bayes"].shape == (0, 256, 2)


def shard_run(out: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    args = ["generate", "markov", "--set", "length=16", "--num", "1003", "--seed", "4"]
    return cli(*args, "--shard-size", "200", "--chunk", "64", "--out", f"{out}/", *extra, env=env)


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_shards_manifest_and_load(tmp_path: Path):
    res = shard_run(tmp_path / "d")
    assert res.returncode == 0, res.stderr
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    task = tasks.get("markov", length=16)
    assert manifest["task"] == task.config and manifest["seed"] == 4
    assert manifest["kleene_version"] == kleene.__version__
    assert [(s["start"], s["stop"]) for s in manifest["shards"]] == [
        (0, 200),
        (200, 400),
        (400, 600),
        (600, 800),
        (800, 1000),
        (1000, 1003),
    ]
    for shard in manifest["shards"]:
        data = (tmp_path / "d" / shard["file"]).read_bytes()
        assert shard["sha256"] == hashlib.sha256(data).hexdigest()
        assert shard["bytes"] == len(data) and shard["rows"] == shard["stop"] - shard["start"]
    assert manifest["columns"]["bayes"] == {"dtype": "float32", "shape": [16, 2]}
    ds = kleene.load(tmp_path / "d")
    assert isinstance(ds, io.ShardedDataset) and len(ds) == 1003
    ds.verify()
    assert_batch_equal(ds.read(), task.batch(1003, seed=4))


def test_shards_are_identical_for_threads_jobs_and_two_processes(tmp_path: Path):
    assert shard_run(tmp_path / "one").returncode == 0
    assert shard_run(tmp_path / "two", env={"KLEENE_NUM_THREADS": "2"}).returncode == 0
    assert shard_run(tmp_path / "jobs", "--jobs", "3").returncode == 0
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kleene.cli",
                "generate",
                "markov",
                "--set",
                "length=16",
                "--num",
                "1003",
                "--seed",
                "4",
                "--shard-size",
                "200",
                "--chunk",
                "64",
                "--out",
                f"{tmp_path / 'split'}/",
                "--shard-index",
                str(i),
                "--num-shards",
                "2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(2)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    one = tree(tmp_path / "one")
    assert tree(tmp_path / "two") == one
    assert tree(tmp_path / "split") == one
    assert tree(tmp_path / "jobs") == one


def test_killed_run_resumes_to_the_same_manifest(tmp_path: Path):
    out = tmp_path / "resumed"
    args = [
        "generate",
        "markov",
        "--set",
        "length=256",
        "--num",
        "12000",
        "--seed",
        "4",
        "--shard-size",
        "2000",
        "--chunk",
        "500",
        "--out",
        f"{out}/",
    ]
    whole = tmp_path / "whole"
    assert cli(*args[:-1], f"{whole}/").returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "kleene.cli", *args], env={**os.environ, "KLEENE_NUM_THREADS": "1"}
    )
    deadline = time.time() + 120
    while not list(out.glob("shard-00001-*.parquet")) and time.time() < deadline:
        time.sleep(0.02)
    proc.kill()  # SIGKILL: no cleanup at all
    proc.wait()
    assert not (out / "manifest.json").exists()
    (out / "shard-00000-of-00006.parquet").write_bytes(b"corrupt")  # a damaged shard is redone
    res = cli(*args)
    assert res.returncode == 0, res.stderr
    assert tree(out) == tree(whole)
    assert not [p for p in out.iterdir() if ".tmp-" in p.name]


def test_a_directory_holds_one_dataset(tmp_path: Path):
    assert shard_run(tmp_path / "d").returncode == 0
    res = cli("generate", "markov", "--num", "10", "--shard-size", "5", "--out", f"{tmp_path}/d/")
    assert res.returncode == 2 and "different dataset" in res.stderr
    res = shard_run(tmp_path / "d", "--shard-index", "2", "--num-shards", "2")
    assert res.returncode == 2 and "shard-index" in res.stderr


def test_a_new_writer_revision_does_not_resume_older_shards(tmp_path: Path, monkeypatch):
    """Shards written before an encoding change have other bytes: a resume must refuse the
    directory rather than mix the two."""
    kleene.write(MARKOV, seed=0, num=6, out=f"{tmp_path}/d/", shard_size=3)
    monkeypatch.setattr(io, "WRITER_REVISION", io.WRITER_REVISION + 1)
    with pytest.raises(ValueError, match="different dataset"):
        kleene.write(MARKOV, seed=0, num=6, out=f"{tmp_path}/d/", shard_size=3)


def test_incomplete_directory_is_not_loaded(tmp_path: Path):
    res = shard_run(tmp_path / "d", "--shard-index", "0", "--num-shards", "2")
    assert res.returncode == 0 and "last process" in res.stdout
    with pytest.raises(ValueError, match="incomplete"):
        kleene.load(tmp_path / "d")


@pytest.mark.parametrize("out", ["big.npz", "big.jsonl", "big.parquet", "d/"])
def test_sigterm_during_a_write_leaves_nothing_partial(out, tmp_path: Path):
    # tokens only, as bytes: long enough to interrupt, small enough for any disk's check
    args = ["generate", "markov", "--num", "5000000", "--chunk", "256"]
    args += ["--set", "labels=", "--set", "dtype=uint8"]
    args += ["--shard-size", "2000", "--jobs", "2"] if out == "d/" else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "kleene.cli", *args, "--out", f"{tmp_path}/{out}"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "KLEENE_NUM_THREADS": "1"},
    )
    deadline = time.time() + 120
    while not list(tmp_path.rglob(".*tmp*")) and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err.strip().splitlines() == [
        "kleene: error: terminated by SIGTERM; partial output removed"
    ]
    if out == "d/":  # finished shards stay (a rerun resumes from them), partial ones go
        assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]
        assert not (tmp_path / "d" / "manifest.json").exists()
    else:
        assert list(tmp_path.iterdir()) == []


def dev_full(path: Path):
    path.touch()  # the temporary file exists, as a real one would
    return open("/dev/full", "wb")  # noqa: SIM115 - every write fails with ENOSPC


@pytest.mark.parametrize("fmt", io.FORMATS)
def test_full_disk_leaves_nothing_and_raises_enospc(fmt, tmp_path: Path, monkeypatch):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    monkeypatch.setattr(io, "_open_for_write", dev_full)
    with pytest.raises(OSError) as info:
        kleene.write(MARKOV, seed=0, num=3000, out=tmp_path / f"a.{fmt}", chunk=500)
    assert info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_a_failing_shard_stops_the_parallel_writers_and_leaves_no_partial_file(
    tmp_path: Path, monkeypatch
):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    monkeypatch.setattr(io, "_open_for_write", dev_full)
    with pytest.raises(OSError) as info:
        kleene.write(MARKOV, seed=0, num=20000, out=f"{tmp_path}/d/", shard_size=2000, jobs=3)
    assert info.value.errno == errno.ENOSPC
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_full_tmpfs_gives_one_line_and_leaves_nothing(tmp_path: Path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        for out in ("a.parquet", "a.npz", "d/"):
            res = cli("generate", "markov", "--num", "5000", "--out", f"{mnt}/{out}")
            assert res.returncode == 2
            lines = res.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("kleene: error:"), res.stderr
            # .npz is refused up front (its size is known); the others fail mid-stream
            assert "No space left" in lines[0] or "free disk" in lines[0], lines[0]
            leftovers = [p for p in mnt.rglob("*") if p.is_file()]
            assert leftovers == [], leftovers
            subprocess.run(["rm", "-rf", str(mnt / "d")], check=True)
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_an_npz_larger_than_the_free_disk_is_refused_up_front(tmp_path: Path):
    with pytest.raises(ValueError, match="free disk"):
        kleene.write(MARKOV, seed=0, num=10**13, out=tmp_path / "huge.npz")
    assert list(tmp_path.iterdir()) == []


def test_peak_memory_is_flat_for_a_large_npz(tmp_path: Path):
    """60,000 default markov items are 300 MB of arrays; the writer holds one chunk."""
    # VmHWM is the peak RSS of this process image (ru_maxrss would include the forking
    # pytest process's memory, which Linux carries across exec).
    code = (
        "import re, sys, kleene;"
        "kleene.write(kleene.tasks.get('markov'), seed=0, num=60000, out=sys.argv[1], chunk=2048);"
        "print(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "a.npz")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    peak_mib = int(res.stdout) / 1024
    assert (tmp_path / "a.npz").stat().st_size > 300e6
    assert peak_mib < 150, f"peak RSS {peak_mib:.0f} MiB"
