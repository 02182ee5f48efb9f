"""The Chomsky-hierarchy seq2seq tasks: every item checked against the suite's definition
recomputed from its own input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kleene import IGNORE_INDEX, tasks


def items(name: str, n: int = 60, **params):
    task = tasks.get(name, **params)
    batch = task.batch(n, seed=3)
    sep = task.vocab.sep_id
    for row, length, tgt, mask in zip(
        batch.tokens,
        batch.lengths,
        batch.labels["targets"],
        batch.labels["accuracy_mask"],
        strict=True,
    ):
        seq = row[:length].tolist()
        k = seq.index(sep)
        out = seq[k + 1 :]
        assert tgt[k + 1 : length].tolist() == out and np.all(tgt[: k + 1] == IGNORE_INDEX)
        yield seq[:k], out, int(mask.sum())


def little(bits):
    return sum(b << i for i, b in enumerate(bits))


def big(bits):
    return little(bits[::-1])


@pytest.mark.parametrize("length", [1, 2, 7, 12])
def test_string_tasks(length):
    for inp, out, _ in items("reverse_string", length=length):
        assert out == inp[::-1] and len(inp) == length
    for inp, out, _ in items("duplicate_string", length=length):
        assert out == inp + inp
    for inp, out, _ in items("odds_first", length=length):
        assert out == inp[1::2] + inp[::2]
    for inp, out, _ in items("bucket_sort", length=length):
        assert out == sorted(inp) and max(inp) <= 4


@pytest.mark.parametrize("length", [1, 2, 3, 8, 13])
def test_arithmetic_tasks(length):
    for inp, out, _ in items("compute_sqrt", length=length):
        assert len(out) == math.ceil(length / 2) and big(out) == math.isqrt(big(inp)) >= 1
    for name, op, out_len in (
        ("binary_addition", int.__add__, length + 1),
        ("binary_multiplication", int.__mul__, length),
    ):
        for inp, out, scored in items(name, length=length):
            assert len(inp) == length and len(out) == out_len
            end = out.index(3)  # the terminator '.'
            assert scored == end + 1 and all(b == 0 for b in out[end + 1 :])
            if length > 2:
                k = inp.index(2)
                a, b = inp[:k], inp[k + 1 :]
                assert len(a) >= 1 and len(b) >= 1 and little(a) >= 1 and little(b) >= 1
                assert little(out[:end]) == op(little(a), little(b))


@pytest.mark.parametrize("length", [1, 6, 9])
def test_missing_duplicate(length):
    for inp, out, _ in items("missing_duplicate", length=length):
        if length == 1:
            assert inp == [1] and out == [1]
            continue
        half = length // 2
        assert inp.count(2) == 1 and inp[2 * half :] == [3] * (length % 2)
        s = inp[: 2 * half]
        k = s.index(2)
        s[k] = out[0]
        assert s[:half] == s[half:]


def test_variable_lengths_and_bounds():
    lengths = [len(i) for i, _, _ in items("reverse_string", n=200, length=10, min_length=2)]
    assert min(lengths) == 2 and max(lengths) == 10
    with pytest.raises(ValueError, match="min_length"):
        tasks.get("reverse_string", length=4, min_length=5)


@pytest.mark.parametrize("length", [1, 2, 5, 11])
def test_stack_manipulation(length):
    for inp, out, scored in items("stack_manipulation", length=length):
        assert len(inp) == length and len(out) == length + 1
        if length == 1:
            assert out == [inp[0], 5]
            continue
        k = next(i for i, t in enumerate(inp) if t >= 2)  # first action
        stack = inp[:k]
        assert 1 <= k <= length - 1 and all(t >= 2 for t in inp[k:])
        for a in inp[k:]:
            if a == 2 and stack:
                stack.pop()
            elif a > 2:
                stack.append(a - 3)
        assert out[: len(stack)] == stack[::-1] and out[len(stack)] == 5
        assert scored == len(stack) + 1


def evaluate(text: str, modulus: int) -> int:
    """Evaluates a fully bracketed expression with Python's parser."""
    return eval(text.replace("--", "- -")) % modulus  # noqa: S307 - our own digits/ops only


@pytest.mark.parametrize("length", [1, 2, 3, 4, 9, 20])
def test_modular_arithmetic_brackets(length):
    task = tasks.get("modular_arithmetic_brackets", length=length)
    syms = task.vocab.tokens
    for inp, out, _ in items("modular_arithmetic_brackets", length=length):
        text = "".join(syms[t] for t in inp)
        assert len(text) == length and out[0] == evaluate(text, 5)


@pytest.mark.parametrize("length", [1, 3, 7, 15])
def test_solve_equation(length):
    task = tasks.get("solve_equation", length=length)
    syms = task.vocab.tokens
    for inp, out, _ in items("solve_equation", length=length):
        text = "".join(syms[t] for t in inp)
        assert len(text) == length
        if length < 3:
            assert out == [0]
            continue
        expr, value = text.split("=")
        assert expr.count("x") == 1 and "*" not in expr
        assert evaluate(expr.replace("x", str(out[0])), 5) == int(value)
