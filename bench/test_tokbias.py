"""Per-byte overhead of the exact next-byte correction for the GPT-2 vocabulary (50,257 ids)
and for o200k (200,019 ids, from quicktok's bundled vocabulary), excluding model time: the
model is a table of precomputed next-token distributions (softmax of Gaussian logits, full
support), returned as views. Both rows run the same algorithm (cover
recurrence, one model call per byte, probabilities of all 257 symbols after every byte).

Run: ``pytest bench/test_tokbias.py --benchmark-only`` (needs ../shared/data/tokenizers, or
``KLEENE_SHARED_DATA`` pointing at a folder holding ``tokenizers/gpt2.tiktoken``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import declare
from peers_tokbias import PyBpe, PyBpeO200k, PyCoverState

from kleene.tokbias import ByteLM, TokenizerModel

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
RANKS = Path(os.environ.get("KLEENE_SHARED_DATA", SHARED)) / "tokenizers"
TEXT = b"The tokenizer b"  # ends mid-word: the prompt-boundary case
ROWS = 4


@pytest.fixture(scope="module")
def setup():
    path = RANKS / "gpt2.tiktoken"
    if not path.exists():
        pytest.skip(f"{path} is absent (it lives outside the project, in ../shared/data)")
    tok = TokenizerModel.from_tiktoken(path)
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((ROWS, tok.vocab_size)) * 2.0
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)

    def model(contexts):
        if len(contexts) == 1:
            k = len(contexts[0]) % ROWS
            return probs[k : k + 1]
        return probs[[len(c) % ROWS for c in contexts]]

    return tok, model, probs


def table_model(probs: np.ndarray):
    """Next-token rows by context length, returned as views (model time ~0)."""

    def model(contexts):
        if len(contexts) == 1:
            k = len(contexts[0]) % ROWS
            return probs[k : k + 1]
        return probs[[len(c) % ROWS for c in contexts]]

    return model


def random_rows(vocab_size: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((ROWS, vocab_size)) * 2.0
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return probs / probs.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def o200k():
    quicktok = pytest.importorskip("quicktok")
    enc = quicktok.get_encoding("o200k_base")

    def token(i: int) -> bytes:
        try:
            return b"" if enc.is_special_token(i) else enc.decode_single_token_bytes(i)
        except KeyError:
            return b""

    tokens = [token(i) for i in range(enc.n_vocab)]
    tok = TokenizerModel.bpe(
        tokens, None, pretokenizer="o200k", ignore_merges=True, eos_id=enc.eot_token
    )
    return tok, tokens, table_model(random_rows(tok.vocab_size))


def kleene_run(lm: ByteLM) -> np.ndarray:
    state = lm.state(b"")
    for b in TEXT:
        state.probs()
        state.advance(b)
    return state.probs()


def python_run(bpe: PyBpe, model, eos: int) -> list[float]:
    state = PyCoverState(bpe, model, eos)
    for b in TEXT:
        state.probs()
        state.advance(b)
    return state.probs()


GROUP = f"next-byte correction, GPT-2 vocab, {len(TEXT)} bytes"


def test_kleene_next_byte(benchmark, setup):
    tok, model, _ = setup
    lm = ByteLM(model, tok, output="probs", cache_size=0)
    declare(benchmark, group=GROUP, impl="kleene", items=len(TEXT), unit="bytes")
    benchmark.pedantic(kleene_run, args=(lm,), rounds=20, warmup_rounds=1)


def test_python_next_byte(benchmark, setup):
    tok, model, _ = setup
    tokens = [tok.token_bytes(i) for i in range(tok.vocab_size)]
    bpe = PyBpe(tokens)
    want = kleene_run(ByteLM(model, tok, output="probs", cache_size=0))
    got = python_run(bpe, model, tok.eos_id)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)  # same algorithm, same answer
    declare(benchmark, group=GROUP, impl="python (same algorithm)", items=len(TEXT), unit="bytes")
    benchmark.pedantic(python_run, args=(bpe, model, tok.eos_id), rounds=3, warmup_rounds=0)


def test_kleene_next_byte_logprobs(benchmark, setup):
    """The same with log-probabilities from the model (adds numpy's exp over the vocabulary)."""
    tok, _, probs = setup
    logp = np.log(probs)

    def model(contexts):
        k = len(contexts[0]) % ROWS
        return logp[k : k + 1] if len(contexts) == 1 else logp[[len(c) % ROWS for c in contexts]]

    lm = ByteLM(model, tok, cache_size=0)
    declare(benchmark, group=GROUP + " (log-prob input)", impl="kleene", items=len(TEXT))
    benchmark.pedantic(kleene_run, args=(lm,), rounds=20, warmup_rounds=1)


GROUP_O200K = f"next-byte correction, o200k vocab, {len(TEXT)} bytes"


def test_kleene_next_byte_o200k(benchmark, o200k):
    tok, _, model = o200k
    lm = ByteLM(model, tok, output="probs", cache_size=0)
    declare(benchmark, group=GROUP_O200K, impl="kleene", items=len(TEXT), unit="bytes")
    benchmark.pedantic(kleene_run, args=(lm,), rounds=20, warmup_rounds=1)


def test_python_next_byte_o200k(benchmark, o200k):
    tok, tokens, model = o200k
    bpe = PyBpeO200k(tokens)
    want = kleene_run(ByteLM(model, tok, output="probs", cache_size=0))
    got = python_run(bpe, model, tok.eos_id)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)  # same algorithm, same answer
    declare(benchmark, group=GROUP_O200K, impl="python (same algorithm)", items=len(TEXT))
    benchmark.pedantic(python_run, args=(bpe, model, tok.eos_id), rounds=1, warmup_rounds=0)


def test_kleene_next_byte_o200k_float32(benchmark, o200k):
    """The same rows as float32 (a GPU softmax's usual dtype): read in place, widened exactly."""
    tok, _, _ = o200k
    model = table_model(random_rows(tok.vocab_size).astype(np.float32))
    lm = ByteLM(model, tok, output="probs", cache_size=0)
    declare(benchmark, group=GROUP_O200K + " (float32 rows)", impl="kleene", items=len(TEXT))
    benchmark.pedantic(kleene_run, args=(lm,), rounds=20, warmup_rounds=1)
