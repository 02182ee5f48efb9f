"""Random binary sequences (``rust/core/src/recall/binary.rs``)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..batch import Batch, Vocabulary
from ..tasks import DTYPE, Label, Param, in_range, register
from ._task import RecallTask, length_param


def _patterns_check(value: Any) -> str | None:
    ok = all(isinstance(s, str) and s and set(s) <= {"0", "1"} for s in value)
    return None if ok else "must be a list of non-empty strings of 0 and 1"


@register
class BinarySequences(RecallTask):
    """Random binary sequences (Bigelow et al., "In-Context Learning Dynamics with Random
    Binary Sequences"): Bernoulli coin flips or repeats of a periodic concept.

    ``kind="bernoulli"``: i.i.d. flips with ``P(1) = p`` (``random_p``: ``p ~ U(0, 1)`` per
    sequence). ``kind="periodic"``: a concept drawn uniformly from ``patterns`` (e.g.
    ``["001", "101", "100", "110"]``; with ``random_phase`` a uniform phase), or, when
    ``patterns`` is None, a uniform pattern of length ``period``; repeated over ``length``.

    Tokens ``[B, T]`` (0/1). Label ``p_one [B, T]`` (float32, output-aligned): the
    Bayes-optimal probability that token ``t + 1`` is 1 given tokens ``..=t`` (fixed ``p``:
    ``p``; random ``p``: Laplace's rule; periodic: the share of consistent concepts and phases
    continuing with 1); the last position predicts the token after the sequence.
    :func:`bayes_accuracy` gives the expected next-token accuracy of a perfect model.
    """

    name = "binary_sequences"
    label_specs = (
        Label("p_one", "next", "probability", "Bayes-optimal P(tokens[:, t+1] = 1 | ..t)"),
    )
    _core_name = "binary_sequences"
    params = (
        Param("kind", "bernoulli", "bernoulli or periodic", str, choices=("bernoulli", "periodic")),
        length_param(40, "sequence length T"),
        Param("p", 0.5, "P(1) of the Bernoulli flips", float, in_range(0.0, 1.0)),
        Param("random_p", False, "draw p ~ U(0, 1) per sequence", bool),
        Param("patterns", None, "periodic concepts as 0/1 strings", (list, tuple), _patterns_check),
        Param("period", 3, "length of a uniformly random pattern (when patterns is None)", int),
        Param("random_phase", False, "start each periodic sequence at a uniform phase", bool),
        DTYPE,
    )

    def _check(self) -> None:
        if self._params["patterns"] is not None:
            self._params["patterns"] = list(self._params["patterns"])
        super()._check()

    @functools.cached_property
    def _core_params(self) -> dict[str, Any]:
        p = dict(self._params)
        p.pop("dtype")
        p["p"] = -1.0 if p.pop("random_p") else p["p"]
        p["patterns"] = list(p["patterns"] or [])
        return p

    @property
    def vocab(self) -> Vocabulary:
        return Vocabulary(("0", "1"), joiner="")

    def _labels(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"p_one": out["reals"]}


def bayes_accuracy(batch: Batch) -> float:
    """Expected next-token accuracy of the Bayes-optimal predictor on a ``binary_sequences``
    batch: the mean of ``max(p_one, 1 - p_one)`` over positions ``0 .. T - 2`` (those whose
    next token is in the batch)."""
    p = batch.labels["p_one"][:, :-1].astype(np.float64)
    return float(np.maximum(p, 1 - p).mean())
