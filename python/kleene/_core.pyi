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

# -- automata -----------------------------------------------------------------------------

class Dfa:
    """A deterministic finite automaton over symbols 0..num_symbols (core of `kleene.DFA`)."""

    def __init__(
        self, num_symbols: int, table: list[int], accepting: list[bool], start: int = 0
    ) -> None: ...
    @staticmethod
    def from_regex(pattern: str, alphabet: str) -> Dfa: ...
    @property
    def num_states(self) -> int: ...
    @property
    def num_symbols(self) -> int: ...
    @property
    def start(self) -> int: ...
    @property
    def accepting(self) -> list[bool]: ...
    def table(self) -> np.ndarray: ...
    def live(self) -> list[bool]: ...
    def minimize(self) -> Dfa: ...
    def trim(self) -> Dfa: ...
    def complete(self) -> Dfa: ...
    def complement(self) -> Dfa: ...
    def product(self, other: Dfa, op: str) -> Dfa: ...
    def is_empty(self) -> bool: ...
    def equivalent(self, other: Dfa) -> bool: ...
    def canonical_hash(self) -> int: ...
    def structural_hash(self) -> int: ...
    def same_table(self, other: Dfa) -> bool: ...
    def accepts(self, word: list[int]) -> bool: ...
    def count(self, length: int) -> tuple[bool, int | float]: ...
    def log_count_table(self, max_len: int) -> tuple[bool, np.ndarray]: ...
    def sample(
        self,
        *,
        method: str,
        min_len: int,
        max_len: int,
        pad: int,
        seed: int,
        salt: int,
        start: int,
        count: int,
        weights: list[float] | None = None,
        final_weights: list[float] | None = None,
        dtype: str = "int32",
        threads: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]: ...
    def near_misses(
        self,
        *,
        min_len: int,
        max_len: int,
        pad: int,
        seed: int,
        salt: int,
        start: int,
        count: int,
        threads: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
    def state_trace(
        self, tokens: np.ndarray, lengths: np.ndarray, threads: int | None = None
    ) -> np.ndarray: ...

class DfaPool:
    """A list of automata (REGBENCH pools) that generates in-context episodes."""

    def __len__(self) -> int: ...
    def get(self, i: int) -> Dfa: ...
    def tables(self, max_states: int) -> np.ndarray: ...
    def episodes(
        self,
        *,
        min_strings: int,
        max_strings: int,
        min_len: int,
        max_len: int,
        length: int,
        sep: int,
        pad: int,
        seed: int,
        salt: int,
        start: int,
        count: int,
        dtype: str = "int32",
        threads: int | None = None,
    ) -> dict[str, np.ndarray]: ...

def dfa_regbench_pools(
    *,
    max_out: int,
    max_states: int,
    num_letters: int,
    seed: int,
    salt: int,
    num_test: int,
    num_train: int,
    threads: int | None = None,
) -> tuple[DfaPool, DfaPool]: ...
def dfa_regbench_batch(
    *,
    max_out: int,
    max_states: int,
    num_letters: int,
    seed: int,
    salt: int,
    start: int,
    count: int,
    threads: int | None = None,
) -> DfaPool: ...
def dfa_random(
    *,
    family: str,
    num_states: int,
    num_symbols: int,
    accept_prob: float,
    seed: int,
    index: int = 0,
) -> Dfa: ...

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
