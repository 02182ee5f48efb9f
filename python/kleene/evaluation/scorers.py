"""Per-family scorers: each turns (batch, model log-probabilities) into running sums of its
metrics, vectorised over the batch.

Alignment (every scorer): the model's output at position ``t`` has read ``tokens[:, :t+1]`` and
predicts ``tokens[:, t+1]`` (or, for classification traces, the class of that prefix). Every
task stores its labels at that output position (the convention of ``kleene.tasks.ALIGNMENTS``),
so the scorers use them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..batch import IGNORE_INDEX, Batch

CALIBRATION_BINS = 10
MAX_CALIBRATION_SYMBOLS = 64


@dataclass(frozen=True)
class Metric:
    """One metric: its name, definition, and the value a perfect model gets.

    ``optimum`` is a number, or the name of another metric whose value is the optimum on the
    same data (the Bayes-optimal cross-entropy, for instance).
    """

    name: str
    definition: str
    optimum: float | str
    higher_is_better: bool = False


class _Sums:
    """Running totals and counts, per metric and per position."""

    def __init__(self) -> None:
        self.total: dict[str, float] = {}
        self.count: dict[str, float] = {}
        self.pos_total: dict[str, np.ndarray] = {}
        self.pos_count: dict[str, np.ndarray] = {}

    def add(self, name: str, values: np.ndarray, mask: np.ndarray, by_position: bool) -> None:
        """Adds ``values`` where ``mask`` ([B] or [B, T]) holds."""
        v = np.where(mask, values, 0.0)
        self.total[name] = self.total.get(name, 0.0) + float(v.sum())
        self.count[name] = self.count.get(name, 0.0) + float(mask.sum())
        if by_position and v.ndim == 2:
            _grow_add(self.pos_total, name, v.sum(0))
            _grow_add(self.pos_count, name, mask.sum(0).astype(np.float64))

    def means(self) -> dict[str, float]:
        return {
            k: self.total[k] / self.count[k] if self.count[k] else float("nan") for k in self.total
        }

    def curves(self) -> dict[str, np.ndarray]:
        out = {}
        for k, tot in self.pos_total.items():
            cnt = self.pos_count[k]
            out[k] = np.divide(tot, cnt, out=np.full(tot.shape, np.nan), where=cnt > 0)
        return out


def _grow_add(store: dict[str, np.ndarray], name: str, values: np.ndarray) -> None:
    old = store.get(name)
    if old is None:
        store[name] = values.astype(np.float64)
        return
    n = max(len(old), len(values))
    grown = np.zeros(n)
    grown[: len(old)] += old
    grown[: len(values)] += values
    store[name] = grown


class Scorer:
    """Base class. Subclasses declare ``metrics`` and ``labels`` (task parameters that make
    the task return the labels they need) and implement :meth:`update`."""

    metrics: ClassVar[tuple[Metric, ...]] = ()
    labels: ClassVar[dict[str, Any]] = {}
    position_curves: ClassVar[tuple[str, ...]] = ()

    def __init__(self, task: Any) -> None:
        self.task = task
        self.sums = _Sums()
        self.calibration: dict[str, np.ndarray] | None = None

    @classmethod
    def output_size(cls, task: Any) -> int:
        """The width ``V`` of the model's output: the task's vocabulary."""
        return len(task.vocab)

    def update(self, batch: Batch, logp: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def finish(self) -> dict[str, float]:
        """Final metric values (means over the scored positions or items); metrics that
        scored nothing (generation without ``generate=True``, flip-flop reads elsewhere) are
        left out."""
        means = self.sums.means()
        return {m.name: means[m.name] for m in self.metrics if m.name in means}

    def curves(self) -> dict[str, np.ndarray]:
        """Per-position means of the metrics listed in ``position_curves``."""
        c = self.sums.curves()
        return {k: c[k] for k in self.position_curves if k in c}

    # -- shared pieces -------------------------------------------------------------------
    def _add(self, name: str, values: np.ndarray, mask: np.ndarray) -> None:
        self.sums.add(name, values, mask, name in self.position_curves)

    def _calibrate(self, logp: np.ndarray, next_tokens: np.ndarray, mask: np.ndarray) -> None:
        """Accumulates per-symbol reliability bins: predicted probability of each symbol
        against how often it is the next token."""
        v = min(logp.shape[-1], MAX_CALIBRATION_SYMBOLS)
        p = np.exp(logp[mask][:, :v])  # [N, v]
        hit = next_tokens[mask][:, None] == np.arange(v)[None, :]
        bins = np.minimum((p * CALIBRATION_BINS).astype(np.int64), CALIBRATION_BINS - 1)
        flat = bins + np.arange(v)[None, :] * CALIBRATION_BINS
        size = v * CALIBRATION_BINS
        count = np.bincount(flat.ravel(), minlength=size).reshape(v, -1)
        psum = np.bincount(flat.ravel(), weights=p.ravel(), minlength=size).reshape(v, -1)
        hits = np.bincount(flat.ravel(), weights=hit.ravel(), minlength=size).reshape(v, -1)
        if self.calibration is None:
            self.calibration = {"count": count * 0.0, "predicted": psum * 0, "observed": hits * 0}
        self.calibration["count"] += count
        self.calibration["predicted"] += psum
        self.calibration["observed"] += hits


def next_token_view(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """``(next_tokens [B, T], mask [B, T])``: the token each output position predicts, and
    where that token exists (``t + 1 < length``)."""
    tokens = batch.tokens.astype(np.int64)
    nxt = np.full(tokens.shape, IGNORE_INDEX, dtype=np.int64)
    nxt[:, :-1] = tokens[:, 1:]
    t = np.arange(tokens.shape[1])[None, :]
    return nxt, (t + 1) < batch.lengths[:, None]


def gather(logp: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``logp[b, t, ids[b, t]]``; 0 where the id is outside the vocabulary (-100 on positions
    that are not scored)."""
    v = logp.shape[-1]
    safe = np.clip(ids, 0, v - 1)
    got = np.take_along_axis(logp, safe[..., None], -1)[..., 0]
    return np.where((ids >= 0) & (ids < v), got, 0.0)


