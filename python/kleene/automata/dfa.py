"""`DFA`: deterministic finite automata over a named alphabet, backed by the Rust core.

Example:
    >>> from kleene import DFA
    >>> d = DFA.from_regex("(ab)*", alphabet="ab")
    >>> d.accepts("abab"), d.accepts("aba")
    (True, False)
    >>> d.count(4), (d | DFA.from_regex("a*", "ab")).minimize().num_states
    (1, 5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _core
from ..batch import Batch, Vocabulary

METHODS = ("uniform", "walk", "randgen", "negative")
"""Samplers: ``uniform`` over accepted strings of each length; ``walk``: random walk of preset
length over the defined transitions (REGBENCH); ``randgen``: walk with a stop option at
accepting states (OpenFst/pynini ``randgen``); ``negative``: uniform over rejected strings."""

LABELS = ("states", "accept", "prefix_accept", "valid_next", "next_probs")


def _alphabet(alphabet: str | Sequence[str] | None, k: int | None) -> tuple[str, ...]:
    if alphabet is None:
        if k is None:
            raise ValueError("give `alphabet` or a table with at least one column")
        return tuple(str(i) for i in range(k))
    symbols = tuple(alphabet)
    if not symbols:
        raise ValueError("`alphabet` must not be empty")
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"`alphabet` repeats a symbol: {symbols!r}")
    return symbols


class DFA:
    """A deterministic finite automaton; transitions may be missing (partial DFA).

    States are ``0..num_states-1``; symbols are ids ``0..len(alphabet)-1`` whose names are
    ``alphabet``. Operations return new automata. ``minimize()`` gives the canonical form:
    minimal, trimmed (no dead state), states numbered in BFS order, so two automata have equal
    minimal forms iff they accept the same language. ``==`` and ``hash`` compare languages.
    """

    __slots__ = ("_core", "alphabet")

    def __init__(self, core: _core.Dfa, alphabet: tuple[str, ...]):
        self._core = core
        self.alphabet = alphabet

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_table(
        cls,
        table: Any,
        accepting: Any,
        start: int = 0,
        alphabet: str | Sequence[str] | None = None,
    ) -> DFA:
        """From a transition table ``[states, symbols]`` (-1 = missing) and acceptance flags.

        ``accepting`` is a bool per state or a collection of accepting state ids.
        """
        t = np.asarray(table)
        if t.ndim != 2 or t.shape[1] == 0 or t.shape[0] == 0:
            raise ValueError(f"`table` must be 2-D [states, symbols] and non-empty, got {t.shape}")
        if t.dtype.kind not in "iu":
            raise TypeError(f"`table` must hold integers, got {t.dtype}")
        n, k = t.shape
        acc = np.asarray(accepting)
        if acc.dtype != bool:
            ids = acc.astype(np.int64).reshape(-1)
            if ids.size and (ids.min() < 0 or ids.max() >= n):
                raise ValueError(f"`accepting` ids must be states in 0..{n - 1}")
            acc = np.zeros(n, dtype=bool)
            acc[ids] = True
        if acc.shape != (n,):
            raise ValueError(f"`accepting` must have one flag per state ({n}), got {acc.shape}")
        symbols = _alphabet(alphabet, k)
        if len(symbols) != k:
            raise ValueError(f"`alphabet` has {len(symbols)} symbols but the table {k} columns")
        core = _core.Dfa(k, t.astype(np.int64).reshape(-1).tolist(), acc.tolist(), int(start))
        return cls(core, symbols)

    @classmethod
    def from_regex(
        cls, pattern: str, alphabet: str | Sequence[str], *, max_states: int = 1 << 16
    ) -> DFA:
        """Compiles ``pattern`` (full match) over single-character symbols.

        Syntax: literals, ``.``, ``[abc]``, ``[a-c]``, ``[^a]``, ``(...)``, ``|``, ``*``, ``+``,
        ``?``, ``{m}``, ``{m,}``, ``{m,n}``, ``\\`` escapes. Errors give the position.
        A pattern whose DFA would exceed ``max_states`` states (at most 2**24), or whose
        construction would exceed ``KLEENE_MAX_BYTES``, is refused with ``ValueError``
        (see docs/limits.md).
        """
        symbols = _alphabet(alphabet, None)
        if any(len(s) != 1 for s in symbols):
            raise ValueError("regex alphabets need single-character symbols")
        if isinstance(max_states, bool) or not isinstance(max_states, int):
            raise TypeError(f"`max_states` must be an int, got {type(max_states).__name__}")
        if not 1 <= max_states <= 1 << 24:
            raise ValueError(f"`max_states` must be in 1..={1 << 24}, got {max_states}")
        return cls(_core.Dfa.from_regex(pattern, "".join(symbols), max_states), symbols)

    @classmethod
    def random(
        cls,
        num_states: int,
        alphabet: str | Sequence[str] | int = 2,
        *,
        family: str = "complete",
        accept_prob: float = 0.5,
        seed: int = 0,
        index: int = 0,
    ) -> DFA:
        """A uniform random automaton: ``family`` is ``complete`` (every transition uniform,
        each state accepting with ``accept_prob``), ``reachable`` (its reachable part) or
        ``minimal`` (redrawn until minimal with exactly ``num_states`` states)."""
        symbols = (
            _alphabet(None, alphabet) if isinstance(alphabet, int) else _alphabet(alphabet, None)
        )
        core = _core.dfa_random(
            family=family,
            num_states=num_states,
            num_symbols=len(symbols),
            accept_prob=float(accept_prob),
            seed=seed,
            index=index,
        )
        return cls(core, symbols)

    # -- structure -----------------------------------------------------------------------
    @property
    def num_states(self) -> int:
        return self._core.num_states

    @property
    def num_symbols(self) -> int:
        return self._core.num_symbols

    @property
    def start(self) -> int:
        return self._core.start

    @property
    def accepting(self) -> np.ndarray:
        """Acceptance flag per state ``[states]``."""
        return np.asarray(self._core.accepting, dtype=bool)

    @property
    def table(self) -> np.ndarray:
        """Transition targets ``[states, symbols]`` (int64, -1 = missing)."""
        return self._core.table()

    def _wrap(self, core: _core.Dfa) -> DFA:
        return DFA(core, self.alphabet)

    def _check_other(self, other: DFA) -> None:
        if not isinstance(other, DFA):
            raise TypeError(f"expected a DFA, got {type(other).__name__}")
        if other.alphabet != self.alphabet:
            raise ValueError(f"alphabets differ: {self.alphabet!r} vs {other.alphabet!r}")

    def minimize(self) -> DFA:
        """The canonical minimal DFA (Hopcroft, trimmed, BFS-numbered)."""
        return self._wrap(self._core.minimize())

    def trim(self) -> DFA:
        """Only states reachable from the start and from which acceptance is reachable."""
        return self._wrap(self._core.trim())

    def complete(self) -> DFA:
        """Every transition defined (a rejecting sink is added if needed)."""
        return self._wrap(self._core.complete())

    def complement(self) -> DFA:
        """Strings over the alphabet that are not accepted."""
        return self._wrap(self._core.complement())

    def _product(self, other: DFA, op: str) -> DFA:
        self._check_other(other)
        return self._wrap(self._core.product(other._core, op))

    def __and__(self, other: DFA) -> DFA:
        return self._product(other, "and")

    def __or__(self, other: DFA) -> DFA:
        return self._product(other, "or")

    def __sub__(self, other: DFA) -> DFA:
        return self._product(other, "difference")

    def __xor__(self, other: DFA) -> DFA:
        return self._product(other, "xor")

    def __invert__(self) -> DFA:
        return self.complement()

    intersection = __and__
    union = __or__
    difference = __sub__

    def is_empty(self) -> bool:
        """True if no string is accepted."""
        return self._core.is_empty()

    def equivalent(self, other: DFA) -> bool:
        """True if both accept the same language."""
        self._check_other(other)
        return self._core.equivalent(other._core)

    def canonical_hash(self) -> int:
        """64-bit hash of the canonical form: equal for automata with the same language."""
        return self._core.canonical_hash()

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DFA)
            and other.alphabet == self.alphabet
            and self._core.equivalent(other._core)
        )

    def __hash__(self) -> int:
        return hash((self.alphabet, self.canonical_hash()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            DFA.from_table,
            (self.table, self.accepting, self.start, self.alphabet),
        )

    def __repr__(self) -> str:
        single = all(len(a) == 1 for a in self.alphabet)
        names = repr("".join(self.alphabet)) if single else repr(self.alphabet)
        return f"DFA(states={self.num_states}, alphabet={names})"

    # -- strings -------------------------------------------------------------------------
    def encode(self, word: str | Sequence[str] | Sequence[int]) -> list[int]:
        """Symbol names (a string of one-character symbols, or a list) or ids to ids."""
        if isinstance(word, str):
            word = list(word)
        ids = []
        for s in word:
            if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
                if not 0 <= s < self.num_symbols:
                    raise ValueError(f"symbol id {s} outside 0..{self.num_symbols - 1}")
                ids.append(int(s))
            else:
                try:
                    ids.append(self.alphabet.index(s))
                except ValueError:
                    raise ValueError(f"symbol {s!r} is not in the alphabet") from None
        return ids

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        """Symbol ids to text (symbols joined with no separator)."""
        return "".join(self.alphabet[int(i)] for i in ids)

    def accepts(self, word: str | Sequence[str] | Sequence[int]) -> bool:
        """True if ``word`` is accepted."""
        return self._core.accepts(self.encode(word))

    def count(self, length: int) -> int:
        """Exact number of accepted strings of ``length`` (up to 2**128 - 1).

        Raises:
            ValueError: the count does not fit in 128 bits (use :meth:`log_count`).
        """
        exact, value = self._core.count(_length(length))
        if not exact:
            raise ValueError(
                f"the count at length {length} exceeds 2**128 - 1 (about e**{value:.1f}); "
                "use log_count()"
            )
        return value

    def log_count(self, length: int) -> float:
        """Natural log of the number of accepted strings of ``length`` (-inf if none)."""
        exact, value = self._core.count(_length(length))
        if exact:
            return math.log(value) if value else float("-inf")  # math.log takes big ints
        return value

    def count_is_exact(self, length: int) -> bool:
        """True if ``count(length)`` fits in 128 bits (``count`` can return it). Uniform
        sampling is exactly uniform either way (multi-word integers past 64 bits)."""
        return self._core.count(_length(length))[0]

    # -- sampling ------------------------------------------------------------------------
    @property
    def vocab(self) -> Vocabulary:
        """The alphabet plus a pad token ``<pad>`` (id ``num_symbols``)."""
        joiner = "" if all(len(a) == 1 for a in self.alphabet) else " "
        return Vocabulary((*self.alphabet, "<pad>"), pad_id=self.num_symbols, joiner=joiner)

    def sample(
        self,
        n: int,
        length: int | tuple[int, int],
        *,
        method: str = "uniform",
        seed: int = 0,
        start: int = 0,
        weights: Any = None,
        final_weights: Any = None,
        labels: Sequence[str] = (),
        threads: int | None = None,
    ) -> Batch:
        """Samples ``n`` strings (items ``start..start+n`` of the stream keyed by ``seed``).

        Args:
            n: number of strings.
            length: exact length, or an inclusive range ``(lo, hi)``; each item's length is
                uniform over the range (for ``uniform``/``negative``: over the lengths that
                have a string). For ``randgen`` the range bounds the walk (walks reaching
                ``hi`` are redrawn, stopping before ``lo`` is not allowed).
            method: one of ``uniform``, ``walk``, ``randgen``, ``negative`` (see ``METHODS``).
            weights: ``[states, symbols]`` arc weights for ``walk``/``randgen`` (default 1).
            final_weights: ``[states]`` stop weights for ``randgen`` (default 1).
            labels: any of ``LABELS`` (see :meth:`labels`).

        Returns:
            A Batch: ``tokens [n, hi]`` padded with ``vocab.pad_id``, ``lengths [n]``.
        """
        if method not in METHODS:
            raise ValueError(f"`method` must be one of {METHODS}, got {method!r}")
        lo, hi = _range(length)
        target = self.complement() if method == "negative" else self
        core_method = "uniform" if method == "negative" else method
        w = None if weights is None else _weights(weights, (self.num_states, self.num_symbols))
        fw = None if final_weights is None else _weights(final_weights, (self.num_states,))
        tokens, lengths = target._core.sample(
            method=core_method,
            min_len=lo,
            max_len=hi,
            pad=self.num_symbols,
            seed=seed,
            salt=_SAMPLE_SALT[method],
            start=start,
            count=n,
            weights=w,
            final_weights=fw,
            threads=threads,
        )
        batch = Batch(
            tokens=tokens,
            lengths=lengths,
            indices=np.arange(start, start + n, dtype=np.int64),
            vocab=self.vocab,
        )
        if labels:
            batch.labels.update(self.labels(tokens, lengths, labels, method=method, weights=w))
        return batch

    def near_misses(
        self,
        n: int,
        length: int | tuple[int, int],
        *,
        seed: int = 0,
        start: int = 0,
        threads: int | None = None,
    ) -> tuple[Batch, Batch]:
        """Pairs (accepted, rejected) at edit distance exactly 1 (MLRegTest's TestSA/LA).

        The accepted string is uniform over its length; the rejected one is uniform over the
        distinct rejected strings one substitution, insertion or deletion away.
        """
        lo, hi = _range(length)
        pos, pos_len, neg, neg_len = self._core.near_misses(
            min_len=lo,
            max_len=hi,
            pad=self.num_symbols,
            seed=seed,
            salt=_SAMPLE_SALT["near_miss"],
            start=start,
            count=n,
            threads=threads,
        )
        idx = np.arange(start, start + n, dtype=np.int64)
        return (
            Batch(tokens=pos, lengths=pos_len, indices=idx, vocab=self.vocab),
            Batch(tokens=neg, lengths=neg_len, indices=idx.copy(), vocab=self.vocab),
        )

    # -- labels --------------------------------------------------------------------------
    def state_trace(self, tokens: Any, lengths: Any) -> np.ndarray:
        """State after each token, int32 ``[B, T]`` (-1 on padding or after a missing arc)."""
        t = np.ascontiguousarray(tokens, dtype=np.int64)
        if t.ndim != 2:
            raise ValueError(f"`tokens` must be [B, T], got shape {t.shape}")
        lens = np.ascontiguousarray(lengths, dtype=np.int64)
        return self._core.state_trace(t, lens)

    def labels(
        self,
        tokens: Any,
        lengths: Any,
        which: Sequence[str] = LABELS,
        *,
        method: str = "walk",
        weights: Any = None,
    ) -> dict[str, np.ndarray]:
        """Labels of strings ``tokens [B, T]`` with ``lengths [B]``; position ``t`` describes
        the prefix ``tokens[:, :t+1]``:

        - ``states [B, T]`` int32: state after the prefix (-1: padding or rejected for good).
        - ``accept [B]`` bool: the whole string is accepted.
        - ``prefix_accept [B, T]`` bool: the prefix is accepted.
        - ``valid_next [B, T, K]`` uint8: symbols after which the prefix can still be completed.
        - ``next_probs [B, T, K]`` float32: the exact next-symbol distribution of the sampling
          ``method`` (``walk``: normalised arc weights of the state; ``uniform``: ratio of
          counts given the remaining length, zero at the last position).
        """
        bad = [w for w in which if w not in LABELS]
        if bad:
            raise ValueError(f"unknown labels {bad}; choose from {LABELS}")
        lens = np.asarray(lengths, dtype=np.int64)
        states = self.state_trace(tokens, lens)
        out: dict[str, np.ndarray] = {}
        acc = np.append(self.accepting, False)  # index -1 -> False
        if "states" in which:
            out["states"] = states
        if "prefix_accept" in which:
            out["prefix_accept"] = acc[states]
        if "accept" in which:
            last = states[np.arange(len(lens)), np.maximum(lens - 1, 0)]
            out["accept"] = np.where(lens == 0, self.accepting[self.start], acc[last])
        if "valid_next" in which:
            out["valid_next"] = self._valid_table()[states]
        if "next_probs" in which:
            out["next_probs"] = self._next_probs(tokens, states, lens, method, weights)
        return out

    def _valid_table(self) -> np.ndarray:
        """``[states + 1, K]`` uint8: the transition leads to a live state (row -1: zeros)."""
        table = self.table
        live = np.append(np.asarray(self._core.live(), dtype=bool), False)
        valid = live[table].astype(np.uint8)  # table -1 -> the appended False
        return np.vstack([valid, np.zeros((1, self.num_symbols), np.uint8)])

    def _next_probs(self, tokens, states, lens, method, weights) -> np.ndarray:
        k = self.num_symbols
        if method in ("walk", "randgen"):
            if method == "randgen":
                raise ValueError("next_probs is available for the walk and uniform samplers")
            w = np.ones(self.num_states * k) if weights is None else np.asarray(weights)
            w = w.reshape(self.num_states, k) * (self.table >= 0)
            total = w.sum(1, keepdims=True)
            probs = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
            probs = np.vstack([probs, np.zeros((1, k))]).astype(np.float32)
            return probs[states]
        if method == "negative":
            target = self.complement()
            return target._uniform_probs(target.state_trace(tokens, lens), lens)
        return self._uniform_probs(states, lens)

    def _uniform_probs(self, states: np.ndarray, lens: np.ndarray) -> np.ndarray:
        b, t_len = states.shape
        k = self.num_symbols
        _, lnc = self._core.log_count_table(max(int(lens.max(initial=0)), 1))
        remaining = lens[:, None] - 1 - np.arange(t_len)[None, :]  # symbols still to come
        ok = (remaining >= 1) & (states >= 0)
        q = np.where(ok, states, 0)
        r = np.where(ok, remaining, 1)
        table = self.table
        targets = table[q]  # [B, T, K]
        here = lnc[r, q][..., None]
        there = np.where(targets >= 0, lnc[(r - 1)[..., None], np.maximum(targets, 0)], -np.inf)
        with np.errstate(invalid="ignore"):
            probs = np.exp(there - here)
        probs = np.where(ok[..., None] & np.isfinite(probs), probs, 0.0)
        return probs.astype(np.float32).reshape(b, t_len, k)


_SAMPLE_SALT = {
    "uniform": 0x556E69666F726D,
    "walk": 0x57616C6B,
    "randgen": 0x52616E6447656E,
    "negative": 0x4E6567,
    "near_miss": 0x4E6561724D697373,
}


def _length(length: int) -> int:
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
        raise TypeError(f"`length` must be an int, got {type(length).__name__}")
    if length < 0:
        raise ValueError(f"`length` must be >= 0, got {length}")
    return int(length)


def _range(length: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(length, tuple):
        if len(length) != 2:
            raise ValueError(f"`length` range must be (lo, hi), got {length!r}")
        lo, hi = (_length(x) for x in length)
    else:
        lo = hi = _length(length)
    if lo > hi:
        raise ValueError(f"`length` range must have lo <= hi, got {length!r}")
    return lo, hi


def _weights(w: Any, shape: tuple[int, ...]) -> list[float]:
    arr = np.asarray(w, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"weights must have shape {shape}, got {arr.shape}")
    return arr.reshape(-1).tolist()
