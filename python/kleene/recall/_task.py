"""What every recall-family task shares: limits, parameter builders, vocabularies and the
declaration base class (the core side is ``rust/core/src/recall/mod.rs``)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import _core
from ..batch import Batch, Vocabulary
from ..tasks import Param, Task, at_least, in_range

MAX_LENGTH = 1 << 24
"""Longest sequence the samplers accept."""

MAX_VOCAB = 1 << 20
"""Largest vocabulary of the token tasks (every id has a string for decoding)."""


def length_param(default: int, doc: str, former: str | None = None) -> Param:
    return Param("length", default, doc, int, in_range(1, MAX_LENGTH), former=former)


def frac_noise_param(default: float) -> Param:
    return Param(
        "frac_noise",
        default,
        "probability that a slot holds noise tokens",
        float,
        lambda v: None if 0 <= v < 1 else "must be in [0, 1)",
    )


def noise_vocab_param(default: int) -> Param:
    return Param("noise_vocab_size", default, "number of noise tokens", int, at_least(0))


def numbered(v: int, **special: int) -> Vocabulary:
    names = {i: name for name, i in special.items()}
    tokens = tuple(f"<{names[i]}>" if i in names else str(i) for i in range(v))
    return Vocabulary(tokens, pad_id=special.get("pad"), joiner=" ")


class RecallTask(Task):
    """Shared plumbing: parameters go to ``_core.RecallSampler`` under ``_core_name``."""

    _core_name = ""

    @functools.cached_property
    def _core_params(self) -> dict[str, Any]:
        return {k: v for k, v in self._params.items() if k != "dtype"}

    @functools.cached_property
    def _sampler(self) -> _core.RecallSampler:
        return _core.RecallSampler(self._core_name, self._core_params)

    def _check(self) -> None:
        vocab_size = self._sampler.vocab_size
        dtype = self._params["dtype"]
        if vocab_size - 1 > np.iinfo(dtype).max:
            raise ValueError(
                f"parameter `dtype` {dtype!r} cannot hold token ids up to {vocab_size - 1}"
            )

    def _labels(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"targets": out["labels"]}

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        out = self._rows(self._sampler, count, seed, start, threads)
        tokens = out.pop("tokens")
        return self._batch(tokens, start, self._labels(out))
