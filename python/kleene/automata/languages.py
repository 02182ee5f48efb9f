"""The automata behind the built-in regular tasks (Tomita, DeepMind's regular tasks, groups,
flip-flop, bounded Dyck). Each builder returns a :class:`DFA` and, where the task classifies,
the class of each state."""

from __future__ import annotations

import functools
import itertools
import re

import numpy as np

from .dfa import DFA

BINARY = "01"

# Tomita grammars after satwik77/Transformer-Formal-Languages (Tomita-3: no odd run of 1s
# immediately followed by an odd run of 0s; Tomita-4: no "000"; Tomita-7: 0*1*0*1*).
_TOMITA_REGEX = {
    1: "1*",
    2: "(10)*",
    7: "0*1*0*1*",
}


@functools.cache
def tomita(index: int) -> DFA:
    """The minimal DFA of Tomita grammar ``index`` (1..7) over ``01``."""
    if index in _TOMITA_REGEX:
        return DFA.from_regex(_TOMITA_REGEX[index], BINARY).minimize()
    if index == 3:
        bad = DFA.from_regex("(|.*0)1(11)*0(00)*(|1.*)", BINARY)
        return bad.complement().minimize()
    if index == 4:
        return DFA.from_regex(".*000.*", BINARY).complement().minimize()
    if index == 5:  # #0 and #1 both even; state = 2 * (#0 mod 2) + (#1 mod 2)
        table = [[2, 1], [3, 0], [0, 3], [1, 2]]
        return DFA.from_table(table, [0], alphabet=BINARY)
    if index == 6:  # (#0 - #1) mod 3 == 0; state = (#0 - #1) mod 3
        table = [[1, 2], [2, 0], [0, 1]]
        return DFA.from_table(table, [0], alphabet=BINARY)
    raise ValueError(f"`index` must be in 1..7, got {index}")


def tomita_ref(index: int, word: str) -> bool:
    """Membership in Tomita grammar ``index`` by Python's ``re`` (an independent oracle)."""
    patterns = {
        1: r"1*",
        2: r"(10)*",
        4: r"(?!.*000).*",
        7: r"0*1*0*1*",
    }
    if index in patterns:
        return re.fullmatch(patterns[index], word) is not None
    if index == 3:
        runs = [(k, len(list(g))) for k, g in itertools.groupby(word)]
        return not any(
            a == "1" and n % 2 == 1 and b == "0" and m % 2 == 1
            for (a, n), (b, m) in zip(runs, runs[1:], strict=False)
        )
    if index == 5:
        return word.count("0") % 2 == 0 and word.count("1") % 2 == 0
    if index == 6:
        return (word.count("0") - word.count("1")) % 3 == 0
    raise ValueError(index)


def parity() -> tuple[DFA, np.ndarray]:
    """DeepMind parity_check: label = number of 1s mod 2 (state = label)."""
    return DFA.from_table([[0, 1], [1, 0]], [True, True], alphabet=BINARY), np.array([0, 1])


def even_pairs() -> tuple[DFA, np.ndarray]:
    """DeepMind even_pairs: label = (#"01" + #"10") mod 2 = [first != last].

    States: 0 empty, 1 = (first 0, last 0), 2 = (0, 1), 3 = (1, 1), 4 = (1, 0).
    """
    table = [[1, 3], [1, 2], [1, 2], [4, 3], [4, 3]]
    return DFA.from_table(table, [True] * 5, alphabet=BINARY), np.array([0, 0, 1, 0, 1])


def cycle_navigation(size: int = 5) -> tuple[DFA, np.ndarray]:
    """DeepMind cycle_navigation: actions 0/1/2 = stay/+1/-1 on a cycle from 0; label = position."""
    table = [[q, (q + 1) % size, (q - 1) % size] for q in range(size)]
    return DFA.from_table(table, [True] * size, alphabet="012"), np.arange(size)


MOD_ARITH_SYMBOLS = ("0", "1", "2", "3", "4", "+", "-", "*")


