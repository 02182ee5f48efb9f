"""Python peer for the Chomsky-hierarchy benchmarks: kleene's former pure-Python/numpy
sampler of DeepMind's seq2seq tasks (one numpy generator per item), kept outside the package
as the speed baseline and as the distribution oracle of tests/test_grammars_chomsky.py.

``PEERS[name](length=..., min_length=..., modulus=..., mult=...).batch(count, seed)`` returns
``(tokens, targets, accuracy_mask, lengths)`` as the package's task did.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

IGNORE_INDEX = -100


def _item_rng(seed: int, salt: int, index: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, salt, index, 0xC405])))


class _Seq2Seq:
    """Shared sampling loop: subclasses define the alphabet and ``_example``."""

    symbols: ClassVar[tuple[str, ...]] = ("0", "1")
    salt = 0

    def __init__(self, length=16, min_length=None, modulus=5, mult=True):
        self._params = {
            "length": length,
            "min_length": min_length,
            "modulus": modulus,
            "mult": mult,
        }

    def _out_len(self, n: int) -> int:
        return n

    def _example(self, rng: np.random.Generator, n: int) -> tuple[list[int], list[int], int]:
        """(input ids, output ids in the joint vocabulary, scored output length)."""
        raise NotImplementedError

    def batch(self, count: int, seed: int, start: int = 0):
        hi = self._params["length"]
        lo = self._params["min_length"] or hi
        width = hi + 1 + self._out_len(hi)
        sep, pad = len(self.symbols), len(self.symbols) + 1
        tokens = np.full((count, width), pad, dtype=np.int64)
        targets = np.full((count, width), IGNORE_INDEX, dtype=np.int64)
        mask = np.zeros((count, width), dtype=bool)
        lengths = np.zeros(count, dtype=np.int64)
        for row in range(count):
            rng = _item_rng(seed, self.salt, start + row)
            n = int(rng.integers(lo, hi + 1))
            inp, out, scored = self._example(rng, n)
            seq = inp + [sep] + out
            tokens[row, : len(seq)] = seq
            o = len(inp)  # output-aligned: SEP's position predicts the first output token
            targets[row, o : o + len(out)] = out
            mask[row, o : o + scored] = True
            lengths[row] = len(seq)
        return tokens, targets, mask, lengths


def _bits(rng: np.random.Generator, n: int) -> list[int]:
    return rng.integers(0, 2, n).tolist()


class ReverseString(_Seq2Seq):
    """reverse_string (DCF): a binary string, then the string reversed."""

    def _example(self, rng, n):
        s = _bits(rng, n)
        return s, s[::-1], n


class DuplicateString(_Seq2Seq):
    """duplicate_string (CS): ``s -> s s``."""

    def _out_len(self, n: int) -> int:
        return 2 * n

    def _example(self, rng, n):
        s = _bits(rng, n)
        return s, s + s, 2 * n


class OddsFirst(_Seq2Seq):
    """odds_first (CS): the symbols at odd 0-based indices first, then those at even
    indices (``s[1::2] + s[::2]``, as the suite computes it)."""

    def _example(self, rng, n):
        s = _bits(rng, n)
        return s, s[1::2] + s[::2], n


class BucketSort(_Seq2Seq):
    """bucket_sort (CS): tokens of a 5-symbol alphabet, then sorted."""

    symbols = ("0", "1", "2", "3", "4")

    def _example(self, rng, n):
        s = rng.integers(0, 5, n).tolist()
        return s, sorted(s), n


class ComputeSqrt(_Seq2Seq):
    """compute_sqrt (CS): a big-endian binary number in [1, 2^n - 1], then floor(sqrt) in
    ceil(n / 2) big-endian digits."""

    def _out_len(self, n: int) -> int:
        return math.ceil(n / 2)

    def _example(self, rng, n):
        x = _randint(rng, 1, 2**n - 1)
        out_n = math.ceil(n / 2)
        return _big_endian(x, n), _big_endian(math.isqrt(x), out_n), out_n


class MissingDuplicate(_Seq2Seq):
    """missing_duplicate_string (CS): ``s s`` (|s| = n // 2) with one symbol replaced by the
    mask ``_``, padded with ``#`` when n is odd; the output is the masked bit. For n = 1 the
    input is ``1`` and the output ``1``, as in the suite."""

    symbols = ("0", "1", "_", "#")

    def _out_len(self, n: int) -> int:
        return 1

    def _example(self, rng, n):
        if n == 1:
            return [1], [1], 1
        s = _bits(rng, n // 2)
        ss = s + s
        k = int(rng.integers(0, len(ss)))
        answer = ss[k]
        ss[k] = 2
        return ss + [3] * (n % 2), [answer], 1


class _BinaryArithmetic(_Seq2Seq):
    """Shared layout of binary_addition / binary_multiplication: little-endian ``n``, the
    operator, little-endian ``m`` (lengths drawn as in the suite), then the result in
    little-endian binary, the terminator ``.``, and zero padding."""

    symbols = ("0", "1", "+", ".")
    op = "+"

    def _result(self, a: int, b: int) -> int:
        raise NotImplementedError

    def _pad_to(self, n: int) -> int:
        raise NotImplementedError

    def _small(self, rng: np.random.Generator, n: int) -> tuple[list[int], list[int]]:
        raise NotImplementedError

    def _example(self, rng, n):
        if n <= 2:
            inp, res = self._small(rng, n)
        else:
            len_a = int(rng.integers(1, n - 1))
            len_b = n - 1 - len_a
            a = _randint(rng, 1, 2**len_a - 1)
            b = _randint(rng, 1, 2**len_b - 1)
            inp = _little_endian(a, len_a) + [2] + _little_endian(b, len_b)
            res = _little_endian(self._result(a, b), 0)
        out = res + [3] + [0] * (self._pad_to(n) - len(res))
        return inp, out, len(res) + 1


class BinaryAddition(_BinaryArithmetic):
    """binary_addition (CS): ``n + m`` in little-endian binary; output length n + 1."""

    def _out_len(self, n: int) -> int:
        return n + 1

    def _pad_to(self, n: int) -> int:
        return n

    def _result(self, a, b):
        return a + b

    def _small(self, rng, n):
        x = int(rng.integers(0, 2**n - 1))  # the suite's randint(0, 2**n - 1), exclusive
        return _little_endian(x, n), _little_endian(x, 0)


class BinaryMultiplication(_BinaryArithmetic):
    """binary_multiplication (CS): ``n * m`` in little-endian binary; output length n."""

    symbols = ("0", "1", "*", ".")

    def _out_len(self, n: int) -> int:
        return n

    def _pad_to(self, n: int) -> int:
        return n - 1

    def _result(self, a, b):
        return a * b

    def _small(self, rng, n):
        x = int(rng.integers(0, 2**n - 1))
        return _little_endian(x, n), [0] * (n - 1)


class StackManipulation(_Seq2Seq):
    """stack_manipulation (DCF): a binary stack (bottom to top, 1..n-1 symbols) then actions
    POP / PUSH 0 / PUSH 1 (ids 2 / 3 / 4; POP on an empty stack is ignored); the output is
    the final stack top to bottom, the terminator ``.``, and zero padding to n + 1. For
    n = 1 the input is one bit and the output that bit then ``.``."""

    symbols = ("0", "1", "POP", "PUSH0", "PUSH1", ".")

    def _out_len(self, n: int) -> int:
        return n + 1

    def _example(self, rng, n):
        if n == 1:
            bit = int(rng.integers(0, 2))
            inp, final = [bit], [bit]
        else:
            k = int(rng.integers(1, n))
            stack = _bits(rng, k)
            actions = rng.integers(2, 5, n - k).tolist()
            final = list(stack)
            for a in actions:
                if a == 2:
                    if final:
                        final.pop()
                else:
                    final.append(a - 3)
            inp, final = stack + actions, final[::-1]
        out = final + [5] + [0] * (n - len(final))
        return inp, out, len(final) + 1


def _bracket_expression(rng: np.random.Generator, length: int, modulus: int, mult: bool):
    """A random fully bracketed expression of exactly ``length`` characters and its value,
    as the suite builds it (iteratively: lengths 1-4 are d, -d, (d), (-d); longer ones
    (left op right) with the left length uniform in [1, length - 4])."""
    out: list[str] = []
    values: list[int] = []
    work: list = [("node", length)]
    while work:
        kind, arg = work.pop()
        if kind == "tok":
            out.append(arg)
        elif kind == "apply":
            b, a = values.pop(), values.pop()
            values.append((a + b if arg == "+" else a - b if arg == "-" else a * b) % modulus)
        elif arg <= 4:
            d = int(rng.integers(0, modulus))
            text = {1: f"{d}", 2: f"-{d}", 3: f"({d})", 4: f"(-{d})"}[arg]
            out.extend(text)
            values.append(d % modulus if arg in (1, 3) else -d % modulus)
        else:
            left = int(rng.integers(1, arg - 3))
            right = arg - left - 3
            op = "+-*"[int(rng.integers(0, 3 if mult else 2))]
            work += [("tok", ")"), ("apply", op), ("node", right), ("tok", op), ("node", left)]
            work.append(("tok", "("))
    return out, values[0]


class _Modular(_Seq2Seq):
    alphabet: ClassVar[tuple[str, ...]] = ()

    @property
    def symbols(self) -> tuple[str, ...]:
        return (*map(str, range(self._params["modulus"])), *self.alphabet)

    def _out_len(self, n: int) -> int:
        return 1

    def _ids(self, text: list[str]) -> list[int]:
        index = {s: i for i, s in enumerate(self.symbols)}
        return [index[c] for c in text]


class ModularArithmeticBrackets(_Modular):
    """modular_arithmetic_brackets (DCF): a random fully bracketed expression of exactly
    ``length`` characters over digits mod ``modulus`` with + and - (and * when ``mult``, the
    setting the suite registers); the output is its value."""

    alphabet = ("+", "-", "*", "(", ")", "x", "=")

    def _example(self, rng, n):
        text, value = _bracket_expression(rng, n, self._params["modulus"], self._params["mult"])
        return self._ids(text), [value], 1


class SolveEquation(_Modular):
    """solve_equation (DCF): a +/- bracketed expression of ``length - 2`` characters with one
    digit replaced by ``x`` (a uniform position, moved right cyclically to the next digit),
    then ``=`` and its value; the output is the replaced digit. For length < 3 the input is
    all zeros and the output 0, as in the suite."""

    alphabet = ("+", "-", "(", ")", "x", "=")

    def _example(self, rng, n):
        if n < 3:
            return [0] * n, [0], 1
        text, value = _bracket_expression(rng, n - 2, self._params["modulus"], False)
        k = int(rng.integers(0, len(text)))
        while not text[k].isdigit():
            k = (k + 1) % len(text)
        solution = int(text[k])
        text[k] = "x"
        return self._ids([*text, "=", str(value)]), [solution], 1


def _randint(rng: np.random.Generator, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi] for arbitrarily large bounds."""
    span = hi - lo + 1
    bits = span.bit_length()
    while True:
        words = rng.integers(0, 2**32, (bits + 31) // 32, dtype=np.uint64).tolist()
        x = sum(w << (32 * i) for i, w in enumerate(words)) >> (32 * len(words) - bits)
        if x < span:
            return lo + x


def _big_endian(x: int, n: int) -> list[int]:
    return [int(c) for c in format(x, "b").zfill(n)]


def _little_endian(x: int, n: int) -> list[int]:
    return _big_endian(x, n)[::-1]


PEERS = {
    "reverse_string": ReverseString,
    "duplicate_string": DuplicateString,
    "odds_first": OddsFirst,
    "bucket_sort": BucketSort,
    "compute_sqrt": ComputeSqrt,
    "missing_duplicate": MissingDuplicate,
    "binary_addition": BinaryAddition,
    "binary_multiplication": BinaryMultiplication,
    "stack_manipulation": StackManipulation,
    "modular_arithmetic_brackets": ModularArithmeticBrackets,
    "solve_equation": SolveEquation,
}
