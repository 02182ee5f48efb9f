"""Type stubs of the Rust extension `kleene._core` (checked with mypy's stubtest)."""

import numpy as np

__version__: str

def default_threads() -> int: ...
def markov_validate(
    *,
    vocab_size: int,
    order: int,
    length: int,
    alpha: float,
    switch_every: int,
    transition: list[float] | None = None,
) -> None: ...
def markov_generate(
    *,
    vocab_size: int,
    order: int,
    length: int,
    alpha: float,
    switch_every: int,
    transition: list[float] | None,
    seed: int,
    salt: int,
    start: int,
    count: int,
    bayes: bool,
    true_probs: bool,
    dtype: str = "int32",
    threads: int | None = None,
) -> dict[str, np.ndarray]: ...

# ---- tokbias
from collections.abc import Callable, Sequence  # noqa: E402
from typing import final  # noqa: E402

@final
class TokbiasTokenizer:
    @staticmethod
    def mpe(tokens: Sequence[bytes], special: Sequence[bool] | None = None) -> TokbiasTokenizer: ...
    @staticmethod
    def bpe_merges(
        tokens: Sequence[bytes],
        merges: Sequence[tuple[int, int]],
        pretokenizer: str | None = None,
        special: Sequence[bool] | None = None,
    ) -> TokbiasTokenizer: ...
    @staticmethod
    def bpe_ranks(
        tokens: Sequence[bytes],
        pretokenizer: str | None = None,
        special: Sequence[bool] | None = None,
    ) -> TokbiasTokenizer: ...
    @staticmethod
    def reencode(
        tokens: Sequence[bytes],
        encoder: Callable[[bytes], Sequence[int]],
        special: Sequence[bool] | None = None,
    ) -> TokbiasTokenizer: ...
    @property
    def kind(self) -> str: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def max_token_len(self) -> int: ...
    def token_bytes(self, id: int) -> bytes: ...
    def encode(self, text: bytes) -> list[int]: ...
    def decode(self, ids: Sequence[int]) -> bytes: ...
    def extends(self, context: Sequence[int], next: int) -> bool: ...
    def anchor(self, text: bytes) -> tuple[int, list[int]]: ...

@final
class TokbiasCoverState:
    def __new__(
        cls,
        tokenizer: TokbiasTokenizer,
        model: Callable[[list[list[int]]], np.ndarray],
        prompt: bytes,
        *,
        eos: int | None = None,
        mask_invalid: bool = False,
        beam: int = 0,
        threshold: float = 0.0,
    ) -> TokbiasCoverState: ...
    def distribution(self) -> np.ndarray: ...
    def advance(self, model: Callable[[list[list[int]]], np.ndarray], byte: int) -> None: ...
    @property
    def log_mass(self) -> float: ...
    @property
    def dropped_mass(self) -> float: ...
    @property
    def calls(self) -> int: ...
    @property
    def anchor(self) -> int: ...
    @property
    def invalid_mass(self) -> float: ...
    @property
    def text(self) -> bytes: ...
    @property
    def num_groups(self) -> int: ...
    def covers(self) -> list[tuple[list[int], float]]: ...

def tokbias_mpc(
    tokenizer: TokbiasTokenizer,
    model: Callable[[list[list[int]]], np.ndarray],
    prompt: bytes,
    *,
    eos: int | None = None,
    mask_invalid: bool = False,
) -> tuple[np.ndarray, int]: ...
def tokbias_naive(
    tokenizer: TokbiasTokenizer,
    model: Callable[[list[list[int]]], np.ndarray],
    prompt: bytes,
    *,
    eos: int | None = None,
    mask_invalid: bool = False,
) -> np.ndarray: ...
