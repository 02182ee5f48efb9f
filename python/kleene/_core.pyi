"""Type stubs of the Rust extension `kleene._core` (checked with mypy's stubtest)."""

from collections.abc import Callable, Sequence
from typing import final

import numpy as np

__version__: str
__all__ = [
    "__version__",
    "default_threads",
    "_panic_for_tests",
    "markov_generate",
    "markov_validate",
    "Dfa",
    "DfaPool",
    "dfa_regbench_pools",
    "dfa_regbench_batch",
    "dfa_random",
    "RecallSampler",
    "recall_memorization_map",
    "TokbiasTokenizer",
    "TokbiasCoverState",
    "tokbias_mpc",
    "tokbias_naive",
    "eca_run",
    "eca_rule_info",
    "eca_representatives",
    "life_run",
    "life_rule_notation",
    "life_soup",
    "cellular_measures",
    "cellular_gif",
    "eca_task_generate",
    "life_task_generate",
    "Grammar",
    "cfg3_preset",
    "ChomskySampler",
    "DyckSampler",
]

def default_threads() -> int: ...
def _panic_for_tests(detached: bool) -> None: ...
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

@final
class Dfa:
    """A deterministic finite automaton over symbols 0..num_symbols (core of `kleene.DFA`)."""

    def __new__(
        cls, num_symbols: int, table: list[int], accepting: list[bool], start: int = 0
    ) -> Dfa: ...
    @staticmethod
    def from_regex(pattern: str, alphabet: str, max_states: int = ...) -> Dfa:
        """``max_states`` defaults to the core's cap (2**16 states)."""
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

@final
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
@final
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

def recall_memorization_map(params: dict[str, object]) -> np.ndarray: ...

# -- bounded Dyck (kleene.automata.tasks.DyckBounded) ---------------------------------------
@final
class DyckSampler:
    def __new__(cls, *, k: int, m: int, min_length: int, max_length: int) -> DyckSampler: ...
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

# -- Chomsky-hierarchy tasks (kleene.grammars.chomsky) ----------------------------------------
@final
class ChomskySampler:
    def __new__(
        cls,
        task: str,
        *,
        length: int,
        min_length: int | None = None,
        modulus: int = 5,
        mult: bool = True,
    ) -> ChomskySampler: ...
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

# ---- tokbias

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
        ignore_merges: bool = False,
    ) -> TokbiasTokenizer: ...
    @staticmethod
    def bpe_ranks(
        tokens: Sequence[bytes],
        pretokenizer: str | None = None,
        special: Sequence[bool] | None = None,
        ignore_merges: bool = False,
    ) -> TokbiasTokenizer: ...
    @staticmethod
    def bpe_sentencepiece(
        tokens: Sequence[bytes],
        merges: Sequence[tuple[int, int]],
        byte_fallback: Sequence[tuple[int, int]],
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
        row_tolerance: float | None = None,
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
    row_tolerance: float | None = None,
) -> tuple[np.ndarray, int]: ...
def tokbias_naive(
    tokenizer: TokbiasTokenizer,
    model: Callable[[list[list[int]]], np.ndarray],
    prompt: bytes,
    *,
    eos: int | None = None,
    mask_invalid: bool = False,
    row_tolerance: float | None = None,
) -> np.ndarray: ...

# -- cellular ---------------------------------------------------------------------------------
def eca_run(
    *,
    rule: int,
    boundary: str,
    init: str,
    width: int,
    count: int,
    cells: np.ndarray | None = None,
    density: float = 0.5,
    seed: int = 0,
    salt: int = 0,
    steps: int,
    stride: int = 1,
    t0: int = 0,
    col0: int = 0,
    cols: int | None = None,
    packed: bool = False,
    threads: int | None = None,
) -> np.ndarray: ...
def eca_rule_info(rule: int) -> tuple[int, int, int, float, int]: ...
def eca_representatives() -> list[int]: ...
def life_run(
    *,
    rule: str,
    boundary: str,
    grids: np.ndarray,
    steps: int,
    stride: int = 1,
    threads: int | None = None,
) -> np.ndarray: ...
def life_rule_notation(rule: str) -> str: ...
def life_soup(
    *,
    count: int,
    height: int,
    width: int,
    density: float,
    seed: int,
    salt: int = 0,
    start: int = 0,
) -> np.ndarray: ...
def cellular_measures(
    states: np.ndarray, block: int = 3, threads: int | None = None
) -> dict[str, np.ndarray]: ...
def cellular_gif(frames: np.ndarray, scale: int = 4, delay_cs: int = 10) -> bytes: ...
def eca_task_generate(
    *,
    rule: int,
    width: int,
    boundary: str,
    density: float,
    stride: int,
    seq_length: int,
    sample_width: int,
    horizon: int,
    trajectories: int,
    seed: int,
    salt: int,
    start: int,
    count: int,
    split: str = "all",
    train_fraction: float = 0.9,
    threads: int | None = None,
) -> dict[str, np.ndarray]: ...
def life_task_generate(
    *,
    rule: str,
    size: int,
    boundary: str,
    density_low: float,
    density_high: float,
    warmup: int,
    horizon: int,
    seed: int,
    salt: int,
    start: int,
    count: int,
    threads: int | None = None,
) -> dict[str, np.ndarray]: ...

# -- grammars ------------------------------------------------------------------------------

def cfg3_preset(name: str) -> dict[str, object]: ...

@final
class Grammar:
    """A context-free grammar with rule probabilities (see `kleene.Grammar`)."""

    @staticmethod
    def from_text(text: str, normalise: bool = False, verbatim: bool = False) -> Grammar: ...
    @staticmethod
    def from_cfg3_levels(
        levels: list[list[list[list[int]]]], names: list[list[str]], num_terminals: int
    ) -> Grammar: ...
    @staticmethod
    def cfg3_family(
        *,
        sizes: list[int],
        deg_min: int,
        deg_max: int,
        len_min: int,
        len_max: int,
        seed: int,
        disallow_duplicate_sym: bool = False,
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
