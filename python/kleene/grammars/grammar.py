"""The grammar engine: ``Grammar`` (parse, sample, score, count) and ``Tree``, over
``rust/core/src/grammars``."""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np

from .. import _core
from ..batch import Batch, Vocabulary

CFG3_PRESETS = ("cfg3b", "cfg3i", "cfg3h", "cfg3g", "cfg3f", "cfg3e1", "cfg3e2", "cfg3j", "cfg3k")
"""Names of the nine cfg3 configurations of "Physics of Language Models, Part 1"."""

DEFAULT_MAX_LENGTH = 4096
"""Default sampling guard on string length (see :meth:`Grammar.sample`)."""


class Grammar:
    """A context-free grammar with rule probabilities (a PCFG).

    Build one with :meth:`from_text`, :meth:`cfg3` (the paper's grammars),
    :meth:`from_cfg3_json` or :meth:`cfg3_family`.
    Terminals and nonterminals are numbered in order of appearance; token ids used by
    :meth:`sample` and accepted by the parsing methods are terminal indices.
    """

    def __init__(self, core: Any, cfg3_meta: dict[str, Any] | None = None) -> None:
        self._core = core
        self._source: tuple | None = None
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
        if not isinstance(data, (dict, str, PathLike)):
            raise TypeError(
                "`path_or_dict` must be a path (str or os.PathLike) or a dict, "
                f"got {type(data).__name__}"
            )
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
        g = cls(_core.Grammar.from_cfg3_levels(rules, names, num_sym), meta)
        g._source = ("cfg3", rules, names, num_sym)
        return g

    @classmethod
    def cfg3(cls, name: str = "cfg3f") -> Grammar:
        """The paper's grammar ``name`` (one of :data:`CFG3_PRESETS`), exactly as in its
        official file: the rules ship with kleene as text (``kleene/grammars/cfg3/``), so no
        file is needed. Equal to :meth:`from_cfg3_json` of the official file, including
        ``cfg3_meta`` and :meth:`sample_python_compatible`.
        """
        if name not in CFG3_PRESETS:
            raise ValueError(f"invalid `name`: {name!r}; allowed: {', '.join(CFG3_PRESETS)}")
        shared = _cfg3_preset(name)  # parsed once; each caller gets its own metadata
        g = cls(shared._core, json.loads(json.dumps(shared.cfg3_meta)))
        g._source = shared._source
        return g

    @classmethod
    def cfg3_family(cls, name: str = "cfg3f", seed: int = 0, **overrides: Any) -> Grammar:
        """A random grammar of the cfg3 family with the parameters of preset ``name``.

        ``overrides`` replace parameters: ``sizes`` (symbols per level, root first, terminals
        last), ``deg_min``/``deg_max`` (rules per nonterminal), ``len_min``/``len_max``
        (symbols per rule), ``disallow_duplicate_sym`` (no symbol twice in a rule; set by
        the cfg3b preset only, as in the official files). The paper's grammars themselves
        are :meth:`cfg3`.
        """
        params = dict(_core.cfg3_preset(name))
        unknown = set(overrides) - set(params)
        if unknown:
            raise ValueError(
                f"unknown cfg3 parameter(s) {sorted(unknown)}; valid: {sorted(params)}"
            )
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
                else 4096). Also the width of ``tokens`` when given; by default ``tokens`` is
                as wide as the longest string sampled (at least 1).
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
        trim = max_length is None
        if max_length is None:
            longest = self.length_range()[1]
            # At least 1: a language of only the empty string still gets a [B, 1] batch.
            max_length = max(longest, 1) if longest is not None else DEFAULT_MAX_LENGTH
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
        if trim:
            width = max(int(out["lengths"].max(initial=0)), 1)
            out = {
                k: np.ascontiguousarray(v[:, :width]) if v.ndim > 1 else v for k, v in out.items()
            }
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

    def sample_uniform_length(
        self, n: int, length: int, seed: int, start: int = 0, *, threads: int | None = None
    ) -> np.ndarray:
        """Strings of exactly ``length`` tokens, uniform over derivations (uniform over strings
        when the grammar is unambiguous), by a counting DP. Needs a grammar without ε rules or
        unit cycles.

        Returns:
            terminal ids ``[n, length]`` (int32).
        """
        out = self._core.sample_uniform_length(
            length=length, count=n, seed=seed, salt=0, start=start, threads=threads
        )
        return out.astype(np.int32)

    def num_derivations(self, length: int) -> float:
        """Number of derivations of strings of exactly ``length`` tokens."""
        return self._core.num_derivations(length)

    # -- membership and parsing -----------------------------------------------------------
    def accepts(self, string: str | Sequence[str] | Sequence[int] | np.ndarray) -> bool:
        """Whether the grammar derives ``string`` (see :meth:`encode` for the forms accepted).

        Uses a bitset CYK over the binarised grammar: a 300-token cfg3f string takes about a
        millisecond.
        """
        ids = self.encode(string)
        return bool(ids != [-1] and self._core.accepts(ids))

    def accepts_batch(
        self, tokens: np.ndarray, lengths: np.ndarray | None = None, threads: int | None = None
    ) -> np.ndarray:
        """Membership of each row of ``tokens [B, T]`` (first ``lengths[b]`` ids), in parallel.

        Returns:
            bool array ``[B]``.
        """
        tokens = np.asarray(tokens)
        if tokens.ndim != 2:
            raise ValueError(f"`tokens` must be 2-D [B, T], got shape {tokens.shape}")
        if lengths is None:
            lengths = np.full(tokens.shape[0], tokens.shape[1])
        rows = []
        for row, n in zip(tokens.tolist(), np.asarray(lengths).tolist(), strict=True):
            row = row[: int(n)]
            rows.append([t if t >= 0 else len(self.terminals) for t in row])
        return np.array(self._core.accepts_batch(rows, threads), dtype=bool)

    def generation_accuracy(
        self, tokens: np.ndarray, lengths: np.ndarray | None = None, threads: int | None = None
    ) -> float:
        """Fraction of the strings (rows of ``tokens``) that are in the language."""
        ok = self.accepts_batch(tokens, lengths, threads)
        return float(ok.mean()) if ok.size else 0.0

    def string_probability(self, string: str | Sequence[str] | Sequence[int]) -> float:
        """Probability of ``string`` under the PCFG (sum over its derivations)."""
        ids = self.encode(string)
        return 0.0 if ids == [-1] else self._core.string_probability(ids)

    def count_parses(self, string: str | Sequence[str] | Sequence[int]) -> float:
        """Number of parse trees of ``string`` (a float; exact below 2**53).

        Raises:
            ValueError: the grammar has unit or ε cycles (infinitely many parses).
        """
        ids = self.encode(string)
        return 0.0 if ids == [-1] else self._core.count_parses(ids)

    def parse(self, string: str | Sequence[str] | Sequence[int]) -> Tree | None:
        """The most probable parse tree of ``string`` (None if it is not in the language)."""
        ids = self.encode(string)
        if ids == [-1]:
            return None
        found = self._core.best_tree(ids)
        if found is None:
            return None
        prob, nodes = found
        return _build_tree(nodes, self.terminals, self.nonterminals, prob)

    # -- prefix probabilities -------------------------------------------------------------
    def prefix_probability(self, prefix: str | Sequence[str] | Sequence[int]) -> float:
        """Probability that a sampled string starts with ``prefix`` (Jelinek-Lafferty)."""
        ids = self.encode(prefix)
        return 0.0 if ids == [-1] else self._core.prefix_probability(ids)

    def next_token_distributions(self, string: str | Sequence[str] | Sequence[int]) -> np.ndarray:
        """Exact next-symbol distribution after every prefix of ``string``.

        Returns:
            float64 ``[n + 1, V + 1]``: row ``t`` is the distribution of the symbol after
            ``string[:t]``, column 0 the end of string, column ``1 + a`` terminal ``a`` (the
            layout of the official cfg3 ``solve_dp_prob``). Rows of impossible prefixes are 0.
        """
        ids = self.encode(string)
        if ids == [-1]:
            raise ValueError("`string` holds a symbol that is not a terminal of the grammar")
        return self._core.next_token_distributions(ids)

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
        return (_rebuild_grammar, (self._source or ("text", self.to_text()), self.cfg3_meta))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Grammar) and other.to_text() == self.to_text()

    def __hash__(self) -> int:
        return hash(self.to_text())

    def __repr__(self) -> str:
        return (
            f"Grammar({len(self.nonterminals)} nonterminals, {len(self.terminals)} terminals, "
            f"{len(self._core.rules)} rules)"
        )


