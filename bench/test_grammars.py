"""Grammar benchmarks: cfg3f generation and membership, kleene against Python peers.

Run: ``.venv/bin/python -m pytest bench/test_grammars.py --benchmark-only``.
The grammar is a random cfg3f-family grammar (kleene.Grammar.cfg3_family("cfg3f", seed=0)),
so the suite needs no data files.
"""

from __future__ import annotations

import functools

import pytest
from conftest import declare
from peers_grammars import (
    PythonDP,
    lark_parser,
    minimal_pcfg_strings,
    nltk_parser,
    official_cfg3_strings,
    rules_of,
)

from kleene import Grammar

N_STRINGS = 1000


@functools.lru_cache(maxsize=1)
def setup():
    g = Grammar.cfg3_family("cfg3f", seed=0)
    rules = rules_of(g)
    start = g.nonterminals[0]
    strings = g.sample_python_compatible(11, 200)
    word = min(strings, key=lambda s: abs(len(s) - 300))
    return g, rules, start, word


def tokens_of(strings) -> int:
    return sum(len(s) for s in strings)


GEN = f"cfg3f generate {N_STRINGS} strings, 1 thread"


def test_kleene_generate(benchmark):
    g, *_ = setup()
    n = int(g.sample(N_STRINGS, seed=0, choice="uniform", threads=1).lengths.sum())
    declare(benchmark, group=GEN, impl="kleene", items=n, unit="tokens")
    benchmark(g.sample, N_STRINGS, 0, choice="uniform", threads=1)


def test_kleene_generate_python_compatible(benchmark):
    g, *_ = setup()
    n = tokens_of(g.sample_python_compatible(0, N_STRINGS))
    declare(benchmark, group=GEN, impl="kleene-cfg3-compatible", items=n, unit="tokens")
    benchmark(g.sample_python_compatible, 0, N_STRINGS)


def test_official_procedure_generate(benchmark):
    _, rules, start, _ = setup()
    n = tokens_of(official_cfg3_strings(rules, start, 0, N_STRINGS))
    declare(benchmark, group=GEN, impl="official procedure (Python)", items=n, unit="tokens")
    benchmark.pedantic(official_cfg3_strings, (rules, start, 0, N_STRINGS), rounds=3)


def test_minimal_python_sampler(benchmark):
    _, rules, start, _ = setup()
    n = tokens_of(minimal_pcfg_strings(rules, start, 0, N_STRINGS))
    declare(benchmark, group=GEN, impl="minimal Python PCFG sampler", items=n, unit="tokens")
    benchmark.pedantic(minimal_pcfg_strings, (rules, start, 0, N_STRINGS), rounds=3)


MEM = "cfg3f membership of one ~300-token string"


def test_kleene_accepts(benchmark):
    g, _, _, word = setup()
    declare(benchmark, group=MEM, impl="kleene", items=1, unit="strings")
    assert benchmark(g.accepts, word)


def test_python_dp_accepts(benchmark):
    _, rules, start, word = setup()
    dp = PythonDP(rules, start)
    declare(benchmark, group=MEM, impl="Python DP (end sets)", items=1, unit="strings")
    assert benchmark.pedantic(dp.accepts, (word,), rounds=3)


def test_nltk_accepts(benchmark):
    pytest.importorskip("nltk")
    _, rules, start, word = setup()
    accepts = nltk_parser(rules, start)
    declare(benchmark, group=MEM, impl="nltk ChartParser", items=1, unit="strings")
    assert benchmark.pedantic(accepts, (word,), rounds=3)


def test_lark_accepts(benchmark):
    pytest.importorskip("lark")
    _, rules, start, word = setup()
    accepts = lark_parser(rules, start)
    declare(benchmark, group=MEM, impl="lark Earley", items=1, unit="strings")
    assert benchmark.pedantic(accepts, (word,), rounds=2)


NEXT = "cfg3f exact next-token distributions of one ~300-token string"


def test_kleene_next_token_distributions(benchmark):
    g, _, _, word = setup()
    declare(benchmark, group=NEXT, impl="kleene", items=len(word) + 1, unit="prefixes")
    benchmark.pedantic(g.next_token_distributions, (word,), rounds=3)
