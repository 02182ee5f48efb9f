"""PyTorch datasets over kleene task streams (imports torch).

Both datasets generate data on the fly, deterministically: item ``i`` is the same whatever the
number of DataLoader workers or distributed ranks.

- :class:`TaskIterableDataset` splits the stream into blocks of ``block_size`` consecutive items,
  deals the blocks round-robin over distributed ranks, and each rank's blocks round-robin over
  its DataLoader workers. With one rank every item is produced once. With several ranks every
  rank gets the same number of full blocks (so DDP never waits at a collective): ``tail="pad"``
  fills the last blocks by wrapping around to the start of the range (some items appear twice,
  as with ``DistributedSampler``), ``tail="drop"`` leaves out the last ``num mod (ranks x
  block)`` items. Set ``batch_size`` to get whole batches per step (use
  ``DataLoader(dataset, batch_size=None)``).
- :class:`TaskDataset` is map-style over a fixed range of the stream.

Example:
    >>> import kleene
    >>> from kleene.data import TaskIterableDataset
    >>> ds = TaskIterableDataset(kleene.tasks.get("markov", length=8), seed=0, num=10)
    >>> sorted(int(item["indices"]) for item in ds) == list(range(10))
    True
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

try:
    import torch
    from torch.utils.data import Dataset, IterableDataset, get_worker_info
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("kleene.data needs PyTorch: pip install 'kleene[torch]'") from e

from .batch import Batch
from .tasks import Task


def _distributed_rank() -> tuple[int, int] | None:
    """(rank, world size) of the initialised default process group, if any."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return None


TAILS = ("pad", "drop")
"""How :class:`TaskIterableDataset` evens out ranks: wrap around, or leave the tail out."""


def _rank_info(rank: int | None, world_size: int | None) -> tuple[int, int]:
    """(rank, world size): the given ones, else the process group's, else (0, 1)."""
    if rank is None or world_size is None:
        return _distributed_rank() or (0, 1)
    return rank, world_size


def _wrapped_runs(lo: int, hi: int, num: int | None) -> Iterator[tuple[int, int]]:
    """Positions ``lo .. hi`` of the range taken modulo ``num``, as (first, count) runs."""
    if num is None or hi <= num:
        yield lo, hi - lo
        return
    pos = lo
    while pos < hi:
        first = pos % num
        n = min(num - first, hi - pos)
        yield first, n
        pos += n


def _concat_torch(parts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    if len(parts) == 1:
        return parts[0]
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}


def _in_worker() -> bool:
    return get_worker_info() is not None


