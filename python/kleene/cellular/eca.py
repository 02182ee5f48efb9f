"""Elementary cellular automata (``kleene.ECA``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from ._checks import binary_cells, check_choice, check_int, check_prob
from .rules import RuleInfo, rule_info

BOUNDARIES = ("periodic", "fixed0", "fixed1", "reflective")
"""Boundary conventions: ring; dead cells outside; live cells outside; mirror at each edge
(cell ``-1`` is cell ``0`` and cell ``W`` is cell ``W - 1``)."""

MAX_WIDTH = 1 << 30


class ECA:
    """An elementary cellular automaton (Wolfram code ``rule``), bit-sliced in Rust.

    ``new[i] = (rule >> (4 * old[i-1] + 2 * old[i] + old[i+1])) & 1``.

    Args:
        rule: Wolfram code, 0..255.
        boundary: one of :data:`BOUNDARIES` (default ``"periodic"``).
        threads: worker threads for batches (default ``KLEENE_NUM_THREADS`` or all cores).

    Example:
        >>> ECA(170).run([1, 0, 0, 0, 1], steps=1)[1].tolist()  # 170 shifts left
        [0, 0, 0, 1, 1]
    """

    def __init__(self, rule: int, boundary: str = "periodic", *, threads: int | None = None):
        self.rule = check_int("rule", rule, 0, 255)
        self.boundary = check_choice("boundary", boundary, BOUNDARIES)
        self.threads = None if threads is None else check_int("threads", threads, 1, 4096)

    def __repr__(self) -> str:
        return f"ECA({self.rule}, boundary={self.boundary!r})"

    @property
    def info(self) -> RuleInfo:
        """Symmetry class, Langton's lambda and Wolfram class (see :func:`rule_info`)."""
        return rule_info(self.rule)

    def run(
        self,
        init: Any,
        steps: int,
        *,
        width: int | None = None,
        count: int | None = None,
        density: float = 0.5,
        seed: int = 0,
        stride: int = 1,
        t0: int = 0,
        crop: tuple[int, int] | None = None,
        packed: bool = False,
    ) -> np.ndarray:
        """Evolves one or many rows and returns the space-time diagram.

        Rows kept: generations ``t0 + j * stride`` for ``j = 0..steps``; columns ``crop``
        (``(start, stop)``, default all).

        Args:
            init: ``"single"`` (one live cell at ``width // 2``), ``"random"``
                (Bernoulli(``density``) cells, trajectory ``i`` keyed by ``(seed, i)``), or
                cells ``[W]`` / ``[B, W]`` (0/1).
            steps: rows after the first (output has ``steps + 1`` rows).
            width: row width, needed for ``"single"`` / ``"random"``.
            count: number of trajectories for ``"single"`` / ``"random"`` (default: one, and
                the batch dimension is dropped).
            density: live-cell probability for ``"random"``.
            seed: seed for ``"random"``.
            stride: keep every ``stride``-th generation.
            t0: first generation kept.
            crop: ``(start, stop)`` columns to keep.
            packed: return uint64 words (cell ``c`` is bit ``c % 64`` of word ``c // 64``)
                instead of one uint8 per cell.

        Returns:
            uint8 ``[steps + 1, cols]`` or ``[B, steps + 1, cols]`` (uint64 ``[..., ceil(cols /
            64)]`` when ``packed``).
        """
        steps = check_int("steps", steps, 0, 1 << 40)
        stride = check_int("stride", stride, 1, 1 << 40)
        t0 = check_int("t0", t0, 0, 1 << 40)
        seed = check_int("seed", seed, 0, 2**64 - 1)
        cells = None
        if isinstance(init, str):
            kind = check_choice("init", init, ("single", "random"))
            if width is None:
                raise ValueError(f"`width` is required with init={init!r}")
            width = check_int("width", width, 1, MAX_WIDTH)
            squeeze = count is None
            count = 1 if count is None else check_int("count", count, 0, 1 << 40)
        else:
            kind = "explicit"
            cells = binary_cells("init", init, (1, 2))
            squeeze = cells.ndim == 1
            cells = cells.reshape(-1, cells.shape[-1])
            count, width = cells.shape
        col0, cols = _crop(crop, width)
        out = _core.eca_run(
            rule=self.rule,
            boundary=self.boundary,
            init=kind,
            width=width,
            count=count,
            cells=cells,
            density=check_prob("density", density),
            seed=seed,
            steps=steps,
            stride=stride,
            t0=t0,
            col0=col0,
            cols=cols,
            packed=bool(packed),
            threads=self.threads,
        )
        return out[0] if squeeze else out

    def step(self, state: Any, generations: int = 1) -> np.ndarray:
        """The state(s) ``[W]`` or ``[B, W]`` after ``generations`` generations."""
        out = self.run(state, 0, t0=check_int("generations", generations, 0, 1 << 40))
        return out[..., 0, :]


def _crop(crop: tuple[int, int] | None, width: int) -> tuple[int, int]:
    if crop is None:
        return 0, width
    try:
        start, stop = (int(v) for v in crop)
    except (TypeError, ValueError):
        raise TypeError(f"`crop` must be a (start, stop) pair of ints, got {crop!r}") from None
    if not 0 <= start < stop <= width:
        raise ValueError(f"`crop` must satisfy 0 <= start < stop <= width ({width}), got {crop}")
    return start, stop - start
