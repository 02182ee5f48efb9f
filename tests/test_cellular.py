"""Elementary and Life-like cellular automata against naive per-cell references and known facts."""

from __future__ import annotations

import numpy as np
import pytest

import kleene
from kleene.cellular import ECA, Life, pattern, representatives, rule_info, wolfram_class

BOUNDARIES = ("periodic", "fixed0", "fixed1", "reflective")


def eca_step_ref(rule: int, row: np.ndarray, boundary: str) -> np.ndarray:
    """One generation by the Wolfram-code definition, cell by cell."""
    w = len(row)
    outside = {"fixed0": (0, 0), "fixed1": (1, 1), "reflective": (row[0], row[-1])}
    left_ghost, right_ghost = outside.get(boundary, (row[-1], row[0]))
    padded = [left_ghost, *row.tolist(), right_ghost]
    return np.array(
        [(rule >> (4 * padded[i] + 2 * padded[i + 1] + padded[i + 2])) & 1 for i in range(w)],
        dtype=np.uint8,
    )


def life_step_ref(grid: np.ndarray, birth: set, survive: set, torus: bool) -> np.ndarray:
    h, w = grid.shape
    out = np.zeros_like(grid)
    for y in range(h):
        for x in range(w):
            n = 0
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    if dy == dx == 0:
                        continue
                    yy, xx = y + dy, x + dx
                    if torus:
                        n += grid[yy % h, xx % w]
                    elif 0 <= yy < h and 0 <= xx < w:
                        n += grid[yy, xx]
            out[y, x] = n in (survive if grid[y, x] else birth)
    return out


# --- elementary CA -------------------------------------------------------------------------


@pytest.mark.parametrize("width", [1, 5, 63, 64, 65, 100, 129])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_eca_matches_naive_reference_on_random_rules(width, boundary):
    rng = np.random.default_rng(width * 7 + len(boundary))
    for rule in rng.integers(0, 256, size=6):
        init = rng.integers(0, 2, size=width, dtype=np.uint8)
        got = ECA(int(rule), boundary).run(init, 12)
        row = init
        for t in range(13):
            assert np.array_equal(got[t], row), (rule, t)
            row = eca_step_ref(int(rule), row, boundary)


def test_rule_identities():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(4, 150), dtype=np.uint8)
    assert np.array_equal(ECA(204).step(x, 5), x)
    assert np.array_equal(ECA(170).step(x), np.roll(x, -1, axis=1))
    assert np.array_equal(ECA(240).step(x), np.roll(x, 1, axis=1))
    assert np.array_equal(ECA(240).step(x, 150), x)
    assert np.array_equal(ECA(51).step(x), 1 - x)
    assert not ECA(0).step(x).any() and ECA(255).step(x).all()
    ones = ECA(184).run(x, 200).sum(axis=2)
    assert (ones == x.sum(axis=1)[:, None]).all()


@pytest.mark.parametrize("rule", [90, 150])
def test_additive_rules_superpose(rule):
    rng = np.random.default_rng(rule)
    a, b = rng.integers(0, 2, size=(2, 3, 97), dtype=np.uint8)
    eca = ECA(rule)
    assert np.array_equal(eca.run(a ^ b, 50), eca.run(a, 50) ^ eca.run(b, 50))


def test_rule_90_single_seed_is_gould_sequence():
    counts = ECA(90).run("single", 63, width=129).sum(axis=1)
    assert counts.tolist() == [2 ** bin(t).count("1") for t in range(64)]


def test_window_stride_crop_and_packed_agree_with_full_run():
    eca = ECA(110)
    full = eca.run("random", 60, width=200, count=3, seed=4)
    part = eca.run("random", 8, width=200, count=3, seed=4, stride=5, t0=13, crop=(37, 171))
    assert np.array_equal(part, full[:, 13:54:5, 37:171])
    packed = eca.run(
        "random", 8, width=200, count=3, seed=4, stride=5, t0=13, crop=(37, 171), packed=True
    )
    assert packed.dtype == np.uint64 and packed.shape == (3, 9, 3)
    bits = np.unpackbits(packed.view(np.uint8), axis=-1, bitorder="little")[..., :134]
    assert np.array_equal(bits, part)


