"""Peer for the tokbias benchmark: a straightforward Python implementation of the same
algorithm (Phan et al. 2025's cover recurrence, one model call per byte), kept as a flat list
of covers, with the same validity rule for new contexts (pairwise BPE check, or a GPT-2 piece
boundary that some continuation allows)."""

from __future__ import annotations

import regex

GPT2_PATTERN = regex.compile(
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)
PROBES = ["", "a", "1", " ", "\n", "!", "'", "s", "d", "m", "t", "l", "v", "r", "e"]


class PyBpe:
    """Rank-based BPE (token id = rank) with the pairwise validity test."""

    def __init__(self, tokens: list[bytes], ignore_merges: bool = False):
        self.tokens = tokens
        self.rank: dict[bytes, int] = {}
        for i, t in enumerate(tokens):
            if t:
                self.rank.setdefault(t, i)
        self.ignore_merges = ignore_merges
        self.pairs: dict[tuple[int, int], bool] = {}

    def merge(self, piece: bytes) -> list[int]:
        parts = [bytes([b]) for b in piece]
        while len(parts) > 1:
            best = None
            for i in range(len(parts) - 1):
                r = self.rank.get(parts[i] + parts[i + 1])
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            i = best[1]
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        return [self.rank[p] for p in parts]

    def boundary_possible(self, left: bytes, right: bytes) -> bool:
        text = (left + right).decode("utf-8", "replace")
        cut = len(left.decode("utf-8", "replace"))
        for probe in PROBES:
            starts = {m.start() for m in GPT2_PATTERN.finditer(text + probe)}
            if cut in starts:
                return True
        return False

    def extends(self, context: tuple[int, ...], token: int) -> bool:
        whole = self.ignore_merges and self.rank.get(self.tokens[token]) == token
        if not whole and self.merge(self.tokens[token]) != [token]:
            return False
        if not context:
            return True
        key = (context[-1], token)
        if key not in self.pairs:
            left, right = self.tokens[key[0]], self.tokens[token]
            self.pairs[key] = self.merge(left + right) == list(key) or self.boundary_possible(
                left, right
            )
        return self.pairs[key]


class PyBpeO200k(PyBpe):
    """o200k: tiktoken's whole-piece rule, and a piece boundary before the next token ruled
    out only where two ASCII characters can never be split: two punctuation marks, a
    non-newline whitespace before a letter (a space before punctuation), or two letters
    unless the context ends a contraction or the case changes from lower to upper."""

    def __init__(self, tokens: list[bytes]):
        super().__init__(tokens, ignore_merges=True)

    def extends(self, context: tuple[int, ...], token: int) -> bool:
        right = self.tokens[token]
        if self.rank.get(right) != token and self.merge(right) != [token]:
            return False
        if not context:
            return True
        key = (context[-1], token)
        if key not in self.pairs:
            self.pairs[key] = self.merge(self.tokens[key[0]] + right) == list(key)
        if self.pairs[key]:
            return True
        left = b"".join(self.tokens[t] for t in context[-CONTEXT_TOKENS:])
        return _boundary(left, right, whole=len(context) <= CONTEXT_TOKENS)


CONTEXT_TOKENS = 3
CONTRACTIONS = (b"s", b"t", b"d", b"m", b"ll", b"ve", b"re")


def _boundary(left: bytes, right: bytes, whole: bool) -> bool:
    a, b = left[-1:], right[:1]
    if a[0] >= 128 or b[0] >= 128:
        return True
    ca, cb = _ascii_class(a), _ascii_class(b)
    if ca == cb == "other":
        return False
    if ca == "space" and cb == "letter":
        return a in b"\r\n"
    if ca == "space" and cb == "other":
        return a != b" "
    if ca == cb == "letter":
        start = len(left)
        while start > 0 and left[start - 1 : start].isalpha():
            start -= 1
        tail = left[start:].lower()
        if start == 0:
            contraction = not whole and any(w.endswith(tail) for w in CONTRACTIONS)
        else:
            contraction = left[start - 1 : start] == b"'" and tail in CONTRACTIONS
        return contraction or (a.islower() and b.isupper())
    return True


def _ascii_class(c: bytes) -> str:
    if c.isalpha():
        return "letter"
    if c.isdigit():
        return "number"
    return "space" if c in b" \t\n\x0b\x0c\r" else "other"


class PyCoverState:
    """Covers as a list of (context, start offset, token, probability)."""

    def __init__(self, bpe: PyBpe, model, eos: int):
        self.bpe, self.model, self.eos = bpe, model, eos
        self.n = 0
        self.covers: list[tuple[tuple[int, ...], int, int, float]] = []
        self.end_mass = 0.0
        self._open([((), 1.0)])

    def _open(self, contexts: list[tuple[tuple[int, ...], float]]) -> None:
        if not contexts:
            return
        rows = self.model([list(c) for c, _ in contexts])
        for (ctx, w), row in zip(contexts, rows, strict=True):
            for t, p in enumerate(row.tolist()):
                if t == self.eos:
                    self.end_mass += w * p
                elif p > 0.0 and self.bpe.tokens[t]:  # special ids spell no bytes
                    self.covers.append((ctx, self.n, t, w * p))

    def probs(self) -> list[float]:
        acc = [0.0] * 257
        tokens = self.bpe.tokens
        for _, start, t, p in self.covers:
            acc[tokens[t][self.n - start]] += p
        acc[256] = self.end_mass
        z = sum(acc)
        return [a / z for a in acc]

    def advance(self, b: int) -> None:
        tokens = self.bpe.tokens
        kept, opened = [], []
        for ctx, start, t, p in self.covers:
            tb, k = tokens[t], self.n - start
            if tb[k] != b:
                continue
            if len(tb) == k + 1:
                if self.bpe.extends(ctx, t):
                    opened.append(((*ctx, t), p))
            else:
                kept.append((ctx, start, t, p))
        total = sum(c[3] for c in kept) + sum(w for _, w in opened)
        self.covers = [(c, s, t, p / total) for c, s, t, p in kept]
        self.n += 1
        self.end_mass = 0.0
        self._open([(c, w / total) for c, w in opened])