def xlogy_kl(p: np.ndarray, logp_p: np.ndarray, logq: np.ndarray) -> np.ndarray:
    """``sum_v p (log p - log q)`` over the last axis with 0 log 0 = 0."""
    with np.errstate(invalid="ignore"):  # p = 0 beside log q = -inf: the term is 0
        terms = np.where(p > 0, p * (logp_p - logq), 0.0)
    return terms.sum(-1)


def safe_log(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p)


# -- the families ----------------------------------------------------------------------------


class MarkovScorer(Scorer):
    """Markov-ICL (Bond et al.): loss against the Bayes-optimal add-alpha predictive."""

    labels = {"labels": "bayes,true_probs"}
    position_curves = ("excess_loss", "cross_entropy", "bayes_cross_entropy")
    metrics = (
        Metric(
            "cross_entropy",
            "mean over predicted positions of -log q(x[t+1] | x[:t+1]) in nats",
            "bayes_cross_entropy",
        ),
        Metric(
            "bayes_cross_entropy",
            "the same loss of the Bayes-optimal predictive (add-alpha for Dirichlet rows; the "
            "chain itself for a fixed chain): the lowest expected loss any model can reach",
            "bayes_cross_entropy",
        ),
        Metric("excess_loss", "cross_entropy - bayes_cross_entropy, in nats", 0.0),
        Metric(
            "kl_bayes",
            "mean KL(Bayes predictive || model) over predicted positions, in nats",
            0.0,
        ),
        Metric(
            "kl_true",
            "mean KL(true transition row || model), in nats; the Bayes predictive's own value "
            "is `bayes_kl_true` (no model can know the sampled chain better)",
            "bayes_kl_true",
        ),
        Metric(
            "bayes_kl_true", "mean KL(true transition row || Bayes predictive)", "bayes_kl_true"
        ),
    )

    def update(self, batch: Batch, logp: np.ndarray) -> None:
        nxt, mask = next_token_view(batch)
        bayes = batch.labels["bayes"].astype(np.float64)
        true = batch.labels["true_probs"].astype(np.float64)
        ce = -gather(logp, nxt)
        log_bayes = safe_log(bayes)
        bce = -gather(log_bayes, nxt)
        log_true = safe_log(true)
        self._add("cross_entropy", ce, mask)
        self._add("bayes_cross_entropy", bce, mask)
        self._add("excess_loss", ce - bce, mask)
        self._add("kl_bayes", xlogy_kl(bayes, log_bayes, logp), mask)
        self._add("kl_true", xlogy_kl(true, log_true, logp), mask)
        self._add("bayes_kl_true", xlogy_kl(true, log_true, log_bayes), mask)
        self._calibrate(logp, nxt, mask)


