"""Automata samplers: kleene against numpy batch-vectorised samplers, the REGBENCH (seq_icl)
Python procedures, automata-lib ``random_word`` and pynini ``randgen``, in the same run.
kleene rows run single-threaded (``threads=1``).

Run: ``.venv/bin/python -m pytest bench/test_automata.py --benchmark-only``
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import declare
from peers_automata import (
    count_table,
    numpy_uniform,
    numpy_walk,
    out_arcs,
    regbench_dfa_python,
    regbench_episode_python,
    regbench_walk_python,
)

from kleene import DFA, _core, tasks

WALK_B, WALK_T = 4096, 256  # kleene vs numpy
SMALL_B = 64  # rows for the slow pure-Python peers (same work for the kleene row)
UNI_B, UNI_T = 4096, 100


@pytest.fixture(scope="module")
def regbench_dfa() -> DFA:
    task = tasks.get("regbench", num_train_dfas=100, num_test_dfas=10)
    d = max((task.automaton(i) for i in range(100)), key=lambda d: d.num_states)
    return d.trim()


# -- random walk of preset length (REGBENCH) ------------------------------------------------

WALK_GROUP = f"walk REGBENCH DFA B={WALK_B} T={WALK_T}"


def test_walk_kleene(benchmark, regbench_dfa):
    declare(benchmark, group=WALK_GROUP, impl="kleene", items=WALK_B * WALK_T, unit="symbols")
    benchmark(regbench_dfa.sample, WALK_B, WALK_T, method="walk", seed=1, threads=1)


def test_walk_numpy(benchmark, regbench_dfa):
    declare(benchmark, group=WALK_GROUP, impl="numpy", items=WALK_B * WALK_T, unit="symbols")
    arcs = out_arcs(regbench_dfa.table)
    rng = np.random.default_rng(0)
    benchmark(numpy_walk, arcs, regbench_dfa.start, WALK_B, WALK_T, rng)


WALK_SMALL = f"walk REGBENCH DFA B={SMALL_B} T={WALK_T}"


def test_walk_small_kleene(benchmark, regbench_dfa):
    declare(benchmark, group=WALK_SMALL, impl="kleene", items=SMALL_B * WALK_T, unit="symbols")
    benchmark(regbench_dfa.sample, SMALL_B, WALK_T, method="walk", seed=1, threads=1)


def test_walk_seq_icl(benchmark, regbench_dfa):
    items = SMALL_B * WALK_T
    declare(benchmark, group=WALK_SMALL, impl="seq_icl-python", items=items, unit="symbols")
    table = regbench_dfa.table
    transitions = {
        q: {regbench_dfa.alphabet[a]: int(table[q, a]) for a in np.flatnonzero(table[q] >= 0)}
        for q in range(regbench_dfa.num_states)
    }
    rng = np.random.default_rng(0)

    def run():
        return [regbench_walk_python(transitions, 0, WALK_T, rng) for _ in range(SMALL_B)]

    benchmark.pedantic(run, rounds=3, iterations=1)


# -- uniform over accepted strings of length n -----------------------------------------------

UNI_GROUP = f"uniform by length, Tomita-5, B={UNI_B} n={UNI_T}"


@pytest.fixture(scope="module")
def tomita5() -> DFA:
    return DFA.from_table([[2, 1], [3, 0], [0, 3], [1, 2]], [0], alphabet="01")


def test_uniform_kleene(benchmark, tomita5):
    declare(benchmark, group=UNI_GROUP, impl="kleene", items=UNI_B * UNI_T, unit="symbols")
    benchmark(tomita5.sample, UNI_B, UNI_T, seed=1, threads=1)


def test_uniform_numpy(benchmark, tomita5):
    declare(benchmark, group=UNI_GROUP, impl="numpy", items=UNI_B * UNI_T, unit="symbols")
    counts = count_table(tomita5.table, tomita5.accepting, UNI_T)
    rng = np.random.default_rng(0)
    benchmark(numpy_uniform, tomita5.table, counts, tomita5.start, UNI_B, UNI_T, rng)


UNI_SMALL = f"uniform by length, Tomita-5, B={SMALL_B} n={UNI_T}"


def test_uniform_small_kleene(benchmark, tomita5):
    declare(benchmark, group=UNI_SMALL, impl="kleene", items=SMALL_B * UNI_T, unit="symbols")
    benchmark(tomita5.sample, SMALL_B, UNI_T, seed=1, threads=1)


def test_uniform_automata_lib(benchmark, tomita5):
    from automata.fa.dfa import DFA as LibDFA

    items = SMALL_B * UNI_T
    declare(benchmark, group=UNI_SMALL, impl="automata-lib", items=items, unit="symbols")
    table = tomita5.table
    lib = LibDFA(
        states=set(range(4)),
        input_symbols={"0", "1"},
        transitions={q: {"0": int(table[q, 0]), "1": int(table[q, 1])} for q in range(4)},
        initial_state=0,
        final_states={0},
    )
    lib.random_word(UNI_T, seed=0)  # builds its count cache once, as kleene's is per call

    def run():
        return [lib.random_word(UNI_T, seed=i) for i in range(SMALL_B)]

    benchmark.pedantic(run, rounds=3, iterations=1)


# -- uniform vs walk on a random partial automaton --------------------------------------------
# 10 states, 8 symbols, 1-3 defined arcs per state, all accepting: counts fit in 64 bits at
# length 56 (2^59), in 128 bits at 100 (2^105) and need three words at 160 (2^169).

PARTIAL_B = 1024


@pytest.fixture(scope="module")
def partial_dfa() -> DFA:
    rng = np.random.default_rng(11)
    table = np.full((10, 8), -1)
    for q in range(10):
        arcs = rng.choice(8, size=rng.integers(1, 4), replace=False)
        table[q, arcs] = rng.integers(0, 10, size=len(arcs))
    return DFA.from_table(table, np.ones(10, bool), alphabet="abcdefgh")


@pytest.mark.parametrize("length", [56, 64, 100, 160])
@pytest.mark.parametrize("threads", [1, 2])
def test_partial_uniform_kleene(benchmark, partial_dfa, length, threads):
    group = f"uniform vs walk, random partial DFA, B={PARTIAL_B} n={length}"
    impl = f"kleene uniform ({threads} thread{'s' if threads > 1 else ''})"
    declare(benchmark, group=group, impl=impl, items=PARTIAL_B * length, unit="symbols")
    benchmark(partial_dfa.sample, PARTIAL_B, length, seed=1, threads=threads)


@pytest.mark.parametrize("length", [56, 64, 100, 160])
@pytest.mark.parametrize("threads", [1, 2])
def test_partial_walk_kleene(benchmark, partial_dfa, length, threads):
    group = f"uniform vs walk, random partial DFA, B={PARTIAL_B} n={length}"
    items = PARTIAL_B * length
    impl = f"kleene walk ({threads} thread{'s' if threads > 1 else ''})"
    declare(benchmark, group=group, impl=impl, items=items, unit="symbols")
    benchmark(partial_dfa.sample, PARTIAL_B, length, method="walk", seed=1, threads=threads)


# -- formal-language tasks at 1 and 2 threads (two-thread scaling; no peer) ------------------

TASK_B = 1024


@pytest.mark.parametrize("name", ["tomita", "dyck"])
@pytest.mark.parametrize("threads", [1, 2])
def test_language_task_kleene(benchmark, name, threads):
    task = tasks.get(name)
    tokens = task.batch(TASK_B, seed=0).tokens.size
    impl = f"kleene ({threads} thread{'s' if threads > 1 else ''})"
    group = f"task {name} (default configuration) B={TASK_B}"
    declare(benchmark, group=group, impl=impl, items=tokens, unit="tokens")
    benchmark(task.batch, TASK_B, seed=0, threads=threads)


@pytest.mark.parametrize("length", [56, 64, 100, 160])
def test_partial_uniform_numpy(benchmark, partial_dfa, length):
    group = f"uniform vs walk, random partial DFA, B={PARTIAL_B} n={length}"
    items = PARTIAL_B * length
    declare(benchmark, group=group, impl="numpy DP uniform (float64)", items=items, unit="symbols")
    table = partial_dfa.table
    counts = count_table(table, partial_dfa.accepting, length)
    rng = np.random.default_rng(0)
    benchmark(numpy_uniform, table, counts, partial_dfa.start, PARTIAL_B, length, rng)


@pytest.mark.parametrize("length", [56, 64, 100, 160])
def test_partial_walk_numpy(benchmark, partial_dfa, length):
    group = f"uniform vs walk, random partial DFA, B={PARTIAL_B} n={length}"
    items = PARTIAL_B * length
    declare(benchmark, group=group, impl="numpy batch walk", items=items, unit="symbols")
    arcs = out_arcs(partial_dfa.table)
    rng = np.random.default_rng(0)
    benchmark(numpy_walk, arcs, partial_dfa.start, PARTIAL_B, length, rng)


# -- randgen (walk with a stop option) -------------------------------------------------------

RANDGEN_N = 2000
RANDGEN_GROUP = f"randgen uniform selector, REGBENCH DFA, {RANDGEN_N} paths"


def test_randgen_kleene(benchmark, regbench_dfa):
    declare(benchmark, group=RANDGEN_GROUP, impl="kleene", items=RANDGEN_N, unit="paths")
    benchmark(regbench_dfa.sample, RANDGEN_N, (0, 100), method="randgen", seed=1, threads=1)


def test_randgen_pynini(benchmark, regbench_dfa):
    pynini = pytest.importorskip("pynini")
    declare(benchmark, group=RANDGEN_GROUP, impl="pynini", items=RANDGEN_N, unit="paths")
    fst = pynini.Fst()
    states = [fst.add_state() for _ in range(regbench_dfa.num_states)]
    fst.set_start(states[regbench_dfa.start])
    one = pynini.Weight.one(fst.weight_type())
    for q, row in enumerate(regbench_dfa.table):
        if regbench_dfa.accepting[q]:
            fst.set_final(states[q])
        for a, t in enumerate(row):
            if t >= 0:
                fst.add_arc(states[q], pynini.Arc(a + 1, a + 1, one, states[t]))
    benchmark(pynini.randgen, fst, npath=RANDGEN_N, seed=1, max_length=100)


# -- REGBENCH DFA construction --------------------------------------------------------------

CONSTRUCT_N = 200
CONSTRUCT_GROUP = f"REGBENCH DFA sample+minimise+trim, {CONSTRUCT_N} automata"


def test_construct_kleene(benchmark):
    declare(benchmark, group=CONSTRUCT_GROUP, impl="kleene", items=CONSTRUCT_N, unit="DFAs")
    benchmark(
        _core.dfa_regbench_batch,
        max_out=4,
        max_states=12,
        num_letters=18,
        seed=0,
        salt=0,
        start=0,
        count=CONSTRUCT_N,
        threads=1,
    )


def test_construct_pythomata(benchmark):
    pytest.importorskip("pythomata")
    impl = "seq_icl-pythomata"
    declare(benchmark, group=CONSTRUCT_GROUP, impl=impl, items=CONSTRUCT_N, unit="DFAs")
    rng = np.random.default_rng(0)
    benchmark.pedantic(
        lambda: [regbench_dfa_python(rng) for _ in range(CONSTRUCT_N)], rounds=3, iterations=1
    )


# -- REGBENCH episodes ------------------------------------------------------------------------

EPISODES = 64
EPISODE_GROUP = f"REGBENCH episodes (train pool), {EPISODES} episodes"


@pytest.fixture(scope="module")
def regbench_task():
    task = tasks.get("regbench", num_train_dfas=500, num_test_dfas=50)
    task.batch(1, seed=0)  # builds the pools once, as a training run does
    return task


def test_episodes_kleene(benchmark, regbench_task):
    declare(benchmark, group=EPISODE_GROUP, impl="kleene", items=EPISODES, unit="episodes")
    benchmark(regbench_task.batch, EPISODES, seed=1, threads=1)


def test_episodes_seq_icl(benchmark, regbench_task):
    declare(benchmark, group=EPISODE_GROUP, impl="seq_icl-python", items=EPISODES, unit="episodes")
    letters = regbench_task.letters
    dfas = []
    for i in range(len(regbench_task.pool)):
        table = regbench_task.automaton(i).table
        dfas.append(
            {
                q: {letters[a]: int(table[q, a]) for a in np.flatnonzero(row >= 0)}
                for q, row in enumerate(table)
            }
        )
    vocab = {t: i for i, t in enumerate(regbench_task.vocab.tokens)}
    rng = np.random.default_rng(0)
    benchmark.pedantic(
        lambda: [regbench_episode_python(dfas, vocab, rng) for _ in range(EPISODES)],
        rounds=3,
        iterations=1,
    )
