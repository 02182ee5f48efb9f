"""MAD's copying and selective copying (``rust/core/src/recall/copying.rs``)."""

from __future__ import annotations

import functools
from typing import Any

from ..batch import Vocabulary
from ..tasks import ANSWERS, DTYPE, Param, at_least, in_range, register
from ._task import MAX_VOCAB, RecallTask, length_param, numbered


def _copy_params() -> tuple[Param, ...]:
    return (
        Param("vocab_size", 16, "vocabulary size V", int, in_range(3, MAX_VOCAB)),
        length_param(256, "sequence length L", former="seq_len"),
        Param("num_tokens_to_copy", 16, "data tokens n", int, at_least(1)),
        DTYPE,
    )


class _Copying(RecallTask):
    _core_name = "copying"
    selective = False
    label_specs = (ANSWERS,)

    @functools.cached_property
    def _core_params(self) -> dict[str, Any]:
        return {**super()._core_params, "selective": self.selective}

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        return numbered(v, blank=v - 2, copy=v - 1)


@register
class SelectiveCopying(_Copying):
    """MAD's selective copying (``generate_selective_copying_instance``).

    Vocabulary: data ``[0, V - 2)``, blank ``V - 2``, copy token ``V - 1``. A row of length
    ``L``: ``n`` uniform data tokens with ``L - 2n - 1`` blanks inserted each before a uniformly
    chosen data token (so the last data token precedes the copy token), the copy token, then
    ``n`` blanks. Labels (no shift): ``-100`` except the last ``n`` positions, which hold the
    data in order; a perfect model scores 100 % there. Requires ``L > 2n + 1``.
    """

    name = "selective_copying"
    selective = True
    params = _copy_params()


@register
class Copying(_Copying):
    """Plain copying (MAD's ``generate_copying_instance``): the ``n`` data tokens first, then
    the ``L - 2n - 1`` blanks, the copy token and ``n`` blanks; labels as for
    :class:`SelectiveCopying`."""

    name = "copying"
    params = _copy_params()
