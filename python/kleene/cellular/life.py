"""Life-like 2D cellular automata (``kleene.Life``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from ._checks import binary_cells, check_choice, check_int, check_prob

LIFE_BOUNDARIES = ("torus", "dead")
"""Boundary conventions: opposite edges glued, or dead cells all around."""

MAX_SIDE = 1 << 20


class Life:
    """A Life-like automaton (two states, Moore neighbourhood, B/S rule), bit-parallel in Rust.

    Args:
        rule: B/S notation, e.g. ``"B3/S23"`` (Conway, default), ``"B36/S23"`` (HighLife);
            case and the slash are optional, and the older ``"23/3"`` (S/B) form is accepted.
        boundary: ``"torus"`` (default) or ``"dead"``.
        threads: worker threads for batches.

    Example:
        >>> blinker = np.zeros((5, 5), np.uint8); blinker[2, 1:4] = 1
        >>> frames = Life().run(blinker, 2)
        >>> frames.shape, bool((frames[2] == blinker).all()), bool((frames[1] == blinker.T).all())
        ((3, 5, 5), True, True)
    """

    def __init__(
        self, rule: str = "B3/S23", boundary: str = "torus", *, threads: int | None = None
    ):
        if not isinstance(rule, str):
            raise TypeError(f"`rule` must be a string like 'B3/S23', got {type(rule).__name__}")
        self.rule = _core.life_rule_notation(rule)
        self.boundary = check_choice("boundary", boundary, LIFE_BOUNDARIES)
        self.threads = None if threads is None else check_int("threads", threads, 1, 4096)

    def __repr__(self) -> str:
        return f"Life({self.rule!r}, boundary={self.boundary!r})"

    def run(self, grid: Any, steps: int, *, stride: int = 1) -> np.ndarray:
        """Evolves one grid ``[H, W]`` or a batch ``[B, H, W]`` (0/1 cells).

        Returns:
            uint8 ``[steps + 1, H, W]`` (or ``[B, steps + 1, H, W]``): generations
            ``0, stride, ..., steps * stride``.
        """
        cells = binary_cells("grid", grid, (2, 3))
        squeeze = cells.ndim == 2
        cells = cells.reshape(-1, *cells.shape[-2:])
        if max(cells.shape[1:]) > MAX_SIDE:
            raise ValueError(f"`grid` sides must be at most {MAX_SIDE}, got {cells.shape[1:]}")
        out = _core.life_run(
            rule=self.rule,
            boundary=self.boundary,
            grids=cells,
            steps=check_int("steps", steps, 0, 1 << 40),
            stride=check_int("stride", stride, 1, 1 << 40),
            threads=self.threads,
        )
        return out[0] if squeeze else out

    def step(self, grid: Any, generations: int = 1) -> np.ndarray:
        """The grid(s) after ``generations`` generations (same shape as ``grid``)."""
        generations = check_int("generations", generations, 0, 1 << 40)
        out = self.run(grid, 1, stride=max(generations, 1))
        return out[..., 1 if generations else 0, :, :]

    def pairs(self, grids: Any, k: int = 1, *, warmup: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(x_t, x_{t+k})`` for each grid of ``grids`` ``[B, H, W]`` after ``warmup``
        generations: two uint8 arrays ``[B, H, W]``."""
        k = check_int("k", k, 1, 1 << 40)
        start = self.step(grids, warmup)
        return start, self.step(start, k)


def soup(
    shape: tuple[int, int],
    density: float = 0.5,
    *,
    seed: int = 0,
    count: int | None = None,
) -> np.ndarray:
    """Random grids: each cell alive with probability ``density``; grid ``i`` is a pure
    function of ``(seed, i)``.

    Returns:
        uint8 ``[H, W]`` (``count`` None) or ``[count, H, W]``.
    """
    try:
        h, w = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise TypeError(f"`shape` must be an (height, width) pair, got {shape!r}") from None
    n = 1 if count is None else check_int("count", count, 0, 1 << 40)
    out = _core.life_soup(
        count=n,
        height=check_int("height", h, 1, MAX_SIDE),
        width=check_int("width", w, 1, MAX_SIDE),
        density=check_prob("density", density),
        seed=check_int("seed", seed, 0, 2**64 - 1),
    )
    return out[0] if count is None else out
