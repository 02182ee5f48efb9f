"""MQAR against Zoology's definition: layout, constraints and exact distributions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from kleene import IGNORE_INDEX, tasks

ALPHA = 1e-4  # chi-square tests at fixed seeds: a failure means a real mismatch


def gap_probs(space: int, a: float) -> np.ndarray:
    """Zoology's p(g) = a g^(a-1) over g = 1..space, normalised (0-based gap g-1)."""
    p = a * np.arange(1, space + 1, dtype=np.float64) ** (a - 1)
    return p / p.sum()


def chisquare(counts: np.ndarray, probs: np.ndarray) -> float:
    """p-value of counts vs probs, pooling the sparse tail into one bin (expected >= 5)."""
    n = counts.sum()
    expected = probs * n
    order = np.argsort(-expected)
    counts, expected = counts[order], expected[order]
    keep = expected >= 5
    if not keep.all():
        counts = np.append(counts[keep], counts[~keep].sum())
        expected = np.append(expected[keep], expected[~keep].sum())
    return stats.chisquare(counts, expected).pvalue


def query_gaps(batch, context: int) -> np.ndarray:
    """[B, K]: 0-based gap of each key's query, recovered from the labels (values are
    distinct, so the position labelled with value i is key i's query)."""
    labels = batch.labels["targets"]
    k = (labels != IGNORE_INDEX).sum(axis=1)[0]
    values = batch.tokens[:, 1 : 2 * k : 2]
    gaps = np.empty(values.shape, dtype=np.int64)
    for i in range(k):
        pos = np.argmax(labels == values[:, i : i + 1], axis=1)
        gaps[:, i] = (pos - context) // 2
    return gaps


