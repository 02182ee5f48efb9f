"""The Chomsky-hierarchy seq2seq tasks: every item checked against the suite's definition
recomputed from its own input."""

from __future__ import annotations

import importlib.util
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

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
        # output-aligned: SEP's position predicts the first output token
        assert tgt[k : length - 1].tolist() == out
        assert np.all(tgt[:k] == IGNORE_INDEX) and np.all(tgt[length - 1 :] == IGNORE_INDEX)
        scored = int(mask.sum())
        assert mask[k : k + scored].all() and scored <= len(out)
        yield seq[:k], out, scored


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


# -- same distribution as kleene's former pure-Python sampler (kept as bench/peers_chomsky.py) --


def _load_peer():
    path = Path(__file__).resolve().parent.parent / "bench" / "peers_chomsky.py"
    spec = importlib.util.spec_from_file_location("peers_chomsky", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PEERS


PEERS = _load_peer()


def two_sample_pvalue(a: list, b: list) -> float:
    """Chi-square homogeneity test of two samples of hashable outcomes (categories expected
    fewer than 5 times in either sample pooled into one)."""
    ca, cb = Counter(a), Counter(b)
    keys = sorted(set(ca) | set(cb), key=repr)
    scale = len(a) / (len(a) + len(b))
    big = [k for k in keys if min(scale, 1 - scale) * (ca[k] + cb[k]) >= 5]
    rest = [k for k in keys if k not in set(big)]
    table = [[ca[k] for k in big], [cb[k] for k in big]]
    if rest:
        table[0].append(sum(ca[k] for k in rest))
        table[1].append(sum(cb[k] for k in rest))
    if len(table[0]) < 2:
        return 1.0
    return float(stats.chi2_contingency(np.array(table))[1])


def rows(tokens, targets, mask, lengths):
    return [
        (tuple(t[:n].tolist()), int(m.sum())) for t, n, m in zip(tokens, lengths, mask, strict=True)
    ]


# (task, parameters) small enough that whole rows are compared as outcomes.
WHOLE_ROWS = [
    ("reverse_string", {"length": 4}),
    ("reverse_string", {"length": 3, "min_length": 1}),
    ("duplicate_string", {"length": 3}),
    ("odds_first", {"length": 5}),
    ("bucket_sort", {"length": 3}),
    ("compute_sqrt", {"length": 5}),
    ("compute_sqrt", {"length": 4, "min_length": 1}),
    ("missing_duplicate", {"length": 5}),
    ("missing_duplicate", {"length": 4, "min_length": 1}),
    ("binary_addition", {"length": 5}),
    ("binary_addition", {"length": 3, "min_length": 1}),
    ("binary_multiplication", {"length": 5}),
    ("binary_multiplication", {"length": 3, "min_length": 1}),
    ("stack_manipulation", {"length": 4}),
    ("stack_manipulation", {"length": 2, "min_length": 1}),
    ("modular_arithmetic_brackets", {"length": 7, "modulus": 2}),
    ("modular_arithmetic_brackets", {"length": 6, "modulus": 3, "mult": False}),
    ("modular_arithmetic_brackets", {"length": 5, "min_length": 1, "modulus": 2}),
    ("solve_equation", {"length": 9, "modulus": 2}),
    ("solve_equation", {"length": 7, "min_length": 1, "modulus": 3}),
]


@pytest.mark.parametrize(("name", "params"), WHOLE_ROWS, ids=lambda x: str(x))
def test_whole_rows_follow_the_former_python_distribution(name, params):
    n = 4000
    batch = tasks.get(name, **params).batch(n, seed=11)
    labels = batch.labels
    ours = rows(batch.tokens, labels["targets"], labels["accuracy_mask"], batch.lengths)
    theirs = rows(*PEERS[name](**params).batch(n, seed=12))
    assert two_sample_pvalue(ours, theirs) > 1e-4


# Longer inputs: per-position token marginals, the length and the scored length.
LONG = [
    (name, {"length": 24, "min_length": 1})
    for name in PEERS
    if name not in ("modular_arithmetic_brackets", "solve_equation")
] + [
    ("modular_arithmetic_brackets", {"length": 24, "min_length": 1}),
    ("solve_equation", {"length": 24, "min_length": 3, "modulus": 7}),
]


@pytest.mark.parametrize(("name", "params"), LONG, ids=lambda x: str(x))
def test_long_rows_follow_the_former_python_distribution(name, params):
    n = 3000
    batch = tasks.get(name, **params).batch(n, seed=5)
    tokens, _, mask, lengths = PEERS[name](**params).batch(n, seed=6)
    ours_t, theirs_t = batch.tokens.astype(np.int64), tokens
    features = [
        (batch.lengths.tolist(), lengths.tolist()),
        (batch.labels["accuracy_mask"].sum(1).tolist(), mask.sum(1).tolist()),
    ]
    features += [(ours_t[:, t].tolist(), theirs_t[:, t].tolist()) for t in range(ours_t.shape[1])]
    pvalues = [two_sample_pvalue(a, b) for a, b in features]
    assert min(pvalues) > 1e-4 / len(pvalues), pvalues


@pytest.mark.parametrize("name", sorted(PEERS))
def test_threads_and_dtypes_leave_the_bytes_unchanged(name):
    task = tasks.get(name, length=30, min_length=1)
    one = task.batch(300, seed=2, threads=1)
    three = task.batch(300, seed=2, threads=3)
    small = tasks.get(name, length=30, min_length=1, dtype="uint8").batch(100, seed=2, start=200)
    for key in one.keys():
        assert np.array_equal(one[key], three[key]), key
    assert small.tokens.dtype == np.uint8
    assert np.array_equal(small.tokens, one.tokens[200:])


def test_refuses_outputs_above_the_byte_cap(monkeypatch):
    monkeypatch.setenv("KLEENE_MAX_BYTES", "1000000")
    task = tasks.get("duplicate_string", length=4096)
    with pytest.raises(ValueError, match="too large"):
        task.batch(1000, seed=0)
    assert task.batch(2, seed=0).tokens.shape == (2, 3 * 4096 + 1)


def test_long_arithmetic_is_exact():
    for inp, out, _ in items("binary_multiplication", n=5, length=600):
        k = inp.index(2)
        end = out.index(3)
        assert little(out[:end]) == little(inp[:k]) * little(inp[k + 1 :])
    for inp, out, _ in items("compute_sqrt", n=5, length=999):
        assert big(out) == math.isqrt(big(inp))
    for inp, out, _ in items("binary_addition", n=5, length=4096):
        k = inp.index(2)
        end = out.index(3)
        assert little(out[:end]) == little(inp[:k]) + little(inp[k + 1 :])
