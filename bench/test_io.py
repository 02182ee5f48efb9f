"""End-to-end generation-to-parquet throughput: kleene's writer against generation alone and
against a Ray Data pipeline on 2 workers (kleene blocks, Ray's parquet writer), same run.

Run: ``pytest bench/test_io.py --benchmark-only``. Every row produces the same 200,000
tokens-only markov items (T=256, 51.2M tokens); the summary gives items/s, and each row's
``extra_info`` holds the MB/s of the bytes written (MB of parquet per second).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import declare

import kleene

NUM = 200_000
TASK = kleene.tasks.get("markov", labels="")
GROUP = f"generation to parquet, markov tokens only, {NUM:,} items T=256"


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _mb_per_s(benchmark, path: Path) -> None:
    benchmark.extra_info["MB"] = round(_size(path) / 1e6, 1)
    benchmark.extra_info["MB/s"] = round(_size(path) / 1e6 / benchmark.stats.stats.median, 1)


def test_generation_alone(benchmark):
    declare(benchmark, group=GROUP, impl="kleene generation only (no writing)", items=NUM)
    benchmark.pedantic(
        lambda: [TASK.batch(4096, 0, lo) for lo in range(0, NUM, 4096)], rounds=3, iterations=1
    )


@pytest.mark.parametrize(("threads", "jobs"), [(1, 1), (2, 1), (1, 2)])
def test_kleene_write_parquet_shards(benchmark, tmp_path: Path, threads, jobs):
    declare(
        benchmark,
        group=GROUP,
        impl=f"kleene write, parquet shards ({threads} threads, {jobs} jobs)",
        items=NUM,
    )
    out = tmp_path / "d"

    def run():
        shutil.rmtree(out, ignore_errors=True)
        kleene.write(TASK, 0, NUM, f"{out}/", shard_size=50_000, threads=threads, jobs=jobs)

    benchmark.pedantic(run, rounds=3, iterations=1)
    _mb_per_s(benchmark, out)


def test_kleene_write_npz(benchmark, tmp_path: Path):
    declare(benchmark, group=GROUP, impl="kleene write, one .npz (for comparison)", items=NUM)
    out = tmp_path / "a.npz"
    benchmark.pedantic(lambda: kleene.write(TASK, 0, NUM, out), rounds=3, iterations=1)
    _mb_per_s(benchmark, out)


def test_ray_pipeline_two_workers(benchmark, tmp_path: Path):
    ray = pytest.importorskip("ray")
    import kleene.ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        declare(benchmark, group=GROUP, impl="ray data, 2 workers, write_parquet", items=NUM)
        out = tmp_path / "ray"

        def run():
            shutil.rmtree(out, ignore_errors=True)
            kleene.ray.dataset(TASK, 0, NUM, block_size=50_000).write_parquet(str(out))

        benchmark.pedantic(run, rounds=3, iterations=1)
        _mb_per_s(benchmark, out)
    finally:
        ray.shutdown()
