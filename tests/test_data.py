"""kleene.data: the stream split over DataLoader workers and distributed ranks."""

from __future__ import annotations

import datetime
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


@pytest.mark.parametrize("tail", ["pad", "drop"])
def test_ranks_get_equal_full_batches_with_either_tail_policy(tail):
    per_rank = []
    for rank in range(3):
        ds = TaskIterableDataset(
            TASK, seed=7, num=100, batch_size=8, rank=rank, world_size=3, tail=tail
        )
        batches = list(DataLoader(ds, batch_size=None, num_workers=2))
        assert all(len(b["indices"]) == 8 for b in batches)
        per_rank.append(torch.cat([b["indices"] for b in batches]).tolist())
    assert len({len(p) for p in per_rank}) == 1, "ranks yield different numbers of batches"
    every = sorted(i for p in per_rank for i in p)
    if tail == "pad":  # ceil(100 / 24) = 5 batches each: 120 slots, the first 20 items twice
        assert every == sorted(list(range(100)) + list(range(20)))
    else:  # floor(100 / 24) = 4 batches each: the last 4 items are left out
        assert every == list(range(96))
    truth = TASK.batch(100, seed=7).tokens
    for rank in range(3):
        ds = TaskIterableDataset(TASK, seed=7, num=100, batch_size=8, rank=rank, world_size=3)
        for b in ds:
            assert np.array_equal(b["tokens"].numpy(), truth[b["indices"].numpy()])


def test_one_rank_yields_the_exact_stream_with_a_partial_last_block():
    ds = TaskIterableDataset(TASK, seed=7, num=100, batch_size=8, tail="drop")
    assert_exact_stream(collect(DataLoader(ds, batch_size=None, num_workers=2)), 100)


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
    with pytest.raises(ValueError, match="tail"):
        TaskIterableDataset(TASK, seed=0, tail="wrap")


def _rank_main(rank: int, world: int, store: str, out: str) -> None:
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{store}", rank=rank, world_size=world
    )
    try:
        # ranks from the group; 203 items, blocks of 9, 2 ranks: 11 full blocks each
        ds = TaskIterableDataset(TASK, seed=7, num=203, block_size=9, tail="drop")
        seen = collect(DataLoader(ds, batch_size=5, num_workers=2))
        order = sorted(seen)
        np.savez(
            f"{out}.{rank}.npz", indices=np.array(order), rows=np.stack([seen[i] for i in order])
        )
        torch.distributed.barrier()
    finally:
        torch.distributed.destroy_process_group()


def _ddp_rank_main(rank: int, world: int, store: str, out: str, tail: str) -> None:
    """Trains nothing but does what DDP does: one all_reduce per batch. A rank with fewer
    batches would leave the others waiting until the group's timeout fails them."""
    torch.distributed.init_process_group(
        "gloo",
        init_method=f"file://{store}",
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(seconds=30),
    )
    try:
        ds = TaskIterableDataset(TASK, seed=7, num=203, block_size=9, tail=tail)
        indices = []
        for batch in DataLoader(ds, batch_size=5, num_workers=2):
            step = torch.ones(1)
            torch.distributed.all_reduce(step)
            assert step.item() == world
            indices += batch["indices"].tolist()
        np.save(f"{out}.{rank}.npy", np.array(indices))
        torch.distributed.barrier()
    finally:
        torch.distributed.destroy_process_group()


@pytest.mark.parametrize("tail", ["pad", "drop"])
def test_three_gloo_ranks_with_uneven_num_never_wait(tail, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KLEENE_NUM_THREADS", "1")
    out = str(tmp_path / "rank")
    args = (3, str(tmp_path / "store"), out, tail)
    torch.multiprocessing.start_processes(_ddp_rank_main, args=args, nprocs=3, start_method="fork")
    parts = [np.load(f"{out}.{r}.npy").tolist() for r in range(3)]
    assert len({len(p) for p in parts}) == 1
    every = sorted(i for p in parts for i in p)
    # 203 items in blocks of 9 over 3 ranks: 27 items a round; pad: 8 rounds (216 slots,
    # items 0..12 twice), drop: 7 rounds (189 items).
    expected = sorted([*range(203), *range(13)]) if tail == "pad" else list(range(189))
    assert every == expected


def test_two_gloo_ranks_with_two_workers_each(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KLEENE_NUM_THREADS", "1")
    out = str(tmp_path / "rank")
    args = (2, str(tmp_path / "store"), out)
    torch.multiprocessing.start_processes(_rank_main, args=args, nprocs=2, start_method="fork")
    parts = [np.load(f"{out}.{r}.npz") for r in range(2)]
    assert [len(p["indices"]) for p in parts] == [99, 99], "ranks got unequal shares"
    indices = np.concatenate([p["indices"] for p in parts])
    assert sorted(indices.tolist()) == list(range(198)), "ranks overlap or leave a gap"
    truth = TASK.batch(198, seed=7).tokens
    rows = np.concatenate([p["rows"] for p in parts])
    assert np.array_equal(rows, truth[indices])
