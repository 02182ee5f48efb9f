"""Tokenizer-bias correction against exact oracles (a Markov chain pushed through a tokenizer
by enumeration is the ideal token-level model; the truth is the chain itself)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_data
from test_tokbias_oracle import IdealModel, markov_strings, prefix_prob, truth

from kleene.tokbias import EOS, ByteLM, TokenizerModel

tokenizers = pytest.importorskip("tokenizers")


def random_vocab(alphabet: bytes, extra: int, rng) -> list[bytes]:
    words = [bytes([c]) for c in alphabet]
    while len(words) < len(alphabet) + extra:
        w = bytes(int(c) for c in rng.choice(list(alphabet), size=rng.integers(2, 5)))
        if w not in words:
            words.append(w)
    return words


def hf_wordpiece(words: list[bytes]):
    vocab = {w.decode(): i for i, w in enumerate(words)}
    vocab["[UNK]"] = len(words)
    model = tokenizers.models.WordPiece(
        vocab, unk_token="[UNK]", continuing_subword_prefix="", max_input_chars_per_word=10**6
    )
    return tokenizers.Tokenizer(model)


def random_merges(alphabet: bytes, n: int, rng) -> tuple[list[bytes], list[tuple[int, int]]]:
    words = [bytes([c]) for c in alphabet]
    merges: list[tuple[int, int]] = []
    while len(merges) < n:
        a, b = rng.integers(len(words), size=2)
        w = words[a] + words[b]
        if len(w) <= 5 and w not in words:
            words.append(w)
            merges.append((int(a), int(b)))
    return words, merges


def hf_bpe(words: list[bytes], merges: list[tuple[int, int]]):
    vocab = {w.decode(): i for i, w in enumerate(words)}
    pairs = [(words[a].decode(), words[b].decode()) for a, b in merges]
    return tokenizers.Tokenizer(tokenizers.models.BPE(vocab=vocab, merges=pairs))


def setup(kind: str, alphabet: bytes, order: int, n: int, seed: int):
    """(ByteLM over the ideal model, strings with probabilities, ideal model, tokenizer)."""
    rng = np.random.default_rng(seed)
    if kind == "mpe":
        words = random_vocab(alphabet, 4, rng)
        hf = hf_wordpiece(words)
        tok = TokenizerModel.mpe([*words, b""], eos_id=len(words))
    else:
        words, merges = random_merges(alphabet, 5, rng)
        hf = hf_bpe(words, merges)
        tok = TokenizerModel.bpe([*words, b""], merges, eos_id=len(words))
    strings = markov_strings(alphabet, order, n, seed)

    def encode(s: bytes) -> list[int]:  # the independent encoder of the oracle
        return hf.encode(s.decode()).ids

    for s in list(strings)[::7]:
        assert tok.encode(s) == encode(s), s
    model = IdealModel(strings, encode, tok.vocab_size, tok.eos_id)
    return ByteLM(model, tok), strings, model, tok


def all_prefixes(n: int, alphabet: bytes) -> list[bytes]:
    level, out = [b""], [b""]
    for _ in range(n):
        level = [p + bytes([c]) for p in level for c in alphabet]
        out += level
    return out


CASES = [
    (kind, alphabet, order, n, seed)
    for kind in ("mpe", "bpe")
    for (alphabet, order, n) in ((b"ab", 1, 6), (b"abc", 2, 4), (b"ab", 3, 7))
    for seed in (1, 2)
]


@pytest.mark.parametrize("kind,alphabet,order,n,seed", CASES)
def test_corrected_equals_chain_and_naive_is_biased(kind, alphabet, order, n, seed):
    lm, strings, _, _ = setup(kind, alphabet, order, n, seed)
    naive_err = 0.0
    for x in all_prefixes(n, alphabet):
        want = truth(strings, x)
        got = lm.next_byte_probs(x)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12, err_msg=repr(x))
        assert abs(got.sum() - 1.0) < 1e-12
        if kind == "mpe":
            np.testing.assert_allclose(lm.mpc_next_byte_probs(x), want, rtol=0, atol=1e-12)
        try:
            naive_err = max(naive_err, np.abs(lm.naive_next_byte_probs(x) - want).max())
        except ValueError:  # the naive context has probability zero: undefined
            naive_err = 1.0
    assert naive_err > 0.05, "no tokenization bias in this setup: the test would be vacuous"


def test_toy_zero_probability_example():
    """The paper's figure: chain over {A, B}, vocabulary {A, B, AA}; after "A" the naive
    estimate says P(A) = 0, the truth is alpha."""
    alpha = 0.3
    strings = {}
    for bits in range(2**6):
        s = bytes(b"AB"[(bits >> i) & 1] for i in range(6))
        p = 0.5
        for a, b in zip(s, s[1:], strict=False):
            stay = alpha if a == ord("A") else 0.6
            p *= stay if a == b else 1 - stay
        strings[s] = p
    tok = TokenizerModel.mpe([b"A", b"B", b"AA", b""], eos_id=3)
    lm = ByteLM(IdealModel(strings, tok.encode, 4, 3), tok)
    assert lm.naive_next_byte_probs(b"A")[ord("A")] == 0.0
    assert abs(lm.next_byte_probs(b"A")[ord("A")] - alpha) < 1e-12
    assert abs(lm.mpc_next_byte_probs(b"A")[ord("A")] - alpha) < 1e-12


@pytest.mark.parametrize("kind", ["mpe", "bpe"])
def test_cover_identity_chain_rule_and_incremental(kind):
    lm, strings, model, tok = setup(kind, b"ab", 2, 8, 5)
    rng = np.random.default_rng(0)
    for s in rng.choice(sorted(strings), size=6, replace=False):
        s = bytes(s)
        state = lm.state(b"")
        assert state.anchor == 0
        log_p = 0.0
        for i, b in enumerate(s):
            scratch = lm.next_byte_probs(s[:i])
            np.testing.assert_allclose(state.probs(), scratch, rtol=0, atol=1e-12)
            log_p += np.log(state.probs()[b])
            state.advance(b)
            p = prefix_prob(strings, s[: i + 1])
            # Cover identity: sum over covers of P(cover) = P(prefix); each cover's P checked.
            covers = state.covers()
            assert abs(sum(m for _, m in covers) * np.exp(state.log_prob) - p) < 1e-12
            for ids, m in covers:
                assert abs(m * np.exp(state.log_prob) - model.prob(ids)) < 1e-12
                assert tok.decode(ids).startswith(s[: i + 1])
        log_p += np.log(state.probs()[EOS])
        assert abs(log_p - np.log(strings[s])) < 1e-9  # chain rule with end-of-string
        assert abs(state.log_prob - np.log(strings[s])) < 1e-9


def test_one_model_call_per_byte():
    lm, strings, model, _ = setup("bpe", b"ab", 1, 8, 3)
    state = lm.state(b"")
    before = lm.model_calls
    for b in b"abbabab":
        state.advance(b)
    assert lm.model_calls - before <= 7


def test_beam_and_threshold_bound_the_dropped_mass():
    lm, strings, model, tok = setup("bpe", b"abc", 2, 5, 9)
    approx = ByteLM(model, tok, beam=2, threshold=0.02)
    for s in list(strings)[::17]:
        exact, pruned = lm.state(b""), approx.state(b"")
        for b in s:
            exact.advance(b)
            try:
                pruned.advance(b)
            except ValueError:
                break  # every cover pruned; the bound held up to here
            p, q = np.exp(exact.log_prob), np.exp(pruned.log_prob)
            assert q <= p * (1 + 1e-12)
            assert p <= q + pruned.dropped_mass + 1e-12
    unbounded = ByteLM(model, tok, beam=10**6, threshold=0.0)
    x = next(iter(strings))[:3]
    np.testing.assert_allclose(unbounded.next_byte_probs(x), lm.next_byte_probs(x), atol=1e-15)


def test_sampling_follows_the_corrected_distribution():
    lm, strings, _, _ = setup("mpe", b"ab", 1, 6, 4)
    prompt = b"ab"
    want = truth(strings, prompt)
    counts = np.zeros(257)
    for seed in range(400):
        out = lm.sample(prompt, 1, seed=seed)
        counts[out[0] if out else EOS] += 1
    support = want > 0
    expected = want[support] * counts.sum()
    chi2 = ((counts[support] - expected) ** 2 / expected).sum()
    assert chi2 < 13.8  # chi-square, 1 degree of freedom, p = 2e-4
    full = lm.sample(b"", 10, seed=1)
    assert len(full) == 6 and full in strings  # stops at end-of-string


def test_mask_invalid_recovers_exact_probs_from_a_leaky_model():
    """O10: a model that leaks mass onto invalid tokens; masking + renormalising gives the
    byte distribution of the masked model, computed by brute force over its sequences."""
    lm, strings, model, tok = setup("bpe", b"ab", 1, 5, 6)
    rng = np.random.default_rng(1)
    noise = {}

    def leaky(contexts):
        out = np.exp(model(contexts))
        for row, ctx in zip(out, contexts, strict=True):
            key = tuple(ctx)
            if key not in noise:
                noise[key] = rng.random(len(row)) * 0.2
            row += noise[key]
            row /= row.sum()
        return np.log(out)

    masked = ByteLM(leaky, tok, mask_invalid=True)
    # Ground truth for the masked model: enumerate its canonical token sequences.
    v, eos = tok.vocab_size, tok.eos_id

    def masked_row(ctx):
        p = np.exp(leaky([list(ctx)])[0])
        ok = np.array([i == eos or (i != eos and tok.extends(list(ctx), i)) for i in range(v)])
        p = p * ok
        return p / p.sum()

    def cover_mass(text: bytes, ctx=(), p=1.0) -> float:
        """P'(output starts with text): sum over token paths until they cover it."""
        done = tok.decode(list(ctx))
        if done.startswith(text) and (ctx or not text):
            return p
        if not text.startswith(done):
            return 0.0
        row = masked_row(ctx)
        kids = [int(t) for t in np.nonzero(row)[0] if t != eos]
        return sum(cover_mass(text, (*ctx, t), p * row[t]) for t in kids)

    def end_mass(text: bytes, ctx=(), p=1.0) -> float:
        done = tok.decode(list(ctx))
        if not text.startswith(done):
            return 0.0
        row = masked_row(ctx)
        here = p * row[eos] if done == text else 0.0
        return here + sum(
            end_mass(text, (*ctx, int(t)), p * row[t]) for t in np.nonzero(row)[0] if t != eos
        )

    for x in [b"", b"a", b"ab", b"ba", b"abb"]:
        want = np.zeros(257)
        for c in b"ab":
            want[c] = cover_mass(x + bytes([c]))
        want[EOS] = end_mass(x)
        want /= want.sum()
        np.testing.assert_allclose(masked.next_byte_probs(x), want, rtol=0, atol=1e-12)
    x = b"ab"
    assert masked.state(x).invalid_mass > 0


