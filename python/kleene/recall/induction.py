"""H3's induction heads and associative recall (``rust/core/src/recall/induction.rs``)."""

from __future__ import annotations

import functools
from typing import Any

from ..batch import Vocabulary
from ..tasks import ANSWERS, DTYPE, Param, in_range, register
from ._task import MAX_LENGTH, MAX_VOCAB, RecallTask

_TARGETS = Param(
    "targets",
    "answer",
    "answer (test targets) or next_token (training targets)",
    str,
    choices=("answer", "next_token"),
    affects_data=False,
)


class _H3Task(RecallTask):
    """H3's layout: ``.`` = 0, ordinary tokens ``1 .. V - 2``, ``=>`` = ``V - 1``; the core
    takes every parameter but ``targets`` as is, and ``targets`` as ``all_targets``."""

    label_specs = (ANSWERS,)

    @functools.cached_property
    def _core_params(self) -> dict[str, Any]:
        core = {k: v for k, v in self._params.items() if k not in ("dtype", "targets")}
        return {**core, "all_targets": self._params["targets"] == "next_token"}

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        tokens = (".",) + tuple(str(i) for i in range(v - 2)) + ("=>",)
        return Vocabulary(tokens, joiner=" ")


@register
class InductionHeads(_H3Task):
    """Induction heads as in H3 (safari's ``synthetics.py``) and Mamba's evaluation.

    Vocabulary: 0 is H3's no-op ``.`` (unused), ordinary tokens ``1 .. V - 2``, ``V - 1`` the
    copy prefix ``=>``. A row: ``L`` uniform ordinary tokens, one position uniform in
    ``[0, L - 2)`` turned into ``=>``, then ``=>`` and the answer (the token after the first
    ``=>``); shifted, so tokens and labels are ``[B, L + 1]``. ``targets="answer"``: ``-100``
    except the last position (the answer; a perfect model scores 100 %); ``"next_token"``:
    every next token (H3's training targets; only the answer is predictable beyond chance).
    """

    name = "induction_heads"
    _core_name = "induction_heads"
    params = (
        Param("vocab_size", 20, "vocabulary V (H3: 20; Mamba: 16)", int, in_range(3, MAX_VOCAB)),
        Param(
            "length",
            30,
            "prefix length L (H3: 30; Mamba: 256)",
            int,
            in_range(3, MAX_LENGTH),
            former="seq_len",
        ),
        _TARGETS,
        DTYPE,
    )


@register
class AssociativeRecall(_H3Task):
    """H3's associative recall (safari's ``generate_assoc_recall``, one-token keys).

    Ids as :class:`InductionHeads`: ``.`` = 0, ordinary ``1 .. V - 2`` (keys the lower half,
    values the upper half), ``=>`` = ``V - 1``. Each row binds every key to a uniform value
    (keys may share values), shows ``L // 2`` pairs with uniform keys, then ``=>``, a query key
    (uniform over the keys shown; with ``allow_dot`` over all keys) and its value (``.`` for a
    key not shown). Shifted: tokens and labels ``[B, 2 (L // 2) + 2]``. ``targets="answer"``:
    only the last position (H3's test targets; a perfect model scores 100 %);
    ``"next_token"``: every next token (H3's training targets).
    """

    name = "associative_recall"
    _core_name = "associative_recall"
    params = (
        Param("vocab_size", 20, "vocabulary V (H3: 20 or 10)", int, in_range(4, MAX_VOCAB)),
        Param(
            "length",
            40,
            "context length L (H3: 40 or 20)",
            int,
            in_range(2, MAX_LENGTH),
            former="seq_len",
        ),
        Param("allow_dot", False, "query keys that were not shown (answer '.')", bool),
        _TARGETS,
        DTYPE,
    )
