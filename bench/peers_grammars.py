"""Python peers for the grammar benchmarks: the official cfg3 generation procedure, a minimal
PCFG sampler, a Python membership DP, and nltk / lark parsers built from the same rules.

Rules come as ``{lhs: [(rhs, prob), ...]}`` with nonterminals as str and terminals as int.
"""

from __future__ import annotations

import random


def rules_of(grammar) -> dict:
    """A kleene Grammar as ``{lhs: [(rhs, prob)]}`` (terminals as int indices)."""
    ts = {t: i for i, t in enumerate(grammar.terminals)}
    out: dict = {}
    for lhs, rhs, p in grammar.rules:
        out.setdefault(lhs, []).append(([ts[s] if s in ts else s for s in rhs], p))
    return out


def official_cfg3_strings(rules: dict, start: str, seed: int, n: int) -> list[list[int]]:
    """The official cfg3 procedure: one ``random.Random(seed)``; at every nonterminal
    ``randint(0, R - 1)`` before its children, depth-first, left to right."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        s, stack = [], [start]
        while stack:
            sym = stack.pop()
            if isinstance(sym, int):
                s.append(sym)
                continue
            alts = rules[sym]
            rhs = alts[rng.randint(0, len(alts) - 1)][0]
            stack.extend(reversed(rhs))
        out.append(s)
    return out


def minimal_pcfg_strings(rules: dict, start: str, seed: int, n: int) -> list[list[int]]:
    """A minimal weighted top-down sampler with ``random.choices``."""
    rng = random.Random(seed)
    table = {a: ([r for r, _ in alts], [p for _, p in alts]) for a, alts in rules.items()}
    out = []
    for _ in range(n):
        s, stack = [], [start]
        while stack:
            sym = stack.pop()
            if isinstance(sym, int):
                s.append(sym)
            else:
                rhss, weights = table[sym]
                stack.extend(reversed(rng.choices(rhss, weights)[0]))
        out.append(s)
    return out


class PythonDP:
    """Membership by a CYK over end sets on the binarised rules (Python sets)."""

    def __init__(self, rules: dict, start: str) -> None:
        self.start = start
        self.binary: list[tuple[str, str, str]] = []
        self.lexical: dict[int, list[str]] = {}
        fresh = 0
        for lhs, alts in rules.items():
            for rhs, _ in alts:
                syms = []
                for s in rhs:
                    if isinstance(s, int):
                        pre = f"_t{s}"
                        if pre not in self.lexical.get(s, []):
                            self.lexical.setdefault(s, []).append(pre)
                        syms.append(pre)
                    else:
                        syms.append(s)
                if len(syms) == 1:
                    raise ValueError("unit rules are not supported by this peer")
                left = lhs
                while len(syms) > 2:
                    fresh += 1
                    mid = f"_i{fresh}"
                    self.binary.append((left, syms[0], mid))
                    left, syms = mid, syms[1:]
                self.binary.append((left, syms[0], syms[1]))
        # Children before parents (the rules are layered for cfg3).
        self.order = self._order()

    def _order(self) -> list[str]:
        kids: dict[str, set] = {}
        for a, b, _ in self.binary:
            kids.setdefault(a, set()).add(b)
        seen, order = set(), []

        def visit(a: str) -> None:
            stack = [(a, iter(kids.get(a, ())))]
            seen.add(a)
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    order.append(node)
                    stack.pop()
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, iter(kids.get(nxt, ()))))

        for a in list(kids):
            if a not in seen:
                visit(a)
        return [a for a in order if a in kids]

    def accepts(self, word: list[int]) -> bool:
        n = len(word)
        ends: list[dict[str, set]] = [dict() for _ in range(n + 1)]
        by_lhs: dict[str, list] = {}
        for a, b, c in self.binary:
            by_lhs.setdefault(a, []).append((b, c))
        for i in range(n - 1, -1, -1):
            here = ends[i]
            for pre in self.lexical.get(word[i], []):
                here[pre] = {i + 1}
            for a in self.order:
                acc = set()
                for b, c in by_lhs[a]:
                    for k in here.get(b, ()):
                        acc |= ends[k].get(c, set())
                if acc:
                    here[a] = acc
        return n in ends[0].get(self.start, set())


def nltk_parser(rules: dict, start: str):
    """An nltk ChartParser over the same rules; returns a membership function."""
    import nltk

    lines = []
    for lhs, alts in [(start, rules[start])] + [(a, r) for a, r in rules.items() if a != start]:
        rhs = " | ".join(
            " ".join(f"'t{s}'" if isinstance(s, int) else s for s in r) for r, _ in alts
        )
        lines.append(f"{lhs} -> {rhs}")
    grammar = nltk.CFG.fromstring("\n".join(lines))
    parser = nltk.ChartParser(grammar)

    def accepts(word: list[int]) -> bool:
        # Membership from the chart (extracting trees is exponential on cfg3).
        chart = parser.chart_parse([f"t{t}" for t in word])
        found = chart.select(start=0, end=len(word), is_complete=True, lhs=grammar.start())
        return next(iter(found), None) is not None

    return accepts


def lark_parser(rules: dict, start: str):
    """A lark Earley parser over the same rules; returns a membership function."""
    import lark

    def name(a: str) -> str:
        return "n_" + a.lower()

    lines = [f"start: {name(start)}"]
    terms = set()
    for lhs, alts in rules.items():
        rhs = " | ".join(
            " ".join(f"T{s}" if isinstance(s, int) else name(s) for s in r) for r, _ in alts
        )
        terms.update(s for r, _ in alts for s in r if isinstance(s, int))
        lines.append(f"{name(lhs)}: {rhs}")
    lines += [f'T{t}: "{chr(97 + t)}"' for t in sorted(terms)]
    parser = lark.Lark("\n".join(lines), parser="earley", lexer="basic", ambiguity="resolve")

    def accepts(word: list[int]) -> bool:
        try:
            parser.parse("".join(chr(97 + t) for t in word))
            return True
        except lark.exceptions.LarkError:
            return False

    return accepts