def test_torch_outputs_and_bos_are_accepted():
    torch = pytest.importorskip("torch")
    lm, strings, model, tok = setup("mpe", b"ab", 1, 5, 2)
    seen = []

    def torch_model(contexts):
        seen.extend(contexts)
        return torch.from_numpy(model([c[1:] for c in contexts])).float()

    with_bos = ByteLM(torch_model, tok, bos_id=99)
    got = with_bos.next_byte_probs(b"ab")
    np.testing.assert_allclose(got, truth(strings, b"ab"), atol=1e-6)
    assert all(c[0] == 99 for c in seen)


def test_bad_model_outputs_name_the_call():
    tok = TokenizerModel.mpe([b"a", b"b", b"ab", b""], eos_id=3)
    good = np.log(np.full(4, 0.25))
    with pytest.raises(ValueError, match=r"model call 0 returned shape \(1, 3\)"):
        ByteLM(lambda c: np.zeros((len(c), 3)), tok).next_byte_probs(b"a")
    with pytest.raises(ValueError, match=r"model`: call 0 returned probability NaN for token 0"):
        ByteLM(lambda c: np.full((len(c), 4), np.nan), tok).next_byte_probs(b"a")
    with pytest.raises(ValueError, match="call 0 returned probability -1 for token 0"):
        ByteLM(lambda c: -np.ones((len(c), 4)), tok, output="probs").next_byte_probs(b"a")
    above_one = r"call 0 returned probability 2.718\d* for token 0 \(must be finite, in \[0, 1\]\)"
    with pytest.raises(ValueError, match=above_one):
        ByteLM(lambda c: np.ones((len(c), 4)), tok).next_byte_probs(b"a")
    with pytest.raises(TypeError, match="model call 0"):
        ByteLM(lambda c: object(), tok).next_byte_probs(b"a")

    def fails(contexts):
        raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        ByteLM(fails, tok).next_byte_probs(b"a")
    calls = []

    def second_call_bad(contexts):
        calls.append(1)
        return np.tile(good, (len(contexts), 1)) if len(calls) == 1 else np.full((1, 4), np.nan)

    with pytest.raises(ValueError, match="call 1 returned probability NaN"):
        ByteLM(second_call_bad, tok).state(b"").advance(b"ab")