class RegbenchScorer(Scorer):
    """REGBENCH (Akyürek et al. 2024): the paper's DFA accuracy and distribution distance."""

    labels = {"labels": "targets,valid_next"}
    position_curves = ("dfa_accuracy",)
    metrics = (
        Metric(
            "dfa_accuracy",
            "fraction of scored positions whose greedy prediction extends the current string "
            "to one the episode's automaton accepts (positions before a separator or padding "
            "are not scored), as in the paper's eval.py",
            1.0,
            True,
        ),
        Metric(
            "l1",
            "mean L1 distance between the model's next-symbol distribution and the truth "
            "(uniform over the current state's outgoing symbols); the paper's model_dfa_diff "
            "is its sum",
            0.0,
        ),
        Metric("tv", "total-variation distance, l1 / 2", 0.0),
        Metric("cross_entropy", "mean -log q(next symbol) over scored positions, in nats", "n/a"),
    )

    def update(self, batch: Batch, logp: np.ndarray) -> None:
        targets = batch.labels["targets"]
        mask = targets != IGNORE_INDEX
        valid = batch.labels["valid_next"].astype(bool)
        pred = logp.argmax(-1)
        ok = np.take_along_axis(valid, np.clip(pred, 0, valid.shape[-1] - 1)[..., None], -1)
        ok = ok[..., 0] & (pred < valid.shape[-1])
        truth = valid / np.maximum(valid.sum(-1, keepdims=True), 1)
        l1 = np.abs(np.exp(logp) - truth).sum(-1)
        self._add("dfa_accuracy", ok.astype(np.float64), mask)
        self._add("l1", l1, mask)
        self._add("tv", l1 / 2, mask)
        self._add("cross_entropy", -gather(logp, targets), mask)
        self._calibrate(logp, targets, mask)


class GrammarScorer(Scorer):
    """PCFGs (cfg3 and its random family): KL to the exact next-token distribution from the
    grammar's prefix probabilities, and generation accuracy checked by the parser."""

    position_curves = ("kl",)
    metrics = (
        Metric(
            "kl",
            "mean over positions of KL(true next-token distribution || model) in nats; the "
            "truth is the PCFG's exact prefix-probability ratio, end of string included",
            0.0,
        ),
        Metric("cross_entropy", "mean -log q(next token, end of string included), in nats", "n/a"),
        Metric(
            "generation_accuracy",
            "fraction of model continuations (sampled at temperature 1 from the first "
            "`prompt_length` tokens of held-out strings, until end of string) that the grammar "
            "derives (generate=True only)",
            1.0,
            True,
        ),
    )

    def update(self, batch: Batch, logp: np.ndarray) -> None:
        truth = self.truth(batch)  # [B, T, V]
        mask = truth.sum(-1) > 0
        log_truth = safe_log(truth)
        self._add("kl", xlogy_kl(truth, log_truth, np.where(truth > 0, logp, 0.0)), mask)
        nxt, _ = next_token_view(batch)
        eos = self.task.vocab.eos_id
        last = np.arange(batch.tokens.shape[1])[None, :] == (batch.lengths[:, None] - 1)
        nxt = np.where(last, eos, nxt)
        self._add("cross_entropy", -gather(logp, nxt), mask)
        self._calibrate(logp, nxt, mask)

    def truth(self, batch: Batch) -> np.ndarray:
        """Exact next-token distributions in the task's vocabulary layout, at output
        positions: row ``t`` is the law of the token after ``tokens[:t+1]``."""
        g = self.task.grammar
        offset, eos = 1, self.task.vocab.eos_id  # cfg3 ids: terminal a is token a + 1
        n_terms = len(g.terminals)
        out = np.zeros((*batch.tokens.shape, len(self.task.vocab)))
        for b, (row, n) in enumerate(zip(batch.tokens, batch.lengths, strict=True)):
            ids = (row[: int(n)].astype(np.int64) - offset).tolist()
            dist = g.next_token_distributions(ids)[1:]  # after each non-empty prefix
            out[b, : int(n), offset : offset + n_terms] = dist[:, 1:]
            out[b, : int(n), eos] = dist[:, 0]
        return out

    def add_generation(self, accepted: np.ndarray) -> None:
        self._add("generation_accuracy", accepted.astype(np.float64), np.ones(accepted.shape, bool))


