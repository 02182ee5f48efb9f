"""End-to-end generation-to-parquet throughput: kleene's writer against generation alone and
against a Ray Data pipeline on 2 workers (kleene blocks, Ray's parquet writer), same run.

Run: ``pytest bench/test_io.py --benchmark-only``. Every row produces the same 200,000
tokens-only markov items (T=256, 51.2M tokens); the summary gives items/s and the ratio to
the fastest kleene row (generation alone). Each row's ``extra_info`` holds the MB written,
MB/s of parquet, and for kleene's rows the median CPU seconds of this process (all threads),
which a loaded machine inflates less than wall time. Ray's first round (worker start-up,
imports) is run untimed and recorded as ``cold_first_round_s``; ``ray.init`` is not timed.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path

import pytest
from conftest import declare

import kleene
from kleene import io

NUM = 200_000
CHUNK = 4096
SHARD = 50_000
TASK = kleene.tasks.get("markov", labels="")
GROUP = f"generation to parquet, markov tokens only, {NUM:,} items T=256"


def _size(path: Path) -> int:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files)


def _record(benchmark, path: Path | None, cpu: list[float] | None = None) -> None:
    if path is not None:
        benchmark.extra_info["MB"] = round(_size(path) / 1e6, 1)
        benchmark.extra_info["MB/s"] = round(_size(path) / 1e6 / benchmark.stats.stats.median, 1)
    if cpu:
        benchmark.extra_info["cpu_s"] = round(statistics.median(cpu), 3)


def _timed_cpu(fn, cpu: list[float]):
    def run():
        start = time.process_time()
        fn()
        cpu.append(time.process_time() - start)

    return run


@pytest.mark.parametrize("threads", [None, 1])
def test_generation_alone(benchmark, threads):
    name = "all cores" if threads is None else f"{threads} thread"
    declare(benchmark, group=GROUP, impl=f"kleene generation only ({name})", items=NUM)
    cpu: list[float] = []
    run = _timed_cpu(lambda: [TASK.batch(n, 0, lo, threads=threads) for lo, n in _spans()], cpu)
    benchmark.pedantic(run, rounds=3, iterations=1)
    _record(benchmark, None, cpu)


@pytest.mark.parametrize(("threads", "jobs"), [(1, 1), (2, 1), (1, 2)])
def test_kleene_write_parquet_shards(benchmark, tmp_path: Path, threads, jobs):
    declare(
        benchmark,
        group=GROUP,
        impl=f"kleene write, parquet shards ({threads} threads, {jobs} jobs)",
        items=NUM,
    )
    out = tmp_path / "d"
    cpu: list[float] = []

    def run():
        shutil.rmtree(out, ignore_errors=True)
        kleene.write(TASK, 0, NUM, f"{out}/", shard_size=SHARD, threads=threads, jobs=jobs)

    benchmark.pedantic(_timed_cpu(run, cpu), rounds=3, iterations=1)
    _record(benchmark, out, cpu)


def test_kleene_write_parquet_pyarrow_defaults(benchmark, tmp_path: Path, monkeypatch):
    """The writer before issue 13's tuning: pyarrow's default encoding (dictionary, snappy,
    statistics on every column), for the before/after in one run."""
    declare(
        benchmark,
        group=GROUP,
        impl="kleene write, parquet shards with pyarrow's default encoding (1 thread)",
        items=NUM,
    )
    monkeypatch.setattr(io, "parquet_options", lambda schema: {})
    out = tmp_path / "d"
    cpu: list[float] = []

    def run():
        shutil.rmtree(out, ignore_errors=True)
        kleene.write(TASK, 0, NUM, f"{out}/", shard_size=SHARD, threads=1)

    benchmark.pedantic(_timed_cpu(run, cpu), rounds=3, iterations=1)
    _record(benchmark, out, cpu)


def test_kleene_write_npz(benchmark, tmp_path: Path):
    declare(benchmark, group=GROUP, impl="kleene write, one .npz (for comparison)", items=NUM)
    out = tmp_path / "a.npz"
    cpu: list[float] = []
    benchmark.pedantic(
        _timed_cpu(lambda: kleene.write(TASK, 0, NUM, out), cpu), rounds=3, iterations=1
    )
    _record(benchmark, out, cpu)


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.mark.parametrize("encoding", ["kleene", "pyarrow defaults"])
def test_ray_pipeline_two_workers(benchmark, tmp_path: Path, local_ray, encoding):
    import kleene.ray

    declare(
        benchmark,
        group=GROUP,
        impl=f"ray data, 2 workers, write_parquet ({encoding} encoding)",
        items=NUM,
    )
    args = kleene.ray.parquet_args(TASK) if encoding == "kleene" else {}
    out = tmp_path / "ray"

    def run():
        shutil.rmtree(out, ignore_errors=True)
        kleene.ray.dataset(TASK, 0, NUM, block_size=SHARD).write_parquet(str(out), **args)

    start = time.perf_counter()
    run()  # the first round starts the workers and imports Ray Data in them
    benchmark.extra_info["cold_first_round_s"] = round(time.perf_counter() - start, 2)
    benchmark.pedantic(run, rounds=3, iterations=1)
    _record(benchmark, out)


ENCODE = f"pyarrow encoding alone (batches generated beforehand), {NUM:,} markov items T=256"


@pytest.fixture(scope="module")
def batches():
    return [TASK.batch(n, 0, lo).arrays() for lo, n in _spans()]


def _spans() -> list[tuple[int, int]]:
    return [(lo, min(CHUNK, NUM - lo)) for lo in range(0, NUM, CHUNK)]


@pytest.mark.parametrize(
    "layout",
    [
        "kleene encoding",
        "pyarrow defaults",
        "plain, uncompressed",
        "flat int32 column, plain, uncompressed (shape lost)",
    ],
)
def test_encoding_floor(benchmark, tmp_path: Path, batches, layout):
    """Where the writer's time goes: the same tables encoded four ways. The flat column has no
    list levels to encode; it is the floor for any layout that keeps ``[T]`` per item."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    declare(benchmark, group=ENCODE, impl=f"kleene parquet: {layout}", items=NUM)
    if layout.startswith("flat"):
        tables = [pa.table({"tokens": pa.array(b["tokens"].reshape(-1))}) for b in batches]
    else:
        tables = [io.to_arrow(b) for b in batches]
    plain = {"use_dictionary": False, "compression": "none", "write_statistics": False}
    options = {
        "kleene encoding": io.parquet_options(tables[0].schema),
        "pyarrow defaults": {},
    }.get(layout, plain)
    out = tmp_path / "a.parquet"
    cpu: list[float] = []

    def run():
        with pq.ParquetWriter(out, tables[0].schema, **options) as writer:
            for table in tables:
                writer.write_table(table)

    benchmark.pedantic(_timed_cpu(run, cpu), rounds=3, iterations=1)
    _record(benchmark, out, cpu)
