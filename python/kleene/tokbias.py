"""Tokenizer-bias correction: exact next-byte probabilities from a tokenized language model.

A token-level model only saw canonical encodings, so prompting it with ``encode(text)`` is
biased whenever ``text`` ends where a token could continue (the prompt-boundary problem).
:class:`ByteLM` marginalises over the *covers* of the text (Phan et al. 2024/2025): the
next-byte distribution (end-of-string included) is exact for an ideal model, and costs one
model call per byte after the prompt. The algorithms run in the Rust core; the model is any
callable from a batch of token-id contexts to next-token log-probabilities.

Example:
    >>> import numpy as np
    >>> tok = TokenizerModel.mpe([b"a", b"b", b"ab", b""])  # id 3: end-of-string
    >>> def model(contexts):  # uniform over the 4 ids, as log-probabilities [B, 4]
    ...     return np.full((len(contexts), 4), np.log(0.25))
    >>> lm = ByteLM(model, tok, eos_id=3)
    >>> p = lm.next_byte_probs(b"ab")
    >>> p.shape, round(float(p.sum()), 12)
    ((257,), 1.0)
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import _core

__all__ = ["ByteLM", "ByteState", "TokenizerModel", "EOS", "gpt2_byte_decoder"]

#: Index of end-of-string in every next-byte distribution (bytes are 0..255).
EOS = 256


def gpt2_byte_decoder() -> dict[str, int]:
    """The GPT-2 byte-level alphabet: printable stand-in character -> byte."""
    keep = list(range(ord("!"), ord("~") + 1))
    keep += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = list(keep)
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(keep, chars, strict=True)}


class TokenizerModel:
    """A tokenizer as the correction needs it: token bytes, encode, validity, anchor.

    Build with :meth:`mpe`, :meth:`bpe`, :meth:`from_tiktoken` or :meth:`from_hf`. Special
    tokens (end-of-text and the like) have empty byte strings.
    """

    def __init__(self, inner: Any, eos_id: int | None = None):
        self._inner = inner
        self.eos_id = eos_id

    @classmethod
    def mpe(cls, tokens: Sequence[bytes], *, eos_id: int | None = None) -> TokenizerModel:
        """Maximum-prefix encoding (WordPiece without a continuation prefix).

        Args:
            tokens: token bytes by id; empty entries are special tokens.
            eos_id: id of the end-of-string token, if any.
        """
        return cls(_core.TokbiasTokenizer.mpe(_as_bytes(tokens)), eos_id)

    @classmethod
    def bpe(
        cls,
        tokens: Sequence[bytes],
        merges: Sequence[tuple[int, int]] | None = None,
        *,
        pretokenizer: str | None = None,
        eos_id: int | None = None,
    ) -> TokenizerModel:
        """Byte-pair encoding from a merge list (rank = position) or, without merges, from
        ranks (token id = rank, tiktoken style).

        Args:
            tokens: token bytes by id; every single byte that occurs must be a token.
            merges: ordered (left id, right id) pairs; None means ranks.
            pretokenizer: None or ``"gpt2"`` (the r50k regex split).
            eos_id: id of the end-of-string token, if any.
        """
        tokens = _as_bytes(tokens)
        if merges is None:
            inner = _core.TokbiasTokenizer.bpe_ranks(tokens, pretokenizer)
        else:
            pairs = [(int(a), int(b)) for a, b in merges]
            inner = _core.TokbiasTokenizer.bpe_merges(tokens, pairs, pretokenizer)
        return cls(inner, eos_id)

    @classmethod
    def reencode(
        cls,
        tokens: Sequence[bytes],
        encoder: Callable[[bytes], Sequence[int]],
        *,
        eos_id: int | None = None,
    ) -> TokenizerModel:
        """Any encoder ``bytes -> ids``; validity by re-encoding (slow, generic)."""
        return cls(_core.TokbiasTokenizer.reencode(_as_bytes(tokens), encoder), eos_id)

    @classmethod
    def from_tiktoken(
        cls,
        path: str | Path,
        special_tokens: dict[str, int] | None = None,
        *,
        pretokenizer: str | None = "gpt2",
    ) -> TokenizerModel:
        """BPE from a tiktoken ranks file (``base64(token) rank`` per line).

        Args:
            path: the ranks file (e.g. ``gpt2.tiktoken``).
            special_tokens: name -> id; defaults to ``{"<|endoftext|>": len(ranks)}``, which
                becomes ``eos_id``.
            pretokenizer: ``"gpt2"`` (r50k pattern) or None.
        """
        ranks: dict[int, bytes] = {}
        for line_no, line in enumerate(Path(path).read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                token, rank = line.split()
                ranks[int(rank)] = base64.b64decode(token)
            except ValueError as err:
                raise ValueError(f"invalid `path`: line {line_no} is not 'base64 rank'") from err
        if sorted(ranks) != list(range(len(ranks))):
            raise ValueError("invalid `path`: ranks must be 0..n-1 without gaps")
        if special_tokens is None:
            special_tokens = {"<|endoftext|>": len(ranks)}
        clash = {name: i for name, i in special_tokens.items() if not len(ranks) <= i < 2**31}
        if clash:
            raise ValueError(
                f"invalid `special_tokens`: {clash} must be ids >= {len(ranks)} (after the ranks)"
            )
        size = max([len(ranks) - 1, *special_tokens.values()]) + 1
        tokens = [ranks.get(i, b"") for i in range(size)]
        eos = special_tokens.get("<|endoftext|>")
        return cls.bpe(tokens, None, pretokenizer=pretokenizer, eos_id=eos)

    @classmethod
    def from_hf(cls, tokenizer: Any, *, eos_token: str | None = None) -> TokenizerModel:
        """From a Hugging Face ``tokenizers.Tokenizer`` (BPE or WordPiece).

        - BPE: byte-level (GPT-2 style ``ByteLevel`` pre-tokenizer, which must not add a
          prefix space) or plain with single-byte characters;
        - WordPiece with an empty continuation prefix: maximum-prefix encoding;
        - WordPiece with a prefix such as ``##`` (BERT): words are read with a leading space
          (``" un" "##aff"`` = ``b" unaff"``) and validity is checked by re-encoding with the
          tokenizer itself, so texts must be normalised (lower-case, single spaces, a leading
          space).
        """
        spec = json.loads(tokenizer.to_str())
        model = spec["model"]
        vocab: dict[str, int] = model["vocab"]
        special = {t["id"]: t["content"] for t in spec.get("added_tokens") or []}
        size = max([*vocab.values(), *special]) + 1
        eos_id = _find_eos(special, eos_token)
        if model["type"] == "BPE":
            return cls._from_hf_bpe(spec, vocab, special, size, eos_id)
        if model["type"] == "WordPiece":
            prefix = model.get("continuing_subword_prefix") or ""
            if not prefix:
                tokens = [b""] * size
                for text, i in vocab.items():
                    tokens[i] = b"" if i in special else text.encode()
                return cls.mpe(tokens, eos_id=eos_id)
            return cls._from_hf_prefixed_wordpiece(tokenizer, vocab, special, size, prefix)
        raise ValueError(f"invalid `tokenizer`: model type {model['type']!r} is not supported")

    @classmethod
    def _from_hf_bpe(cls, spec, vocab, special, size, eos_id) -> TokenizerModel:
        pre = spec.get("pre_tokenizer") or {}
        byte_level = pre.get("type") == "ByteLevel"
        if pre and not byte_level:
            raise ValueError(f"invalid `tokenizer`: pre-tokenizer {pre.get('type')!r} unsupported")
        if byte_level and pre.get("add_prefix_space"):
            raise ValueError("invalid `tokenizer`: ByteLevel(add_prefix_space=True) unsupported")
        decoder = gpt2_byte_decoder()
        tokens = [b""] * size
        for text, i in vocab.items():
            if i not in special:
                tokens[i] = bytes(decoder[c] for c in text) if byte_level else text.encode()
        merges = []
        for m in spec["model"]["merges"]:
            a, b = m.split(" ", 1) if isinstance(m, str) else m
            merges.append((vocab[a], vocab[b]))
        pretok = "gpt2" if byte_level and pre.get("use_regex", True) else None
        return cls.bpe(tokens, merges, pretokenizer=pretok, eos_id=eos_id)

    @classmethod
    def _from_hf_prefixed_wordpiece(cls, tokenizer, vocab, special, size, prefix):
        tokens = [b""] * size
        for text, i in vocab.items():
            if i not in special:
                piece = text[len(prefix) :] if text.startswith(prefix) else " " + text
                tokens[i] = piece.encode() or b""
        tokens = [t if t else b"" for t in tokens]
        special_ids = {i for i, t in enumerate(tokens) if not t}

        def encode(text: bytes) -> list[int]:
            ids = tokenizer.encode(text.decode("utf-8", "replace"), add_special_tokens=False).ids
            if any(i in special_ids for i in ids):
                raise ValueError(f"text {text!r} needs a special token")
            return ids

        return cls.reencode(tokens, encode)

    @property
    def kind(self) -> str:
        """``"mpe"``, ``"bpe"`` or ``"reencode"``."""
        return self._inner.kind

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included."""
        return self._inner.vocab_size

    def token_bytes(self, token_id: int) -> bytes:
        return self._inner.token_bytes(token_id)

    def encode(self, text: bytes) -> list[int]:
        """Canonical encoding of ``text``."""
        return self._inner.encode(_as_text(text))

    def decode(self, ids: Sequence[int]) -> bytes:
        return self._inner.decode([int(i) for i in ids])

    def extends(self, context: Sequence[int], token_id: int) -> bool:
        """Whether ``context + [token_id]`` can start a canonical encoding."""
        return self._inner.extends([int(i) for i in context], int(token_id))

    def anchor(self, text: bytes) -> tuple[int, list[int]]:
        """``(offset, encode(text[:offset]))``: a token boundary no continuation can move."""
        return self._inner.anchor(_as_text(text))


