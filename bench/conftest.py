"""Benchmark conventions: every group holds a kleene row and peer rows; the summary prints
throughput and the ratio of each row to kleene's.

A benchmark declares itself with :func:`declare`::

    def test_numpy_walk(benchmark):
        declare(benchmark, group="walk B=64 T=256", impl="numpy", items=64 * 256, unit="tokens")
        benchmark(numpy_walk, ...)

Run: ``pytest bench --benchmark-only`` (add ``-k markov`` to select).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

KLEENE = "kleene"


def declare(benchmark, *, group: str, impl: str, items: int, unit: str = "items") -> None:
    """Names the benchmark's group and implementation and the work done per call."""
    benchmark.group = group
    benchmark.name = impl
    benchmark.extra_info.update({"impl": impl, "items": items, "unit": unit})


def _rows(config):
    session = getattr(config, "_benchmarksession", None)
    if session is None:
        return {}
    groups: dict[str, list] = {}
    for bench in session.benchmarks:
        info = bench.extra_info
        if "items" not in info or not bench.stats:
            continue
        groups.setdefault(bench.group or "", []).append(bench)
    return groups


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    groups = _rows(config)
    if not groups:
        return
    tr = terminalreporter
    tr.section("kleene vs peers (median time; ratio = peer time / kleene time)")
    tr.write_line("| group | implementation | median | throughput | kleene speed-up |")
    tr.write_line("|---|---|---|---|---|")
    for group, benches in groups.items():
        kleene_rows = [b for b in benches if b.extra_info["impl"].startswith(KLEENE)]
        base = min((b.stats.median for b in kleene_rows), default=None)
        for b in sorted(benches, key=lambda b: b.stats.median):
            info = b.extra_info
            rate = info["items"] / b.stats.median
            ratio = f"{b.stats.median / base:.1f}x" if base else "-"
            tr.write_line(
                f"| {group} | {info['impl']} | {_fmt_time(b.stats.median)} | "
                f"{_fmt_rate(rate)} {info['unit']}/s | {ratio} |"
            )


def _fmt_time(seconds: float) -> str:
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "us")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def _fmt_rate(rate: float) -> str:
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rate >= scale:
            return f"{rate / scale:.3g}{unit}"
    return f"{rate:.3g}"
