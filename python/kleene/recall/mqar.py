"""Zoology's multi-query associative recall (``rust/core/src/recall/mqar.rs``)."""

from __future__ import annotations

import functools

from ..batch import Vocabulary
from ..tasks import ANSWERS, DTYPE, Param, at_least, in_range, register
from ._task import MAX_VOCAB, RecallTask, length_param, numbered


@register
class Mqar(RecallTask):
    """Multi-query associative recall, exactly as Zoology's ``multiquery_ar``.

    Vocabulary ``[0, V)``: keys come from ``[1, V/2)``, values from ``[V/2, V)``; filler is
    uniform over all of ``[0, V)`` (so it may repeat keys or values; it is never labelled) or
    0 when ``random_non_queries`` is False.

    Layout of ``tokens [B, L]`` (``K`` pairs, ``P`` passes): the context ``k1 v1 ... kK vK``
    (distinct keys, distinct values) repeated ``P`` times, then the query region of
    ``space = (L - 2KP) / 2`` slot pairs; key ``i`` reappears at ``2KP + 2 g_i`` where the gaps
    ``g_i`` are drawn without replacement from ``[0, space)`` with weight ``(g + 1)^(a - 1)``
    (``a = power_a``), so early slots are favoured.

    Labels ``labels [B, L]`` (int64): the value of key ``i`` at its query position, ``-100``
    elsewhere (Zoology's labels after its shift). A perfect model scores 100 % on the ``K``
    labelled positions per row (every query is answerable from the context).

    Constraints (refused up front, naming the failed one): ``L`` even; ``K <= V/2 - 1``;
    ``2KP + 2K <= L``; ``V > L`` (Zoology's own assertion).
    """

    name = "mqar"
    label_specs = (ANSWERS,)
    _core_name = "mqar"
    params = (
        Param("vocab_size", 8192, "vocabulary size V", int, in_range(4, MAX_VOCAB)),
        length_param(64, "sequence length L (even)", former="input_seq_len"),
        Param("num_kv_pairs", 4, "key-value pairs K", int, at_least(1)),
        Param("num_passes", 1, "times the context is repeated", int, at_least(1)),
        Param("power_a", 0.01, "power-law exponent a of the query gaps", float, in_range(1e-9, 16)),
        Param("random_non_queries", True, "uniform filler (else 0)", bool),
        DTYPE,
    )

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        return numbered(self._params["vocab_size"])