class ByteLM:
    """A token-level model turned into an exact byte-level model.

    Args:
        model: callable from a batch of contexts (a list of token-id lists) to next-token
            log-probabilities ``[B, V]`` (numpy or torch; ``V`` = ``tokenizer.vocab_size``).
        tokenizer: the :class:`TokenizerModel` the model was trained with.
        eos_id: end-of-string token id (default: the tokenizer's).
        bos_id: if given, prepended to every context passed to ``model``.
        output: ``"logprobs"`` (default) or ``"probs"``.
        mask_invalid: zero next tokens that would make a context invalid, then renormalise
            (for trained models, which leak mass onto invalid sequences).
        beam: keep at most this many cover groups per byte (0 = exact).
        threshold: drop cover groups below this share of the mass (0 = exact).
        cache_size: model outputs kept, keyed by context.
    """

    def __init__(
        self,
        model: Callable[[list[list[int]]], Any],
        tokenizer: TokenizerModel,
        *,
        eos_id: int | None = None,
        bos_id: int | None = None,
        output: str = "logprobs",
        mask_invalid: bool = False,
        beam: int = 0,
        threshold: float = 0.0,
        cache_size: int = 64,
    ):
        if output not in ("logprobs", "probs"):
            raise ValueError(f"invalid `output`: {output!r}; allowed: 'logprobs', 'probs'")
        if beam < 0:
            raise ValueError(f"invalid `beam`: {beam}; must be >= 0 (0 = no limit)")
        if not 0.0 <= threshold < 1.0:
            raise ValueError(f"invalid `threshold`: {threshold}; must be in [0, 1)")
        if cache_size < 0:
            raise ValueError(f"invalid `cache_size`: {cache_size}; must be >= 0")
        self.model = model
        self.tokenizer = tokenizer
        self.eos_id = tokenizer.eos_id if eos_id is None else eos_id
        self.bos_id = bos_id
        self.output = output
        self.options = dict(eos=self.eos_id, mask_invalid=mask_invalid)
        self.beam = beam
        self.threshold = threshold
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[int, ...], np.ndarray] = OrderedDict()
        #: Calls made to ``model`` so far, and contexts sent in them.
        self.model_calls = 0
        self.model_contexts = 0

    def _call(self, contexts: list[list[int]]) -> np.ndarray:
        """Next-token probabilities ``[B, V]`` (float64) for ``contexts``, cached by context."""
        keys = [tuple(c) for c in contexts]
        missing = [k for k in dict.fromkeys(keys) if k not in self._cache]
        fresh: dict[tuple[int, ...], np.ndarray] = {}
        if missing:
            fresh = dict(zip(missing, self._run_model(missing), strict=True))
            for k, row in fresh.items():
                if self.cache_size:
                    self._cache[k] = row
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        if len(keys) == 1 and keys[0] in fresh:
            return fresh[keys[0]][None, :]
        return np.stack([fresh[k] if k in fresh else self._cache[k] for k in keys])

    def _run_model(self, keys: list[tuple[int, ...]]) -> np.ndarray:
        call = self.model_calls
        self.model_calls += 1
        self.model_contexts += len(keys)
        if self.bos_id is not None:
            batch = [[self.bos_id, *k] for k in keys]
        else:
            batch = [list(k) for k in keys]
        out = _to_numpy(self.model(batch), call)
        expected = (len(keys), self.tokenizer.vocab_size)
        if out.shape != expected:
            raise ValueError(
                f"model call {call} returned shape {tuple(out.shape)}; expected {expected} "
                f"(one row per context, one column per token id)"
            )
        # Values (NaN, negative, above 1) are checked by the core while it reads the rows.
        return np.exp(out) if self.output == "logprobs" else out

    def state(self, prompt: bytes = b"") -> ByteState:
        """The incremental cover state after ``prompt``."""
        return ByteState(self, _as_text(prompt))

    def next_byte_probs(self, prompt: bytes) -> np.ndarray:
        """Exact ``P(next symbol | prompt)`` ``[257]``: bytes 0..255, then :data:`EOS`."""
        return self.state(prompt).probs()

    def mpc_next_byte_probs(self, prompt: bytes) -> np.ndarray:
        """The same by Maximum Prefix Correction (maximum-prefix tokenizers only) ``[257]``."""
        probs, _ = _core.tokbias_mpc(
            self.tokenizer._inner, self._call, _as_text(prompt), **self.options
        )
        return probs

    def naive_next_byte_probs(self, prompt: bytes) -> np.ndarray:
        """The biased estimate: next token after ``encode(prompt)``, by first byte ``[257]``."""
        return _core.tokbias_naive(
            self.tokenizer._inner, self._call, _as_text(prompt), **self.options
        )

    def sample(
        self, prompt: bytes, max_bytes: int, *, seed: int, temperature: float = 1.0
    ) -> bytes:
        """Samples up to ``max_bytes`` bytes after ``prompt`` (stops at end-of-string)."""
        if max_bytes < 0:
            raise ValueError(f"invalid `max_bytes`: {max_bytes}; must be >= 0")
        if not temperature > 0:
            raise ValueError(f"invalid `temperature`: {temperature}; must be > 0")
        rng = np.random.default_rng(seed)
        state = self.state(prompt)
        out = bytearray()
        for _ in range(max_bytes):
            p = state.probs()
            if temperature != 1.0:
                p = p ** (1.0 / temperature)
                p /= p.sum()
            symbol = int(rng.choice(len(p), p=p))
            if symbol == EOS:
                break
            state.advance(symbol)
            out.append(symbol)
        return bytes(out)


