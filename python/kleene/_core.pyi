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