def _rebuild_grammar(source: tuple, meta: dict[str, Any] | None) -> Grammar:
    if source[0] == "cfg3":
        g = Grammar(_core.Grammar.from_cfg3_levels(*source[1:]), meta)
        g._source = source
        return g
    # Verbatim: the probabilities written by to_text come back bit for bit.
    return Grammar(_core.Grammar.from_text(source[1], False, True), meta)


class Tree:
    """A parse tree: ``label`` (nonterminal name or terminal), ``children`` (trees; empty
    for terminals and ε), ``span`` (start, end) in tokens, and ``probability`` at the root."""

    __slots__ = ("label", "terminal", "span", "children", "probability")

    def __init__(self, label: str, terminal: bool, span: tuple[int, int]) -> None:
        self.label = label
        self.terminal = terminal
        self.span = span
        self.children: list[Tree] = []
        self.probability: float | None = None

    def leaves(self) -> list[str]:
        """Terminals in order."""
        out, stack = [], [self]
        while stack:
            node = stack.pop()
            if node.terminal:
                out.append(node.label)
            stack.extend(reversed(node.children))
        return out

    def to_brackets(self) -> str:
        """Bracketed form, e.g. ``(S a (S c) b)``; ε children print as ``()``-less nodes."""
        parts: list[str] = []
        stack: list[Tree | str] = [self]
        while stack:
            node = stack.pop()
            if isinstance(node, str):
                parts.append(node)
            elif node.terminal:
                parts.append(" " + node.label)
            else:
                parts.append(f" ({node.label}")
                stack.append(")")
                stack.extend(reversed(node.children))
        return "".join(parts).strip()

    def __repr__(self) -> str:
        return f"Tree({self.to_brackets()!r})"


