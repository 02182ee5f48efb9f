"""``kleene evaluate``: score a model on a task from the command line.

Example::

    kleene evaluate parity --model mymodels.py:parity_rnn --lengths 16,32,64,128 \\
        --train-lengths 1,40 --num 512 --report parity-report
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_evaluate_parser(sub: Any, add_task_options: Callable[[argparse.ArgumentParser], None]):
    """Adds the ``evaluate`` sub-command to the ``kleene`` parser."""
    p = sub.add_parser("evaluate", help="score a model against a task's exact labels")
    p.add_argument("task")
    add_task_options(p)
    p.add_argument(
        "--model",
        required=True,
        metavar="MODULE:NAME",
        help="the model: a callable tokens [B, T] -> log-probs [B, T, V], named as "
        "module:attribute or path/to/file.py:attribute",
    )
    p.add_argument("--num", type=int, default=1024, help="items per length (default 1024)")
    p.add_argument("--lengths", help="comma-separated lengths to evaluate at, e.g. 64,128,256")
    p.add_argument("--train-lengths", metavar="LO,HI", help="training range, shaded in figures")
    p.add_argument("--batch-size", type=int, default=64, help="items per model call")
    p.add_argument("--generate", action="store_true", help="grammars: generation accuracy")
    p.add_argument("--prompt-length", type=int, default=1, help="tokens given before generating")
    p.add_argument("--report", metavar="DIR", help="write report.md, figures and result.json")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def cmd_evaluate(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    from .. import tasks
    from . import evaluate

    task = tasks.get(args.task, **settings)
    model = load_model(args.model)

    def checked_model(tokens: Any) -> Any:
        try:
            return model(tokens)
        except Exception as e:  # the user's code: one line, as for every CLI error
            raise ValueError(f"the model raised {type(e).__name__}: {e}") from None

    result = evaluate(
        checked_model,
        task,
        num=args.num,
        seed=args.seed,
        lengths=_ints(args.lengths, "--lengths"),
        batch_size=args.batch_size,
        generate=args.generate,
        prompt_length=args.prompt_length,
    )
    train = _ints(args.train_lengths, "--train-lengths")
    if train is not None and len(train) != 2:
        raise ValueError("--train-lengths expects LO,HI")
    if args.json:
        print(json.dumps(result.to_dict(), default=float))
    else:
        print(result.table())
    if args.report:
        try:
            path = result.report(args.report, train_lengths=tuple(train) if train else None)
        except ImportError as e:
            raise ValueError(str(e)) from None
        print(f"report written to {path}")
    return 0


def load_model(spec: str) -> Callable[[Any], Any]:
    """The object named ``module:attribute`` or ``file.py:attribute`` (the current directory is
    importable, as with ``python -m``)."""
    source, sep, attr = spec.rpartition(":")
    if not sep or not source or not attr:
        raise ValueError(f"--model expects MODULE:NAME or FILE.py:NAME, got {spec!r}")
    if source.endswith(".py"):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"--model: no file {source}")
        loader = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(loader)  # type: ignore[arg-type]
        loader.loader.exec_module(module)  # type: ignore[union-attr]
    else:
        if "" not in sys.path:
            sys.path.insert(0, "")
        try:
            module = importlib.import_module(source)
        except ImportError as e:
            raise ValueError(f"--model: cannot import {source!r} ({e})") from None
    if not hasattr(module, attr):
        raise ValueError(f"--model: {source} has no attribute {attr!r}")
    model = getattr(module, attr)
    if not callable(model) or isinstance(model, type):
        raise ValueError(f"--model: {spec} must be a model instance or function, not a class")
    return model


def _ints(text: str | None, flag: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"{flag} expects comma-separated integers, got {text!r}") from None
