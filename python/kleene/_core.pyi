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
