"""Registered tasks ``eca`` (Intelligence at the Edge of Chaos) and ``life`` (LifeGPT).

``eca``: each item is a window of ``seq_length`` rows (every ``stride``-th generation) and
``sample_width`` columns of an elementary CA of width ``width`` started from Bernoulli(
``density``) cells, cut at a random time ``t0`` in ``[0, horizon - (seq_length - 1) * stride]``
and a random column. Items share ``trajectories`` trajectories (the paper's setting: one
trajectory per rule, crops of it; 0 = a fresh trajectory per item). ``split="train"`` /
``"test"`` keeps windows inside the first ``train_fraction`` of the generations
``0..horizon`` / the rest (the paper's 90/10 split along time), from the same trajectories.
Tokens are the window's cells flattened row by row (``[B, seq_length * sample_width]``,
vocabulary ``0`` ``1``); labels: ``states`` ``[B, seq_length, sample_width]`` uint8 (the
paper's 100-bit vectors per time step), and ``t0``, ``col0``, ``trajectory`` ``[B]``.

``life``: a ``size x size`` grid (torus by default) of Bernoulli(d) cells, d uniform in
``[density_low, density_high]`` per item (LifeGPT's "broad entropy" sweep is 0..1; "high
entropy" is 0.5..0.5), advanced ``warmup`` generations (the input) and ``horizon`` more (the
target). ``format="bytes"``: LifeGPT's text ``@PredictNextState<input bits> [target bits]$``
as byte tokens (vocabulary of 256 bytes, 2071 tokens for 32x32); ``format="grid"``: input cells,
a separator ``>`` and target cells (vocabulary ``0`` ``1`` ``>``). Labels: ``input``, ``target``
``[B, size, size]`` uint8, ``density`` ``[B]``, and ``targets`` ``[B, T]`` (output-aligned:
``targets[:, t]`` is ``tokens[:, t + 1]`` where that token is a target cell or text after the
input, ``-100`` elsewhere; formerly ``lm_labels``, one position later).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from ..batch import IGNORE_INDEX, Batch, Vocabulary
from ..tasks import DTYPE, TARGETS, Param, Task, in_range, item_label, register
from .eca import BOUNDARIES
from .life import LIFE_BOUNDARIES

MAX_CELLS = 1 << 24


@register
class EcaTask(Task):
    """Windows of elementary-CA trajectories in the format of "Intelligence at the Edge of
    Chaos" (see the module docstring)."""

    name = "eca"
    label_specs = (
        item_label("states", "the window's rows [B, seq_length, sample_width]"),
        item_label("t0", "the window's first generation"),
        item_label("col0", "the window's first column"),
        item_label("trajectory", "which trajectory the window comes from"),
    )
    params = (
        Param("rule", 110, "Wolfram code 0..255", int, in_range(0, 255)),
        Param("width", 1000, "width of the simulated row", int, in_range(1, MAX_CELLS)),
        Param("boundary", "periodic", "row boundary", str, choices=BOUNDARIES),
        Param("density", 0.5, "live-cell probability of the initial row", float, in_range(0, 1)),
        Param("stride", 1, "keep every k-th generation (the paper's k)", int, in_range(1, 1 << 16)),
        Param("seq_length", 60, "time steps per sample", int, in_range(1, 1 << 16)),
        Param(
            "sample_width", 100, "columns per sample (spatial crop)", int, in_range(1, MAX_CELLS)
        ),
        Param("horizon", 1000, "last generation a window may reach", int, in_range(0, 1 << 24)),
        Param(
            "trajectories", 1, "distinct trajectories (0: one per item)", int, in_range(0, 1 << 32)
        ),
        # The split chooses windows of the same trajectories (the stream key ignores it).
        Param(
            "split",
            "all",
            "time range: all, train (first part) or test (the rest)",
            str,
            choices=("all", "train", "test"),
            affects_data=False,
        ),
        Param(
            "train_fraction",
            0.9,
            "fraction of generations in the train split",
            float,
            in_range(0, 1),
            affects_data=False,
        ),
        DTYPE,
    )

    def _core_args(self) -> dict[str, Any]:
        return {k: v for k, v in self._params.items() if k != "dtype"}

    def _check(self) -> None:
        _core.eca_task_generate(**self._core_args(), seed=0, salt=0, start=0, count=0)

    @property
    def vocab(self) -> Vocabulary:
        return Vocabulary(("0", "1"))

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        out = _core.eca_task_generate(
            **self._core_args(),
            seed=seed,
            salt=self.stream_salt,
            start=start,
            count=count,
            threads=threads,
        )
        states = out.pop("cells")
        tokens = states.reshape(count, -1).astype(self._params["dtype"])
        return self._batch(tokens, start, {"states": states, **out})


