"""The ``kleene`` command: list tasks, generate datasets, show samples, render pictures.

Examples::

    kleene tasks
    kleene generate                                   # 10,000 items of the default task
    kleene generate markov --set order=2 --num 100000 --seed 1 --out a.npz
    kleene generate markov --num 10000000 --out data/ --shard-size 1000000   # parquet shards
    kleene show markov --set vocab_size=3 --num 3
    kleene evaluate parity --model models.py:rnn --lengths 16,64,256 --report out/
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from . import io, tasks
from .evaluation.command import add_evaluate_parser, cmd_evaluate

DEFAULT_TASK = "markov"


class _Parser(argparse.ArgumentParser):
    """Reports usage errors as one line on stderr with exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        _fail(f"{message} (see `{self.prog} --help`)")


def _fail(message: str) -> None:
    print(f"kleene: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` strings to parameters; values are JSON where they parse, else strings.

    Example:
        >>> parse_settings(["order=2", "alpha=0.5", "labels=bayes", "transition=[[1,0],[0,1]]"])
        {'order': 2, 'alpha': 0.5, 'labels': 'bayes', 'transition': [[1, 0], [0, 1]]}
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {pair!r}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kleene", description="Fast, seedable formal-language datasets.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("tasks", help="list every task with its parameters and defaults")

    gen = sub.add_parser("generate", help="write a dataset of a task")
    gen.add_argument("task", nargs="?", default=DEFAULT_TASK, help=f"(default {DEFAULT_TASK})")
    _add_task_options(gen)
    gen.add_argument("--num", type=int, default=10_000, help="number of items (default 10000)")
    gen.add_argument("--start", type=int, default=0, help="stream index of the first item")
    gen.add_argument(
        "--out", help="output file, or directory (DIR/) for shards (default TASK-seedS.npz)"
    )
    gen.add_argument(
        "--format", choices=io.FORMATS, help="default: the --out suffix; parquet for shards"
    )
    gen.add_argument("--chunk", type=int, default=4096, help="items generated per call")
    gen.add_argument(
        "--shard-size", type=int, help="items per shard (writes shards into the --out directory)"
    )
    gen.add_argument("--shard-index", type=int, default=0, help="this process's share (0-based)")
    gen.add_argument("--num-shards", type=int, default=1, help="processes sharing the shards")
    gen.add_argument("--jobs", type=int, default=1, help="shards written at once (threads)")
    gen.add_argument(
        "--label-dtype", choices=io.LABEL_DTYPES, help="store floating-point labels at this dtype"
    )
    gen.add_argument("--threads", type=int, help="threads (default KLEENE_NUM_THREADS or all)")
    gen.add_argument("--quiet", action="store_true", help="no progress bar")

    show = sub.add_parser("show", help="print a few decoded samples of a task")
    show.add_argument("task")
    _add_task_options(show)
    show.add_argument("--num", type=int, default=3)

    add_evaluate_parser(sub, _add_task_options)

    render = sub.add_parser("render", help="draw pictures (e.g. CA space-time diagrams)")
    render.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _add_task_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="task parameter (repeatable; values parse as JSON)",
    )
    p.add_argument("--seed", type=int, default=0, help="stream seed (default 0)")


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "tasks":
            return cmd_tasks()
        if args.command == "generate":
            return cmd_generate(args)
        if args.command == "show":
            return cmd_show(args)
        if args.command == "render":
            return cmd_render(args.args)
        if args.command == "evaluate":
            return cmd_evaluate(args, parse_settings(args.set))
        parser.print_help()
        return 0
    except (ValueError, TypeError, OSError) as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail("interrupted; partial output removed")
    except io.Terminated as e:
        _fail(str(e))
    return 0


def cmd_tasks() -> int:
    for name in tasks.names():
        cls = tasks._REGISTRY[name]
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        print(f"{name}: {doc}")
        for p in cls.params:
            print(f"    {p.name} = {json.dumps(p.default)}    {p.doc}")
        for label in cls.label_specs:
            print(f"    label {label.describe()}")
    print(f"\n{tasks.CONVENTION}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    task = tasks.get(args.task, **parse_settings(args.set))
    if args.num < 0 or args.chunk < 1:
        raise ValueError("--num must be >= 0 and --chunk >= 1")
    out = args.out or f"{task.name}-seed{args.seed}.npz"
    mine, shards = args.num, 1
    if args.shard_size and args.shard_size > 0 and args.num_shards > 0:
        shards = -(-args.num // args.shard_size)
        mine = sum(
            min(args.shard_size, args.num - k * args.shard_size)
            for k in range(args.shard_index, shards, args.num_shards)
        )
    progress = Progress(mine, task.name, shards, not args.quiet and sys.stderr.isatty())
    began = time.perf_counter()
    result = io.write(
        task,
        args.seed,
        args.num,
        out,
        start=args.start,
        fmt=args.format,
        chunk=args.chunk,
        threads=args.threads,
        label_dtype=args.label_dtype,
        shard_size=args.shard_size,
        shard_index=args.shard_index,
        num_shards=args.num_shards,
        jobs=args.jobs,
        progress=progress.update,
    )
    progress.finish()
    total = time.perf_counter() - began
    print(
        f"wrote {result['items']:,} items of {task.name} ({result['tokens']:,} tokens "
        f"generated, config {task.config_hash}) to {result['path']} in {total:.2f} s; "
        f"{_rate(result['tokens'], total)} tokens/s"
    )
    if result["manifest"] is None and Path(result["path"]).is_dir():
        print("manifest.json is written when the last process finishes its shards")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    task = tasks.get(args.task, **parse_settings(args.set))
    batch = task.batch(max(args.num, 0), args.seed)
    print(f"{task!r}  (config {task.config_hash})")
    for i in range(len(batch)):
        print(f"[{int(batch.indices[i])}] {batch.decode(i)}")
    specs = {label.name: label for label in task.label_specs}
    for name, array in batch.labels.items():
        print(f"  label {name}: {array.dtype} {list(array.shape)}  {specs[name].describe()}")
    print(tasks.CONVENTION)
    return 0


def cmd_render(argv: list[str]) -> int:
    from .render import render_main

    return int(render_main(argv, parser_class=_Parser) or 0)


def _rate(count: float, seconds: float) -> str:
    rate = count / seconds if seconds > 0 else float("inf")
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rate >= scale:
            return f"{rate / scale:.1f}{unit}"
    return f"{rate:.0f}"


class Progress:
    """A one-line progress bar on stderr (only when it is a terminal): items and shards."""

    def __init__(self, total: int, label: str, shards: int, enabled: bool, width: int = 30):
        self.total, self.label, self.shards = total, label, shards
        self.enabled, self.width = enabled, width
        self.began = time.perf_counter()

    def update(self, items: int, tokens: int, shards_done: int, shards_mine: int) -> None:
        if not self.enabled:
            return
        frac = items / self.total if self.total else 1.0
        bar = "#" * int(min(frac, 1.0) * self.width)
        elapsed = time.perf_counter() - self.began
        shard_part = f" shards {shards_done}/{shards_mine}" if self.shards > 1 else ""
        sys.stderr.write(
            f"\r{self.label} [{bar:<{self.width}}] {items:,}/{self.total:,} items{shard_part} "
            f"{_rate(tokens, elapsed)} tokens/s"
        )
        sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