def _build_tree(nodes: list, terminals: list[str], nonterminals: list[str], prob: float) -> Tree:
    built: list[Tree] = []
    for terminal, symbol, start, end, parent in nodes:
        label = terminals[symbol] if terminal else nonterminals[symbol]
        node = Tree(label, terminal, (start, end))
        if parent >= 0:
            built[parent].children.append(node)
        built.append(node)
    root = built[0]
    root.probability = prob
    return root


def kl_to_grammar(target: np.ndarray, model: np.ndarray, eps: float = 1e-5) -> float:
    """KL(target || model) averaged over positions, as the official cfg3 demo computes it.

    Both ``[n, V + 1]`` distributions are smoothed with ``eps`` and renormalised; the weights
    are the unsmoothed target: ``mean_t sum_a target[t, a] (log target_s - log model_s)``.
    """
    target = np.asarray(target, dtype=np.float64)
    model = np.asarray(model, dtype=np.float64)
    if target.shape != model.shape:
        raise ValueError(f"shapes differ: target {target.shape}, model {model.shape}")
    ts = (target + eps) / (target + eps).sum(-1, keepdims=True)
    ms = (model + eps) / (model + eps).sum(-1, keepdims=True)
    return float((target * (np.log(ts) - np.log(ms))).sum(-1).mean())


_CFG3_ROOT = "CFG3_ALL"


@functools.cache
def _cfg3_preset(name: str) -> Grammar:
    """Loads a shipped cfg3 grammar: the text (parsed and validated by the core), its
    metadata line (``#!`` JSON), then the levels rebuilt from the rule order (the file lists
    nonterminals level by level in the official order), so the grammar is built exactly as
    :meth:`Grammar.from_cfg3_json` builds it from the official file."""
    text = importlib.resources.files(__package__).joinpath("cfg3", f"{name}.cfg").read_text("utf-8")
    meta = json.loads(next(line[2:] for line in text.splitlines() if line.startswith("#!")))
    # The parser refuses unreachable nonterminals, and cfg3e1's official grammar has some
    # (kept, as from_cfg3_json keeps them): parse under a synthetic root reaching them all.
    lhs_names = [line.split()[0] for line in text.splitlines() if "->" in line]
    core = _core.Grammar.from_text(f"{_CFG3_ROOT} -> {' | '.join(lhs_names)}\n{text}")
    nts, ts = core.nonterminals, core.terminals
    root = nts.index(_CFG3_ROOT)
    order = list(dict.fromkeys(lhs for lhs, _, _ in core.rules if lhs != root))
    alternatives: dict[int, list[list[tuple[bool, int]]]] = {a: [] for a in order}
    for lhs, rhs, _ in core.rules:
        if lhs != root:
            alternatives[lhs].append(rhs)
    depth, sizes = meta["depth"], meta["sizes"]
    starts = np.cumsum([0, *sizes[:depth]]).tolist()
    level_nts = [order[starts[k] : starts[k + 1]] for k in range(depth)]
    rules, names = [], []
    for k, members in enumerate(level_nts):
        if k + 1 < depth:
            position = {a: j for j, a in enumerate(level_nts[k + 1])}
            index = position.__getitem__
        else:
            index = lambda i: int(ts[i]) - 1  # noqa: E731 - terminal "k" is official id k
        rules.append([[[index(i) for _, i in alt] for alt in alternatives[a]] for a in members])
        names.append([nts[a] for a in members])
    g = Grammar(_core.Grammar.from_cfg3_levels(rules, names, meta["num_sym"]), meta)
    g._source = ("cfg3", rules, names, meta["num_sym"])
    return g


# -- tasks -----------------------------------------------------------------------------------