@functools.cache
def modular_arithmetic(modulus: int = 5) -> tuple[DFA, np.ndarray]:
    """DeepMind modular_arithmetic: digits and ``+ - *`` alternate (odd length), ``*`` binds
    tighter; label = value mod ``modulus``. The DFA accepts exactly the well-formed
    expressions; a digit-ended state ``(sum, term, sign)`` has value ``sum + sign * term``.
    """
    m = modulus
    digits = range(m)
    states: dict[tuple, int] = {}
    order: list[tuple] = []

    def sid(s: tuple) -> int:
        if s not in states:
            states[s] = len(order)
            order.append(s)
        return states[s]

    sid(("want", 0, 1, None))  # start: expect a digit, sum 0, sign +
    table: list[list[int]] = []
    i = 0
    while i < len(order):
        kind, a, b, c = order[i]
        row = [-1] * (m + 3)
        if kind == "want":  # ("want", sum, sign, term-or-None): expecting a digit
            total, sign, pending = a, b, c
            for d in digits:
                term = d if pending is None else (pending * d) % m
                row[d] = sid(("have", total, term, sign))
        else:  # ("have", sum, term, sign): expecting an operator
            total, term, sign = a, b, c
            folded = (total + sign * term) % m
            row[m] = sid(("want", folded, 1, None))
            row[m + 1] = sid(("want", folded, -1, None))
            row[m + 2] = sid(("want", total, sign, term))
        table.append(row)
        i += 1
    accepting = [s[0] == "have" for s in order]
    classes = np.array(
        [(s[1] + s[3] * s[2]) % m if s[0] == "have" else 0 for s in order], dtype=np.int64
    )
    symbols = (*map(str, digits), "+", "-", "*")
    return DFA.from_table(table, accepting, alphabet=symbols), classes


# -- groups ---------------------------------------------------------------------------------


def _perm_group(n: int, even_only: bool) -> list[tuple[int, ...]]:
    perms = list(itertools.permutations(range(n)))
    if even_only:
        perms = [p for p in perms if _parity(p) == 0]
    return perms


def _parity(p: tuple[int, ...]) -> int:
    return sum(1 for i in range(len(p)) for j in range(i + 1, len(p)) if p[i] > p[j]) % 2


_FACTOR = re.compile(r"^(Z|S|A)(\d+)$")
MAX_GROUP_ORDER = 2048


@functools.cache
def group(spec: str) -> tuple[tuple[str, ...], np.ndarray, int]:
    """A finite group from ``spec`` like ``"Z5"``, ``"S5"``, ``"A5"``, ``"S3xZ2"``.

    Returns (element names, multiplication table ``[G, G]`` with ``table[g, h] = g h``, index
    of the identity). Permutations compose left to right: ``(g h)(i) = h(g(i))``.
    """
    factors = []
    for part in spec.split("x"):
        match = _FACTOR.match(part.strip())
        if not match:
            raise ValueError(
                f"`group` factors must look like Z5, S5 or A5; got {part!r} in {spec!r}"
            )
        kind, n = match.group(1), int(match.group(2))
        if kind == "Z":
            if not 1 <= n <= MAX_GROUP_ORDER:
                raise ValueError(f"`group`: Z{n} needs 1 <= n <= {MAX_GROUP_ORDER}")
            elems = list(range(n))
            factors.append((elems, lambda g, h, n=n: (g + h) % n, 0, lambda g: str(g)))
        else:
            if not 1 <= n <= 7:
                raise ValueError(f"`group`: {kind}{n} needs 1 <= n <= 7")
            elems = _perm_group(n, even_only=kind == "A")
            compose = lambda g, h: tuple(h[g[i]] for i in range(len(g)))  # noqa: E731
            ident = tuple(range(n))
            factors.append((elems, compose, ident, lambda g: "".join(map(str, g))))
    order = int(np.prod([len(f[0]) for f in factors]))
    if order > MAX_GROUP_ORDER:
        raise ValueError(f"`group` {spec!r} has order {order}, above {MAX_GROUP_ORDER}")
    elements = list(itertools.product(*[f[0] for f in factors]))
    index = {e: i for i, e in enumerate(elements)}
    table = np.empty((order, order), dtype=np.int64)
    for i, g in enumerate(elements):
        for j, h in enumerate(elements):
            prod = tuple(f[1](a, b) for f, a, b in zip(factors, g, h, strict=False))
            table[i, j] = index[prod]
    identity = index[tuple(f[2] for f in factors)]
    names = tuple("|".join(f[3](x) for f, x in zip(factors, e, strict=False)) for e in elements)
    return names, table, identity


