"""Recall-task generation: kleene vs Zoology-style, vectorised-numpy and MAD-style peers.

Run: ``.venv/bin/python -m pytest bench/test_recall.py --benchmark-only``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import declare
from peers_recall import mad_recall, mad_selective_copying, numpy_mqar, zoology_mqar

from kleene import tasks

MQAR = [(64, 4), (256, 16)]
B = 256
KLEENE_ROWS = [("kleene (1 thread)", 1), ("kleene", None)]


@pytest.mark.parametrize(("seq_len", "k"), MQAR)
@pytest.mark.parametrize(("impl", "threads"), KLEENE_ROWS)
def test_kleene_mqar(benchmark, seq_len, k, impl, threads):
    task = tasks.get("mqar", vocab_size=8192, length=seq_len, num_kv_pairs=k)
    declare(
        benchmark,
        group=f"mqar V=8192 L={seq_len} K={k} B={B}",
        impl=impl,
        items=B * seq_len,
        unit="tokens",
    )
    benchmark(task.batch, B, seed=0, threads=threads)


@pytest.mark.parametrize(("seq_len", "k"), MQAR)
def test_zoology_mqar(benchmark, seq_len, k):
    pytest.importorskip("torch")
    declare(
        benchmark,
        group=f"mqar V=8192 L={seq_len} K={k} B={B}",
        impl="zoology-style",
        items=B * seq_len,
        unit="tokens",
    )
    benchmark(zoology_mqar, 8192, B, seq_len, 0, num_kv_pairs=k)


@pytest.mark.parametrize(("seq_len", "k"), MQAR)
def test_numpy_mqar(benchmark, seq_len, k):
    rng = np.random.default_rng(0)
    declare(
        benchmark,
        group=f"mqar V=8192 L={seq_len} K={k} B={B}",
        impl="numpy-vectorised",
        items=B * seq_len,
        unit="tokens",
    )
    benchmark(numpy_mqar, 8192, B, seq_len, rng, num_kv_pairs=k)


RECALL_GROUP = f"in_context_recall V=16 L=128 B={B}"


@pytest.mark.parametrize(("impl", "threads"), KLEENE_ROWS)
def test_kleene_recall(benchmark, impl, threads):
    task = tasks.get("in_context_recall", vocab_size=16, length=128)
    declare(benchmark, group=RECALL_GROUP, impl=impl, items=B * 127, unit="tokens")
    benchmark(task.batch, B, seed=0, threads=threads)


def test_mad_recall(benchmark):
    rng = np.random.default_rng(12345)
    declare(benchmark, group=RECALL_GROUP, impl="mad-style", items=B * 127, unit="tokens")
    benchmark(mad_recall, B, 16, 128, rng)


COPY_GROUP = f"selective_copying V=16 L=256 n=16 B={B}"


@pytest.mark.parametrize(("impl", "threads"), KLEENE_ROWS)
def test_kleene_selective_copying(benchmark, impl, threads):
    task = tasks.get("selective_copying", vocab_size=16, length=256, num_tokens_to_copy=16)
    declare(benchmark, group=COPY_GROUP, impl=impl, items=B * 256, unit="tokens")
    benchmark(task.batch, B, seed=0, threads=threads)


def test_mad_selective_copying(benchmark):
    rng = np.random.default_rng(12345)
    declare(benchmark, group=COPY_GROUP, impl="mad-style", items=B * 256, unit="tokens")
    benchmark(mad_selective_copying, B, 16, 256, 16, rng)