class DyckScorer(Scorer):
    """Dyck-k strings uniform over a fixed length (task ``dyck``): KL to the exact next-token
    law, which counts the completions of each prefix, and validity of greedy predictions."""

    position_curves = ("kl",)
    metrics = (
        Metric(
            "kl",
            "mean over positions with a next token of KL(true next-token law || model) in "
            "nats; the truth is #completions(prefix + a) / #completions(prefix) under the "
            "uniform law on balanced strings of the task's length",
            0.0,
        ),
        Metric("cross_entropy", "mean -log q(next token), in nats", "n/a"),
        Metric(
            "valid_accuracy",
            "fraction of positions whose greedy prediction keeps the prefix completable",
            1.0,
            True,
        ),
    )

    def update(self, batch: Batch, logp: np.ndarray) -> None:
        truth = self.truth(batch)
        nxt, mask = next_token_view(batch)
        self._add("kl", xlogy_kl(truth, safe_log(truth), np.where(truth > 0, logp, 0.0)), mask)
        self._add("cross_entropy", -gather(logp, nxt), mask)
        valid = np.take_along_axis(truth, logp.argmax(-1)[..., None], -1)[..., 0] > 0
        self._add("valid_accuracy", valid.astype(np.float64), mask)

    def truth(self, batch: Batch) -> np.ndarray:
        """``[B, T, 2k]``: the law of the token after ``tokens[:t+1]`` (zero at the end)."""
        k = self.task.k
        tokens = batch.tokens.astype(np.int64)
        b, t_len = tokens.shape
        rows = np.arange(b)
        stack = np.zeros((b, t_len + 1), np.int64)
        depth = np.zeros(b, np.int64)
        top = np.full((b, t_len), -1)
        for t in range(t_len):  # stack tops, vectorised over the batch
            opening = tokens[:, t] < k
            stack[rows, depth] = np.where(opening, tokens[:, t], stack[rows, depth])
            depth = depth + np.where(opening, 1, -1)
            top[:, t] = np.where(depth > 0, stack[rows, np.maximum(depth - 1, 0)], -1)
        d = batch.labels["depth"].astype(np.int64)
        r = t_len - 1 - np.arange(t_len)[None, :]  # tokens still to come after position t
        here = _log_completions(d, r, k)
        p_open = np.exp(_log_completions(d + 1, r - 1, k) - here)
        p_close = np.exp(_log_completions(d - 1, r - 1, k) - here)
        out = np.zeros((b, t_len, 2 * k))
        out[..., :k] = p_open[..., None]
        bb, tt = np.nonzero(top >= 0)  # the one closing bracket that matches the stack top
        out[bb, tt, top[bb, tt] + k] = p_close[bb, tt]
        out[:, r[0] <= 0] = 0.0
        return out


