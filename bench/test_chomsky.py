"""DeepMind Chomsky-hierarchy tasks: kleene (Rust) vs its former pure-Python/numpy sampler.

Run: ``.venv/bin/python -m pytest bench/test_chomsky.py --benchmark-only``.
One group per task, the paper's training lengths (uniform in 1..40), B=256.
"""

from __future__ import annotations

import pytest
from conftest import declare
from peers_chomsky import PEERS

from kleene import tasks

B = 256
PARAMS = {"length": 40, "min_length": 1}


@pytest.mark.parametrize("name", list(PEERS))
def test_kleene_chomsky(benchmark, name):
    task = tasks.get(name, **PARAMS)
    declare(benchmark, group=f"{name} L=1..40 B={B}", impl="kleene (1 thread)", items=B)
    benchmark(task.batch, B, seed=0, threads=1)


@pytest.mark.parametrize("name", list(PEERS))
def test_python_chomsky(benchmark, name):
    peer = PEERS[name](**PARAMS)
    declare(benchmark, group=f"{name} L=1..40 B={B}", impl="former Python sampler", items=B)
    benchmark(peer.batch, B, 0)
