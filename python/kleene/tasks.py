"""The task protocol and the registry every task family joins.

A task is a validated, JSON-serialisable configuration plus a sampler. Item ``i`` of the stream
``(task, seed)`` is a pure function of the configuration, the seed and ``i``, so batches do not
depend on batch size, thread count, DataLoader workers or distributed ranks.

Example:
    >>> import kleene
    >>> task = kleene.tasks.get("markov", length=8)
    >>> batch = task.batch(4, seed=0)
    >>> batch.tokens.shape
    (4, 8)
    >>> bool((task.batch(2, seed=0, start=2).tokens == batch.tokens[2:]).all())
    True
"""

from __future__ import annotations

import functools
import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .batch import Batch, Vocabulary

_UNSET: Any = object()


@dataclass(frozen=True)
class Param:
    """One task parameter: its default, type, documentation and check.

    ``affects_data`` False marks parameters that only choose what is returned (labels, dtype):
    they are left out of the hash that keys the random stream. ``former`` is the parameter's
    previous name: still accepted (with a DeprecationWarning) and kept in that hash, so the
    rename leaves every stream's bytes unchanged.
    """

    name: str
    default: Any
    doc: str
    kind: type | tuple[type, ...] = int
    check: Callable[[Any], str | None] | None = None
    choices: Sequence[Any] | None = None
    affects_data: bool = True
    former: str | None = None

    def convert(self, value: Any) -> Any:
        """Converts and checks a user value; raises ValueError/TypeError naming the parameter."""
        if value is None and self.default is None:
            return None
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds:
            raise TypeError(f"parameter `{self.name}` must be {_kind_names(kinds)}, got a bool")
        if not isinstance(value, kinds):
            raise TypeError(
                f"parameter `{self.name}` must be {_kind_names(kinds)}, "
                f"got {type(value).__name__} {value!r}"
            )
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(map(repr, self.choices))
            raise ValueError(f"parameter `{self.name}` must be one of {allowed}; got {value!r}")
        if self.check is not None and (problem := self.check(value)):
            raise ValueError(f"parameter `{self.name}` {problem}; got {value!r}")
        return value


def _kind_names(kinds: tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kinds)


CONVENTION = (
    "Labels are output-aligned: position t of a label is what a causal model's output at t "
    "(having read tokens[:, :t+1]) is scored against, so logits = model(tokens) compares with "
    "every label as is, with no shift."
)
"""The label convention in one sentence (``docs/labels.md`` gives the reasoning)."""

ALIGNMENTS = {
    "next": "position t: what the output at t (having read tokens[:, :t+1]) should predict",
    "prefix": "position t: a property of tokens[:, :t+1] (the output at t should report it)",
    "token": "position t: an annotation of tokens[:, t] itself (e.g. its parse), not a target",
    "item": "one value per item (no position axis aligned with tokens)",
}
"""How a label lines up with ``tokens``: the one convention every task follows."""

LABEL_KINDS = {
    "next_token": "int ids, -100 where unscored; wherever scored, equal to tokens[:, t+1]",
    "answer": "int ids, -100 where unscored; the answer to emit at t (not always in tokens)",
    "distribution": "float [.., V]: the distribution of tokens[:, t+1] (of the next symbol of "
    "the string being read, where a separator may come instead)",
    "support": "0/1 [.., V]: 1 where the symbol may be tokens[:, t+1] (as for distribution)",
    "probability": "float: the probability that tokens[:, t+1] is 1",
    "mask": "bool, aligned with the targets: the positions a task's metric scores",
    "value": "any other array",
}
"""What a label holds; the contract test checks each kind mechanically."""


@dataclass(frozen=True)
class Label:
    """One label array a task can return: its name, alignment, kind and meaning."""

    name: str
    align: str
    kind: str
    doc: str

    def __post_init__(self) -> None:
        if self.align not in ALIGNMENTS or self.kind not in LABEL_KINDS:
            raise ValueError(f"label {self.name!r}: unknown align or kind")

    def describe(self) -> str:
        """One line: name, alignment, meaning."""
        return f"{self.name} ({self.align}-aligned {self.kind}): {self.doc}"


TOKEN_DTYPES = ("uint8", "uint16", "int16", "int32", "int64")

DTYPE = Param("dtype", "int32", "token dtype", str, choices=TOKEN_DTYPES, affects_data=False)
"""The one token-dtype parameter every task takes (it never changes the data)."""

TARGETS = Label(
    "targets", "next", "next_token", "tokens[:, t+1] where the task scores it, -100 elsewhere"
)
"""The next-token target of language-model tasks (loss: cross-entropy on ``logits[:, t]``)."""

ANSWERS = Label(
    "targets",
    "next",
    "answer",
    "the token to emit after reading tokens[:, :t+1] (an answer that need not appear in "
    "tokens), -100 where nothing is scored",
)
"""The target of recall and copying tasks, whose answers are not always in the stream."""


def item_label(name: str, doc: str) -> Label:
    """A per-item label (no position axis aligned with tokens)."""
    return Label(name, "item", "value", doc)


def at_least(low: float) -> Callable[[Any], str | None]:
    """A check that a number is >= ``low``."""
    return lambda v: None if v >= low else f"must be >= {low}"


def in_range(low: float, high: float) -> Callable[[Any], str | None]:
    """A check that a number lies in ``[low, high]``."""
    return lambda v: None if low <= v <= high else f"must be in [{low}, {high}]"