def _log_completions(d: np.ndarray, r: np.ndarray, k: int) -> np.ndarray:
    """log of the number of ways to close depth ``d`` in exactly ``r`` more tokens with ``k``
    bracket types: ballot paths ``C(r, m) (d + 1) / (m + 1)``, ``m = (r + d) / 2``, times
    ``k`` per opening bracket among them; ``-inf`` where impossible."""
    from scipy.special import gammaln

    d, r = np.broadcast_arrays(d, r)
    ok = (d >= 0) & (r >= d) & ((r - d) % 2 == 0)
    dd, rr = np.where(ok, d, 0), np.where(ok, r, 0)
    m = (rr + dd) // 2
    log_paths = (
        gammaln(rr + 1) - gammaln(m + 1) - gammaln(rr - m + 1) + np.log(dd + 1) - np.log(m + 1)
    )
    return np.where(ok, log_paths + (rr - dd) / 2 * np.log(k), -np.inf)


class Seq2SeqScorer(Scorer):
    """DeepMind's Chomsky-hierarchy transduction tasks: the suite's per-position accuracy on
    the scored output positions, and whole-sequence accuracy."""

    position_curves = ("position_accuracy",)
    metrics = (
        Metric(
            "position_accuracy",
            "fraction of scored output positions (accuracy_mask) whose greedy prediction is "
            "the target token (the suite's accuracy)",
            1.0,
            True,
        ),
        Metric(
            "sequence_accuracy",
            "fraction of items whose every scored output token is predicted correctly",
            1.0,
            True,
        ),
    )

    def update(self, batch: Batch, logp: np.ndarray) -> None:
        targets = batch.labels["targets"]
        mask = batch.labels["accuracy_mask"]
        correct = logp.argmax(-1) == targets
        self._add("position_accuracy", correct.astype(np.float64), mask)
        whole = (correct | ~mask).all(-1)
        self._add("sequence_accuracy", whole.astype(np.float64), mask.any(-1))


class TraceScorer(Scorer):
    """Sequence classification (parity, modular arithmetic, word problems, ...): the output at
    every position classifies the prefix read so far (``label_trace``), over the task's
    classes rather than its vocabulary."""

    @classmethod
    def output_size(cls, task: Any) -> int:
        """The number of classes (``task.classes.max() + 1``)."""
        return int(task.classes.max()) + 1

    position_curves = ("position_accuracy",)
    metrics = (
        Metric(
            "accuracy",
            "fraction of items whose final output (position length-1) is the class of the "
            "whole sequence (the suite's score)",
            1.0,
            True,
        ),
        Metric(
            "position_accuracy",
            "fraction of positions whose greedy output is the class of the prefix",
            1.0,
            True,
        ),
        Metric(
            "sequence_accuracy",
            "fraction of items classified correctly at every position",
            1.0,
            True,
        ),
    )

    def update(self, batch: Batch, logp: np.ndarray) -> None:
        trace = batch.labels["label_trace"]
        mask = trace != IGNORE_INDEX
        correct = logp.argmax(-1) == trace
        self._add("position_accuracy", correct.astype(np.float64), mask)
        last = np.take_along_axis(correct, (batch.lengths - 1)[:, None], 1)[:, 0]
        has = batch.lengths > 0
        self._add("accuracy", last.astype(np.float64), has)
        self._add("sequence_accuracy", (correct | ~mask).all(-1).astype(np.float64), has)


class ValidNextScorer(Scorer):
    """Regular languages given by an automaton (Tomita, bounded Dyck, flip-flop): a greedy
    prediction is right when the automaton can read it next."""

    position_curves = ("valid_accuracy",)
    metrics = (
        Metric(
            "valid_accuracy",
            "fraction of positions (with a next token) whose greedy prediction is a symbol the "
            "automaton accepts next (valid_next)",
            1.0,
            True,
        ),
        Metric(
            "sequence_accuracy",
            "fraction of items with a valid greedy prediction at every position",
            1.0,
            True,
        ),
        Metric(
            "read_accuracy",
            "flip-flop only: fraction of read instructions after which the greedy prediction "
            "is the last written bit (the paper's metric)",
            1.0,
            True,
        ),
    )

    def update(self, batch: Batch, logp: np.ndarray) -> None:
        _, mask = next_token_view(batch)
        valid = batch.labels["valid_next"].astype(bool)
        pred = logp.argmax(-1)
        ok = np.take_along_axis(valid, np.clip(pred, 0, valid.shape[-1] - 1)[..., None], -1)
        ok = ok[..., 0] & (pred < valid.shape[-1])
        self._add("valid_accuracy", ok.astype(np.float64), mask)
        self._add("sequence_accuracy", (ok | ~mask).all(-1).astype(np.float64), mask.any(-1))
        if "targets" in batch.labels:
            targets = batch.labels["targets"]
            self._add(
                "read_accuracy", (pred == targets).astype(np.float64), targets != IGNORE_INDEX
            )


