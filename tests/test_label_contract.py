"""The label convention, checked mechanically on every registered task.

Output position ``t`` has read ``tokens[:, :t+1]``; every label declares how it lines up with
that (``kleene.tasks.ALIGNMENTS``) and what it holds (``kleene.tasks.LABEL_KINDS``). The checks
below use only the tokens a batch carries, so an off-by-one in any task fails here: a
next-token target stored at its own position, a distribution that gives the observed next
token no mass, a prefix property that differs between rows sharing the prefix.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from test_tasks import SMALL

import kleene
from kleene import IGNORE_INDEX, tasks

ALL_LABELS = {
    "markov": {"labels": "bayes,true_probs"},
    "regbench": {"labels": "targets,states,valid_next,next_probs"},
    "cfg3": {"labels": "ancestors,spans"},
    "cfg3_random": {"labels": "ancestors,spans"},
}
EXTRA_CONFIGS = [
    ("tomita", {"index": 4, "max_length": 12, "mode": "positive"}),
    ("flip_flop", {"length": 64}),
    ("binary_sequences", {"random_p": True, "length": 30}),
    ("binary_sequences", {"kind": "periodic", "period": 3, "length": 20}),
    ("induction_heads", {"length": 20, "targets": "next_token"}),
    ("markov", {"vocab_size": 3, "order": 2, "length": 40, "switch_every": 10}),
    ("life", {"size": 8, "format": "grid"}),
]
CONFIGS = [(n, {**SMALL.get(n, {}), **ALL_LABELS.get(n, {})}) for n in tasks.names()]
CONFIGS += EXTRA_CONFIGS


def _batch(name: str, params: dict) -> tuple[kleene.tasks.Task, kleene.Batch]:
    task = tasks.get(name, **params)
    return task, task.batch(96, seed=5)


def _next_positions(
    batch: kleene.Batch, symbols_only: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``(next token [B, T-1], whether it exists [B, T-1])``: position t's next token.
    ``symbols_only``: only where that token is a symbol, not a separator or padding (the
    distribution and support labels describe the next symbol of the string being read)."""
    tokens = batch.tokens.astype(np.int64)
    t = np.arange(tokens.shape[1] - 1)[None, :]
    exists = (t + 1) < batch.lengths[:, None]
    if symbols_only:
        exists &= ~np.isin(tokens[:, 1:], list(batch.vocab.special_ids.values()))
    return tokens[:, 1:], exists


@pytest.mark.parametrize(("name", "params"), CONFIGS, ids=lambda x: str(x))
def test_every_label_is_declared_and_keeps_the_convention(name, params):
    task, batch = _batch(name, params)
    specs = {spec.name: spec for spec in task.label_specs}
    undeclared = set(batch.labels) - set(specs)
    assert not undeclared, f"{name} returns undeclared labels {undeclared}"
    for label, array in batch.labels.items():
        spec = specs[label]
        if spec.align != "item":
            assert array.shape[:2] == batch.tokens.shape, (name, label, array.shape)
        CHECKS[spec.kind](task, batch, array, spec.align)


def check_next_token(task, batch, array, align):
    nxt, exists = _next_positions(batch)
    scored = array[:, :-1] != IGNORE_INDEX
    assert (scored & exists).any(), "no scored position"
    assert np.array_equal(array[:, :-1][scored & exists], nxt[scored & exists])
    # nothing scored past a row's end, except the answer right after its last token
    t = np.arange(array.shape[1])[None, :]
    assert not ((array != IGNORE_INDEX) & (t >= batch.lengths[:, None])).any()


def check_answer(task, batch, array, align):
    scored = array != IGNORE_INDEX
    assert scored.any(), "no scored position"
    assert ((array[scored] >= 0) & (array[scored] < len(task.vocab))).all()
    # copying the token just read must not solve the task (the same-position mistake)
    same = array[scored] == batch.tokens.astype(np.int64)[scored]
    assert same.mean() < 0.5


def check_distribution(task, batch, array, align):
    nxt, exists = _next_positions(batch, symbols_only=True)
    probs = np.take_along_axis(array[:, :-1], nxt[..., None].clip(0, array.shape[-1] - 1), -1)
    assert (probs[..., 0][exists] > 0).all(), "the observed next token has probability 0"
    t = np.arange(array.shape[1])[None, :]
    rows = array[t < batch.lengths[:, None]].astype(np.float64)
    assert np.allclose(rows.sum(-1), 1.0, atol=1e-5)


