"""Markov-chain sequences for in-context learning (task ``markov``).

After "From Markov to Laplace" (Bond1995/Markov-Mamba): every sequence has its own order-``k``
chain over ``V`` symbols whose transition rows are drawn from Dirichlet(``alpha``); the first
``k`` symbols are uniform. Alternatives: a fixed chain (``transition``), or a fresh chain every
``switch_every`` positions (the paper's "jump-markov" is ``switch_every = length // 2``).

Labels (float32 ``[B, T, V]``, output-aligned like every kleene label: position ``t`` is the
distribution of ``tokens[:, t + 1]`` given ``tokens[:, :t + 1]``, so ``logits = model(tokens)``
compares with them position by position):

- ``bayes``: the Bayes-optimal predictive distribution. For Dirichlet rows it is the add-alpha
  rule ``(n[ctx, j] + alpha) / (n[ctx] + V * alpha)`` with counts of the transitions seen so
  far in the current chain's segment; for a fixed chain it is the chain itself. Uniform while
  the next symbol is one of the first ``k``.
- ``true_probs``: the row of the chain that generates the next symbol.

The last position holds the distribution of the token that would follow the sequence (a chain
that would start there is drawn for it), so no position is left undefined.
:func:`bayes_loss` gives the optimal per-position cross-entropy.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from . import _core
from .batch import Batch, Vocabulary
from .tasks import DTYPE, Label, Param, Task, in_range, register

MAX_LENGTH = 1 << 24
"""Longest sequence the sampler accepts."""

LABEL_NAMES = ("bayes", "true_probs")


def _labels_check(value: str) -> str | None:
    parts = [p for p in value.split(",") if p]
    bad = [p for p in parts if p not in LABEL_NAMES]
    return f"lists unknown labels {bad}; choose from {list(LABEL_NAMES)}" if bad else None


def _transition_check(value: list) -> str | None:
    ok = all(isinstance(r, (list, tuple)) for r in value)
    return None if ok and value else "must be a non-empty list of rows (lists of floats)"


@register
class Markov(Task):
    """Order-k Markov chains with Dirichlet(alpha) rows per sequence (Markov ICL)."""

    name = "markov"
    label_specs = (
        Label("bayes", "next", "distribution", "Bayes-optimal predictive of tokens[:, t+1]"),
        Label("true_probs", "next", "distribution", "the chain's row that draws tokens[:, t+1]"),
    )
    params = (
        Param("vocab_size", 2, "number of symbols V", int, in_range(2, 1 << 16)),
        Param("order", 1, "order k of the chain (context length)", int, in_range(0, 64)),
        Param("length", 256, f"sequence length T (1..{MAX_LENGTH})", int, in_range(1, MAX_LENGTH)),
        Param(
            "alpha",
            1.0,
            "Dirichlet concentration of each row (1 = Laplace)",
            float,
            in_range(1e-3, 1e6),
        ),
        Param(
            "switch_every",
            0,
            "draw a new chain every this many positions (0: never)",
            int,
            in_range(0, MAX_LENGTH),
        ),
        Param(
            "transition",
            None,
            "fixed chain as V^k rows of V probabilities (None: Dirichlet)",
            (list, tuple),
            _transition_check,
        ),
        Param(
            "labels",
            "bayes,true_probs",
            "comma-separated labels to return",
            str,
            _labels_check,
            affects_data=False,
        ),
        DTYPE,
    )

    @functools.cached_property
    def _core_config(self) -> dict[str, Any]:
        p = self._params
        flat = None
        if p["transition"] is not None:
            flat = [float(x) for row in p["transition"] for x in row]
        return dict(
            vocab_size=p["vocab_size"],
            order=p["order"],
            length=p["length"],
            alpha=p["alpha"],
            switch_every=p["switch_every"],
            transition=flat,
        )

    def _check(self) -> None:
        transition = self._params["transition"]
        if transition is not None:
            self._params["transition"] = [[float(x) for x in row] for row in transition]
        _core.markov_validate(**self._core_config)

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        return Vocabulary(tuple(str(i) for i in range(v)), joiner="" if v <= 10 else " ")

    @functools.cached_property
    def _wanted_labels(self) -> dict[str, bool]:
        wanted = set(filter(None, self._params["labels"].split(",")))
        return {name: name in wanted for name in LABEL_NAMES}

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        out = _core.markov_generate(
            **self._core_config,
            seed=seed,
            salt=self.stream_salt,
            start=start,
            count=count,
            **self._wanted_labels,
            dtype=self._params["dtype"],
            threads=threads,
        )
        tokens = out.pop("tokens")
        return self._batch(tokens, start, out)


def bayes_loss(batch: Batch) -> np.ndarray:
    """Per-position cross-entropy (nats) of the Bayes-optimal predictor, ``[B, T - 1]``.

    Entry ``t`` is ``-log bayes[:, t, tokens[:, t + 1]]``: the loss at output position ``t``
    (position ``T - 1`` predicts a token the batch does not hold). The mean of this array is
    the loss a perfect model reaches.
    """
    if "bayes" not in batch.labels:
        raise ValueError("the batch has no `bayes` label; generate it with labels='bayes'")
    nxt = batch.tokens[:, 1:, None].astype(np.intp)
    probs = np.take_along_axis(batch.labels["bayes"][:, :-1], nxt, -1)
    return -np.log(probs[..., 0].astype(np.float64))
