"""Issue 18 regression corpus: every reproducer of the issue (my parts) and every failing
input found by the fuzz targets, replayed on every run.

Hostile inputs run in a subprocess where a crash (segfault, abort) or a hang would otherwise
take the test process down: the child's exit status and a timeout turn those into failures.
"""

from __future__ import annotations

import os
import pickle
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import kleene
from kleene import tasks
from kleene.automata import DFA
from kleene.grammars import Grammar


def run_isolated(code: str, timeout: float = 60, env: dict[str, str] | None = None) -> str:
    """Runs `code` in a fresh interpreter; fails on a crash, a hang or a non-zero exit."""
    full_env = {**os.environ, **(env or {})}
    try:
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"hang: no answer within {timeout} s")
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    return done.stdout


# -- 1. the regex parser: no recursion the input controls; limits before work -------------


@pytest.mark.parametrize(
    ("pattern", "accepted"),
    [
        ("(" * 20000 + "a" + ")" * 20000, {"a": True, "": False, "aa": False}),
        ("a" + "*" * 50000, {"a": True, "": True, "aaa": True}),
        ("a" + "?" * 30000, {"a": True, "": True, "aa": False}),
        ("(a|" * 5000 + "a" + ")" * 5000, {"a": True, "": False, "aa": False}),
    ],
    ids=["nested-groups", "star-chain", "optional-chain", "nested-alternation"],
)
def test_deep_regexes_do_not_overflow_the_stack(pattern, accepted):
    out = run_isolated(
        f"""
        from kleene.automata import DFA
        d = DFA.from_regex({pattern!r}, "a")
        print({list(accepted)!r} and [d.accepts(s) for s in {list(accepted)!r}])
        """
    )
    assert out.strip() == repr(list(accepted.values()))


def test_deep_regex_matches_python_re():
    import re

    pattern = "(" * 200 + "ab|b" + ")" * 200 + "*"  # as deep as Python's re can follow
    d = DFA.from_regex(pattern, "ab")
    for n in range(6):
        for k in range(2**n):
            s = "".join("ab"[(k >> i) & 1] for i in range(n))
            assert d.accepts(s) == bool(re.fullmatch(pattern, s)), s


def test_exploding_regex_is_refused_by_the_byte_cap_quickly():
    out = run_isolated(
        """
        import time
        from kleene.automata import DFA
        t = time.time()
        try:
            DFA.from_regex('(|a?(k+t*){999,}|)+[ata-k]{50,}', 'kta')
        except ValueError as e:
            print("refused", time.time() - t, e)
        """,
        env={"KLEENE_MAX_BYTES": str(100 << 20)},
    )
    assert out.startswith("refused"), out
    assert "KLEENE_MAX_BYTES" in out
    assert float(out.split()[1]) < 30


def test_regex_state_cap_names_max_states():
    with pytest.raises(ValueError, match="max_states"):
        DFA.from_regex("(a|b)*a(a|b){12}", "ab", max_states=1000)
    assert DFA.from_regex("(a|b)*a(a|b){12}", "ab", max_states=1 << 14).num_states > 1000
    with pytest.raises(ValueError, match="max_states"):
        DFA.from_regex("a", "a", max_states=0)


def test_huge_repetition_is_refused_before_expansion():
    with pytest.raises(ValueError, match="NFA states"):
        DFA.from_regex("((a{1000}){1000}){1000}", "a")
    with pytest.raises(ValueError, match="repetition bound"):
        DFA.from_regex("a{1001}", "a")


# -- 2. fork safety: see test_reliability_fork.py --------------------------------------------


# -- 3. panics ------------------------------------------------------------------------------


def test_grammar_without_terminals():
    g = Grammar.from_text("S -> ε")
    assert g.prefix_probability([]) == 1.0
    assert g.string_probability([]) == 1.0
    batch = g.sample(3, seed=0)
    assert batch.tokens.shape == (3, 1)
    assert batch.lengths.tolist() == [0, 0, 0]
    g2 = Grammar.from_text("S -> A A | ε [0.0]\nA -> ε".replace(" [0.0]", ""))
    assert g2.prefix_probability([]) == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["copying", "selective_copying"])
