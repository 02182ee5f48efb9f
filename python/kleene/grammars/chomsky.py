"""The context-free and context-sensitive tasks of DeepMind's Chomsky-hierarchy suite
(Delétang et al. 2023, ``google-deepmind/neural_networks_chomsky_hierarchy``), with the
suite's exact input/output definitions, sampled in Rust (``kleene._core.ChomskySampler``).

Every item is one sequence ``input, SEP, output`` in ``tokens [B, T]`` (padded with the
task's pad id; ``T = length + 1 + output length at length``), with ``labels["targets"] [B, T]``
output-aligned like every kleene label: ``targets[:, t]`` is the token to emit after reading
``tokens[:, :t + 1]``, i.e. output token ``j`` sits at SEP's position plus ``j`` (one before
its own position in ``tokens``), -100 elsewhere; ``logits = model(tokens)`` compares with it
unshifted. ``labels["accuracy_mask"] [B, T]`` marks the positions the suite scores (for
binary addition, multiplication and stack manipulation: up to the terminator). The input
length is ``length``, or uniform in ``[min_length, length]`` per item when ``min_length`` is
set (the paper trains on lengths 1..40).

Unlike the original code (global ``np.random`` / ``random`` for several of these tasks), each
item draws from its own generator keyed by (seed, configuration, index), so batches do not
depend on ``threads``.

Example:
    >>> import kleene
    >>> task = kleene.tasks.get("reverse_string", length=4)
    >>> batch = task.batch(2, seed=0)
    >>> batch.tokens.shape
    (2, 9)
    >>> row = batch.tokens[0].tolist()
    >>> row[5:] == row[:4][::-1]
    True
"""

from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np

from .. import _core
from ..batch import Batch, Vocabulary
from ..tasks import DTYPE, TARGETS, Label, Param, Task, in_range, register

MAX_LENGTH = 4096
"""Longest input the tasks accept."""


def _length_check(v: int) -> str | None:
    return None if 1 <= v <= MAX_LENGTH else f"must be in [1, {MAX_LENGTH}]"


class _Seq2Seq(Task):
    """Shared declaration: subclasses set the name and alphabet; Rust samples the rows."""

    symbols: ClassVar[tuple[str, ...]] = ("0", "1")
    label_specs = (
        TARGETS,
        Label("accuracy_mask", "next", "mask", "the target positions the suite scores"),
    )
    params = (
        Param(
            "length", 16, "input length (the maximum when min_length is set)", int, _length_check
        ),
        Param(
            "min_length",
            None,
            "draw each input length uniformly from [min_length, length]",
            int,
            _length_check,
        ),
        DTYPE,
    )

    @functools.cached_property
    def _sampler(self) -> _core.ChomskySampler:
        extra = {k: self._params[k] for k in ("modulus", "mult") if k in self._params}
        return _core.ChomskySampler(
            self.name, length=self._params["length"], min_length=self._params["min_length"], **extra
        )

    def _check(self) -> None:
        self._sampler  # noqa: B018 - builds and validates the configuration in Rust

    @property
    def vocab(self) -> Vocabulary:
        k = len(self.symbols)
        return Vocabulary((*self.symbols, "|", "<pad>"), sep_id=k, pad_id=k + 1, joiner=" ")

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        out = self._rows(self._sampler, count, seed, start, threads)
        labels = {"targets": out["labels"], "accuracy_mask": out["ints"].view(np.bool_)}
        return self._batch(out["tokens"], start, labels, out["lengths"])


@register
class ReverseString(_Seq2Seq):
    """reverse_string (DCF): a binary string, then the string reversed."""

    name = "reverse_string"


@register
class DuplicateString(_Seq2Seq):
    """duplicate_string (CS): ``s -> s s``."""

    name = "duplicate_string"


@register
class OddsFirst(_Seq2Seq):
    """odds_first (CS): the symbols at odd 0-based indices first, then those at even
    indices (``s[1::2] + s[::2]``, as the suite computes it)."""

    name = "odds_first"


@register
class BucketSort(_Seq2Seq):
    """bucket_sort (CS): tokens of a 5-symbol alphabet, then sorted."""

    name = "bucket_sort"
    symbols = ("0", "1", "2", "3", "4")


@register
class ComputeSqrt(_Seq2Seq):
    """compute_sqrt (CS): a big-endian binary number in [1, 2^n - 1], then floor(sqrt) in
    ceil(n / 2) big-endian digits."""

    name = "compute_sqrt"


@register
class MissingDuplicate(_Seq2Seq):
    """missing_duplicate_string (CS): ``s s`` (|s| = n // 2) with one symbol replaced by the
    mask ``_``, padded with ``#`` when n is odd; the output is the masked bit. For n = 1 the
    input is ``1`` and the output ``1``, as in the suite."""

    name = "missing_duplicate"
    symbols = ("0", "1", "_", "#")


@register
class BinaryAddition(_Seq2Seq):
    """binary_addition (CS): little-endian ``n``, ``+``, little-endian ``m`` (lengths drawn
    as in the suite), then ``n + m`` in little-endian binary, the terminator ``.`` and zero
    padding; output length n + 1."""

    name = "binary_addition"
    symbols = ("0", "1", "+", ".")


@register
class BinaryMultiplication(_Seq2Seq):
    """binary_multiplication (CS): as binary_addition with ``*`` and the product; output
    length n."""

    name = "binary_multiplication"
    symbols = ("0", "1", "*", ".")


@register
class StackManipulation(_Seq2Seq):
    """stack_manipulation (DCF): a binary stack (bottom to top, 1..n-1 symbols) then actions
    POP / PUSH 0 / PUSH 1 (ids 2 / 3 / 4; POP on an empty stack is ignored); the output is
    the final stack top to bottom, the terminator ``.``, and zero padding to n + 1. For
    n = 1 the input is one bit and the output that bit then ``.``."""

    name = "stack_manipulation"
    symbols = ("0", "1", "POP", "PUSH0", "PUSH1", ".")


class _Modular(_Seq2Seq):
    params = (
        *_Seq2Seq.params,
        Param("modulus", 5, "modulus (values are single digits)", int, in_range(2, 10)),
    )
    alphabet: ClassVar[tuple[str, ...]] = ()

    @property
    def symbols(self) -> tuple[str, ...]:  # type: ignore[override]
        return (*map(str, range(self._params["modulus"])), *self.alphabet)


@register
class ModularArithmeticBrackets(_Modular):
    """modular_arithmetic_brackets (DCF): a random fully bracketed expression of exactly
    ``length`` characters over digits mod ``modulus`` with + and - (and * when ``mult``, the
    setting the suite registers); the output is its value."""

    name = "modular_arithmetic_brackets"
    params = (*_Modular.params, Param("mult", True, "include the * operator", bool))
    alphabet = ("+", "-", "*", "(", ")", "x", "=")


@register
class SolveEquation(_Modular):
    """solve_equation (DCF): a +/- bracketed expression of ``length - 2`` characters with one
    digit replaced by ``x`` (a uniform position, moved right cyclically to the next digit),
    then ``=`` and its value; the output is the replaced digit. For length < 3 the input is
    all zeros and the output 0, as in the suite."""

    name = "solve_equation"
    alphabet = ("+", "-", "(", ")", "x", "=")
