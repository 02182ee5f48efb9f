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

# -- recall family (kleene.recall) ----------------------------------------------------------
class RecallSampler:
    def __new__(cls, task: str, params: dict[str, object]) -> RecallSampler: ...
    @property
    def vocab_size(self) -> int: ...
    def generate(
        self,
        *,
        seed: int,
        salt: int,
        start: int,
        count: int,
        dtype: str = "int32",
        threads: int | None = None,
    ) -> dict[str, np.ndarray]: ...

def recall_validate(task: str, params: dict[str, object]) -> int: ...
def recall_memorization_map(params: dict[str, object]) -> np.ndarray: ...
def recall_generate(
    task: str,
    params: dict[str, object],
    *,
    seed: int,
    salt: int,
    start: int,
    count: int,
    dtype: str = "int32",
    threads: int | None = None,
) -> dict[str, np.ndarray]: ...