def test_random_init_is_seeded_and_per_trajectory():
    eca = ECA(30)
    batch = eca.run("random", 3, width=300, count=4, seed=11)
    assert np.array_equal(batch, eca.run("random", 3, width=300, count=4, seed=11))
    assert not np.array_equal(batch, eca.run("random", 3, width=300, count=4, seed=12))
    assert np.array_equal(batch[0], eca.run("random", 3, width=300, seed=11))
    dense = eca.run("random", 0, width=20000, density=0.2, seed=1)
    assert abs(dense.mean() - 0.2) < 5 * (0.2 * 0.8 / 20000) ** 0.5
    assert ECA(30).run("single", 0, width=9)[0].tolist() == [0, 0, 0, 0, 1, 0, 0, 0, 0]


def test_threads_do_not_change_results():
    one = ECA(54, threads=1).run("random", 40, width=333, count=9, seed=2)
    two = ECA(54, threads=2).run("random", 40, width=333, count=9, seed=2)
    assert np.array_equal(one, two)


# --- rule metadata ---------------------------------------------------------------------------


def _table(rule: int) -> list[int]:
    return [(rule >> k) & 1 for k in range(8)]


def _from_table(bits: list[int]) -> int:
    return sum(b << k for k, b in enumerate(bits))


def test_88_classes_by_brute_force():
    def reflect(r):
        t = _table(r)
        return _from_table([t[4 * (k & 1) + (k & 2) + (k >> 2)] for k in range(8)])

    def complement(r):
        t = _table(r)
        return _from_table([1 - t[7 - k] for k in range(8)])

    classes = {
        frozenset({r, reflect(r), complement(r), reflect(complement(r))}) for r in range(256)
    }
    assert len(classes) == 88
    assert representatives() == sorted(min(c) for c in classes)
    for r in range(256):
        info = rule_info(r)
        assert info.reflected == reflect(r) and info.complemented == complement(r)
        assert info.langton_lambda == sum(_table(r)) / 8


def test_reflection_and_complement_act_on_trajectories():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 2, size=80, dtype=np.uint8)
    for rule in (30, 110, 45):
        info = rule_info(rule)
        base = ECA(rule).run(x, 20)
        assert np.array_equal(ECA(info.reflected).run(x[::-1], 20), base[:, ::-1])
        assert np.array_equal(ECA(info.complemented).run(1 - x, 20), 1 - base)


def test_wolfram_class_table_and_override():
    counts = np.bincount([wolfram_class(r) for r in range(256)], minlength=5)
    assert counts[1:].tolist() == [24, 192, 26, 14]
    assert wolfram_class(110) == 4 and wolfram_class(137) == 4 and wolfram_class(30) == 3
    assert wolfram_class(110, {110: 3}) == 3
    with pytest.raises(ValueError, match="not in `table`"):
        wolfram_class(30, {110: 4})
    assert "Wolfram" in kleene.cellular.WOLFRAM_CLASS_SOURCE


# --- Life ------------------------------------------------------------------------------------


def test_glider_moves_one_cell_diagonally_every_four_generations():
    n = 12
    glider = pattern("glider", (n, n), offset=(0, 0))
    frames = Life().run(glider, 4 * n)
    assert np.array_equal(frames[4], np.roll(glider, (1, 1), axis=(0, 1)))
    assert np.array_equal(frames[4 * n], glider)
    assert all(not np.array_equal(frames[t], glider) for t in range(1, 4 * n))


def test_oscillators_and_still_lifes():
    life = Life(boundary="dead")
    blinker = pattern("blinker", (5, 5), offset=(2, 1))
    frames = life.run(blinker, 4)
    assert np.array_equal(frames[1], blinker.T) and np.array_equal(frames[2], blinker)
    for still in ("block", "beehive"):
        grid = pattern(still, (6, 6))
        assert np.array_equal(life.step(grid, 7), grid)


