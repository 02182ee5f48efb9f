"""dyck_bounded: the stack sampler draws exactly what Hewitt et al.'s PFA (the stack automaton
run by the automaton sampler's randgen) draws, follows the exact distribution by enumeration,
and reaches large k and m (Dyck-(8, 10), Dyck-(64, 64))."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from kleene import IGNORE_INDEX, tasks
from kleene.automata import languages


def pfa_batch(task, count: int, seed: int, start: int = 0):
    """The former implementation: randgen on the k^<=m-state automaton, DFA labels."""
    p = task.config
    dfa, weights, stop = languages.dyck_bounded(p["k"], p["m"])
    tokens, lengths = dfa._core.sample(
        method="randgen",
        min_len=p["min_length"],
        max_len=p["max_length"],
        pad=dfa.num_symbols,
        seed=seed,
        salt=task.stream_salt,
        start=start,
        count=count,
        weights=weights.reshape(-1).tolist(),
        final_weights=stop.tolist(),
        dtype=p["dtype"],
        threads=1,
    )
    return tokens, lengths, dfa.labels(tokens, lengths, ("valid_next", "states"))


@pytest.mark.parametrize(
    "params",
    [
        {"k": 1, "m": 1, "min_length": 0, "max_length": 30},
        {"k": 2, "m": 3, "max_length": 24},
        {"k": 3, "m": 4, "min_length": 10, "max_length": 60},
        {"k": 5, "m": 2, "min_length": 4, "max_length": 9},
        {"k": 4, "m": 6},
    ],
    ids=str,
)
def test_same_bytes_as_the_pfa(params):
    task = tasks.get("dyck_bounded", **params)
    batch = task.batch(700, seed=4, start=3, threads=2)
    tokens, lengths, labels = pfa_batch(task, 700, seed=4, start=3)
    assert np.array_equal(batch.tokens, tokens) and np.array_equal(batch.lengths, lengths)
    assert np.array_equal(batch.labels["valid_next"], labels["valid_next"])
    assert np.array_equal(batch.labels["depth"] == IGNORE_INDEX, labels["states"] < 0)


def exact_distribution(k: int, m: int, lo: int, hi: int) -> dict[tuple[int, ...], float]:
    """Every string's probability under the PFA, by enumerating walks: stop removed (and the
    rest renormalised) before ``lo``, walks reaching ``hi`` without stopping dropped."""
    out: dict[tuple[int, ...], float] = {}

    def step(word: tuple[int, ...], stack: tuple[int, ...], p: float) -> None:
        t, d = len(word), len(stack)
        options = []  # (probability weight, symbol or None for stop)
        if d < m:
            options += [(1 / (2 * k), b) for b in range(k)]
        if d > 0:
            options.append((1.0 if d == m else 0.5, k + stack[-1]))
        elif t >= lo:
            options.append((0.5, None))
        total = sum(w for w, _ in options)
        for w, sym in options:
            q = p * w / total
            if sym is None:
                out[word] = out.get(word, 0.0) + q
            elif t < hi:
                new = stack[:-1] if sym >= k else (*stack, sym)
                step((*word, sym), new, q)

    step((), (), 1.0)
    mass = sum(out.values())
    return {w: p / mass for w, p in out.items()}


@pytest.mark.parametrize(("k", "m", "lo", "hi"), [(2, 2, 2, 6), (1, 3, 0, 8), (3, 1, 1, 4)])
def test_distribution_matches_exact_enumeration(k, m, lo, hi):
    exact = exact_distribution(k, m, lo, hi)
    batch = tasks.get("dyck_bounded", k=k, m=m, min_length=lo, max_length=hi).batch(20000, seed=1)
    seen = [tuple(row[:n].tolist()) for row, n in zip(batch.tokens, batch.lengths, strict=True)]
    assert set(seen) <= set(exact)
    words = sorted(exact, key=lambda w: -exact[w])
    big = [w for w in words if exact[w] * len(seen) >= 5]
    counts = {w: 0 for w in big}
    for w in seen:
        if w in counts:
            counts[w] += 1
    obs = [counts[w] for w in big] + [len(seen) - sum(counts.values())]
    exp = [exact[w] * len(seen) for w in big] + [len(seen) * (1 - sum(exact[w] for w in big))]
    if exp[-1] < 1e-9:
        obs, exp = obs[:-1], exp[:-1]
    assert stats.chisquare(obs, exp).pvalue > 1e-3


def check_rows(batch, k: int, m: int) -> None:
    """Independent checker: balanced, bounded, labels recomputed from the tokens."""
    for row, n, depth, valid in zip(
        batch.tokens, batch.lengths, batch.labels["depth"], batch.labels["valid_next"], strict=True
    ):
        stack: list[int] = []
        for t, a in enumerate(row[:n].tolist()):
            if a < k:
                stack.append(a)
            else:
                assert stack and stack.pop() == a - k
            assert len(stack) <= m and depth[t] == len(stack)
            expected = np.zeros(2 * k, np.uint8)
            expected[:k] = len(stack) < m
            if stack:
                expected[k + stack[-1]] = 1
            assert np.array_equal(valid[t], expected)
        assert not stack
        assert np.all(row[n:] == 2 * k) and np.all(depth[n:] == IGNORE_INDEX)
        assert not valid[n:].any()


@pytest.mark.parametrize(("k", "m"), [(8, 10), (64, 64), (1, 64)])
def test_large_k_and_m(k, m):
    task = tasks.get("dyck_bounded", k=k, m=m, min_length=2, max_length=400)
    batch = task.batch(60, seed=0)
    check_rows(batch, k, m)
    assert len(task.vocab) == 2 * k + 1
    assert np.array_equal(task.batch(60, seed=0, threads=1).tokens, batch.tokens)


def test_impossible_lengths_are_a_clear_error():
    with pytest.raises(ValueError, match="max_length"):
        tasks.get("dyck_bounded", min_length=3, max_length=3).batch(1, seed=0)
