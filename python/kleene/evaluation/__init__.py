"""Score a model against the exact answer every task knows.

``kleene.evaluate(model, task, num, seed, lengths=...)`` feeds ``num`` items of the stream
``(task, seed)`` to ``model`` in batches and compares its next-token predictions with the
task's exact labels: the Bayes-optimal predictive for Markov chains, the automaton behind each
REGBENCH episode, the PCFG behind each cfg3 string, the rule behind each cellular automaton,
the target of each algorithmic task. Each family has its paper's metrics (see
:mod:`kleene.evaluation.scorers`); ``lengths`` repeats the evaluation at several sequence
lengths (length generalisation).

The model is any callable from token ids ``[B, T]`` to next-token log-probabilities
``[B, T, V]`` (``V`` = ``len(task.vocab)``; for the classification tasks, parity and the
like, ``V`` is the number of classes, ``task.classes.max() + 1``). Output position ``t`` has
read ``tokens[:, :t+1]`` and predicts ``tokens[:, t+1]`` (the usual causal-LM alignment);
for classification tasks it gives the class of the prefix. Scores are normalised with
log-softmax, so raw logits work too. A ``torch.nn.Module`` gets int64 tensors on its own
device, under ``torch.no_grad()``; any other callable gets int64 numpy arrays and may return
numpy arrays or tensors.

Example:
    >>> import numpy as np, kleene
    >>> task = kleene.tasks.get("markov", length=32)
    >>> uniform = lambda tokens: np.zeros((*tokens.shape, 2))
    >>> result = kleene.evaluate(uniform, task, num=64, seed=0)
    >>> round(result.metrics[32]["cross_entropy"], 6) == round(float(np.log(2)), 6)
    True
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import tasks as _tasks
from ..batch import Batch
from .scorers import SCORERS, GrammarScorer, Metric

__all__ = ["EvalResult", "Metric", "evaluate", "supported_tasks"]

_LENGTH_PARAMS = ("length", "seq_len", "input_seq_len", "seq_length")


def supported_tasks() -> list[str]:
    """Names of the tasks :func:`evaluate` scores."""
    return sorted(SCORERS)


@dataclass
class EvalResult:
    """What :func:`evaluate` measured.

    Attributes:
        task: the task's configuration (at its own length).
        num, seed: the items scored (stream indices ``0 .. num-1`` of ``seed``).
        metrics: ``{length: {metric: value}}`` (the length is the task's length parameter;
            ``None`` for tasks without one).
        curves: ``{length: {metric: [T] per-position means}}``.
        calibration: ``{length: {"count", "predicted", "observed": [V, bins]}}``: per-symbol
            reliability bins (mean predicted probability vs frequency of that symbol next).
        definitions: each metric's definition and the value a perfect model gets.
    """

    task: dict[str, Any]
    num: int
    seed: int
    metrics: dict[int | None, dict[str, float]] = field(default_factory=dict)
    curves: dict[int | None, dict[str, np.ndarray]] = field(default_factory=dict)
    calibration: dict[int | None, dict[str, np.ndarray]] = field(default_factory=dict)
    definitions: dict[str, Metric] = field(default_factory=dict)

    @property
    def lengths(self) -> list[int | None]:
        return list(self.metrics)

    def table(self) -> str:
        """The metrics as a Markdown table: one row per length, the optimum in the header."""
        names = list(dict.fromkeys(k for m in self.metrics.values() for k in m))
        head = ["length", *(f"{n} (opt {self._optimum(n)})" for n in names)]
        rows = [
            [str(length), *(_fmt(m.get(n, float("nan"))) for n in names)]
            for length, m in self.metrics.items()
        ]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])

    def _optimum(self, name: str) -> str:
        opt = self.definitions[name].optimum
        return _fmt(opt) if isinstance(opt, float) else str(opt)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (metrics, definitions and optima; curves as lists)."""
        return {
            "task": self.task,
            "num": self.num,
            "seed": self.seed,
            "metrics": {str(k): v for k, v in self.metrics.items()},
            "curves": {
                str(k): {n: c.tolist() for n, c in v.items()} for k, v in self.curves.items()
            },
            "definitions": {
                n: {"definition": m.definition, "optimum": m.optimum}
                for n, m in self.definitions.items()
            },
        }

    def plot(self, out_dir: str | Path, train_lengths: tuple[int, int] | None = None) -> list[Path]:
        """Writes the figures (PNG) into ``out_dir``; returns their paths. Needs matplotlib
        (``pip install 'kleene[plot]'``)."""
        from .plots import write_figures

        return write_figures(self, Path(out_dir), train_lengths)

    def report(self, out_dir: str | Path, train_lengths: tuple[int, int] | None = None) -> Path:
        """Writes ``report.md`` (table, definitions, figures) and ``result.json``."""
        from .plots import write_report

        return write_report(self, Path(out_dir), train_lengths)

    def __repr__(self) -> str:
        return f"EvalResult({self.task.get('task')!r}, num={self.num}, seed={self.seed})\n" + (
            self.table()
        )