class ByteState:
    """Incremental cover state of a text (see :meth:`ByteLM.state`)."""

    def __init__(self, lm: ByteLM, prompt: bytes):
        self._lm = lm
        self._inner = _core.TokbiasCoverState(
            lm.tokenizer._inner,
            lm._call,
            prompt,
            beam=lm.beam,
            threshold=lm.threshold,
            **lm.options,
        )

    def probs(self) -> np.ndarray:
        """Next-symbol probabilities ``[257]`` (float64; index 256 = end-of-string)."""
        return self._inner.distribution()

    def advance(self, data: int | bytes) -> None:
        """Appends one byte (an int) or several (bytes); one model call per byte."""
        if isinstance(data, int):
            if not 0 <= data < 256:
                raise ValueError(f"invalid `data`: byte {data} outside [0, 256)")
            data = bytes([data])
        for b in _as_text(data):
            self._inner.advance(self._lm._call, b)

    @property
    def text(self) -> bytes:
        return self._inner.text

    @property
    def log_prob(self) -> float:
        """log P(text after the anchor | anchor context); log P(text) when the anchor is 0."""
        return self._inner.log_mass

    @property
    def anchor(self) -> int:
        return self._inner.anchor

    @property
    def dropped_mass(self) -> float:
        """Bound on the mass lost to pruning: exact P lies in [exp(log_prob), + this]."""
        return self._inner.dropped_mass

    @property
    def invalid_mass(self) -> float:
        """Largest share of a raw model output on invalid tokens (with ``mask_invalid``)."""
        return self._inner.invalid_mass

    @property
    def num_groups(self) -> int:
        return self._inner.num_groups

    def covers(self) -> list[tuple[list[int], float]]:
        """Every cover with its probability, relative to ``exp(log_prob)``."""
        return self._inner.covers()


def _find_eos(special: dict[int, str], eos_token: str | None) -> int | None:
    names = [eos_token] if eos_token else ["<|endoftext|>", "</s>", "<eos>", "[SEP]"]
    for name in names:
        for i, content in special.items():
            if content == name:
                return i
    return None


def _as_bytes(tokens: Sequence[bytes]) -> list[bytes]:
    out = []
    for i, t in enumerate(tokens):
        if isinstance(t, str):
            raise TypeError(f"invalid `tokens`: entry {i} is str; pass bytes")
        out.append(bytes(t))
    return out


def _as_text(text: bytes) -> bytes:
    if isinstance(text, str):
        raise TypeError("invalid `text`: expected bytes (encode str with .encode('utf-8'))")
    return bytes(text)


def _to_numpy(out: Any, call: int) -> np.ndarray:
    if hasattr(out, "detach") and hasattr(out, "cpu"):  # a torch tensor, without importing torch
        out = out.detach().cpu().double().numpy()
    try:
        return np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"model call {call} returned {type(out).__name__}, not an array") from err