def test_bad_inputs():
    tok = TokenizerModel.mpe([b"a", b"b", b"ab", b""], eos_id=3)
    lm = ByteLM(lambda c: np.log(np.full((len(c), 4), 0.25)), tok)
    with pytest.raises(TypeError, match="bytes"):
        lm.next_byte_probs("ab")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.extends([0, 7], 1)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([4])
    with pytest.raises(ValueError, match="not a token"):
        tok.encode(b"abc")
    with pytest.raises(ValueError, match="not a token"):
        lm.next_byte_probs(b"c")
    only_eos = ByteLM(lambda c: np.tile([0.0, 0, 0, 1], (len(c), 1)), tok, output="probs")
    with pytest.raises(ValueError, match="probability zero"):
        only_eos.next_byte_probs(b"a")
    with pytest.raises(ValueError, match="`beam`"):
        ByteLM(lm.model, tok, beam=-1)
    with pytest.raises(ValueError, match="`threshold`"):
        ByteLM(lm.model, tok, threshold=1.5)
    with pytest.raises(ValueError, match="`eos_id`: 10 is outside the vocabulary"):
        ByteLM(lm.model, tok, eos_id=10)
    with pytest.raises(ValueError, match="mpe"):
        ByteLM(lm.model, TokenizerModel.bpe([b"a", b"b"], [])).mpc_next_byte_probs(b"a")
    with pytest.raises(ValueError, match="`pretokenizer`"):
        TokenizerModel.bpe([b"a"], [], pretokenizer="llama")
    with pytest.raises(TypeError, match="bytes"):
        TokenizerModel.mpe(["a"])


