"""The registered grammar tasks: ``cfg3`` (the paper's grammars), ``cfg3_random`` (random
grammars of a cfg3 family) and ``dyck`` (uniform Dyck-k strings)."""

from __future__ import annotations

import functools
import hashlib
import json

import numpy as np

from ..batch import Batch, Vocabulary
from ..tasks import DTYPE, Label, Param, Task, in_range, item_label, register
from .grammar import CFG3_PRESETS, Grammar


@functools.lru_cache(maxsize=32)
def _cfg3_grammar(name: str, path: str | None) -> Grammar:
    if path is not None:
        return Grammar.from_cfg3_json(path)
    return Grammar.cfg3(name)


@functools.lru_cache(maxsize=32)
def _cfg3_family_grammar(name: str, grammar_seed: int) -> Grammar:
    return Grammar.cfg3_family(name, seed=grammar_seed)


_LABEL_CHOICES = ("", "ancestors", "spans", "ancestors,spans")


_CFG3_COMMON = (
    Param("labels", "", "labels to return", str, choices=_LABEL_CHOICES, affects_data=False),
    DTYPE,
)


@register
class Cfg3(Task):
    """cfg3 strings ("Physics of Language Models, Part 1"): uniform rule choice, depth-first.

    The grammar is the paper's grammar ``grammar`` (one of the nine, shipped with kleene;
    see :meth:`Grammar.cfg3`), or the official grammar file at ``path`` when given; random
    grammars of the family are the task ``cfg3_random``.
    Tokens are the official ids: terminals ``1..V``, padding 0; ``vocab.eos_id`` is the
    official EOS id ``V + 1`` (not written into ``tokens``). Rows are as wide as the longest
    string of the grammar.

    Labels (``labels=`` a comma-separated subset of ``ancestors,spans``), int32 ``[B, T, D]``
    for the ``D`` nonterminal levels: the ancestor nonterminal (grammar index) of each token
    at each level, and the index of that ancestor's span among the level's spans (the
    paper's boundary labels; official span id = -(index + 2)). -100 on padding.
    """

    name = "cfg3"
    label_specs = (
        Label("ancestors", "token", "value", "the parse's ancestor symbols of tokens[:, t]"),
        Label("spans", "token", "value", "the index of each such ancestor's span in its level"),
    )
    params = (
        Param("grammar", "cfg3f", "one of the paper's nine grammars", str, choices=CFG3_PRESETS),
        Param("path", None, "official cfg3 JSON file (overrides grammar)", str),
        *_CFG3_COMMON,
    )

    @property
    def grammar(self) -> Grammar:
        """The task's grammar."""
        return _cfg3_grammar(self._params["grammar"], self._params["path"])

    def _check(self) -> None:
        self.grammar  # noqa: B018 - loads and validates

    @property
    def vocab(self) -> Vocabulary:
        v = len(self.grammar.terminals)
        return Vocabulary(
            ("<pad>", *map(str, range(1, v + 1)), "<eos>"), pad_id=0, eos_id=v + 1, joiner=" "
        )

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        g = self.grammar
        width = g.length_range()[1]
        depth = g.cfg3_meta["depth"]
        wanted = set(filter(None, self._params["labels"].split(",")))
        out = g._core.sample(
            count=count,
            seed=seed,
            salt=self.stream_salt,
            start=start,
            choice="uniform",
            max_length=width,
            max_depth=1 << 20,
            max_tries=1,
            label_depth=depth if wanted else 0,
            token_offset=1,
            pad_id=0,
            dtype=self._params["dtype"],
            threads=threads,
        )
        labels = {k: out[k] for k in ("ancestors", "spans") if k in wanted}
        return self._batch(out["tokens"], start, labels, out["lengths"])


