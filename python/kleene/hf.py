"""Hugging Face ``datasets`` views of kleene task streams (``pip install 'kleene[hf]'``).

:func:`dataset` returns a :class:`datasets.IterableDataset` generated on the fly: its shards are
blocks of consecutive stream indices, so DataLoader workers and
:func:`datasets.distributed.split_dataset_by_node` split the work without generating an item
twice (when the shard count is a multiple of the number of nodes; otherwise every node iterates
all shards and keeps its share of the rows, as ``datasets`` documents). :func:`features` gives
the typed schema, which is also what ``datasets.load_dataset("parquet", ...)`` infers for
kleene's parquet files.

Example:
    >>> import kleene, kleene.hf
    >>> ds = kleene.hf.dataset(kleene.tasks.get("markov", length=8), seed=0, num=10)
    >>> row = next(iter(ds))
    >>> row["indices"], len(row["tokens"]), ds.features["bayes"].length
    (0, 8, 8)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from . import tasks as _tasks
from .tasks import Task

try:
    import datasets
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError("kleene.hf needs Hugging Face datasets: pip install 'kleene[hf]'") from e


def _feature(dtype: np.dtype, shape: tuple[int, ...]) -> Any:
    feature: Any = datasets.Value(str(dtype))
    for size in reversed(shape):
        feature = datasets.List(feature, length=size)
    return feature


def features(task: Task, label_dtype: str | None = None) -> datasets.Features:
    """The typed columns of ``task``: ``tokens``, ``lengths``, ``indices`` and its labels, with
    fixed lengths for every per-item axis (``bayes [T, V]`` is a list of T lists of V)."""
    from .io import stored_arrays

    probe = stored_arrays(task.batch(1, seed=0), label_dtype)
    return datasets.Features({k: _feature(v.dtype, v.shape[1:]) for k, v in probe.items()})


def _rows(
    config: dict[str, Any], seed: int, blocks: list[tuple[int, int]], label_dtype: str | None
) -> Iterator[dict[str, Any]]:
    from .io import stored_arrays

    params = {k: v for k, v in config.items() if k != "task"}
    task = _tasks.get(config["task"], **params)
    for first, count in blocks:
        arrays = stored_arrays(task.batch(count, seed, first, threads=1), label_dtype)
        for i in range(count):
            yield {k: v[i] for k, v in arrays.items()}


def dataset(
    task: Task,
    seed: int,
    num: int,
    start: int = 0,
    block_size: int = 1024,
    label_dtype: str | None = None,
) -> datasets.IterableDataset:
    """Items ``start .. start+num`` of ``task``'s stream ``seed`` as an iterable dataset.

    Args:
        task: a :class:`kleene.tasks.Task`.
        seed, num, start: the stream and index range.
        block_size: items per shard (the unit dealt to workers and nodes).
        label_dtype: ``"float16"`` gives half-precision floating-point labels.

    Returns:
        A :class:`datasets.IterableDataset` with ``ceil(num / block_size)`` shards whose rows
        equal ``task.batch(num, seed, start)`` in order.
    """
    if num < 0 or start < 0 or block_size < 1:
        raise ValueError(
            f"need num >= 0, start >= 0 and block_size >= 1; got {num}, {start}, {block_size}"
        )
    blocks = [(start + lo, min(block_size, num - lo)) for lo in range(0, num, block_size)]
    return datasets.IterableDataset.from_generator(
        _rows,
        features=features(task, label_dtype),
        gen_kwargs={
            "config": task.config,
            "seed": seed,
            "blocks": blocks,
            "label_dtype": label_dtype,
        },
    )