@pytest.mark.parametrize("n", [2**63, 2**64 - 1, 2**62])
def test_copying_sizes_do_not_wrap(name, n):
    with pytest.raises(ValueError, match="length"):
        tasks.get(name, num_tokens_to_copy=n).batch(2, seed=0)


@pytest.mark.parametrize("detached", [True, False])
def test_a_panic_becomes_a_runtime_error_naming_a_bug(detached):
    from kleene import _core

    with pytest.raises(RuntimeError, match="a bug in kleene.*deliberate test panic"):
        _core._panic_for_tests(detached)


# -- 4. unbounded work ----------------------------------------------------------------------


@pytest.mark.parametrize("threads", [0, -1, 10**5, 2**64])
def test_thread_counts_are_validated_everywhere(threads):
    from kleene.cellular import complexity

    g = Grammar.from_text("S -> a S | b")
    d = DFA.from_regex("(ab)*", "ab")
    calls = [
        lambda: g.sample(2, seed=0, threads=threads),
        lambda: d.sample(2, 4, seed=0, threads=threads),
        lambda: complexity(np.zeros((1, 4, 8), np.uint8), threads=threads),
        lambda: tasks.get("markov").batch(2, seed=0, threads=threads),
    ]
    for call in calls:
        with pytest.raises((ValueError, TypeError, OverflowError), match="threads"):
            call()


def test_long_cellular_runs_are_refused_by_the_work_cap():
    from kleene.cellular import ECA, Life

    with pytest.raises(ValueError, match="KLEENE_MAX_WORK"):
        ECA(110).run("single", 10, width=10**4, t0=10**12)
    grid = np.zeros((64, 64), np.uint8)
    with pytest.raises(ValueError, match="KLEENE_MAX_WORK"):
        Life("B3/S23").run(grid, 10, stride=10**12)


def test_long_parse_is_refused_by_the_work_cap():
    g = Grammar.from_text("S -> S S | a")
    with pytest.raises(ValueError, match="KLEENE_MAX_WORK"):
        g.string_probability([0] * 20000)
    with pytest.raises(ValueError, match="KLEENE_MAX_WORK"):
        g.prefix_probability([0] * 20000)
    assert g.string_probability([0] * 3) > 0


def test_chain_grammar_parses_in_linear_time():
    import time

    n = 100_000
    text = "\n".join(f"N{i} -> N{i + 1}" for i in range(n)) + f"\nN{n} -> a"
    t = time.perf_counter()
    g = Grammar.from_text(text)
    elapsed = time.perf_counter() - t
    assert len(g.nonterminals) == n + 1
    assert g.length_range() == (1, 1)
    assert elapsed < 20, f"{elapsed:.1f} s for a {n}-link chain (quadratic?)"


# -- 5. item 8 ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [5, 0, 3.5, None, b"x"])
def test_cfg3_json_refuses_non_paths(bad):
    with pytest.raises(TypeError, match="path_or_dict"):
        Grammar.from_cfg3_json(bad)


def test_grammar_pickle_keeps_weights_bit_exact():
    rng = random.Random(18)
    for _ in range(20):
        nts = [f"N{i}" for i in range(rng.randint(1, 5))]
        lines = []
        for i, a in enumerate(nts):
            below = nts[i + 1 :]
            alts = [f"t{rng.randint(0, 3)}"] + [
                f"{below[0] if k == 0 else rng.choice(below)} t{rng.randint(0, 3)}"
                for k in range(len(below) and rng.randint(1, 3))
            ]
            weights = [rng.random() + 1e-3 for _ in alts]
            lines.append(
                f"{a} -> " + " | ".join(f"{x} [{w!r}]" for x, w in zip(alts, weights, strict=True))
            )
        g = Grammar.from_text("\n".join(lines), normalise=True)
        back = pickle.loads(pickle.dumps(g))
        assert back.rules == g.rules  # exact float equality on every probability
        assert back.to_text() == g.to_text()


def test_kleene_imports_from_this_tree():
    assert kleene.__file__