# ---------------------------------------------------------------- real tokenizer files


@pytest.fixture(scope="module")
def gpt2():
    path = shared_data("tokenizers", "gpt2.tiktoken")
    return TokenizerModel.from_tiktoken(path)


def test_gpt2_ranks_encode_like_tiktoken(gpt2):
    tiktoken = pytest.importorskip("tiktoken")
    from tiktoken.load import load_tiktoken_bpe

    path = shared_data("tokenizers", "gpt2.tiktoken")
    pat = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    enc = tiktoken.Encoding(
        "gpt2-local",
        pat_str=pat,
        mergeable_ranks=load_tiktoken_bpe(str(path)),
        special_tokens={"<|endoftext|>": 50256},
    )
    assert gpt2.encode(b"Hello world") == [15496, 995]
    with pytest.raises(ValueError, match="special_tokens"):
        TokenizerModel.from_tiktoken(path, {"<|endoftext|>": 5})
    assert gpt2.vocab_size == 50257 and gpt2.eos_id == 50256
    rng = np.random.default_rng(0)
    alphabet = list("ab \n\t'sé1!ü中😀²")
    for _ in range(1000):
        text = "".join(rng.choice(alphabet, size=rng.integers(0, 14)))
        assert gpt2.encode(text.encode()) == enc.encode_ordinary(text), repr(text)