def _fmt(x: float) -> str:
    return "nan" if x != x else f"{x:.4g}"


def evaluate(
    model: Callable[[Any], Any],
    task: _tasks.Task,
    num: int = 1024,
    seed: int = 0,
    *,
    lengths: Sequence[int] | None = None,
    batch_size: int = 64,
    generate: bool = False,
    prompt_length: int = 1,
) -> EvalResult:
    """Scores ``model`` on items ``0 .. num-1`` of the stream ``(task, seed)``.

    Args:
        model: callable ``tokens [B, T] -> log-probabilities (or logits) [B, T, V]``.
        task: a task from :func:`kleene.tasks.get` (see :func:`supported_tasks`).
        num: items per length.
        seed: the stream; use one the model was not trained on for held-out scores.
        lengths: evaluate at each of these values of the task's length parameter (``length``,
            ``seq_len``, ``input_seq_len``, ``seq_length``; ``min_length = max_length`` for the
            tasks that draw a length per item). Default: the task as configured.
        batch_size: items per model call.
        generate: grammars only: also sample continuations from the model and check them with
            the parser (``generation_accuracy``).
        prompt_length: tokens of each held-out string given before generating.

    Returns:
        An :class:`EvalResult`.

    Raises:
        ValueError: unsupported task, bad sizes, or a model output of the wrong shape.
    """
    scorer_cls = SCORERS.get(task.name)
    if scorer_cls is None:
        raise ValueError(
            f"evaluate does not score task {task.name!r} yet; supported: "
            + ", ".join(supported_tasks())
        )
    for name, value, low in (
        ("num", num, 1),
        ("batch_size", batch_size, 1),
        ("prompt_length", prompt_length, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"`{name}` must be an int >= {low}, got {value!r}")
    if generate and scorer_cls is not GrammarScorer:
        raise ValueError("`generate=True` needs a grammar task (cfg3, cfg3_random)")
    call = _model_caller(model)
    result = EvalResult(task=task.config, num=num, seed=seed)
    result.definitions = {m.name: m for m in scorer_cls.metrics}
    for length in lengths if lengths is not None else [None]:
        sized = task if length is None else at_length(task, length)
        sized = _with_labels(sized, scorer_cls.labels)
        scorer = scorer_cls(sized)
        for start in range(0, num, batch_size):
            batch = sized.batch(min(batch_size, num - start), seed=seed, start=start)
            logp = _log_probs(call, batch.tokens, scorer_cls.output_size(sized))
            scorer.update(batch, logp)
            if generate:
                scorer.add_generation(_generation_ok(call, sized, batch, prompt_length))
        key = length if length is not None else _length_of(sized)
        result.metrics[key] = scorer.finish()
        result.curves[key] = scorer.curves()
        if scorer.calibration is not None:
            result.calibration[key] = scorer.calibration
    return result


def at_length(task: _tasks.Task, length: int) -> _tasks.Task:
    """The same task at another sequence length (see :func:`evaluate`'s ``lengths``)."""
    params = {k: v for k, v in task.config.items() if k != "task"}
    if "max_length" in params and "min_length" in params:
        params["min_length"] = params["max_length"] = length
    elif "length" in params:
        params["length"] = length
        if "min_length" in params:
            params["min_length"] = None
    else:
        name = next((p for p in _LENGTH_PARAMS if p in params), None)
        if name is None:
            raise ValueError(f"task {task.name!r} has no length parameter; drop `lengths`")
        params[name] = length
    return _tasks.get(task.name, **params)


def _length_of(task: _tasks.Task) -> int | None:
    params = task.config
    for name in ("max_length", *_LENGTH_PARAMS):
        if name in params:
            return params[name]
    return None


def _with_labels(task: _tasks.Task, labels: dict[str, Any]) -> _tasks.Task:
    if all(task.config.get(k) == v for k, v in labels.items()):
        return task
    params = {k: v for k, v in task.config.items() if k != "task"}
    return _tasks.get(task.name, **{**params, **labels})


def _model_caller(model: Callable[[Any], Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Wraps ``model`` so it takes and returns numpy arrays (torch modules on their device,
    without gradients)."""
    if not callable(model):
        raise TypeError(f"`model` must be callable, got {type(model).__name__}")
    torch = sys.modules.get("torch")  # a torch model implies torch is imported; never import it
    if torch is not None and isinstance(model, torch.nn.Module):
        param = next(iter(model.parameters()), None)
        device = param.device if param is not None else torch.device("cpu")

        def call(tokens: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                out = model(torch.from_numpy(tokens).to(device))
            return out.detach().float().cpu().numpy()

        return call

    def call_plain(tokens: np.ndarray) -> np.ndarray:
        out = model(tokens)
        if torch is not None and isinstance(out, torch.Tensor):
            out = out.detach().float().cpu().numpy()
        return np.asarray(out)

    return call_plain


def _log_probs(
    call: Callable[[np.ndarray], np.ndarray], tokens: np.ndarray, width: int
) -> np.ndarray:
    tokens = np.ascontiguousarray(tokens, dtype=np.int64)
    out = np.asarray(call(tokens), dtype=np.float64)
    want = (*tokens.shape, width)
    if out.shape != want:
        raise ValueError(f"the model returned shape {out.shape}; expected [B, T, V] = {want}")
    return _log_softmax(out)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    top = np.max(x, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    shifted = x - top
    with np.errstate(divide="ignore"):
        return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def _generation_ok(
    call: Callable[[np.ndarray], np.ndarray], task: _tasks.Task, batch: Batch, prompt: int
) -> np.ndarray:
    """Samples a continuation of each row's first ``prompt`` tokens from the model (temperature
    1, until end of string or the longest string of the grammar) and checks it by parsing."""
    eos, width = task.vocab.eos_id, batch.tokens.shape[1]
    rows = np.arange(len(batch))
    rng = np.random.default_rng([int(batch.indices[0]), 0x6E4E])
    seqs = np.full(batch.tokens.shape, task.vocab.pad_id, dtype=np.int64)
    seqs[:, :prompt] = batch.tokens[:, :prompt]
    lengths = np.minimum(batch.lengths, prompt).astype(np.int64)
    done = np.zeros(len(batch), bool)
    while not done.all():
        logp = _log_probs(call, seqs[:, : lengths.max()], len(task.vocab))
        probs = np.exp(logp[rows, lengths - 1])
        u = rng.random(len(batch))[:, None] * probs.sum(-1, keepdims=True)
        drawn = (probs.cumsum(-1) < u).sum(-1)
        write = ~done & (drawn != eos) & (lengths < width)
        seqs[write, lengths[write]] = drawn[write]
        lengths = lengths + write
        done = ~write
    terminals = np.where((seqs >= 1) & (seqs < eos), seqs - 1, -1)  # cfg3 ids: token a + 1
    return task.grammar.accepts_batch(terminals, lengths)
