"""Test-only models for kleene.evaluate: a perfect model built from each task's exact labels
(looked up by the row's tokens) and a uniform model."""

from __future__ import annotations

import numpy as np

import kleene
from kleene.batch import IGNORE_INDEX

BIG = 30.0  # logit margin of a one-hot prediction: exp(-30) is far below every tolerance


def one_hot(ids: np.ndarray, vocab: int) -> np.ndarray:
    out = np.full((*ids.shape, vocab), -BIG)
    safe = np.where((ids >= 0) & (ids < vocab), ids, 0)
    np.put_along_axis(out, safe[..., None], 0.0, -1)
    return out


def shifted(label: np.ndarray, fill) -> np.ndarray:
    out = np.full(label.shape, fill, dtype=label.dtype)
    out[:, :-1] = label[:, 1:]
    return out


def dyck_strings(k: int, length: int) -> list[tuple[int, ...]]:
    """Every balanced string over ``k`` bracket pairs (opens ``0..k-1``, closes ``k..``)."""
    out = []

    def grow(prefix, stack):
        if len(prefix) == length:
            if not stack:
                out.append(tuple(prefix))
            return
        for a in range(k):
            grow(prefix + [a], stack + [a])
        if stack:
            grow(prefix + [stack[-1] + k], stack[:-1])

    grow([], [])
    return out


def dyck_next_law(k: int, length: int, rows: np.ndarray) -> np.ndarray:
    """The law of the token after each prefix of each row, by counting completions among all
    balanced strings (uniform law on length ``length``); zero after the last token."""
    strings = np.array(dyck_strings(k, length))
    out = np.zeros((*rows.shape, 2 * k))
    for i, row in enumerate(rows):
        for t in range(length - 1):
            same = strings[(strings[:, : t + 1] == row[: t + 1]).all(1)]
            out[i, t] = np.bincount(same[:, t + 1], minlength=2 * k) / len(same)
    return out


def perfect_rows(task, batch) -> np.ndarray:
    """log-probabilities [B, T, V] of a model that knows each item's exact answer; output t
    predicts token t+1 (or classifies tokens[:t+1])."""
    v = len(task.vocab)
    name, lab = task.name, batch.labels
    if name == "markov":
        return np.log(lab["bayes"].astype(np.float64))
    if name == "regbench" or "valid_next" in lab:
        valid = lab["valid_next"].astype(np.float64)
        full = np.zeros((*batch.tokens.shape, v))
        full[..., : valid.shape[-1]] = valid
        if "targets" in lab and name == "flip_flop":  # the read answer is the written bit
            t = lab["targets"]
            full = np.where((t != IGNORE_INDEX)[..., None], np.exp(one_hot(t, v)), full)
        full[full.sum(-1) == 0] = 1.0
        with np.errstate(divide="ignore"):
            return np.log(full / full.sum(-1, keepdims=True))
    if "label_trace" in lab:
        return one_hot(lab["label_trace"], int(task.classes.max()) + 1)
    if name == "eca":
        return one_hot(shifted(batch.tokens.astype(np.int64), IGNORE_INDEX), v)
    if name == "compression":
        return one_hot(lab["reconstruction"], v)
    if "targets" in lab:
        return one_hot(lab["targets"], v)
    if name == "dyck":
        law = dyck_next_law(task.k, task.length, batch.tokens.astype(np.int64))
        law[law.sum(-1) == 0] = 1.0
        with np.errstate(divide="ignore"):
            return np.log(law / law.sum(-1, keepdims=True))
    if name in ("cfg3", "cfg3_random"):
        from kleene.evaluation.scorers import GrammarScorer

        truth = GrammarScorer(task).truth(batch)
        truth[truth.sum(-1) == 0] = 1.0
        with np.errstate(divide="ignore"):
            return np.log(truth / truth.sum(-1, keepdims=True))
    raise AssertionError(f"no perfect model for {name}")


class PerfectModel:
    """Looks each row up in items 0..num-1 of (task, seed) and answers from its labels."""

    def __init__(self, task, seed: int, num: int, labels: dict | None = None):
        params = {k: val for k, val in task.config.items() if k != "task"}
        self.task = kleene.tasks.get(task.name, **{**params, **(labels or {})})
        self.batch = self.task.batch(num, seed=seed)
        self.answers = perfect_rows(self.task, self.batch)
        self.index = {row.tobytes(): i for i, row in enumerate(self.batch.tokens.astype(np.int64))}

    def __call__(self, tokens: np.ndarray) -> np.ndarray:
        rows = [self.index[r.tobytes()] for r in np.asarray(tokens, dtype=np.int64)]
        return self.answers[rows]


def uniform_model(vocab: int):
    return lambda tokens: np.zeros((*np.asarray(tokens).shape, vocab))
