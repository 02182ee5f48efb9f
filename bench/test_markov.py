"""Markov-ICL generation throughput: kleene vs a numpy batch-vectorised generator and a
per-step torch loop in the style of the paper's code (Bond1995/Markov-Mamba), same run.

Run: ``pytest bench/test_markov.py --benchmark-only``. kleene rows generate tokens only
(``labels=""``) like the peers, for orders 1-3; the `+labels` row adds the Bayes and
true-probability labels (16 bytes per token), beside a plain numpy write of the same bytes
(allocate and fill two float32 arrays of the labels' shape) as the memory-write bound.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import declare
from peers_markov import (
    numpy_markov,
    numpy_markov_binary,
    numpy_markov_binary_order,
    torch_markov_loop,
)

import kleene

LENGTH = 256


ORDERS = [1, 2, 3]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("batch", [64, 1024])
@pytest.mark.parametrize("threads", [1, 2])
def test_kleene(benchmark, batch, threads, order):
    task = kleene.tasks.get("markov", order=order, length=LENGTH, labels="")
    declare(
        benchmark,
        group=f"markov V=2 k={order} B={batch} T={LENGTH}",
        impl=f"kleene ({threads} thread{'s' if threads > 1 else ''})",
        items=batch * LENGTH,
        unit="tokens",
    )
    seeds = iter(range(10**9))
    benchmark(lambda: task.batch(batch, seed=next(seeds), threads=threads))


@pytest.mark.parametrize("batch", [64, 1024])
def test_kleene_with_labels(benchmark, batch):
    task = kleene.tasks.get("markov", length=LENGTH)
    declare(
        benchmark,
        group=f"markov V=2 k=1 B={batch} T={LENGTH}",
        impl="kleene +labels (1 thread)",
        items=batch * LENGTH,
        unit="tokens",
    )
    benchmark(lambda: task.batch(batch, seed=0, threads=1))


@pytest.mark.parametrize("batch", [64, 1024])
def test_plain_label_write(benchmark, batch):
    """The memory-write bound of the labels: allocate and fill the same bytes."""
    declare(
        benchmark,
        group=f"markov V=2 k=1 B={batch} T={LENGTH}",
        impl="numpy write of the label bytes (bound)",
        items=batch * LENGTH,
        unit="tokens",
    )
    shape = (batch, LENGTH, 2)
    benchmark(lambda: (np.full(shape, 0.5, np.float32), np.full(shape, 0.5, np.float32)))


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("batch", [64, 1024])
def test_numpy_vectorised(benchmark, batch, order):
    declare(
        benchmark,
        group=f"markov V=2 k={order} B={batch} T={LENGTH}",
        impl="numpy vectorised",
        items=batch * LENGTH,
        unit="tokens",
    )
    rng = np.random.default_rng(0)
    benchmark(numpy_markov, batch, LENGTH, 2, order, rng)


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("batch", [64, 1024])
def test_numpy_binary_order(benchmark, batch, order):
    declare(
        benchmark,
        group=f"markov V=2 k={order} B={batch} T={LENGTH}",
        impl="numpy vectorised (binary special case)",
        items=batch * LENGTH,
        unit="tokens",
    )
    rng = np.random.default_rng(0)
    benchmark(numpy_markov_binary_order, batch, LENGTH, order, rng)


@pytest.mark.parametrize("batch", [64, 1024])
def test_numpy_binary(benchmark, batch):
    declare(
        benchmark,
        group=f"markov V=2 k=1 B={batch} T={LENGTH}",
        impl="numpy vectorised (binary special case)",
        items=batch * LENGTH,
        unit="tokens",
    )
    rng = np.random.default_rng(0)
    benchmark(numpy_markov_binary, batch, LENGTH, rng)


def test_torch_loop(benchmark):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    declare(
        benchmark,
        group=f"markov V=2 k=1 B=64 T={LENGTH}",
        impl="torch per-step loop",
        items=64 * LENGTH,
        unit="tokens",
    )
    gen = torch.Generator().manual_seed(0)
    benchmark.pedantic(torch_markov_loop, args=(64, LENGTH, 2, 1, gen), rounds=3, iterations=1)


@pytest.mark.parametrize(("vocab", "order"), [(8, 2), (64, 1)])
def test_larger_vocabularies(benchmark, vocab, order):
    task = kleene.tasks.get("markov", vocab_size=vocab, order=order, length=LENGTH, labels="")
    declare(
        benchmark,
        group=f"markov V={vocab} k={order} B=256 T={LENGTH}",
        impl="kleene (1 thread)",
        items=256 * LENGTH,
        unit="tokens",
    )
    benchmark(lambda: task.batch(256, seed=0, threads=1))


@pytest.mark.parametrize(("vocab", "order"), [(8, 2), (64, 1)])
def test_larger_vocabularies_numpy(benchmark, vocab, order):
    declare(
        benchmark,
        group=f"markov V={vocab} k={order} B=256 T={LENGTH}",
        impl="numpy vectorised",
        items=256 * LENGTH,
        unit="tokens",
    )
    rng = np.random.default_rng(0)
    benchmark(numpy_markov, 256, LENGTH, vocab, order, rng)