PROMPT = b"@PredictNextState<"
MIDDLE = b"> ["
END = b"]$"
BYTE_VOCAB = Vocabulary(tuple(chr(i) for i in range(256)))
GRID_VOCAB = Vocabulary(("0", "1", ">"), sep_id=2)


def lifegpt_text(inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """LifeGPT's byte format ``@PredictNextState<x bits> [y bits]$`` for grids ``[B, N, N]``:
    uint8 ``[B, 23 + 2 N^2]`` (2071 for N = 32), cells as ASCII ``0``/``1`` row by row."""
    b = inputs.shape[0]
    parts = [
        np.broadcast_to(np.frombuffer(PROMPT, np.uint8), (b, len(PROMPT))),
        inputs.reshape(b, -1) + ord("0"),
        np.broadcast_to(np.frombuffer(MIDDLE, np.uint8), (b, len(MIDDLE))),
        targets.reshape(b, -1) + ord("0"),
        np.broadcast_to(np.frombuffer(END, np.uint8), (b, len(END))),
    ]
    return np.concatenate(parts, axis=1).astype(np.uint8)


@register
class LifeTask(Task):
    """(t, t + k) pairs of Life-like grids in LifeGPT's formats (see the module docstring)."""

    name = "life"
    label_specs = (
        item_label("input", "the input grid [B, size, size]"),
        item_label("target", "the grid `horizon` generations later [B, size, size]"),
        item_label("density", "the initial density"),
        TARGETS,
    )
    params = (
        Param("rule", "B3/S23", "Life-like rule in B/S notation", str),
        Param("size", 32, "grid side N", int, in_range(1, 4096)),
        Param("boundary", "torus", "grid boundary", str, choices=LIFE_BOUNDARIES),
        Param("density_low", 0.0, "lowest initial density", float, in_range(0, 1)),
        Param("density_high", 1.0, "highest initial density", float, in_range(0, 1)),
        Param("warmup", 0, "generations before the input", int, in_range(0, 1 << 20)),
        Param("horizon", 1, "generations from input to target (k)", int, in_range(1, 1 << 20)),
        Param(
            "format",
            "bytes",
            "bytes (LifeGPT text) or grid tokens",
            str,
            choices=("bytes", "grid"),
            affects_data=False,
        ),
        DTYPE,
    )

    def _core_args(self) -> dict[str, Any]:
        return {k: v for k, v in self._params.items() if k not in ("format", "dtype")}

    def _check(self) -> None:
        self._params["rule"] = _core.life_rule_notation(self._params["rule"])
        _core.life_task_generate(**self._core_args(), seed=0, salt=0, start=0, count=0)

    @property
    def vocab(self) -> Vocabulary:
        return BYTE_VOCAB if self._params["format"] == "bytes" else GRID_VOCAB

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        out = _core.life_task_generate(
            **self._core_args(),
            seed=seed,
            salt=self.stream_salt,
            start=start,
            count=count,
            threads=threads,
        )
        x, y = out["input"], out["target"]
        n2 = self._params["size"] ** 2
        if self._params["format"] == "bytes":
            tokens = lifegpt_text(x, y)
            prompt = len(PROMPT) + n2 + len(MIDDLE)
        else:
            sep = np.full((count, 1), GRID_VOCAB.sep_id, dtype=np.uint8)
            tokens = np.concatenate([x.reshape(count, -1), sep, y.reshape(count, -1)], axis=1)
            prompt = n2 + 1
        tokens = tokens.astype(self._params["dtype"])
        targets = np.full(tokens.shape, IGNORE_INDEX, dtype=np.int64)
        targets[:, prompt - 1 : -1] = tokens[:, prompt:]  # position t predicts token t + 1
        return self._batch(tokens, start, {**out, "targets": targets})
