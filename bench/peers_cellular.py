"""Peer implementations of cellular automata, for the benchmarks only (written for this
benchmark after the procedures described in the reference: numpy ``roll`` vectorisation,
LifeGPT's per-cell toroidal ``update_grid`` loop, cellpylib's ``evolve`` / ``evolve2d``)."""

from __future__ import annotations

import numpy as np


def numpy_eca(rule: int, init: np.ndarray, steps: int) -> np.ndarray:
    """Periodic ECA with ``np.roll`` and a rule lookup table: uint8 ``[steps + 1, W]``."""
    table = np.array([(rule >> k) & 1 for k in range(8)], dtype=np.uint8)
    out = np.empty((steps + 1, init.shape[-1]), dtype=np.uint8)
    out[0] = x = init
    for t in range(1, steps + 1):
        x = table[4 * np.roll(x, 1) + 2 * x + np.roll(x, -1)]
        out[t] = x
    return out


def numpy_life(grids: np.ndarray, steps: int) -> np.ndarray:
    """B3/S23 on a torus for grids ``[B, H, W]`` with eight ``np.roll`` calls per generation;
    returns the last generation."""
    x = grids.astype(np.uint8)
    for _ in range(steps):
        n = sum(
            np.roll(x, (dy, dx), axis=(-2, -1))
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if dy or dx
        )
        x = ((n == 3) | ((x == 1) & (n == 2))).astype(np.uint8)
    return x


def lifegpt_update(grid: list[list[int]]) -> list[list[int]]:
    """One toroidal B3/S23 generation with pure-Python loops over cells (LifeGPT style)."""
    n = len(grid)
    new = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            total = 0
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    if di or dj:
                        total += grid[(i + di) % n][(j + dj) % n]
            if grid[i][j] == 1:
                new[i][j] = 1 if total in (2, 3) else 0
            else:
                new[i][j] = 1 if total == 3 else 0
    return new


def cellpylib_eca(rule: int, init: np.ndarray, steps: int) -> np.ndarray:
    """cellpylib's ``evolve`` with ``nks_rule`` (``timesteps`` counts the initial row)."""
    import cellpylib as cpl

    return cpl.evolve(
        init[None, :].astype(int),
        timesteps=steps + 1,
        apply_rule=lambda n, c, t: cpl.nks_rule(n, rule),
    )


def cellpylib_life(grid: np.ndarray, steps: int) -> np.ndarray:
    """cellpylib's ``evolve2d`` with its Game-of-Life rule (Moore neighbourhood, torus)."""
    import cellpylib as cpl

    return cpl.evolve2d(
        grid[None].astype(int),
        timesteps=steps + 1,
        neighbourhood="Moore",
        apply_rule=cpl.game_of_life_rule,
    )
