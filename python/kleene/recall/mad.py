"""MAD's in-context recall, noisy recall, compression and memorization
(``rust/core/src/recall/mad.rs``)."""

from __future__ import annotations

import functools

import numpy as np

from .. import _core
from ..batch import Vocabulary
from ..tasks import ANSWERS, DTYPE, TARGETS, Param, in_range, item_label, register
from ._task import MAX_LENGTH, MAX_VOCAB, RecallTask, frac_noise_param, noise_vocab_param, numbered


class _MadRecall(RecallTask):
    _core_name = "in_context_recall"
    label_specs = (TARGETS,)

    @property
    def n_ordinary(self) -> int:
        """Key and value tokens ``N``: keys ``[0, N/2)``, values ``[N/2, N)``."""
        p = self._params
        return p["vocab_size"] - (0 if p["multi_query"] else 1) - p["noise_vocab_size"]

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        return numbered(v) if self._params["multi_query"] else numbered(v, copy=v - 1)


def _recall_params(vocab: int, noise: int, frac: float) -> tuple[Param, ...]:
    return (
        Param("vocab_size", vocab, "vocabulary size V", int, in_range(2, MAX_VOCAB)),
        Param(
            "length",
            128,
            "MAD's sequence length L (even)",
            int,
            in_range(4, MAX_LENGTH),
            former="seq_len",
        ),
        Param("multi_query", True, "label every repeated key (MAD's benchmark setting)", bool),
        noise_vocab_param(noise),
        frac_noise_param(frac),
        Param(
            "targets",
            "next_token",
            "next_token (MAD's training targets) or recall (MAD's test targets)",
            str,
            choices=("next_token", "recall"),
            affects_data=False,
        ),
        DTYPE,
    )


@register
class InContextRecall(_MadRecall):
    """MAD's in-context recall (``generate_in_context_recall_instance``).

    Vocabulary: ``N = V - noise`` ordinary tokens (``V - 1 - noise`` single-query, where
    ``V - 1`` is the copy prefix); keys ``[0, N/2)``, values ``[N/2, N)``, noise
    ``[N, N + noise)``. A row is ``L/2 - 1`` slots, each (w.p. ``frac_noise``, one slot exempt)
    two uniform noise tokens or a uniform key followed by its value (bound on first sight to a
    uniform value; keys may share values), then (single-query: the copy prefix) a probe key
    drawn uniformly from the keys shown, and its value. The raw sequence is shifted: tokens
    ``[B, T]`` with ``T = L`` single-query, ``T = L - 1`` multi-query (MAD's layout).

    Labels: ``targets="next_token"``: the next token everywhere (MAD's training targets; first
    occurrences are unpredictable, so a perfect model stays below 100 %);
    ``targets="recall"``: ``-100`` except the value after a key seen before (multi-query) and
    the probe's value (MAD's test targets), where a perfect model scores 100 %.

    Deviation: MAD draws the noise-exempt slot from ``[0, L/2)``, which misses the loop when it
    is ``L/2 - 1`` and can leave no key to probe; it is drawn from ``[0, L/2 - 1)`` here.
    """

    name = "in_context_recall"
    params = _recall_params(16, 0, 0.0)


@register
class NoisyInContextRecall(_MadRecall):
    """MAD's noisy in-context recall: :class:`InContextRecall` with MAD's noisy defaults
    (``V = 32``, 16 noise tokens, ``frac_noise = 0.2``: keys 0-7, values 8-15, noise 16-31)."""

    name = "noisy_in_context_recall"
    params = _recall_params(32, 16, 0.2)


@register
class Compression(RecallTask):
    """MAD's compression: ``L - 1`` uniform tokens from ``[0, V - 1 - noise)`` (each replaced
    by a uniform noise token ``[V - 1 - noise, V - 1)`` w.p. ``frac_noise``), then the
    compression token ``V - 1``. Label ``reconstruction [B, L]`` = the tokens themselves: MAD's
    autoencoding target, a per-item sequence decoded from the last position's encoding (not a
    per-position target); a perfect model reconstructs all ``L``."""

    name = "compression"
    label_specs = (
        item_label("reconstruction", "the whole sequence, decoded from the last position"),
    )
    _core_name = "compression"
    params = (
        Param("vocab_size", 16, "vocabulary size V", int, in_range(3, MAX_VOCAB)),
        Param("length", 32, "sequence length L", int, in_range(2, MAX_LENGTH), former="seq_len"),
        noise_vocab_param(0),
        frac_noise_param(0.0),
        DTYPE,
    )

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        return numbered(v, compress=v - 1)

    def _labels(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"reconstruction": out["labels"]}


@register
class Memorization(RecallTask):
    """MAD's memorization: a fixed map (seeded by ``map_seed`` only, shared by every stream and
    split) from keys ``[0, N/2)`` to distinct values in ``[N/2, N)``, ``N = V - 1 - noise``.

    A row of length ``L`` is ``L/2`` slots: a uniform key and the insert token ``V - 1``
    (label: the key's value; the key's label is ``-100``), or w.p. ``frac_noise`` two noise
    tokens ``[N, N + noise)`` (unlabelled). No shift. A model that has memorised the map scores
    100 %; :meth:`kv_map` returns it.
    """

    name = "memorization"
    label_specs = (ANSWERS,)
    _core_name = "memorization"
    params = (
        Param("vocab_size", 256, "vocabulary size V", int, in_range(3, MAX_VOCAB)),
        Param(
            "length", 32, "sequence length L (even)", int, in_range(2, MAX_LENGTH), former="seq_len"
        ),
        noise_vocab_param(0),
        frac_noise_param(0.0),
        Param("map_seed", 12345, "seed of the fixed key-value map", int, in_range(0, 2**64 - 1)),
        DTYPE,
    )

    def kv_map(self) -> np.ndarray:
        """The value of each key, ``[N/2]`` (int64)."""
        return _core.recall_memorization_map(self._core_params)

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        return numbered(v, insert=v - 1)
