"""Figures and the Markdown report of an :class:`~kleene.evaluation.EvalResult` (matplotlib,
the ``plot`` extra). Each figure states its axes and units, and draws the optimum a perfect
model reaches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from . import EvalResult

_CURVE_UNITS = {
    "excess_loss": "excess loss over Bayes (nats)",
    "cross_entropy": "cross-entropy (nats)",
    "bayes_cross_entropy": "cross-entropy (nats)",
    "kl": "KL to the true next-token law (nats)",
}


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'kleene[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def write_figures(
    result: EvalResult, out_dir: Path, train_lengths: tuple[int, int] | None = None
) -> list[Path]:
    """Per-position curves, accuracy/loss vs length (with ``train_lengths`` shaded) and
    per-symbol calibration; returns the PNG paths written."""
    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in _figures(result, plt, train_lengths):
        path = out_dir / f"{name}.png"
        fig.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    return written


def _figures(result: EvalResult, plt: Any, train_lengths: tuple[int, int] | None):
    task = result.task.get("task", "task")
    for metric in _curve_metrics(result):
        yield f"{metric}_vs_position", _curve_figure(result, plt, metric, task)
    if len(result.metrics) > 1 and all(k is not None for k in result.metrics):
        for metric, spec in result.definitions.items():
            reference = spec.optimum == metric  # the optimum's own value, not a model score
            if not reference and all(metric in m for m in result.metrics.values()):
                yield (
                    f"{metric}_vs_length",
                    _length_figure(result, plt, metric, task, train_lengths),
                )
    if result.calibration:
        yield "calibration", _calibration_figure(result, plt, task)


def _curve_metrics(result: EvalResult) -> list[str]:
    names = {n for c in result.curves.values() for n in c}
    return [n for n in result.definitions if n in names and n != "bayes_cross_entropy"]


def _curve_figure(result: EvalResult, plt: Any, metric: str, task: str) -> Any:
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for length, curves in result.curves.items():
        if metric in curves:
            y = curves[metric]
            ax.plot(np.arange(1, len(y) + 1), y, lw=1.2, label=f"model, T={length}")
        if metric == "cross_entropy" and "bayes_cross_entropy" in curves:
            y = curves["bayes_cross_entropy"]
            ax.plot(np.arange(1, len(y) + 1), y, "k--", lw=1, label="Bayes-optimal")
    optimum = result.definitions[metric].optimum
    if isinstance(optimum, float):
        ax.axhline(optimum, color="k", ls=":", lw=1, label=f"optimum ({optimum:g})")
    ax.set_xlabel("position t (tokens read)")
    ax.set_ylabel(_CURVE_UNITS.get(metric, metric.replace("_", " ")))
    ax.set_title(f"{task}: {metric.replace('_', ' ')} by position")
    ax.legend(frameon=False, fontsize=8)
    return fig


def _length_figure(
    result: EvalResult, plt: Any, metric: str, task: str, train: tuple[int, int] | None
) -> Any:
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    lengths = sorted(result.metrics)
    values = [result.metrics[n][metric] for n in lengths]
    if train is not None:
        ax.axvspan(train[0], train[1], color="tab:blue", alpha=0.12, label="training lengths")
    ax.plot(lengths, values, "o-", lw=1.5, label="model")
    optimum = result.definitions[metric].optimum
    if isinstance(optimum, float):
        ax.axhline(optimum, color="k", ls=":", lw=1, label=f"optimum ({optimum:g})")
    if result.definitions[metric].higher_is_better and optimum == 1.0:
        ax.set_ylim(-0.02, 1.05)
    ax.set_xscale("log", base=2)
    ax.set_xticks(lengths, [str(n) for n in lengths])
    ax.set_xlabel("sequence length (tokens)")
    ax.set_ylabel(_CURVE_UNITS.get(metric, metric.replace("_", " ")))
    ax.set_title(f"{task}: {metric.replace('_', ' ')} vs length")
    ax.legend(frameon=False, fontsize=8)
    return fig


def _calibration_figure(result: EvalResult, plt: Any, task: str) -> Any:
    length = next(iter(result.calibration))
    cal = result.calibration[length]
    count = cal["count"]
    symbols = [s for s in range(count.shape[0]) if count[s].sum() > 0][:8]
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="perfect calibration")
    for s in symbols:
        used = count[s] > 0
        pred = cal["predicted"][s][used] / count[s][used]
        obs = cal["observed"][s][used] / count[s][used]
        ax.plot(pred, obs, "o-", ms=3, lw=1, label=f"symbol {s}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability of the symbol")
    ax.set_ylabel("observed frequency as next token")
    ax.set_title(f"{task}: per-symbol calibration (T={length})")
    ax.legend(frameon=False, fontsize=7)
    return fig


def write_report(
    result: EvalResult, out_dir: Path, train_lengths: tuple[int, int] | None = None
) -> Path:
    """``report.md`` with the table, the metric definitions and the figures, plus
    ``result.json``; returns the report's path."""
    figures = write_figures(result, out_dir, train_lengths)
    (out_dir / "result.json").write_text(json.dumps(result.to_dict(), indent=1, default=float))
    task = result.task.get("task")
    lines = [
        f"# kleene evaluation: {task}",
        "",
        f"{result.num} items per length, seed {result.seed}. Configuration: "
        f"`{json.dumps(result.task, sort_keys=True)}`",
        "",
        result.table(),
        "",
        "## Metrics",
        "",
        *(
            f"- **{m.name}** (perfect model: {m.optimum}): {m.definition}"
            for m in result.definitions.values()
        ),
        "",
        "## Figures",
        "",
        *(f"![{p.stem}]({p.name})" for p in figures),
        "",
    ]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    return path