class LabelScorer(Scorer):
    """Recall and in-context function tasks: accuracy on the labelled positions (``targets``;
    for ``compression``, the model's output is its reconstruction of the whole sequence, MAD's
    decoding of the last position, scored against ``reconstruction``)."""

    position_curves = ("accuracy",)
    metrics = (
        Metric(
            "accuracy",
            "fraction of labelled positions (label != -100) whose greedy prediction is the label",
            1.0,
            True,
        ),
        Metric(
            "sequence_accuracy",
            "fraction of items whose every labelled position is predicted correctly",
            1.0,
            True,
        ),
    )

    def update(self, batch: Batch, logp: np.ndarray) -> None:
        labels = batch.labels.get("targets", batch.labels.get("reconstruction"))
        mask = labels != IGNORE_INDEX
        correct = logp.argmax(-1) == labels
        self._add("accuracy", correct.astype(np.float64), mask)
        self._add("sequence_accuracy", (correct | ~mask).all(-1).astype(np.float64), mask.any(-1))


class CellScorer(Scorer):
    """Cellular automata (ECA rows, Life grids): next-cell accuracy and exact-grid accuracy."""

    metrics = (
        Metric(
            "cell_accuracy",
            "fraction of predicted cells (eca: every row after the first; life: the target "
            "grid) whose greedy prediction is the true cell",
            1.0,
            True,
        ),
        Metric(
            "grid_accuracy",
            "fraction of items whose every predicted cell is right",
            1.0,
            True,
        ),
    )

    def update(self, batch: Batch, logp: np.ndarray) -> None:
        target, mask = self.cells(batch)
        correct = logp.argmax(-1) == target
        self._add("cell_accuracy", correct.astype(np.float64), mask)
        self._add("grid_accuracy", (correct | ~mask).all(-1).astype(np.float64), mask.any(-1))

    def cells(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """``(target [B, T], mask [B, T])`` at output positions."""
        if self.task.name == "eca":
            nxt, mask = next_token_view(batch)
            width = self.task.sample_width
            t = np.arange(batch.tokens.shape[1])[None, :]
            return nxt, mask & (t + 1 >= width)
        labels = batch.labels["targets"]
        cell_ids = [self.task.vocab.id_of("0"), self.task.vocab.id_of("1")]
        return labels, np.isin(labels, cell_ids)


SCORERS: dict[str, type[Scorer]] = {
    "markov": MarkovScorer,
    "regbench": RegbenchScorer,
    "cfg3": GrammarScorer,
    "cfg3_random": GrammarScorer,
    "dyck": DyckScorer,
    "eca": CellScorer,
    "life": CellScorer,
    **dict.fromkeys(
        (
            "binary_addition",
            "binary_multiplication",
            "bucket_sort",
            "compute_sqrt",
            "duplicate_string",
            "missing_duplicate",
            "modular_arithmetic_brackets",
            "odds_first",
            "reverse_string",
            "solve_equation",
            "stack_manipulation",
        ),
        Seq2SeqScorer,
    ),
    **dict.fromkeys(
        ("parity", "even_pairs", "cycle_navigation", "modular_arithmetic", "word_problem"),
        TraceScorer,
    ),
    **dict.fromkeys(("tomita", "dyck_bounded", "flip_flop"), ValidNextScorer),
    **dict.fromkeys(
        (
            "associative_recall",
            "boolean_functions",
            "compression",
            "copying",
            "fuzzy_in_context_recall",
            "in_context_recall",
            "induction_heads",
            "memorization",
            "mqar",
            "noisy_in_context_recall",
            "selective_copying",
        ),
        LabelScorer,
    ),
}
"""Which scorer each registered task uses."""
