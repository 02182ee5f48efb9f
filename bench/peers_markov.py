"""Peer implementations of Markov-ICL data generation, for the benchmarks only.

Written for this benchmark after the procedure of Bond1995/Markov-Mamba (`get_random_P`,
`get_batch`): per-sequence Dirichlet(alpha) transition rows, uniform first `order` symbols.
"""

from __future__ import annotations

import numpy as np


def numpy_markov(batch: int, length: int, vocab: int, order: int, rng: np.random.Generator):
    """Batch-vectorised numpy generator: one vectorised step per position."""
    states = vocab**order
    probs = rng.dirichlet(np.ones(vocab), size=(batch, states))  # [B, S, V]
    cum = np.cumsum(probs, axis=-1)
    tokens = np.empty((batch, length), dtype=np.int32)
    tokens[:, :order] = rng.integers(0, vocab, size=(batch, order))
    state = np.zeros(batch, dtype=np.int64)
    for j in range(order):
        state = state * vocab + tokens[:, j]
    rows = np.arange(batch)
    lead = vocab ** max(order - 1, 0)
    u = rng.random((batch, length))
    for t in range(order, length):
        c = cum[rows, state]  # [B, V]
        x = (u[:, t, None] >= c).sum(axis=1)
        np.minimum(x, vocab - 1, out=x)
        tokens[:, t] = x
        if order:
            state = (state - tokens[:, t - order] * lead) * vocab + x
    return tokens


def torch_markov_loop(batch: int, length: int, vocab: int, order: int, generator):
    """Per-step torch loop with `torch.multinomial`, in the style of the paper's code."""
    import torch

    states = vocab**order
    alpha = torch.ones(vocab)
    probs = torch.distributions.Dirichlet(alpha).sample((batch, states))
    tokens = torch.empty((batch, length), dtype=torch.long)
    tokens[:, :order] = torch.randint(0, vocab, (batch, order), generator=generator)
    rows = torch.arange(batch)
    for t in range(order, length):
        state = torch.zeros(batch, dtype=torch.long)
        for j in range(t - order, t):
            state = state * vocab + tokens[:, j]
        p = probs[rows, state]
        tokens[:, t] = torch.multinomial(p, 1, generator=generator)[:, 0]
    return tokens


def numpy_markov_binary(batch: int, length: int, rng: np.random.Generator):
    """The strongest numpy form for V=2, order 1: two thresholds per sequence, `np.where` over
    the batch at each step, uniforms drawn up front."""
    p = rng.random((2, batch))  # P(1 | 0), P(1 | 1): Dirichlet(1, 1) rows are uniform
    u = rng.random((length, batch))
    out = np.empty((length, batch), dtype=np.int32)
    x = rng.random(batch) < 0.5
    out[0] = x
    for t in range(1, length):
        x = u[t] < np.where(x, p[1], p[0])
        out[t] = x
    return out.T


def numpy_markov_binary_order(batch: int, length: int, order: int, rng: np.random.Generator):
    """The same binary special case for any order: one threshold per (context, sequence),
    the context kept as an integer of the last ``order`` bits, one gather per step."""
    states = 1 << order
    p = rng.random((states, batch))  # P(1 | context): Dirichlet(1, 1) rows are uniform
    u = rng.random((length, batch))
    out = np.empty((length, batch), dtype=np.int32)
    out[:order] = rng.integers(0, 2, size=(order, batch))
    state = np.zeros(batch, dtype=np.int64)
    for j in range(order):
        state = state << 1 | out[j]
    cols = np.arange(batch)
    mask = states - 1
    for t in range(order, length):
        x = u[t] < p[state, cols]
        out[t] = x
        state = (state << 1 | x) & mask
    return out.T
