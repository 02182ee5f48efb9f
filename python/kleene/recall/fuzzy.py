"""MAD's fuzzy in-context recall (``rust/core/src/recall/fuzzy.rs``)."""

from __future__ import annotations

import functools

from ..batch import Vocabulary
from ..tasks import DTYPE, TARGETS, Param, in_range, register
from ._task import RecallTask, frac_noise_param, noise_vocab_param, numbered


@register
class FuzzyInContextRecall(RecallTask):
    """MAD's fuzzy in-context recall: keys and values are ordered tuples of distinct tokens.

    Vocabulary: ``N`` ordinary tokens (``V - 1 - noise`` multi-query, ``V - 2 - noise``
    single-query), keys ``[0, N/2)``, values ``[N/2, N)``, noise ``[N, N + noise)``; the pad
    is ``V - 1`` (multi-query) or ``V - 2`` with the copy prefix ``V - 1`` (single-query).
    Key sizes are uniform in ``1..k_motif_size`` (always ``k_motif_size`` for
    ``split="test"``), value sizes uniform in ``1..v_motif_size``. A probe pair is inserted at
    the first pair boundary past a uniform offset in ``[0, L - 2|probe|)``; pairs (a tuple key
    bound on first sight to a uniform tuple value) or noise runs fill the row while it is
    shorter than ``L - |probe| - k_motif_size - v_motif_size``; then (single-query: the copy
    prefix) the probe key and value end the row, left-padded to ``L + 1`` and shifted, so
    tokens and labels are ``[B, L]``. Key and value alphabets are disjoint, so the stream
    parses unambiguously.

    Labels: ``split="train"``: every next token (pads included, as MAD); ``split="test"``:
    ``-100`` except the value tokens of repeated keys (multi-query) and the final probe's
    value. As in MAD, when the offset lies past the last pair boundary the probe is shown only
    at the end (its value is then not recallable), so a perfect model scores slightly below
    100 % on test targets.
    """

    name = "fuzzy_in_context_recall"
    label_specs = (TARGETS,)
    _core_name = "fuzzy_in_context_recall"
    params = (
        Param("vocab_size", 16, "vocabulary size V", int, in_range(3, 1 << 15)),
        Param("length", 128, "sequence length L", int, in_range(6, 1 << 20), former="seq_len"),
        Param("k_motif_size", 3, "largest key tuple", int, in_range(1, 4)),
        Param("v_motif_size", 3, "largest value tuple", int, in_range(1, 4)),
        Param("multi_query", True, "label every repeated key (MAD's benchmark setting)", bool),
        noise_vocab_param(0),
        frac_noise_param(0.0),
        Param("split", "train", "MAD's is_training", str, choices=("train", "test")),
        DTYPE,
    )

    @property
    def n_ordinary(self) -> int:
        """Key and value tokens ``N``: keys ``[0, N/2)``, values ``[N/2, N)``."""
        p = self._params
        return p["vocab_size"] - (1 if p["multi_query"] else 2) - p["noise_vocab_size"]

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        if self._params["multi_query"]:
            return numbered(v, pad=v - 1)
        return numbered(v, pad=v - 2, copy=v - 1)
