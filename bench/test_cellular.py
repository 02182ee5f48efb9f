"""Cellular automata: kleene (one thread) against numpy roll, cellpylib and a LifeGPT-style
loop, each on the same work in the same run. Outputs are checked equal before timing."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import declare
from peers_cellular import (
    cellpylib_eca,
    cellpylib_life,
    lifegpt_update,
    numpy_eca,
    numpy_life,
)

import kleene

try:
    import cellpylib  # noqa: F401

    HAVE_CELLPYLIB = True
except ImportError:  # pragma: no cover
    HAVE_CELLPYLIB = False

needs_cellpylib = pytest.mark.skipif(not HAVE_CELLPYLIB, reason="cellpylib not installed")
INIT = np.random.default_rng(0).integers(0, 2, size=1000, dtype=np.uint8)
ECA1 = kleene.ECA(110, threads=1)


# -- ECA, W=1000, T=1000, uint8 output --------------------------------------------------------
G_ECA = "ECA rule 110 W=1000 T=1000 (uint8 out)"


def test_eca_kleene(benchmark):
    declare(benchmark, group=G_ECA, impl="kleene", items=1000 * 1000, unit="cell-updates")
    assert np.array_equal(ECA1.run(INIT, 1000), numpy_eca(110, INIT, 1000))
    benchmark(ECA1.run, INIT, 1000)


def test_eca_kleene_packed(benchmark):
    declare(benchmark, group=G_ECA, impl="kleene packed", items=1000 * 1000, unit="cell-updates")
    benchmark(ECA1.run, INIT, 1000, packed=True)


def test_eca_numpy(benchmark):
    declare(benchmark, group=G_ECA, impl="numpy roll", items=1000 * 1000, unit="cell-updates")
    benchmark.pedantic(numpy_eca, args=(110, INIT, 1000), rounds=5)


# -- ECA, small, with cellpylib ---------------------------------------------------------------
G_SMALL = "ECA rule 110 W=200 T=100 (uint8 out)"
SMALL = INIT[:200]


def test_eca_small_kleene(benchmark):
    declare(benchmark, group=G_SMALL, impl="kleene", items=200 * 100, unit="cell-updates")
    benchmark(ECA1.run, SMALL, 100)


def test_eca_small_numpy(benchmark):
    declare(benchmark, group=G_SMALL, impl="numpy roll", items=200 * 100, unit="cell-updates")
    benchmark(numpy_eca, 110, SMALL, 100)


@needs_cellpylib
def test_eca_small_cellpylib(benchmark):
    declare(benchmark, group=G_SMALL, impl="cellpylib", items=200 * 100, unit="cell-updates")
    assert np.array_equal(cellpylib_eca(110, SMALL, 100), ECA1.run(SMALL, 100))
    benchmark.pedantic(cellpylib_eca, args=(110, SMALL, 100), rounds=3)


# -- ECA evolution only (bit-packed, one row kept every 1000 generations) ---------------------
G_PACKED = "ECA rule 110 W=65536 T=2000 (bit-packed, evolution only)"
WIDE = np.random.default_rng(1).integers(0, 2, size=1 << 16, dtype=np.uint8)


def test_eca_wide_kleene(benchmark):
    declare(benchmark, group=G_PACKED, impl="kleene", items=(1 << 16) * 2000, unit="cell-updates")
    benchmark(ECA1.run, WIDE, 2, stride=1000, packed=True)


def test_eca_wide_numpy(benchmark):
    declare(
        benchmark, group=G_PACKED, impl="numpy roll", items=(1 << 16) * 2000, unit="cell-updates"
    )
    benchmark.pedantic(numpy_eca, args=(110, WIDE, 2000), rounds=2)


# -- Life: batches of 32x32 tori --------------------------------------------------------------
G_BATCH = "Life B3/S23 256 x 32x32 torus, 32 generations"
SOUPS = kleene.cellular.soup((32, 32), 0.4, seed=2, count=256)
LIFE1 = kleene.Life(threads=1)


def test_life_batch_kleene(benchmark):
    declare(benchmark, group=G_BATCH, impl="kleene", items=256 * 1024 * 32, unit="cell-updates")
    assert np.array_equal(LIFE1.step(SOUPS, 32), numpy_life(SOUPS, 32))
    benchmark(LIFE1.run, SOUPS, 1, stride=32)


def test_life_batch_numpy(benchmark):
    declare(benchmark, group=G_BATCH, impl="numpy roll", items=256 * 1024 * 32, unit="cell-updates")
    benchmark.pedantic(numpy_life, args=(SOUPS, 32), rounds=3)


# -- Life: batches of small tori, every generation returned ---------------------------------
G_EVERY = "Life B3/S23 256 x 32x32 torus, 10 generations (every generation out)"
EVERY_ITEMS = 256 * 1024 * 10
LIFE2 = kleene.Life(threads=2)


@pytest.mark.parametrize("life", [LIFE1, LIFE2], ids=["1thread", "2threads"])
def test_life_every_kleene(benchmark, life):
    impl = "kleene (1 thread)" if life is LIFE1 else "kleene (2 threads)"
    declare(benchmark, group=G_EVERY, impl=impl, items=EVERY_ITEMS, unit="cell-updates")
    out = life.run(SOUPS, 10)
    assert out.shape == (256, 11, 32, 32)
    assert np.array_equal(out[:, 10], numpy_life(SOUPS, 10))
    benchmark(life.run, SOUPS, 10)


def test_life_every_numpy(benchmark):
    impl = "numpy roll (last generation only)"
    declare(benchmark, group=G_EVERY, impl=impl, items=EVERY_ITEMS, unit="cell-updates")
    benchmark.pedantic(numpy_life, args=(SOUPS, 10), rounds=5)


def test_life_every_write_bound(benchmark):
    # what writing the output alone costs: allocate and fill the same uint8 [256, 11, 32, 32]
    impl = "numpy write of the output bytes (bound)"
    declare(benchmark, group=G_EVERY, impl=impl, items=EVERY_ITEMS, unit="cell-updates")
    benchmark(np.ones, (256, 11, 32, 32), np.uint8)


# -- Life: one 1024x1024 torus ----------------------------------------------------------------
G_BIG = "Life B3/S23 1024x1024 torus, 20 generations"
BIG = kleene.cellular.soup((1024, 1024), 0.4, seed=3)


def test_life_big_kleene(benchmark):
    declare(benchmark, group=G_BIG, impl="kleene", items=(1 << 20) * 20, unit="cell-updates")
    assert np.array_equal(LIFE1.step(BIG, 20), numpy_life(BIG[None], 20)[0])
    benchmark(LIFE1.run, BIG, 1, stride=20)


def test_life_big_numpy(benchmark):
    declare(benchmark, group=G_BIG, impl="numpy roll", items=(1 << 20) * 20, unit="cell-updates")
    benchmark.pedantic(numpy_life, args=(BIG[None], 20), rounds=3)


# -- LifeGPT's setting: one 32x32 torus, one generation ---------------------------------------
G_GPT = "Life B3/S23 one 32x32 torus, 1 generation (LifeGPT)"
ONE = SOUPS[0]


def test_lifegpt_kleene(benchmark):
    declare(benchmark, group=G_GPT, impl="kleene", items=1024, unit="cell-updates")
    assert np.array_equal(LIFE1.step(ONE), np.array(lifegpt_update(ONE.tolist())))
    benchmark(LIFE1.step, ONE)


def test_lifegpt_loop(benchmark):
    declare(benchmark, group=G_GPT, impl="LifeGPT loop", items=1024, unit="cell-updates")
    grid = ONE.tolist()
    benchmark(lifegpt_update, grid)


def test_lifegpt_numpy(benchmark):
    declare(benchmark, group=G_GPT, impl="numpy roll", items=1024, unit="cell-updates")
    benchmark(numpy_life, ONE[None], 1)


@needs_cellpylib
def test_lifegpt_cellpylib(benchmark):
    declare(benchmark, group=G_GPT, impl="cellpylib", items=1024, unit="cell-updates")
    assert np.array_equal(cellpylib_life(ONE, 1)[-1], LIFE1.step(ONE))
    benchmark.pedantic(cellpylib_life, args=(ONE, 1), rounds=3)


# -- the registered tasks ---------------------------------------------------------------------
G_TASK = "task life (LifeGPT bytes, 32x32, k=1) 64 examples"


def test_task_life_kleene(benchmark):
    task = kleene.tasks.get("life")
    declare(benchmark, group=G_TASK, impl="kleene", items=64, unit="examples")
    benchmark(task.batch, 64, seed=0, threads=1)


def test_task_life_lifegpt_loop(benchmark):
    rng = np.random.default_rng(0)

    def lifegpt_examples(n):
        out = []
        for d in np.linspace(0, 1, n):
            grid = (rng.random((32, 32)) < d).astype(int).tolist()
            nxt = lifegpt_update(grid)
            bits = "".join(str(c) for row in grid for c in row)
            nbits = "".join(str(c) for row in nxt for c in row)
            out.append(f"@PredictNextState<{bits}> [{nbits}]$")
        return out

    declare(benchmark, group=G_TASK, impl="LifeGPT loop", items=64, unit="examples")
    benchmark.pedantic(lifegpt_examples, args=(64,), rounds=3)