class TaskIterableDataset(IterableDataset):
    """A stream of task items, sharded over DataLoader workers and distributed ranks.

    Args:
        task: a :class:`kleene.tasks.Task`.
        seed: the stream seed.
        num: number of items (``None``: endless).
        start: stream index of the first item.
        batch_size: yield batches of this many consecutive items instead of single items.
        block_size: items per generation call when yielding single items.
        rank, world_size: override ``torch.distributed`` (default: the process group
            initialised when the dataset is created, else the one seen when iterating).
        threads: generation threads (default: 1 inside DataLoader workers, else
            ``KLEENE_NUM_THREADS`` or all cores).
        tail: with several ranks and a finite ``num``, how every rank gets the same number of
            blocks: ``"pad"`` (default) wraps around to the first items, ``"drop"`` leaves
            out the items that do not fill a block on every rank.

    Items are dicts of tensors: ``tokens [T]``, ``lengths``, ``indices`` and the task's labels
    (``[B, ...]`` with batches).
    """

    def __init__(
        self,
        task: Task,
        seed: int,
        num: int | None = None,
        start: int = 0,
        batch_size: int | None = None,
        block_size: int = 256,
        rank: int | None = None,
        world_size: int | None = None,
        threads: int | None = None,
        tail: str = "pad",
    ) -> None:
        if tail not in TAILS:
            raise ValueError(f"`tail` must be one of {', '.join(TAILS)}; got {tail!r}")
        if num is not None and num < 0:
            raise ValueError(f"`num` must be >= 0 or None, got {num}")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"`batch_size` must be >= 1, got {batch_size}")
        if block_size < 1:
            raise ValueError(f"`block_size` must be >= 1, got {block_size}")
        if (rank is None) != (world_size is None) or (
            world_size is not None and not 0 <= rank < world_size  # type: ignore[operator]
        ):
            raise ValueError("give both `rank` and `world_size`, with 0 <= rank < world_size")
        self.task, self.seed, self.num, self.start = task, seed, num, start
        self.batch_size = batch_size
        self.block = batch_size or block_size
        if rank is None:
            # Read the process group now: DataLoader workers may not see it.
            rank, world_size = _distributed_rank() or (None, None)
        self.rank, self.world_size, self.threads = rank, world_size, threads
        self.tail = tail

    def blocks_per_rank(self, ranks: int) -> int | None:
        """How many blocks each of ``ranks`` ranks yields (``None``: endless)."""
        if self.num is None:
            return None
        if ranks == 1:
            return -(-self.num // self.block)
        per_round = ranks * self.block
        return -(-self.num // per_round) if self.tail == "pad" else self.num // per_round

    def blocks(self) -> Iterator[list[tuple[int, int]]]:
        """This (rank, worker)'s blocks in order, each as runs of (first index, count): one
        run, or more where a padded block wraps around to the start of the range."""
        rank, ranks = _rank_info(self.rank, self.world_size)
        worker = get_worker_info()
        worker_id, workers = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        per_rank = self.blocks_per_rank(ranks)
        local = itertools.count(worker_id, workers)
        if per_rank is not None:
            local = range(worker_id, per_rank, workers)  # type: ignore[assignment]
        for j in local:
            lo = (j * ranks + rank) * self.block
            hi = lo + self.block if self.num is None else min(lo + self.block, self.num)
            if ranks > 1 and self.num:  # every rank's blocks are full: wrap (pad) if needed
                hi = lo + self.block
            yield [(self.start + a, n) for a, n in _wrapped_runs(lo, hi, self.num)]

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        threads = self.threads if self.threads is not None else (1 if _in_worker() else None)
        for runs in self.blocks():
            parts = [self.task.batch(n, self.seed, a, threads=threads) for a, n in runs]
            tensors = _concat_torch([p.to_torch() for p in parts])
            count = len(tensors["indices"])
            if self.batch_size is not None:
                yield tensors
            else:
                for i in range(count):
                    yield {k: v[i] for k, v in tensors.items()}


class TaskDataset(Dataset):
    """Map-style dataset over items ``start .. start+num`` of a task stream.

    ``__getitems__`` generates contiguous runs of requested indices in one call, so a
    DataLoader with a sequential sampler costs one generation call per batch.
    """

    def __init__(
        self, task: Task, seed: int, num: int, start: int = 0, threads: int | None = None
    ) -> None:
        if num < 0:
            raise ValueError(f"`num` must be >= 0, got {num}")
        self.task, self.seed, self.num, self.start, self.threads = task, seed, num, start, threads

    def __len__(self) -> int:
        return self.num

    def _index(self, i: int) -> int:
        if i < 0:
            i += self.num
        if not 0 <= i < self.num:
            raise IndexError(f"index {i} out of range for a dataset of {self.num} items")
        return i

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([i])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, torch.Tensor]]:
        wanted = [self._index(int(i)) for i in indices]
        rows: dict[int, dict[str, Any]] = {}
        threads = self.threads if self.threads is not None else (1 if _in_worker() else None)
        for lo, hi in _runs(sorted(set(wanted))):
            batch: Batch = self.task.batch(hi - lo, self.seed, self.start + lo, threads=threads)
            tensors = batch.to_torch()
            for j in range(hi - lo):
                rows[lo + j] = {k: v[j] for k, v in tensors.items()}
        return [rows[i] for i in wanted]


def _runs(sorted_indices: list[int]) -> Iterator[tuple[int, int]]:
    """Maximal runs of consecutive integers as half-open ranges."""
    if not sorted_indices:
        return
    arr = np.asarray(sorted_indices)
    breaks = np.flatnonzero(np.diff(arr) != 1) + 1
    for part in np.split(arr, breaks):
        yield int(part[0]), int(part[-1]) + 1
