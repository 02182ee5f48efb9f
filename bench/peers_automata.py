"""Peers for the automata benchmarks: numpy batch-vectorised samplers, and Python
re-implementations of the REGBENCH (berlino/seq_icl) procedures. Written for this benchmark
from the procedures described in the reference; no code copied."""

from __future__ import annotations

import numpy as np


def out_arcs(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per state: degree [Q], outgoing symbols and targets [Q, K] (left-aligned)."""
    q, k = table.shape
    degree = (table >= 0).sum(1)
    symbols = np.zeros((q, k), np.int64)
    targets = np.zeros((q, k), np.int64)
    for s in range(q):
        a = np.flatnonzero(table[s] >= 0)
        symbols[s, : len(a)] = a
        targets[s, : len(a)] = table[s, a]
    return degree, symbols, targets


def numpy_walk(arcs, start: int, batch: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """REGBENCH walk vectorised over the batch: every row steps uniformly among its state's
    outgoing transitions. Returns tokens [batch, length]."""
    degree, symbols, targets = arcs
    q = np.full(batch, start, np.int64)
    out = np.empty((batch, length), np.int64)
    for t in range(length):
        pick = (rng.random(batch) * degree[q]).astype(np.int64)
        out[:, t] = symbols[q, pick]
        q = targets[q, pick]
    return out


def count_table(table: np.ndarray, accepting: np.ndarray, length: int) -> np.ndarray:
    """c[l, q] = accepted strings of length l from q, float64 [length + 1, Q]."""
    q_n, _ = table.shape
    c = np.zeros((length + 1, q_n))
    c[0] = accepting
    safe = np.maximum(table, 0)
    valid = table >= 0
    for n in range(1, length + 1):
        c[n] = (c[n - 1][safe] * valid).sum(1)
    return c


def numpy_uniform(table, counts, start, batch, length, rng) -> np.ndarray:
    """Uniform over accepted strings of ``length``, vectorised over the batch: at each step
    choose symbol a with probability c[l-1, d(q, a)] / c[l, q] (float64 counts)."""
    safe = np.maximum(table, 0)
    valid = table >= 0
    q = np.full(batch, start, np.int64)
    out = np.empty((batch, length), np.int64)
    for t in range(length):
        rest = length - 1 - t
        w = counts[rest][safe[q]] * valid[q]  # [B, K]
        cum = np.cumsum(w, 1)
        u = rng.random(batch) * cum[:, -1]
        a = (cum <= u[:, None]).sum(1)
        out[:, t] = a
        q = safe[q, a]
    return out


# -- REGBENCH (seq_icl) in Python ------------------------------------------------------------


def regbench_dfa_python(rng: np.random.Generator, max_out=4, max_states=12, letters=18):
    """The REGBENCH procedure with pythomata, as seq_icl does it: random DFA, minimise, trim."""
    from pythomata import SimpleDFA

    n = int(rng.integers(max_out, max_states + 1))
    sigma = int(rng.integers(max_out, letters + 1))
    alphabet = tuple(chr(97 + a) for a in rng.choice(letters, size=sigma, replace=False))
    transitions = {}
    for node in range(n):
        k = int(rng.integers(1, max_out))
        symbols = rng.choice(alphabet, size=k, replace=False)
        others = [m for m in range(n) if m != node]
        targets = rng.choice(others, size=k, replace=False)
        transitions[node] = {str(s): int(t) for s, t in zip(symbols, targets, strict=True)}
    dfa = SimpleDFA(set(range(n)), set(alphabet), 0, set(range(n)), transitions)
    return dfa.minimize().trim()


def regbench_walk_python(transitions: dict, start, length: int, rng: np.random.Generator) -> str:
    """seq_icl's ``DFA.sample``: one ``rng.choice`` over the outgoing symbols per step."""
    q = start
    word = []
    for _ in range(length):
        symbol = rng.choice(list(transitions[q].keys()))
        word.append(symbol)
        q = transitions[q][symbol]
    return " ".join(word)


def regbench_episode_python(dfas: list[dict], vocab: dict, rng: np.random.Generator) -> list[int]:
    """seq_icl's episode: a pool automaton, 10..19 strings of length 1..49 by ``DFA.sample``,
    joined with " | " and tokenised by splitting on spaces."""
    transitions = dfas[int(rng.integers(len(dfas)))]
    count = int(rng.integers(10, 20))
    words = [
        regbench_walk_python(transitions, 0, int(rng.integers(1, 50)), rng) for _ in range(count)
    ]
    return [vocab[t] for t in " | ".join(words).split()]