class Task:
    """Base class of all tasks. Subclasses set ``name``, ``params`` and implement
    ``_generate`` and ``vocab``."""

    name: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    label_specs: ClassVar[tuple[Label, ...]] = ()
    """Every label the task can return (see :data:`ALIGNMENTS` and :data:`LABEL_KINDS`)."""

    def __init__(self, **params: Any) -> None:
        params = self._accept_former_names(params)
        spec = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(spec))
        if unknown:
            valid = ", ".join(spec) or "(none)"
            raise ValueError(
                f"unknown parameter(s) {', '.join(unknown)} for task {self.name!r}; "
                f"valid parameters: {valid}"
            )
        self._params = {
            name: p.convert(params[name]) if name in params else p.default
            for name, p in spec.items()
        }
        self._check()

    @classmethod
    def _accept_former_names(cls, params: dict[str, Any]) -> dict[str, Any]:
        params = dict(params)
        for p in cls.params:
            if p.former is None or p.former not in params:
                continue
            if p.name in params:
                raise ValueError(f"give `{p.name}` or its former name `{p.former}`, not both")
            warnings.warn(
                f"task {cls.name!r}: parameter `{p.former}` is now `{p.name}`",
                DeprecationWarning,
                stacklevel=4,
            )
            params[p.name] = params.pop(p.former)
        return params

    # -- what subclasses provide ------------------------------------------------------------
    def _check(self) -> None:
        """Cross-parameter validation (subclasses call the Rust validator here)."""

    def _generate(
        self, count: int, seed: int, start: int, threads: int | None
    ) -> Batch:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def vocab(self) -> Vocabulary:  # pragma: no cover - abstract
        raise NotImplementedError

    def _rows(self, sampler: Any, count: int, seed: int, start: int, threads: int | None) -> Any:
        """Items ``start ..`` from a core row sampler (``generate`` of the binding), keyed by
        this task's stream: the one call shape into the extension."""
        return sampler.generate(
            seed=seed,
            salt=self.stream_salt,
            start=start,
            count=count,
            dtype=self._params["dtype"],
            threads=threads,
        )

    def _batch(
        self,
        tokens: np.ndarray,
        start: int,
        labels: dict[str, np.ndarray],
        lengths: np.ndarray | None = None,
    ) -> Batch:
        """The one Batch constructor from the core's output: items ``start ..`` with the
        task's vocabulary; rows are full length unless ``lengths`` says otherwise."""
        count, width = tokens.shape[0], tokens.shape[1]
        if lengths is None:
            lengths = np.full(count, width, dtype=np.int64)
        return Batch(
            tokens=tokens,
            lengths=lengths.astype(np.int64, copy=False),
            indices=np.arange(start, start + count, dtype=np.int64),
            labels=labels,
            vocab=self.vocab,
        )

    # -- the protocol -------------------------------------------------------------------------
    @property
    def config(self) -> dict[str, Any]:
        """The full configuration: task name and every parameter (JSON-serialisable)."""
        return {"task": self.name, **self._params}

    def __getattr__(self, name: str) -> Any:
        params = self.__dict__.get("_params", {})
        if name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    @property
    def config_json(self) -> str:
        """Canonical JSON of the configuration (sorted keys, no whitespace)."""
        return json.dumps(self.config, sort_keys=True, separators=(",", ":"))

    @property
    def config_hash(self) -> str:
        """A stable 16-hex-digit hash of the configuration, usable as a cache key."""
        return hashlib.sha256(self.config_json.encode()).hexdigest()[:16]

    @functools.cached_property
    def stream_salt(self) -> int:
        """The 64-bit value that keys the random stream: a hash of the data-affecting
        parameters only, so asking for other labels or dtypes leaves the data unchanged."""
        data = {"task": self.name}
        data.update(
            {p.former or p.name: self._params[p.name] for p in self.params if p.affects_data}
        )
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")

    def batch(self, n: int, seed: int, start: int = 0, *, threads: int | None = None) -> Batch:
        """Items ``start .. start+n`` of the stream keyed by ``seed``.

        Args:
            n: number of items (>= 0).
            seed: any integer in [0, 2**64).
            start: stream index of the first item (>= 0).
            threads: worker threads (default: ``KLEENE_NUM_THREADS`` or all cores).

        Returns:
            A :class:`kleene.Batch`.
        """
        _check_int("n", n, 0, 2**63 - 1)
        _check_int("seed", seed, 0, 2**64 - 1)
        _check_int("start", start, 0, 2**63 - 1)
        if threads is not None:
            _check_int("threads", threads, 1, 4096)
        return self._generate(n, seed, start, threads)

    def decode(self, ids: Sequence[int]) -> str:
        """Token ids to text."""
        return self.vocab.decode(ids)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"kleene.tasks.get({self.name!r}, {args})" if args else f"{self.name}()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Task) and other.config == self.config

    def __hash__(self) -> int:
        return hash(self.config_json)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.name, dict(self._params)))


def _rebuild(name: str, params: dict[str, Any]) -> Task:
    return get(name, **params)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"`{name}` must be in [{low}, {high}], got {value}")


_REGISTRY: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    """Class decorator adding a task to the registry under ``cls.name``; appends the labels
    and their alignment to the class docstring, so ``help(task)`` shows them."""
    if not cls.name:
        raise ValueError("a task class needs a name")
    if cls.label_specs and "Label alignment" not in (cls.__doc__ or ""):
        lines = [f"    - {label.describe()}" for label in cls.label_specs]
        cls.__doc__ = "\n".join(
            [
                (cls.__doc__ or "").rstrip(),
                "",
                "    Label alignment:",
                *lines,
                "",
                f"    {CONVENTION}",
            ]
        )
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"task {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    """Names of all registered tasks, sorted."""
    return sorted(_REGISTRY)


def get(name: str, **params: Any) -> Task:
    """The task ``name`` configured with ``params`` (unspecified ones take their defaults).

    Raises:
        ValueError: unknown task (the message lists the valid names) or parameter.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(names())}")
    return _REGISTRY[name](**params)
