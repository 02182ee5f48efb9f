"""Peer implementations of recall-task generation, for the benchmarks only.

Written for this benchmark in the style of the papers' generators (not copied):
- ``zoology_mqar``: Zoology's ``multiquery_ar`` procedure: per-row ``np.random.choice`` through
  ``np.apply_along_axis`` for keys, values and power-law gaps, ``np.put_along_axis`` for the
  queries, ``torch.randint`` for the filler.
- ``numpy_mqar``: a batch-vectorised numpy MQAR (argpartition for distinct keys, Gumbel top-k
  for gaps without replacement), as fast as plain numpy gets; a stronger peer than Zoology's.
- ``mad_recall`` / ``mad_selective_copying``: MAD's per-instance Python loops over a shared
  ``np.random.Generator``, stacked into a batch.
"""

from __future__ import annotations

import numpy as np


def zoology_mqar(
    vocab_size: int,
    num_examples: int,
    input_seq_len: int,
    seed: int,
    power_a: float = 0.01,
    num_kv_pairs: int = 8,
    random_non_queries: bool = True,
):
    import torch

    np.random.seed(seed)
    context_size = num_kv_pairs * 2
    half = vocab_size // 2
    key_pool = np.tile(np.arange(1, half), (num_examples, 1))
    keys = np.apply_along_axis(np.random.choice, 1, key_pool, replace=False, size=num_kv_pairs)
    value_pool = np.tile(np.arange(half, vocab_size), (num_examples, 1))
    values = np.apply_along_axis(np.random.choice, 1, value_pool, replace=False, size=num_kv_pairs)
    kvs = np.zeros((num_examples, context_size), dtype=np.int64)
    kvs[:, 0::2], kvs[:, 1::2] = keys, values
    space = (input_seq_len - context_size) // 2
    p = power_a * np.arange(1, space + 1) ** (power_a - 1)
    p /= p.sum()
    slots = np.tile(np.arange(space), (num_examples, 1))
    gaps = np.apply_along_axis(np.random.choice, 1, slots, replace=False, p=p, size=num_kv_pairs)
    queries = np.zeros((num_examples, input_seq_len - context_size + 1), dtype=np.int64)
    np.put_along_axis(queries, gaps * 2, values=keys, axis=1)
    examples = np.concatenate([kvs, queries], axis=1)
    labels = np.full((num_examples, input_seq_len + 1), -100, dtype=np.int64)
    np.put_along_axis(labels, gaps * 2 + context_size + 1, values=values, axis=1)
    inputs, labels = torch.tensor(examples[:, :-1]), torch.tensor(labels[:, 1:])
    if random_non_queries:
        zero = inputs == 0
        inputs[zero] = torch.randint(vocab_size, size=inputs.shape)[zero]
    return inputs, labels


def numpy_mqar(
    vocab_size: int,
    num_examples: int,
    input_seq_len: int,
    rng: np.random.Generator,
    power_a: float = 0.01,
    num_kv_pairs: int = 8,
):
    b, k, half = num_examples, num_kv_pairs, vocab_size // 2
    keys = np.argpartition(rng.random((b, half - 1)), k, axis=1)[:, :k] + 1
    values = np.argpartition(rng.random((b, vocab_size - half)), k, axis=1)[:, :k] + half
    ctx = 2 * k
    space = (input_seq_len - ctx) // 2
    logp = (power_a - 1) * np.log(np.arange(1, space + 1))
    scores = logp - np.log(-np.log(rng.random((b, space))))  # Gumbel top-k = successive draws
    gaps = np.argsort(-scores, axis=1)[:, :k]
    tokens = rng.integers(0, vocab_size, size=(b, input_seq_len))
    tokens[:, 0:ctx:2], tokens[:, 1:ctx:2] = keys, values
    rows = np.arange(b)[:, None]
    tokens[rows, ctx + 2 * gaps] = keys
    labels = np.full((b, input_seq_len), -100, dtype=np.int64)
    labels[rows, ctx + 2 * gaps] = values
    return tokens, labels


def _mad_recall_instance(rng, vocab_size, seq_len, noise_vocab_size, frac_noise):
    """One multi-query instance, MAD's loop structure (training targets)."""
    n = vocab_size - noise_vocab_size
    key_vocab, value_vocab = np.arange(n // 2), np.arange(n // 2, n)
    noise_vocab = np.arange(n, n + noise_vocab_size)
    kv_map, inputs = {}, []
    pairs = seq_len // 2
    exempt = rng.choice(pairs)
    for i in range(pairs - 1):
        if frac_noise > 0 and i != exempt and rng.random() < frac_noise:
            inputs += list(rng.choice(noise_vocab, size=2, replace=True))
            continue
        k = rng.choice(key_vocab)
        if k not in kv_map:
            kv_map[k] = rng.choice(value_vocab)
        inputs += [k, kv_map[k]]
    probe = rng.choice(list(kv_map.keys()))
    inputs += [probe, kv_map[probe]]
    inputs = np.array(inputs)
    return inputs[:-1], inputs[1:]


def mad_recall(batch, vocab_size, seq_len, rng, noise_vocab_size=0, frac_noise=0.0):
    rows = [
        _mad_recall_instance(rng, vocab_size, seq_len, noise_vocab_size, frac_noise)
        for _ in range(batch)
    ]
    return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])


def _mad_selective_copy_instance(rng, vocab_size, seq_len, n):
    copy_token, blank = vocab_size - 1, vocab_size - 2
    blanks = seq_len - 2 * n - 1
    data = rng.choice(np.arange(vocab_size - 2), size=(n,), replace=True)
    where = rng.integers(0, n, blanks)
    inputs = np.insert(data, where, [blank] * blanks).tolist()
    inputs += [copy_token] + [blank] * n
    targets = [-100] * (n + blanks + 1) + list(data)
    return np.array(inputs), np.array(targets)


def mad_selective_copying(batch, vocab_size, seq_len, n, rng):
    rows = [_mad_selective_copy_instance(rng, vocab_size, seq_len, n) for _ in range(batch)]
    return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])
