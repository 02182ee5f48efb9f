"""kleene.data: the stream split over DataLoader workers and distributed ranks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader  # noqa: E402

from kleene import tasks  # noqa: E402
from kleene.data import TaskDataset, TaskIterableDataset  # noqa: E402

TASK = tasks.get("markov", length=12, labels="bayes")


def collect(loader) -> dict[int, np.ndarray]:
    seen: dict[int, np.ndarray] = {}
    for batch in loader:
        for i, row in zip(batch["indices"].tolist(), batch["tokens"].numpy(), strict=True):
            assert i not in seen, f"item {i} produced twice"
            seen[i] = row
    return seen


def assert_exact_stream(seen: dict[int, np.ndarray], num: int, start: int = 0) -> None:
    assert sorted(seen) == list(range(start, start + num)), "gap or overlap in the split"
    truth = TASK.batch(num, seed=7, start=start).tokens
    for i, row in seen.items():
        assert np.array_equal(row, truth[i - start])


@pytest.mark.parametrize(("workers", "block"), [(0, 5), (2, 7), (3, 64)])
def test_workers_split_the_stream_without_gap_or_overlap(workers, block):
    ds = TaskIterableDataset(TASK, seed=7, num=301, start=4, block_size=block)
    assert_exact_stream(collect(DataLoader(ds, batch_size=16, num_workers=workers)), 301, 4)


def test_batches_mode_and_explicit_ranks():
    seen: dict[int, np.ndarray] = {}
    for rank in range(3):
        ds = TaskIterableDataset(TASK, seed=7, num=100, batch_size=8, rank=rank, world_size=3)
        for item in collect(DataLoader(ds, batch_size=None, num_workers=2)).items():
            assert item[0] not in seen
            seen[item[0]] = item[1]
    assert_exact_stream(seen, 100)


def test_endless_stream_is_resumable():
    ds = TaskIterableDataset(TASK, seed=7, batch_size=10)
    first = [b["indices"][0].item() for _, b in zip(range(3), ds, strict=False)]
    assert first == [0, 10, 20]


def test_map_style_dataset_matches_the_stream():
    ds = TaskDataset(TASK, seed=7, num=50)
    assert len(ds) == 50
    items = ds.__getitems__([3, 4, 5, 40, 3, -1])
    truth = TASK.batch(50, seed=7).tokens
    for i, item in zip([3, 4, 5, 40, 3, 49], items, strict=True):
        assert np.array_equal(item["tokens"].numpy(), truth[i])
    with pytest.raises(IndexError):
        ds[50]
    loader = DataLoader(ds, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))
    assert_exact_stream(collect(loader), 50)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num"):
        TaskIterableDataset(TASK, seed=0, num=-1)
    with pytest.raises(ValueError, match="rank"):
        TaskIterableDataset(TASK, seed=0, rank=2, world_size=2)


def _rank_main(rank: int, world: int, store: str, out: str) -> None:
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{store}", rank=rank, world_size=world
    )
    try:
        ds = TaskIterableDataset(TASK, seed=7, num=203, block_size=9)  # ranks from the group
        seen = collect(DataLoader(ds, batch_size=5, num_workers=2))
        order = sorted(seen)
        np.savez(
            f"{out}.{rank}.npz", indices=np.array(order), rows=np.stack([seen[i] for i in order])
        )
        torch.distributed.barrier()
    finally:
        torch.distributed.destroy_process_group()


def test_two_gloo_ranks_with_two_workers_each(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KLEENE_NUM_THREADS", "1")
    out = str(tmp_path / "rank")
    args = (2, str(tmp_path / "store"), out)
    torch.multiprocessing.start_processes(_rank_main, args=args, nprocs=2, start_method="fork")
    parts = [np.load(f"{out}.{r}.npz") for r in range(2)]
    assert all(0 < len(p["indices"]) < 203 for p in parts), "one rank got everything"
    indices = np.concatenate([p["indices"] for p in parts])
    assert sorted(indices.tolist()) == list(range(203)), "ranks overlap or leave a gap"
    truth = TASK.batch(203, seed=7).tokens
    rows = np.concatenate([p["rows"] for p in parts])
    assert np.array_equal(rows, truth[indices])