def test_gosper_gun_emits_a_glider_every_30_generations():
    gun = pattern("gosper_gun", (80, 80), offset=(2, 2))
    pops = Life(boundary="dead").run(gun, 4, stride=30).sum(axis=(1, 2))
    assert pops.tolist() == [36, 41, 46, 51, 56]


@pytest.mark.parametrize(
    "shape", [(1, 1), (2, 3), (1, 130), (2, 70), (4, 7), (9, 64), (6, 65), (5, 130), (32, 32)]
)
@pytest.mark.parametrize("boundary", ["torus", "dead"])
def test_life_matches_naive_reference_on_random_rules(shape, boundary):
    rng = np.random.default_rng(sum(shape) + len(boundary))
    for case in range(3):
        birth = {3} if case == 0 else set(np.flatnonzero(rng.integers(0, 2, 9)).tolist())
        survive = {2, 3} if case == 0 else set(np.flatnonzero(rng.integers(0, 2, 9)).tolist())
        rule = "B" + "".join(map(str, sorted(birth))) + "/S" + "".join(map(str, sorted(survive)))
        grid = rng.integers(0, 2, size=shape, dtype=np.uint8)
        frames = Life(rule, boundary).run(grid, 4)
        for t in range(5):
            assert np.array_equal(frames[t], grid), (rule, t)
            grid = life_step_ref(grid, birth, survive, boundary == "torus")


def test_life_batches_soups_and_pairs():
    grids = kleene.cellular.soup((16, 20), 0.3, seed=3, count=5)
    assert grids.shape == (5, 16, 20)
    assert np.array_equal(grids[2], kleene.cellular.soup((16, 20), 0.3, seed=3, count=5)[2])
    life = Life("B36/S23")
    frames = life.run(grids, 3, stride=2)
    for b in range(5):
        assert np.array_equal(frames[b], life.run(grids[b], 6)[::2])
    x, y = life.pairs(grids, k=3, warmup=2)
    assert np.array_equal(x, frames[:, 1]) and np.array_equal(life.step(x, 3), y)


def test_life_threads_do_not_change_results():
    grids = kleene.cellular.soup((20, 70), 0.4, seed=8, count=7)
    one = Life("B36/S23", threads=1).run(grids, 9)
    assert np.array_equal(one, Life("B36/S23", threads=2).run(grids, 9))


def test_rule_strings():
    assert Life("b3s23").rule == "B3/S23" and Life("23/3").rule == "B3/S23"
    assert Life("B36/S23").rule == "B36/S23"
    for bad in ("B9/S23", "B3", "hello", "B33/S23", ""):
        with pytest.raises(ValueError, match="rule"):
            Life(bad)


# --- bad input -------------------------------------------------------------------------------


def test_bad_input_raises_clear_errors(monkeypatch):
    with pytest.raises(ValueError, match="rule"):
        ECA(256)
    with pytest.raises(TypeError, match="rule"):
        ECA(1.5)
    with pytest.raises(ValueError, match="boundary"):
        ECA(30, "torus")
    with pytest.raises(ValueError, match="width"):
        ECA(30).run("random", 3, width=0)
    with pytest.raises(ValueError, match="width"):
        ECA(30).run("random", 3)
    with pytest.raises(ValueError, match="init"):
        ECA(30).run(np.zeros(0, np.uint8), 3)
    with pytest.raises(ValueError, match="0 and 1"):
        ECA(30).run([0, 2, 1], 3)
    with pytest.raises(ValueError, match="crop"):
        ECA(30).run([0, 1, 1], 3, crop=(2, 5))
    with pytest.raises(ValueError, match="density"):
        ECA(30).run("random", 3, width=5, density=1.5)
    with pytest.raises(ValueError, match="grid"):
        Life().run(np.zeros((0, 4), np.uint8), 2)
    monkeypatch.setenv("KLEENE_MAX_BYTES", "1000000")
    with pytest.raises(ValueError, match="too large"):
        ECA(30).run("random", 10**6, width=1000)
    with pytest.raises(ValueError, match="too large"):
        Life().run(np.zeros((100, 100), np.uint8), 200)