@pytest.mark.parametrize("passes", [1, 2, 3])
def test_layout_keys_values_and_labels(passes):
    v, seq_len, k = 300, 256, 16
    task = tasks.get("mqar", vocab_size=v, length=seq_len, num_kv_pairs=k, num_passes=passes)
    batch = task.batch(200, seed=3)
    tok, lab = batch.tokens, batch.labels["targets"]
    ctx = 2 * k * passes
    keys, values = tok[:, 0 : 2 * k : 2], tok[:, 1 : 2 * k : 2]
    assert ((keys >= 1) & (keys < v // 2)).all()
    assert ((values >= v // 2) & (values < v)).all()
    for row in range(len(batch)):
        assert len(set(keys[row])) == k and len(set(values[row])) == k
    for p in range(1, passes):
        assert np.array_equal(tok[:, p * 2 * k : (p + 1) * 2 * k], tok[:, : 2 * k])
    assert (lab[:, :ctx] == IGNORE_INDEX).all()
    labelled = lab != IGNORE_INDEX
    assert (labelled.sum(axis=1) == k).all()
    rows, cols = np.nonzero(labelled)
    assert ((cols - ctx) % 2 == 0).all()
    # Each labelled position holds a key whose value is the label: every key exactly once.
    kv = {
        (r, int(x)): int(y)
        for r in range(len(batch))
        for x, y in zip(keys[r], values[r], strict=True)
    }
    assert all(kv[(r, int(tok[r, c]))] == lab[r, c] for r, c in zip(rows, cols, strict=True))
    for r in range(len(batch)):
        assert sorted(tok[r, cols[rows == r]]) == sorted(keys[r])


@pytest.mark.parametrize(("seq_len", "k", "a"), [(64, 4, 0.01), (256, 8, 0.5), (128, 16, 1.0)])
def test_first_query_gap_follows_the_power_law(seq_len, k, a):
    task = tasks.get("mqar", vocab_size=1024, length=seq_len, num_kv_pairs=k, power_a=a)
    space = (seq_len - 2 * k) // 2
    gaps = query_gaps(task.batch(20_000, seed=11), 2 * k)
    counts = np.bincount(gaps[:, 0], minlength=space)
    assert chisquare(counts, gap_probs(space, a)) > ALPHA


def test_second_query_gap_is_drawn_without_replacement():
    """The second key's gap has the law of successive sampling without replacement:
    P(G2 = j) = sum_{i != j} p_i p_j / (1 - p_i)."""
    seq_len, k, a = 64, 4, 0.01
    space = (seq_len - 2 * k) // 2
    p = gap_probs(space, a)
    second = np.array(
        [sum(p[i] * p[j] / (1 - p[i]) for i in range(space) if i != j) for j in range(space)]
    )
    task = tasks.get("mqar", vocab_size=512, length=seq_len, num_kv_pairs=k)
    gaps = query_gaps(task.batch(20_000, seed=12), 2 * k)
    assert (np.sort(gaps, axis=1)[:, 1:] != np.sort(gaps, axis=1)[:, :-1]).all()
    counts = np.bincount(gaps[:, 1], minlength=space)
    assert chisquare(counts, second) > ALPHA
    # and it is not the marginal law (the test has power to tell them apart)
    assert chisquare(counts, p) < ALPHA


def test_keys_values_and_filler_are_uniform():
    v, seq_len, k = 80, 64, 4
    task = tasks.get("mqar", vocab_size=v, length=seq_len, num_kv_pairs=k)
    batch = task.batch(20_000, seed=13)
    tok, lab = batch.tokens, batch.labels["targets"]
    key_counts = np.bincount(tok[:, 0], minlength=v)
    assert key_counts[0] == 0 and key_counts[v // 2 :].sum() == 0
    assert chisquare(key_counts[1 : v // 2], np.full(v // 2 - 1, 1 / (v // 2 - 1))) > ALPHA
    value_counts = np.bincount(tok[:, 3], minlength=v)[v // 2 :]
    assert chisquare(value_counts, np.full(v - v // 2, 1 / (v - v // 2))) > ALPHA
    region = tok[:, 2 * k :]
    filler = region[lab[:, 2 * k :] == IGNORE_INDEX]
    assert chisquare(np.bincount(filler, minlength=v), np.full(v, 1 / v)) > ALPHA


def test_without_random_filler_the_query_region_is_zero_but_queries():
    task = tasks.get("mqar", vocab_size=128, length=64, num_kv_pairs=8, random_non_queries=False)
    batch = task.batch(50, seed=0)
    region, lab = batch.tokens[:, 16:], batch.labels["targets"][:, 16:]
    assert (region[lab == IGNORE_INDEX] == 0).all() and (region[lab != IGNORE_INDEX] > 0).all()


def test_filler_is_seeded_per_item():
    task = tasks.get("mqar", vocab_size=256, length=128, num_kv_pairs=8)
    a = task.batch(64, seed=7, threads=1)
    b = task.batch(64, seed=7, threads=2)
    c = task.batch(1, seed=7, start=40)
    assert np.array_equal(a.tokens, b.tokens) and np.array_equal(a.tokens[40:41], c.tokens)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(vocab_size=8192, length=63), "even"),
        (dict(vocab_size=8192, length=64, num_kv_pairs=17), "sequence too short"),
        (dict(length=64, num_kv_pairs=8, num_passes=4), "sequence too short"),
        (dict(vocab_size=64, length=256, num_kv_pairs=32), "too small for the number"),
        (dict(vocab_size=64, length=64, num_kv_pairs=4), "vocab_size > length"),
        (dict(num_kv_pairs=0), "num_kv_pairs"),
        (dict(power_a=-1.0), "power_a"),
    ],
)
def test_impossible_parameters_are_refused_up_front(params, message):
    with pytest.raises(ValueError, match=message):
        tasks.get("mqar", **params)


def test_paper_configurations_build():
    for seq_len, k in [(64, 4), (128, 8), (256, 16), (256, 32), (256, 64), (1024, 256)]:
        batch = tasks.get("mqar", vocab_size=8192, length=seq_len, num_kv_pairs=k).batch(4, seed=0)
        assert ((batch.labels["targets"] != IGNORE_INDEX).sum(axis=1) == k).all()


def test_requests_beyond_the_memory_cap_are_refused(monkeypatch):
    monkeypatch.setenv("KLEENE_MAX_BYTES", str(1 << 20))
    task = tasks.get("mqar", vocab_size=8192, length=256, num_kv_pairs=16)
    with pytest.raises(ValueError, match="too large"):
        task.batch(1000, seed=0)
    assert task.batch(10, seed=0).tokens.shape == (10, 256)


def test_token_dtype_must_hold_the_vocabulary():
    with pytest.raises(ValueError, match="dtype"):
        tasks.get("mqar", vocab_size=8192, dtype="uint8")
    small = tasks.get("mqar", vocab_size=200, length=64, dtype="uint8").batch(3, seed=1)
    wide = tasks.get("mqar", vocab_size=200, length=64).batch(3, seed=1)
    assert small.tokens.dtype == np.uint8 and np.array_equal(small.tokens, wide.tokens)


def _child_batch(queue):
    queue.put(_FORK_TASK.batch(16, seed=3, threads=2).tokens)


_FORK_TASK = tasks.get("mqar", vocab_size=256, length=64, num_kv_pairs=4)


def test_a_sampler_built_before_fork_works_in_the_child():
    import multiprocessing as mp

    parent = _FORK_TASK.batch(16, seed=3, threads=2).tokens  # the pool exists before the fork
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_batch, args=(queue,))
    proc.start()
    child = queue.get(timeout=60)
    proc.join(timeout=60)
    assert proc.exitcode == 0 and np.array_equal(child, parent)