@register
class Cfg3Random(Cfg3):
    """cfg3 strings from a random grammar of the family (:meth:`Grammar.cfg3_family`) with
    the parameters of ``grammar``, drawn with ``grammar_seed``; layout and labels as ``cfg3``.

    These are the streams the ``cfg3`` task drew before it used the paper's exact grammars:
    the same configuration gives the same bytes, except for ``cfg3b``, whose family now
    honours the official ``disallow_duplicate_sym`` (before, its family equalled cfg3i's).
    """

    name = "cfg3_random"
    params = (
        Param("grammar", "cfg3f", "whose family parameters to use", str, choices=CFG3_PRESETS),
        Param(
            "grammar_seed",
            0,
            "seed of the random grammar of the family",
            int,
            in_range(0, 2**63 - 1),
        ),
        *_CFG3_COMMON,
    )

    @property
    def grammar(self) -> Grammar:
        """The task's grammar."""
        return _cfg3_family_grammar(self._params["grammar"], self._params["grammar_seed"])

    @functools.cached_property
    def stream_salt(self) -> int:
        """The former ``cfg3`` task's salt for this grammar, so its streams stay reproducible."""
        p = self._params
        data = {"task": "cfg3", "grammar": p["grammar"], "grammar_seed": p["grammar_seed"]}
        data["path"] = None
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def _bracket_names(k: int) -> tuple[list[str], list[str]]:
    if k <= 4:
        return list("([{<"[:k]), list(")]}>"[:k])
    return [f"({i}" for i in range(k)], [f"){i}" for i in range(k)]


@functools.lru_cache(maxsize=32)
def _dyck_grammar(k: int) -> tuple[Grammar, np.ndarray]:
    opens, closes = _bracket_names(k)
    q = _text_quote
    alts = []
    for o, c in zip(opens, closes, strict=True):
        o, c = q(o), q(c)
        alts += [f"{o} S {c} S", f"{o} {c} S", f"{o} S {c}", f"{o} {c}"]
    g = Grammar.from_text("S -> " + " | ".join(alts))
    order = opens + closes
    to_vocab = np.array([order.index(t) for t in g.terminals], dtype=np.int32)
    return g, to_vocab


def _text_quote(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


@register
class Dyck(Task):
    """Dyck-k: balanced strings over ``k`` bracket pairs of exactly ``length`` tokens, uniform
    over all such strings (a counting DP over an unambiguous grammar).

    Tokens: opening brackets ``0..k-1``, closing ``k..2k-1``. Labels: ``depth`` int32
    ``[B, T]``, the nesting depth after each token; ``max_depth`` int32 ``[B]``.
    """

    name = "dyck"
    label_specs = (
        Label("depth", "prefix", "value", "open brackets after tokens[:, :t+1]"),
        item_label("max_depth", "the string's largest depth"),
    )
    params = (
        Param("k", 2, "number of bracket types", int, in_range(1, 64)),
        Param(
            "length",
            32,
            "string length (even, 2..4096)",
            int,
            lambda v: None if 2 <= v <= 4096 and v % 2 == 0 else "must be even and in [2, 4096]",
        ),
        DTYPE,
    )

    @property
    def vocab(self) -> Vocabulary:
        opens, closes = _bracket_names(self._params["k"])
        joiner = "" if self._params["k"] <= 4 else " "
        return Vocabulary((*opens, *closes), joiner=joiner)

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        k, length = self._params["k"], self._params["length"]
        g, to_vocab = _dyck_grammar(k)
        raw = g._core.sample_uniform_length(
            length=length,
            count=count,
            seed=seed,
            salt=self.stream_salt,
            start=start,
            threads=threads,
        )
        tokens = to_vocab[raw.astype(np.int64)] if count else np.zeros((0, length), np.int32)
        step = np.where(tokens < k, 1, -1).astype(np.int32)
        depth = np.cumsum(step, axis=1, dtype=np.int32)
        max_depth = depth.max(axis=1, initial=0).astype(np.int32)
        tokens = tokens.astype(self._params["dtype"])
        return self._batch(tokens, start, {"depth": depth, "max_depth": max_depth})
