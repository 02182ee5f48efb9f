"""Context-free grammars and PCFGs (``kleene.Grammar``) and the grammar tasks.

A grammar is written in a readable text format::

    # comment
    S -> a S b [0.4] | c [0.6]     # alternatives with probabilities
    T -> 'quoted terminal' | ε     # ε, eps and '' are the empty string
       | x                          # a line starting with '|' continues the rule above

The first left-hand side is the start symbol. A bare word with rules is a nonterminal, other
bare words are terminals (an undefined word starting with an upper-case letter is an error:
quote it to make it a terminal). Alternatives without weights are equally likely.

Example:
    >>> import kleene
    >>> g = kleene.Grammar.from_text("S -> a S b [0.4] | c [0.6]")
    >>> batch = g.sample(3, seed=0)
    >>> batch.tokens.shape[0], g.accepts("aacbb"), g.accepts("acbb")
    (3, True, False)
    >>> round(g.consistency()["expected_length"], 6)
    2.333333
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np

from . import _core
from .batch import Batch, Vocabulary

CFG3_PRESETS = ("cfg3b", "cfg3i", "cfg3h", "cfg3g", "cfg3f", "cfg3e1", "cfg3e2", "cfg3j", "cfg3k")
"""Names of the nine cfg3 configurations of "Physics of Language Models, Part 1"."""

DEFAULT_MAX_LENGTH = 4096
"""Default sampling guard on string length (see :meth:`Grammar.sample`)."""


class Grammar:
    """A context-free grammar with rule probabilities (a PCFG).

    Build one with :meth:`from_text`, :meth:`from_cfg3_json` or :meth:`cfg3_family`.
    Terminals and nonterminals are numbered in order of appearance; token ids used by
    :meth:`sample` and accepted by the parsing methods are terminal indices.
    """

    def __init__(self, core: Any, cfg3_meta: dict[str, Any] | None = None) -> None:
        self._core = core
        self.cfg3_meta = cfg3_meta
        """For cfg3 grammars: the official metadata (``eos_token``, ``depth``, ...)."""

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_text(cls, text: str, normalise: bool = False) -> Grammar:
        """Parses the text format (see the module docstring).

        Args:
            text: the grammar.
            normalise: rescale each nonterminal's weights to sum to 1 (otherwise weights that
                do not sum to 1 raise ValueError naming the nonterminal).

        Raises:
            ValueError: a syntax error (with line and column), an undefined, unreachable or
                non-productive nonterminal, or bad weights.
        """
        if not isinstance(text, str):
            raise TypeError(f"`text` must be a str, got {type(text).__name__}")
        return cls(_core.Grammar.from_text(text, normalise))

    @classmethod
    def from_cfg3_json(cls, path_or_dict: str | PathLike | dict[str, Any]) -> Grammar:
        """Loads an official cfg3 grammar file (``facebookresearch/PhysicsLM4``'s format).

        Terminal ``k`` (0-based) is the official token id ``k + 1``; nonterminals are named
        by their official names. Rule choice is uniform, as in the official generator.
        """
        data = path_or_dict
        if not isinstance(data, dict):
            with open(data, encoding="utf-8") as f:
                data = json.load(f)
        try:
            levels = data["all"]
            depth = len(levels) - 1
            rules = [[node["children"] for node in level] for level in levels[:depth]]
            names = [[node["name"] for node in level] for level in levels[:depth]]
            num_sym = len(levels[depth])
        except (KeyError, TypeError, IndexError) as e:
            raise ValueError(f"not a cfg3 grammar file (missing or malformed {e})") from None
        meta = {k: v for k, v in data.items() if k not in ("all", "idx")}
        meta["ids"] = [list(level) for level in data.get("idx", [])]
        vocab = data.get("vocab_size", num_sym)
        meta.setdefault("eos_token", vocab + 1)
        return cls(_core.Grammar.from_cfg3_levels(rules, names, num_sym), meta)

    @classmethod
    def cfg3_family(cls, name: str = "cfg3f", seed: int = 0, **overrides: Any) -> Grammar:
        """A random grammar of the cfg3 family with the parameters of preset ``name``.

        ``overrides`` replace parameters: ``sizes`` (symbols per level, root first, terminals
        last), ``deg_min``/``deg_max`` (rules per nonterminal), ``len_min``/``len_max``
        (symbols per rule). The official grammars themselves load with
        :meth:`from_cfg3_json`.
        """
        params = dict(_core.cfg3_preset(name))
        unknown = set(overrides) - set(params)
        if unknown:
            raise ValueError(f"unknown cfg3 parameter(s) {sorted(unknown)}; valid: {sorted(params)}")
        params.update(overrides)
        core = _core.Grammar.cfg3_family(seed=seed, **params)
        return cls(core, {"eos_token": params["sizes"][-1] + 1, "depth": len(params["sizes"]) - 1})

    # -- introspection --------------------------------------------------------------------
    @property
    def terminals(self) -> list[str]:
        """Terminal strings; token id ``i`` is ``terminals[i]``."""
        return self._core.terminals

    @property
    def nonterminals(self) -> list[str]:
        """Nonterminal names; index 0 is the start symbol."""
        return self._core.nonterminals

    @property
    def rules(self) -> list[tuple[str, list[str], float]]:
        """Rules as ``(lhs, [symbols], probability)`` with symbol names."""
        nts, ts = self.nonterminals, self.terminals
        return [
            (nts[lhs], [ts[i] if term else nts[i] for term, i in rhs], p)
            for lhs, rhs, p in self._core.rules
        ]

    def to_text(self) -> str:
        """The grammar in the text format (with normalised probabilities)."""
        return self._core.to_text()

    def length_range(self) -> tuple[int, int | None]:
        """Shortest and longest string length (``None``: unbounded)."""
        return self._core.length_range()

    def consistency(self) -> dict[str, Any]:
        """Consistency analysis of the PCFG.

        Returns:
            dict with ``spectral_radius`` (of the expected-children matrix; < 1: subcritical),
            ``termination_probability`` (of a derivation from the start symbol),
            ``consistent`` (terminates with probability 1), ``expected_length`` and
            ``expected_size`` (rule applications; both None unless subcritical).
        """
        return self._core.consistency()

    @property
    def vocab(self) -> Vocabulary:
        """Terminals plus ``<pad>`` (id ``len(terminals)``)."""
        ts = self.terminals
        joiner = "" if all(len(t) == 1 for t in ts) else " "
        return Vocabulary((*ts, "<pad>"), pad_id=len(ts), joiner=joiner)

    # -- sampling -------------------------------------------------------------------------
    def sample(
        self,
        n: int,
        seed: int,
        start: int = 0,
        *,
        choice: str = "weighted",
        max_length: int | None = None,
        max_depth: int = 1 << 20,
        max_tries: int = 1000,
        label_depth: int = 0,
        threads: int | None = None,
    ) -> Batch:
        """Samples strings by top-down expansion (depth-first, left to right).

        Args:
            n: number of strings.
            seed: stream seed; string ``i`` depends only on (grammar, seed, start + i).
            start: index of the first string in the stream.
            choice: ``"weighted"`` (rule probabilities) or ``"uniform"`` (each rule of a
                nonterminal equally likely).
            max_length: longest string (default: the longest string of a finite language,
                else 4096). Also the width of ``tokens``.
            max_depth: deepest nonterminal in the tree (start symbol: depth 0).
            max_tries: a derivation that passes a guard is redrawn, at most this many times
                in a row (then ValueError). Samples are thus conditioned on the guards.
            label_depth: tree levels to label (0: none).
            threads: worker threads.

        Returns:
            A Batch: ``tokens [B, max_length]`` (terminal ids, padded with ``len(terminals)``),
            ``lengths [B]``; with ``label_depth = L > 0`` also ``labels["ancestors"]`` and
            ``labels["spans"]`` ``[B, max_length, L]``: the index of the ancestor nonterminal
            at each tree level and the index of its span among that level's nodes (in string
            order), -100 beyond the token's depth and on padding.
        """
        if max_length is None:
            longest = self.length_range()[1]
            max_length = longest if longest is not None else DEFAULT_MAX_LENGTH
        pad = len(self.terminals)
        out = self._core.sample(
            count=n,
            seed=seed,
            salt=0,
            start=start,
            choice=choice,
            max_length=max_length,
            max_depth=max_depth,
            max_tries=max_tries,
            label_depth=label_depth,
            token_offset=0,
            pad_id=pad,
            threads=threads,
        )
        labels = {k: out[k] for k in ("ancestors", "spans") if k in out}
        return Batch(
            tokens=out["tokens"],
            lengths=out["lengths"].astype(np.int64),
            indices=np.arange(start, start + n, dtype=np.int64),
            labels=labels,
            vocab=self.vocab,
        )

    def sample_python_compatible(self, seed: int, n: int) -> list[list[int]]:
        """``n`` consecutive strings of the official cfg3 generator seeded with
        ``random.Random(seed)``, bit for bit (uniform rule choice, depth-first).

        Returns terminal indices (official token id = index + 1 for cfg3 grammars).
        """
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**128:
            raise ValueError(f"`seed` must be an int in [0, 2**128), got {seed!r}")
        return self._core.sample_python_compatible(seed, n)

    # -- helpers --------------------------------------------------------------------------
    def encode(self, string: str | Sequence[str] | Sequence[int] | np.ndarray) -> list[int]:
        """Terminal ids of a string: a sequence of ids, of terminal strings, or a ``str``
        (split into characters when every terminal is one character, else on whitespace)."""
        if isinstance(string, np.ndarray):
            string = string.tolist()
        if isinstance(string, str):
            ts = self.terminals
            string = list(string) if all(len(t) == 1 for t in ts) else string.split()
        index = {t: i for i, t in enumerate(self.terminals)}
        out = []
        for s in string:
            if isinstance(s, str):
                if s not in index:
                    return [-1]  # not a terminal: the string is not in the language
                out.append(index[s])
            elif isinstance(s, (int, np.integer)) and not isinstance(s, bool):
                out.append(int(s))
            else:
                raise TypeError(f"symbols must be str or int, got {type(s).__name__}")
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        return (_from_text_with_meta, (self.to_text(), self.cfg3_meta))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Grammar) and other.to_text() == self.to_text()

    def __hash__(self) -> int:
        return hash(self.to_text())

    def __repr__(self) -> str:
        return (
            f"Grammar({len(self.nonterminals)} nonterminals, {len(self.terminals)} terminals, "
            f"{len(self._core.rules)} rules)"
        )


def _from_text_with_meta(text: str, meta: dict[str, Any] | None) -> Grammar:
    return Grammar(_core.Grammar.from_text(text, True), meta)