def word_problem(spec: str) -> DFA:
    """DFA whose state after a word is its running product (states = elements)."""
    names, table, identity = group(spec)
    return DFA.from_table(table, [True] * len(names), start=identity, alphabet=names)


# -- flip-flop and bounded Dyck ---------------------------------------------------------------

FLIP_FLOP_SYMBOLS = ("w", "r", "i", "0", "1")


def flip_flop(p_write: float, p_read: float) -> tuple[DFA, np.ndarray]:
    """Flip-flop language (Liu et al. 2023) as a weighted automaton over ``w r i 0 1``:
    instruction/bit pairs, opening with a write; after ``r`` the bit equals the last written
    bit. Returns (DFA, arc weights ``[states, 5]``).

    States: 0 start, 1 after w, 2/3 memory 0/1 expecting an instruction, 4/5 after r with
    memory 0/1, 6/7 after i with memory 0/1.
    """
    p_ignore = 1.0 - p_write - p_read
    w, r, i, b0, b1 = range(5)
    table = -np.ones((8, 5), dtype=np.int64)
    weights = np.zeros((8, 5))
    table[0, w], weights[0, w] = 1, 1.0
    table[1, b0], table[1, b1] = 2, 3
    weights[1, [b0, b1]] = 0.5
    for mem in (0, 1):
        q = 2 + mem
        table[q, [w, r, i]] = [1, 4 + mem, 6 + mem]
        weights[q, [w, r, i]] = [p_write, p_read, p_ignore]
        table[4 + mem, b0 + mem], weights[4 + mem, b0 + mem] = q, 1.0
        table[6 + mem, [b0, b1]] = q
        weights[6 + mem, [b0, b1]] = 0.5
    accepting = [True] * 8
    return DFA.from_table(table, accepting, alphabet=FLIP_FLOP_SYMBOLS), weights


MAX_DYCK_STATES = 1 << 20


@functools.cache
def dyck_bounded(k: int, m: int) -> tuple[DFA, np.ndarray, np.ndarray]:
    """Dyck-(k, m): ``k`` bracket types nested at most ``m`` deep, as a DFA whose states are
    the stacks. Symbols ``0..k-1`` open, ``k..2k-1`` close. Returns (DFA, arc weights of
    Hewitt et al.'s PFA, stop weights), for ``randgen``: at depth 0 stop with probability 1/2
    and open each type with 1/(2k); at depth m close; otherwise open 1/(2k) each, close 1/2.
    """
    n_states = sum(k**d for d in range(m + 1))
    if n_states > MAX_DYCK_STATES:
        raise ValueError(
            f"Dyck-({k}, {m}) has {n_states} stacks, above {MAX_DYCK_STATES}; lower k or m"
        )
    stacks: list[tuple[int, ...]] = [()]
    ids = {(): 0}
    i = 0
    rows = []
    while i < len(stacks):
        s = stacks[i]
        row = [-1] * (2 * k)
        if len(s) < m:
            for b in range(k):
                t = (*s, b)
                if t not in ids:
                    ids[t] = len(stacks)
                    stacks.append(t)
                row[b] = ids[t]
        if s:
            row[k + s[-1]] = ids[s[:-1]]
        rows.append(row)
        i += 1
    table = np.array(rows, dtype=np.int64)
    depth = np.array([len(s) for s in stacks])
    weights = np.zeros(table.shape)
    for q, d in enumerate(depth):
        opens = 0.0 if d == m else 1.0 / (2 * k)
        weights[q, :k] = opens
        if d > 0:
            weights[q, k:] = np.where(table[q, k:] >= 0, 1.0 if d == m else 0.5, 0.0)
    stop = np.where(depth == 0, 0.5, 0.0)
    names = tuple(f"({b}" for b in range(k)) + tuple(f"){b}" for b in range(k))
    if k == 1:
        names = ("(", ")")
    dfa = DFA.from_table(table, depth == 0, alphabet=names)
    return dfa, weights, stop