def test_gpt2_exact_over_small_alphabet_with_spaces_and_newlines(gpt2):
    """O8: look-ahead whitespace splits break prefix-closure; extendable covers keep the
    correction exact."""
    strings = markov_strings(b"ab \n", 1, 5, 3)
    model = IdealModel(strings, gpt2.encode, gpt2.vocab_size, gpt2.eos_id)
    lm = ByteLM(model, gpt2)
    for x in [b"", b"a", b"ab ", b"a  ", b" \n", b"b  a", b"\n\n ", b"a b \n", b"  ", b"ab  b"]:
        np.testing.assert_allclose(lm.next_byte_probs(x), truth(strings, x), atol=1e-12)
    # The regression: some prefix of a canonical encoding is not canonical itself, and the
    # validity oracle accepts it.
    broken = [
        ids
        for ids in model.mass
        if ids and ids[-1] != gpt2.eos_id and gpt2.encode(gpt2.decode(ids)) != list(ids)
    ]
    assert broken, "no look-ahead case in this setup"
    for ids in broken:
        assert gpt2.extends(list(ids[:-1]), ids[-1])


def test_gpt2_partial_utf8_prompt(gpt2):
    strings = {"é".encode() * 2: 0.5, b"ab": 0.5}
    model = IdealModel(strings, gpt2.encode, gpt2.vocab_size, gpt2.eos_id)
    lm = ByteLM(model, gpt2)
    p = lm.next_byte_probs("é".encode()[:1])
    assert p["é".encode()[1]] == pytest.approx(1.0, abs=1e-12)


def test_bert_wordpiece_over_lowercase_words():
    path = shared_data("tokenizers", "bert-base-uncased-wordpiece.json")
    hf = tokenizers.Tokenizer.from_file(str(path))
    hf.no_padding()
    hf.no_truncation()
    tok = TokenizerModel.from_hf(hf)
    assert tok.kind == "reencode"
    # Normalised texts: a leading space, words over {a, b, c} split by single spaces.
    strings = {
        s: p
        for s, p in markov_strings(b"abc ", 1, 6, 8).items()
        if s.startswith(b" ") and b"  " not in s and not s.endswith(b" ")
    }
    z = sum(strings.values())
    strings = {s: p / z for s, p in strings.items()}

    def encode(s: bytes) -> list[int]:
        return hf.encode(s.decode(), add_special_tokens=False).ids

    for s in list(strings)[::5]:
        assert tok.decode(encode(s)) == s
    eos = hf.token_to_id("[SEP]")
    model = IdealModel(strings, encode, tok.vocab_size, eos)
    lm = ByteLM(model, tok, eos_id=eos)
    naive_err = 0.0
    for x in [b" ", b" a", b" ab", b" ab ", b" abc", b" a b", b" cab a"]:
        want = truth(strings, x)
        np.testing.assert_allclose(lm.next_byte_probs(x), want, atol=1e-12, err_msg=repr(x))
        try:
            naive_err = max(naive_err, np.abs(lm.naive_next_byte_probs(x) - want).max())
        except ValueError:
            naive_err = 1.0
    assert naive_err > 0.05