def check_support(task, batch, array, align):
    nxt, exists = _next_positions(batch, symbols_only=True)
    allowed = np.take_along_axis(array[:, :-1], nxt[..., None].clip(0, array.shape[-1] - 1), -1)
    assert (allowed[..., 0][exists] == 1).all(), "the observed next token is marked invalid"


def check_probability(task, batch, array, align):
    nxt, exists = _next_positions(batch, symbols_only=True)
    p = array[:, :-1]
    assert (p[exists & (nxt == 1)] > 0).all() and (p[exists & (nxt == 0)] < 1).all()


def check_mask(task, batch, array, align):
    assert array.dtype == np.bool_
    targets = batch.labels["targets"]
    assert array.any() and not (array & (targets == IGNORE_INDEX)).any()


def check_value(task, batch, array, align):
    if align == "prefix":
        check_prefix_function(task, batch, array)


def check_prefix_function(task, batch, array):
    """A prefix label is a function of the prefix (and of the item's hidden choices, such as
    regbench's automaton, which the item labels name): rows sharing ``tokens[:, :t+1]`` and
    their item labels agree."""
    tokens = batch.tokens
    items = [s.name for s in task.label_specs if s.align == "item" and s.name in batch.labels]
    compared = 0
    for t in range(min(tokens.shape[1], 24)):
        seen: dict[bytes, np.ndarray] = {}
        for b in range(len(batch)):
            if t >= batch.lengths[b]:
                continue
            hidden = b"".join(np.asarray(batch.labels[n][b]).tobytes() for n in items)
            key = tokens[b, : t + 1].tobytes() + b"|" + hidden
            if key in seen:
                assert np.array_equal(seen[key], array[b, t]), f"rows disagree at {t}"
                compared += 1
            seen[key] = array[b, t]
    assert compared > 0, "no two rows share a prefix: the check proves nothing"


CHECKS = {
    "next_token": check_next_token,
    "answer": check_answer,
    "distribution": check_distribution,
    "support": check_support,
    "probability": check_probability,
    "mask": check_mask,
    "value": check_value,
}


def test_every_kind_has_a_check():
    assert set(CHECKS) == set(tasks.LABEL_KINDS)


def test_a_same_position_target_is_caught():
    """The checks themselves: the former DeepMind layout (targets at their own position)."""
    task, batch = _batch("reverse_string", SMALL["reverse_string"])
    old = np.full_like(batch.labels["targets"], IGNORE_INDEX)
    old[:, 1:] = batch.labels["targets"][:, :-1]
    with pytest.raises(AssertionError):
        check_next_token(task, batch, old, "next")


def test_classification_trace_ends_at_the_label():
    for name in ("parity", "even_pairs", "cycle_navigation", "modular_arithmetic"):
        _, batch = _batch(name, SMALL[name])
        last = batch.labels["label_trace"][np.arange(len(batch)), batch.lengths - 1]
        has = batch.lengths > 0
        assert np.array_equal(last[has], batch.labels["label"][has])


def test_former_names_still_work_with_a_warning():
    with pytest.warns(DeprecationWarning, match="`input_seq_len` is now `length`"):
        old = tasks.get("mqar", vocab_size=128, input_seq_len=64, num_kv_pairs=8)
    new = tasks.get("mqar", vocab_size=128, length=64, num_kv_pairs=8)
    assert old == new
    a, b = old.batch(4, seed=1), new.batch(4, seed=1)
    assert np.array_equal(a.tokens, b.tokens)
    with pytest.warns(DeprecationWarning, match="'labels' is now 'targets'"):
        assert np.array_equal(a.labels["labels"], b.labels["targets"])
    life = tasks.get("life", size=8).batch(2, seed=0)
    with pytest.warns(DeprecationWarning, match="one position earlier"):
        former = life.labels["lm_labels"]
    assert np.array_equal(former[:, 1:], life.labels["targets"][:, :-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "lm_labels" not in life.labels and "labels" not in a.labels
    with pytest.raises(ValueError, match="not both"):
        tasks.get("mqar", length=64, input_seq_len=64)
