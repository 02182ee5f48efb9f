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

# -- grammars ------------------------------------------------------------------------------

def cfg3_preset(name: str) -> dict[str, object]: ...

class Grammar:
    """A context-free grammar with rule probabilities (see `kleene.Grammar`)."""

    @staticmethod
    def from_text(text: str, normalise: bool = False) -> Grammar: ...
    @staticmethod
    def from_cfg3_levels(
        levels: list[list[list[list[int]]]], names: list[list[str]], num_terminals: int
    ) -> Grammar: ...
    @staticmethod
    def cfg3_family(
        *, sizes: list[int], deg_min: int, deg_max: int, len_min: int, len_max: int, seed: int
    ) -> Grammar: ...
    @property
    def terminals(self) -> list[str]: ...
    @property
    def nonterminals(self) -> list[str]: ...
    @property
    def rules(self) -> list[tuple[int, list[tuple[bool, int]], float]]: ...
    def to_text(self) -> str: ...
    def length_range(self) -> tuple[int, int | None]: ...
    def consistency(self) -> dict[str, object]: ...
    def sample(
        self,
        *,
        count: int,
        seed: int,
        salt: int,
        start: int,
        choice: str,
        max_length: int,
        max_depth: int,
        max_tries: int,
        label_depth: int,
        token_offset: int,
        pad_id: int,
        dtype: str = "int32",
        threads: int | None = None,
    ) -> dict[str, np.ndarray]: ...
    def sample_python_compatible(
        self, seed: int, count: int, max_length: int = ...
    ) -> list[list[int]]: ...
    def accepts(self, w: list[int]) -> bool: ...
    def accepts_batch(self, strings: list[list[int]], threads: int | None = None) -> list[bool]: ...
    def string_probability(self, w: list[int]) -> float: ...
    def count_parses(self, w: list[int]) -> float: ...
    def best_tree(
        self, w: list[int]
    ) -> tuple[float, list[tuple[bool, int, int, int, int]]] | None: ...
    def prefix_probability(self, w: list[int]) -> float: ...
    def next_token_distributions(self, w: list[int]) -> np.ndarray: ...
    def sample_uniform_length(
        self,
        *,
        length: int,
        count: int,
        seed: int,
        salt: int,
        start: int,
        threads: int | None = None,
    ) -> np.ndarray: ...
    def num_derivations(self, length: int) -> float: ...