def test_hf_byte_level_bpe_matches_hf():
    """A trained byte-level BPE (GPT-2 style) from `tokenizers` behaves like the original."""
    from tokenizers import decoders, models, pre_tokenizers, trainers

    hf = tokenizers.Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>"],
        show_progress=False,
    )
    rng = np.random.default_rng(0)
    corpus = ["".join(rng.choice(list("ab c\n"), size=40)) for _ in range(200)]
    hf.train_from_iterator(corpus, trainer)
    tok = TokenizerModel.from_hf(hf)
    assert tok.kind == "bpe" and tok.eos_id == hf.token_to_id("<|endoftext|>")
    for text in corpus[:50]:
        assert tok.encode(text.encode()) == hf.encode(text).ids
    strings = markov_strings(b"ab \n", 1, 4, 2)
    model = IdealModel(strings, tok.encode, tok.vocab_size, tok.eos_id)
    lm = ByteLM(model, tok)
    for x in [b"a ", b" \n", b"ab", b"  "]:
        np.testing.assert_allclose(lm.next_byte_probs(x), truth(strings, x), atol=1e-12)


def test_trained_ngram_bias_stays_while_correction_converges():
    """O6 via the example script: a token n-gram fitted on tokenized chain samples; the naive
    error stays large as data grows, the corrected error falls."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "tokbias_markov.py"
    spec = importlib.util.spec_from_file_location("tokbias_markov", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    rng = np.random.default_rng(0)
    tok = TokenizerModel.mpe(example.VOCAB, eos_id=example.EOS)
    prompts = [s[: int(rng.integers(1, example.LENGTH))] for s in example.sample_strings(60, rng)]
    results = []
    for size in (3_000, 200_000):
        model = example.NGram(tok, example.sample_strings(size // example.LENGTH, rng))
        lm = ByteLM(model, tok, bos_id=example.BOS, mask_invalid=True)
        results.append(example.errors(lm, prompts))
    (naive_small, corrected_small), (naive_big, corrected_big) = results
    assert naive_big > 0.15 and naive_small > 0.15
    assert corrected_big < 0.05 and corrected_big < corrected_small


# ---------------------------------------------------------------- issue 18 defects


def test_prompts_must_be_bytes_not_ints():
    tok = TokenizerModel.mpe([b"a", b"b", b"ab", b""], eos_id=3)
    lm = ByteLM(lambda c: np.log(np.full((len(c), 4), 0.25)), tok)
    for bad in (10**9, 3, None, [97]):
        with pytest.raises(TypeError, match="`prompt`: expected bytes"):
            lm.next_byte_probs(bad)
        with pytest.raises(TypeError, match="`prompt`"):
            lm.naive_next_byte_probs(bad)
    with pytest.raises(TypeError, match="`prompt`"):
        lm.state(5)
    with pytest.raises(TypeError, match="`text`"):
        tok.encode(10**9)
    np.testing.assert_allclose(
        lm.next_byte_probs(bytearray(b"a")), lm.next_byte_probs(memoryview(b"a"))
    )


def test_unnormalised_prob_rows_are_refused_unless_asked():
    tok = TokenizerModel.mpe([b"a", b"b", b"ab", b""], eos_id=3)
    half = lambda c: np.full((len(c), 4), 0.125)  # noqa: E731 - rows sum to 0.5
    with pytest.raises(ValueError, match=r"summing to 0.5; they must sum to 1 within 1e-6"):
        ByteLM(half, tok, output="probs").next_byte_probs(b"a")
    with pytest.raises(ValueError, match="within 1e-6"):
        ByteLM(lambda c: np.log(half(c)), tok).next_byte_probs(b"a")
    fixed = ByteLM(half, tok, output="probs", renormalize=True).next_byte_probs(b"a")
    uniform = ByteLM(lambda c: np.full((len(c), 4), 0.25), tok, output="probs")
    np.testing.assert_allclose(fixed, uniform.next_byte_probs(b"a"), atol=1e-15)


def test_prompt_inside_a_multibyte_token_agrees_with_advancing(gpt2):
    """GPT-2: b"a\xc3" ends inside the token for "aé"; the anchor must not split there."""
    strings = {"aé".encode(): 0.25, "aéa".encode(): 0.25, b"a b": 0.25, "é".encode(): 0.25}
    model = IdealModel(strings, gpt2.encode, gpt2.vocab_size, gpt2.eos_id)
    lm = ByteLM(model, gpt2)
    for prompt in ["aé".encode()[:2], "aéa".encode()[:2], "é".encode()[:1]]:
        direct = lm.next_byte_probs(prompt)
        state = lm.state(b"")
        state.advance(prompt)
        np.testing.assert_allclose(direct, state.probs(), atol=1e-12)
        np.testing.assert_allclose(direct, truth(strings, prompt), atol=1e-12)


def test_reencode_encoder_exceptions_propagate():
    words = [b"a", b"b", b"ab", b""]
    mpe = TokenizerModel.mpe(words, eos_id=3)

    def broken(text: bytes) -> list[int]:
        if len(text) > 1:
            raise RuntimeError("encoder exploded")
        return mpe.encode(text)

    tok = TokenizerModel.reencode(words, broken, eos_id=3)
    lm = ByteLM(lambda c: np.log(np.full((len(c), 4), 0.25)), tok)
    with pytest.raises(RuntimeError, match="encoder exploded"):
        lm.next_byte_probs(b"ab")
    with pytest.raises(RuntimeError, match="encoder exploded"):
        tok.extends([0], 1)
    assert lm.next_byte_probs(b"a").sum() == pytest.approx(1.0)


def test_bad_ids_and_tokenizers_name_the_parameter():
    tok = TokenizerModel.mpe([b"a", b"b", b"ab", b""], eos_id=3)
    model = lambda c: np.log(np.full((len(c), 4), 0.25))  # noqa: E731
    with pytest.raises(ValueError, match="`eos_id`: -1 is outside the vocabulary"):
        ByteLM(model, tok, eos_id=-1)
    with pytest.raises(ValueError, match="`bos_id`: -2 is outside"):
        ByteLM(model, tok, bos_id=-2)
    with pytest.raises(TypeError, match="`eos_id`"):
        ByteLM(model, tok, eos_id="3")
    with pytest.raises(TypeError, match="`tokenizer`"):
        ByteLM(model, object())
    with pytest.raises(TypeError, match="`tokenizer`: expected a tokenizers.Tokenizer"):
        TokenizerModel.from_hf(object())


def test_float32_and_strided_prob_rows_give_the_float64_answer():
    """float32 rows are read in place and widened exactly: the result equals, bit for bit, the
    one from the same rows converted to float64 by numpy; non-contiguous rows are copied."""
    lm, strings, model, tok = setup("bpe", b"ab", 2, 8, 5)

    def probs32(contexts):
        return np.exp(model(contexts)).astype(np.float32)

    def probs64(contexts):
        return probs32(contexts).astype(np.float64)

    def strided(contexts):  # Fortran order: rows are not contiguous
        return np.asfortranarray(probs64(contexts))

    runs = {}
    for name, f in [("f32", probs32), ("f64", probs64), ("strided", strided)]:
        state = ByteLM(f, tok, output="probs", cache_size=0, renormalize=False).state(b"")
        out = []
        for b in b"abba":
            out.append(state.probs())
            state.advance(b)
        out.append(state.probs())
        runs[name] = np.array(out)
    np.testing.assert_array_equal(runs["f32"], runs["f64"])
    np.testing.assert_array_equal(runs["strided"], runs["f64"])
    np.testing.assert_allclose(runs["f64"][2], truth(strings, b"ab"), atol=1e-6)
