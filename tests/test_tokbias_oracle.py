"""Exact oracles for tokenizer-bias tests: a character process enumerated string by string,
pushed through a tokenizer into the ideal token-level model."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np


def markov_strings(alphabet: bytes, order: int, n: int, seed: int) -> dict[bytes, float]:
    """All strings of length ``n`` of a random order-``order`` chain, with probabilities."""
    rng = np.random.default_rng(seed)
    rows: dict[bytes, np.ndarray] = {}
    for k in range(order + 1):
        for ctx in itertools.product(alphabet, repeat=k):
            rows[bytes(ctx)] = rng.dirichlet(np.ones(len(alphabet)))
    out = {}
    for s in itertools.product(alphabet, repeat=n):
        p = 1.0
        for i, c in enumerate(s):
            p *= rows[bytes(s[max(0, i - order) : i])][alphabet.index(c)]
        out[bytes(s)] = p
    return out


def truth(strings: dict[bytes, float], prefix: bytes) -> np.ndarray:
    """Exact P(next symbol | prefix) ``[257]`` (256 = end of string) by enumeration."""
    out = np.zeros(257)
    for s, p in strings.items():
        if s.startswith(prefix):
            out[s[len(prefix)] if len(s) > len(prefix) else 256] += p
    return out / out.sum()


def prefix_prob(strings: dict[bytes, float], prefix: bytes) -> float:
    return sum(p for s, p in strings.items() if s.startswith(prefix))


class IdealModel:
    """The pushforward token model: P(t | ctx) = mass(ctx + t) / mass(ctx), as log-probs."""

    def __init__(self, strings: dict[bytes, float], encode, vocab_size: int, eos: int):
        self.mass: dict[tuple[int, ...], float] = defaultdict(float)
        self.children: dict[tuple[int, ...], dict[int, float]] = defaultdict(dict)
        for s, p in strings.items():
            ids = (*encode(s), eos)
            for k in range(len(ids) + 1):
                self.mass[ids[:k]] += p
        for ctx, m in self.mass.items():
            if ctx:
                self.children[ctx[:-1]][ctx[-1]] = m
        self.vocab_size = vocab_size
        self.calls = 0

    def __call__(self, contexts: list[list[int]]) -> np.ndarray:
        self.calls += 1
        out = np.full((len(contexts), self.vocab_size), -np.inf)
        for row, ctx in zip(out, contexts, strict=True):
            ctx = tuple(ctx)
            z = self.mass.get(ctx, 0.0)
            if z == 0.0:
                row[:] = -np.log(self.vocab_size)
                continue
            kids = self.children[ctx]
            ids = np.fromiter(kids, dtype=np.int64, count=len(kids))
            row[ids] = np.log(np.fromiter(kids.values(), dtype=float, count=len(kids)) / z)
        return out

    def prob(self, ids) -> float:
        return self.mass.get(tuple(ids), 0.0)
