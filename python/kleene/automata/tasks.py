"""Registered regular-language tasks: tomita, parity, even_pairs, cycle_navigation,
modular_arithmetic, word_problem, flip_flop, dyck_bounded.

Every task draws strings from an automaton with the Rust samplers and labels them from the
automaton's state trace. Common outputs: ``tokens [B, T]`` (``T = max_length``, padded with
``vocab.pad_id``), ``lengths [B]``, and task labels (``-100`` = ignore):

- classification tasks (DeepMind's regular tasks, ``word_problem``): ``label [B]`` the class of
  the whole string and ``label_trace [B, T]`` the class of every prefix (for state tracking);
- language-modelling tasks (``tomita`` positives, ``flip_flop``, ``dyck_bounded``):
  ``valid_next [B, T, K]`` (multi-hot legal next symbols after each prefix, Bhattamishra et
  al.'s character prediction) and ``targets [B, T]`` where a task supervises specific tokens.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .. import _core
from ..batch import IGNORE_INDEX, Batch, Vocabulary
from ..tasks import DTYPE, TARGETS, Label, Param, Task, in_range, item_label, register
from . import languages
from .dfa import DFA

MAX_TASK_LENGTH = 1 << 16


def _length_params(lo: int, hi: int) -> tuple[Param, ...]:
    return (
        Param("min_length", lo, "shortest string", int, in_range(0, MAX_TASK_LENGTH)),
        Param("max_length", hi, "longest string (= T)", int, in_range(1, MAX_TASK_LENGTH)),
    )


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 arrays (a per-item coin independent of the sampler)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


class _AutomatonTask(Task):
    """Strings from ``self.dfa`` sampled by ``self.method``; subclasses add labels."""

    method = "uniform"

    def _check(self) -> None:
        p = self._params
        if p["min_length"] > p["max_length"]:
            raise ValueError(
                f"parameter `min_length` must be <= max_length = {p['max_length']}; "
                f"got {p['min_length']}"
            )
        self.dfa  # builds and validates the automaton  # noqa: B018

    @functools.cached_property
    def dfa(self) -> DFA:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def weights(self) -> Any:
        return None

    @property
    def final_weights(self) -> Any:
        return None

    @property
    def vocab(self) -> Vocabulary:
        return self.dfa.vocab

    def _sample(self, count: int, seed: int, start: int, threads: int | None, method=None):
        p = self._params
        lo, hi = self._lengths()
        core = (self.dfa.complement() if method == "negative" else self.dfa)._core
        return core.sample(
            method="uniform" if method == "negative" else (method or self.method),
            min_len=lo,
            max_len=hi,
            pad=self.dfa.num_symbols,
            seed=seed,
            salt=self.stream_salt ^ (0x4E4547 if method == "negative" else 0),
            start=start,
            count=count,
            weights=self.weights,
            final_weights=self.final_weights,
            dtype=p["dtype"],
            threads=threads,
        )

    def _lengths(self) -> tuple[int, int]:
        return self._params["min_length"], self._params["max_length"]

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        tokens, lengths = self._sample(count, seed, start, threads)
        return self._batch(tokens, start, self._labels(tokens, lengths), lengths)

    def _labels(self, tokens, lengths) -> dict[str, np.ndarray]:  # pragma: no cover
        raise NotImplementedError


class _ClassifyTask(_AutomatonTask):
    """``label [B]`` and ``label_trace [B, T]`` from a class per automaton state."""

    label_specs = (
        item_label("label", "the class of the whole string"),
        Label("label_trace", "prefix", "value", "the class of tokens[:, :t+1]; -100 past the end"),
    )

    @functools.cached_property
    def classes(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _labels(self, tokens, lengths) -> dict[str, np.ndarray]:
        states = self.dfa.state_trace(tokens, lengths)
        classes = np.append(self.classes, IGNORE_INDEX).astype(np.int64)
        trace = classes[states]
        last = trace[np.arange(len(lengths)), np.maximum(lengths - 1, 0)]
        empty = classes[self.dfa.start]
        return {"label": np.where(lengths == 0, empty, last), "label_trace": trace}


@register
class Parity(_ClassifyTask):
    """DeepMind parity_check: uniform binary strings, label = number of 1s mod 2."""

    name = "parity"
    params = (*_length_params(1, 40), DTYPE)

    @functools.cached_property
    def dfa(self) -> DFA:
        return languages.parity()[0]

    @functools.cached_property
    def classes(self) -> np.ndarray:
        return languages.parity()[1]


@register
class EvenPairs(_ClassifyTask):
    """DeepMind even_pairs: uniform binary strings, label = (#01 + #10) mod 2."""

    name = "even_pairs"
    params = (*_length_params(1, 40), DTYPE)

    @functools.cached_property
    def dfa(self) -> DFA:
        return languages.even_pairs()[0]

    @functools.cached_property
    def classes(self) -> np.ndarray:
        return languages.even_pairs()[1]


@register
class CycleNavigation(_ClassifyTask):
    """DeepMind cycle_navigation: actions stay/+1/-1 on a cycle; label = final position."""

    name = "cycle_navigation"
    params = (
        *_length_params(1, 40),
        Param("cycle_length", 5, "positions on the cycle", int, in_range(2, 1 << 12)),
        DTYPE,
    )

    @functools.cached_property
    def dfa(self) -> DFA:
        return languages.cycle_navigation(self._params["cycle_length"])[0]

    @functools.cached_property
    def classes(self) -> np.ndarray:
        return languages.cycle_navigation(self._params["cycle_length"])[1]


@register
class ModularArithmetic(_ClassifyTask):
    """DeepMind modular_arithmetic: uniform well-formed expressions (odd lengths only: each
    item's length is uniform over the odd lengths in range), label = value mod ``modulus``
    with ``*`` before ``+``/``-``. Symbols: digits ``0..m-1`` then ``+ - *``."""

    name = "modular_arithmetic"
    params = (
        *_length_params(1, 41),
        Param("modulus", 5, "the modulus m", int, in_range(2, 64)),
        DTYPE,
    )

    @functools.cached_property
    def dfa(self) -> DFA:
        return languages.modular_arithmetic(self._params["modulus"])[0]

    @functools.cached_property
    def classes(self) -> np.ndarray:
        return languages.modular_arithmetic(self._params["modulus"])[1]


@register
class WordProblem(_ClassifyTask):
    """Group word problem (Merrill et al.; state tracking): uniform words of group elements;
    ``label_trace`` = running product (element id), ``label`` = the product of the word.
    ``group``: ``Z<n>``, ``S<n>``, ``A<n>`` (n <= 7) or products like ``S3xZ2``."""

    name = "word_problem"
    params = (
        *_length_params(1, 64),
        Param("group", "S5", "the group, e.g. Z60, S5, A5, A4xZ3", str),
        DTYPE,
    )

    @functools.cached_property
    def dfa(self) -> DFA:
        return languages.word_problem(self._params["group"])

    @functools.cached_property
    def classes(self) -> np.ndarray:
        return np.arange(self.dfa.num_states)

    @property
    def vocab(self) -> Vocabulary:
        return Vocabulary((*self.dfa.alphabet, "<pad>"), pad_id=self.dfa.num_symbols, joiner=" ")


@register
class Tomita(_AutomatonTask):
    """Tomita grammars 1..7 over ``01`` (definitions of satwik77/Transformer-Formal-Languages).

    ``mode="positive"``: strings uniform over the language at each length, with
    ``valid_next [B, T, 2]`` (character prediction). ``mode="classify"``: half positives, half
    negatives (each uniform at its length; item ``i``'s side is a hash coin), ``label [B]``
    = membership and ``prefix_accept [B, T]``.
    """

    name = "tomita"
    label_specs = (
        Label("valid_next", "next", "support", "1 where the symbol may be tokens[:, t+1]"),
        Label("prefix_accept", "prefix", "value", "whether tokens[:, :t+1] is in the language"),
        item_label("label", "whether the whole string is in the language (mode='classify')"),
    )
    params = (
        Param("index", 1, "grammar number 1..7", int, in_range(1, 7)),
        *_length_params(0, 50),
        Param("mode", "positive", "positive or classify", str, choices=("positive", "classify")),
        DTYPE,
    )

    @functools.cached_property
    def dfa(self) -> DFA:
        return languages.tomita(self._params["index"])

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        tokens, lengths = self._sample(count, seed, start, threads)
        if self._params["mode"] == "classify":
            neg_tokens, neg_lengths = self._sample(count, seed, start, threads, "negative")
            idx = np.arange(start, start + count, dtype=np.uint64)
            coin = (_mix(idx ^ _mix(np.uint64(seed) ^ np.uint64(self.stream_salt))) & 1) == 1
            tokens = np.where(coin[:, None], neg_tokens, tokens)
            lengths = np.where(coin, neg_lengths, lengths)
        return self._batch(tokens, start, self._labels(tokens, lengths), lengths)

    def _labels(self, tokens, lengths) -> dict[str, np.ndarray]:
        which = (
            ("accept", "prefix_accept") if self._params["mode"] == "classify" else ("valid_next",)
        )
        out = self.dfa.labels(tokens, lengths, which)
        if "accept" in out:
            out["label"] = out.pop("accept").astype(np.int64)
        return out


@register
class FlipFlop(_AutomatonTask):
    """Flip-flop (Liu et al. 2023): ``length`` instruction/bit pairs over ``w r i 0 1``,
    opening with a write; instructions w/r/i with probabilities ``p_write``, ``p_read``,
    ``1 - p_write - p_read`` (main setting: ignore 0.8), bits uniform except after ``r``,
    where the bit is the last written one. ``targets [B, 2L]``: at an ``r`` the bit that
    follows (the only supervised positions), else -100. Also ``valid_next``."""

    name = "flip_flop"
    label_specs = (
        Label("valid_next", "next", "support", "1 where the symbol may be tokens[:, t+1]"),
        TARGETS,
    )
    method = "walk"
    params = (
        Param("length", 256, "instruction/bit pairs per sequence", int, in_range(1, 1 << 15)),
        Param("p_write", 0.1, "probability of a write", float, in_range(0.0, 1.0)),
        Param("p_read", 0.1, "probability of a read", float, in_range(0.0, 1.0)),
        DTYPE,
    )

    def _check(self) -> None:
        p = self._params
        if p["p_write"] + p["p_read"] > 1.0 or p["p_write"] <= 0.0:
            raise ValueError(
                "parameters `p_write` and `p_read` must satisfy 0 < p_write, p_write + p_read <= 1"
            )

    def _lengths(self) -> tuple[int, int]:
        return 2 * self._params["length"], 2 * self._params["length"]

    @functools.cached_property
    def _automaton(self):
        return languages.flip_flop(self._params["p_write"], self._params["p_read"])

    @functools.cached_property
    def dfa(self) -> DFA:
        return self._automaton[0]

    @property
    def weights(self) -> Any:
        return self._automaton[1].reshape(-1).tolist()

    @property
    def vocab(self) -> Vocabulary:
        return Vocabulary((*languages.FLIP_FLOP_SYMBOLS, "<pad>"), pad_id=5)

    def _labels(self, tokens, lengths) -> dict[str, np.ndarray]:
        t = tokens.astype(np.int64)
        targets = np.full(t.shape, IGNORE_INDEX, dtype=np.int64)
        is_read = t[:, :-1] == 1
        targets[:, :-1] = np.where(is_read, t[:, 1:], IGNORE_INDEX)
        out = self.dfa.labels(tokens, lengths, ("valid_next",))
        out["targets"] = targets
        return out


@register
class DyckBounded(Task):
    """Bounded Dyck-(k, m) strings from Hewitt et al.'s PFA with OpenFst ``randgen``
    semantics, sampled with a stack in Rust (so k and m up to 64 run, e.g. their main
    setting Dyck-(8, 10)): at depth 0 stop with probability 1/2 or open a uniform bracket, at
    depth m close, else open (1/2, uniform type) or close (1/2). A stop before ``min_length``
    is removed (the other options renormalised); walks reaching ``max_length`` are redrawn.
    Symbols ``0..k-1`` open, ``k..2k-1`` close, pad ``2k``. Labels ``valid_next [B, T, 2k]``
    (uint8, the symbols that keep the prefix ``tokens[:, :t+1]`` completable; zeros past the
    end) and ``depth [B, T]`` (the depth after the prefix; -100 past the end)."""

    name = "dyck_bounded"
    label_specs = (
        Label("valid_next", "next", "support", "1 where the symbol may be tokens[:, t+1]"),
        Label("depth", "prefix", "value", "open brackets after tokens[:, :t+1]"),
    )
    params = (
        Param("k", 2, "bracket types", int, in_range(1, 64)),
        Param("m", 4, "maximal depth", int, in_range(1, 64)),
        *_length_params(2, 100),
        DTYPE,
    )

    @functools.cached_property
    def _sampler(self) -> _core.DyckSampler:
        p = self._params
        return _core.DyckSampler(
            k=p["k"], m=p["m"], min_length=p["min_length"], max_length=p["max_length"]
        )

    def _check(self) -> None:
        self._sampler  # noqa: B018 - builds and validates the configuration in Rust

    @property
    def vocab(self) -> Vocabulary:
        k = self._params["k"]
        names = (*(f"({b}" for b in range(k)), *(f"){b}" for b in range(k)))
        if k == 1:
            names = ("(", ")")
        return Vocabulary((*names, "<pad>"), pad_id=2 * k, joiner="" if k == 1 else " ")

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        out = self._rows(self._sampler, count, seed, start, threads)
        symbols = 2 * self._params["k"]
        valid = out["ints"].view(np.uint8).reshape(count, -1, symbols)
        labels = {"valid_next": valid, "depth": out["labels"]}
        return self._batch(out["tokens"], start, labels, out["lengths"])
