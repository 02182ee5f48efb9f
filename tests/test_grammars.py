"""Grammars: bit-compatibility with the official cfg3 procedure, sampling statistics, parsing
and prefix probabilities against independent Python oracles, tasks and bad input."""

from __future__ import annotations

import functools
import itertools
import json
import pickle
import random

import numpy as np
import pytest
from conftest import shared_data

import kleene
from kleene import Grammar, tasks
from kleene.grammars import CFG3_PRESETS, kl_to_grammar

# -- oracles ------------------------------------------------------------------------------


def official_generate(data: dict, rng: random.Random) -> list[int]:
    """The official cfg3 procedure: one randint per nonterminal before its children,
    depth-first, left to right; terminals emit their id."""
    out, stack, depth = [], [(0, 0)], data["depth"]
    while stack:
        level, j = stack.pop()
        if level == depth:
            out.append(data["idx"][level][j])
            continue
        rules = data["all"][level][j]["children"]
        rule = rules[rng.randint(0, len(rules) - 1)]
        stack.extend((level + 1, k) for k in reversed(rule))
    return out


def length_bounds(data: dict) -> tuple[int, int]:
    """Exact shortest / longest string of a cfg3 grammar by a bottom-up DP."""
    depth = data["depth"]
    lo = [1] * len(data["all"][depth])
    hi = list(lo)
    for level in range(depth - 1, -1, -1):
        nodes = data["all"][level]
        lo = [min(sum(lo[k] for k in r) for r in n["children"]) for n in nodes]
        hi = [max(sum(hi[k] for k in r) for r in n["children"]) for n in nodes]
    return lo[0], hi[0]


def derives(g: Grammar, word: list[int]) -> bool:
    """Membership by memoised recursion over the rules (no binarisation), for tiny inputs."""
    nts, ts = g.nonterminals, g.terminals
    rules: dict[str, list[list[tuple[bool, int]]]] = {}
    for lhs, rhs, _ in g.rules:
        rules.setdefault(lhs, []).append(
            [(s not in nts, ts.index(s) if s not in nts else nts.index(s)) for s in rhs]
        )

    @functools.cache
    def seq(syms: tuple, i: int, j: int) -> bool:
        if not syms:
            return i == j
        (term, x), rest = syms[0], syms[1:]
        if term:
            return i < j and word[i] == x and seq(rest, i + 1, j)
        return any(nt(x, i, k) and seq(rest, k, j) for k in range(i, j + 1))

    @functools.cache
    def nt(a: int, i: int, j: int) -> bool:
        return any(seq(tuple(r), i, j) for r in rules[nts[a]])

    return nt(0, 0, len(word))


def enumerate_language(g: Grammar, max_len: int) -> dict[tuple[int, ...], float]:
    """All strings up to max_len with their probabilities, by expanding leftmost derivations."""
    nts, ts = g.nonterminals, g.terminals
    by_lhs: dict[str, list] = {}
    for lhs, rhs, p in g.rules:
        by_lhs.setdefault(lhs, []).append((rhs, p))
    out: dict[tuple[int, ...], float] = {}
    stack = [((nts[0],), 1.0)]
    while stack:
        form, p = stack.pop()
        if sum(1 for s in form if s not in nts) > max_len:
            continue
        k = next((i for i, s in enumerate(form) if s in nts), None)
        if k is None:
            key = tuple(ts.index(s) for s in form)
            out[key] = out.get(key, 0.0) + p
            continue
        for rhs, q in by_lhs[form[k]]:
            stack.append((form[:k] + tuple(rhs) + form[k + 1 :], p * q))
    return out


def cfg3_file(name: str) -> dict:
    return json.loads(shared_data("cfg3", f"{name}.json").read_text())


# -- cfg3 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CFG3_PRESETS)
def test_bit_compatible_with_the_official_procedure(name):
    data = cfg3_file(name)
    g = Grammar.from_cfg3_json(shared_data("cfg3", f"{name}.json"))
    for seed in (0, 1, 12345, 2**32 + 7, 2**70 + 3):
        rng = random.Random(seed)
        want = [official_generate(data, rng) for _ in range(6)]
        got = g.sample_python_compatible(seed, 6)
        assert [[t + 1 for t in s] for s in got] == want, (name, seed)


@pytest.mark.parametrize("name", CFG3_PRESETS)
def test_cfg3_length_range_and_membership(name):
    data = cfg3_file(name)
    g = Grammar.from_cfg3_json(data)
    assert g.length_range() == length_bounds(data)
    strings = g.sample_python_compatible(3, 5)
    assert all(g.accepts(s) for s in strings)
    assert pickle.loads(pickle.dumps(g)).sample_python_compatible(3, 5) == strings
    # Nearly every single-token change leaves the language; the parser agrees with itself
    # on the original and never accepts a string of a length outside the range.
    lo, hi = length_bounds(data)
    assert not g.accepts([0] * (lo - 1)) and not g.accepts([0] * (hi + 1))


def test_cfg3_presets_match_the_official_parameters():
    for name in CFG3_PRESETS:
        data = cfg3_file(name)
        p = kleene._core.cfg3_preset(name)
        assert p["sizes"] == data["sizes"], name
        degs = [len(n["children"]) for level in data["all"][:-1] for n in level]
        lens = [len(r) for level in data["all"][:-1] for n in level for r in n["children"]]
        assert p["deg_min"] <= min(degs) and max(degs) <= p["deg_max"], name
        assert p["len_min"] <= min(lens) and max(lens) <= p["len_max"], name


def test_parser_matches_brute_force_on_a_small_cfg3_family_grammar():
    g = Grammar.cfg3_family("cfg3i", seed=3, sizes=[1, 2, 2, 2])
    batch = g.sample(30, seed=1, choice="uniform")
    rng = np.random.default_rng(0)
    checked = 0
    for row, n in zip(batch.tokens, batch.lengths, strict=True):
        word = row[:n].tolist()
        assert g.accepts(word) and derives(g, word)
        for _ in range(3):
            bad = list(word)
            bad[rng.integers(n)] = int(rng.integers(2))
            if rng.random() < 0.3:
                bad.pop()
            assert g.accepts(bad) == derives(g, bad)
            checked += 1
    assert checked == 90


# -- text format and errors -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("S -> a B", "line 1, column 8: undefined nonterminal B"),
        ("S -> a [0.5] | b [0.4]", "probabilities of S sum to 0.9"),
        ("S -> a\nT -> b", "unreachable nonterminal"),
        ("S -> a S", "non-productive"),
        ("S -> a |", "empty alternative"),
        ("S -> 'a", "line 1, column 6: unclosed quote"),
    ],
)
def test_text_errors_name_the_place(text, message):
    with pytest.raises(ValueError, match=message):
        Grammar.from_text(text)


def test_text_format_round_trips_and_normalises():
    g = Grammar.from_text("# c\nS -> 'x y' T [2] | ε [6]\nT -> b | S", normalise=True)
    assert g.terminals == ["x y", "b"]
    assert [r[2] for r in g.rules[:2]] == [0.25, 0.75]
    assert Grammar.from_text(g.to_text()) == g
    assert pickle.loads(pickle.dumps(g)) == g
    assert g.accepts(["x y", "b"]) and g.accepts([]) and not g.accepts(["b"])


# -- sampling -------------------------------------------------------------------------------


def test_sampling_matches_exact_string_probabilities():
    from scipy.stats import chisquare

    g = Grammar.from_text(
        "S -> A B [0.5] | c [0.2] | A [0.3]\nA -> a [0.6] | a A [0.4]\nB -> b | c"
    )
    exact = enumerate_language(g, 30)
    batch = g.sample(20_000, seed=7, max_length=64)
    counts: dict[tuple, int] = {}
    for row, n in zip(batch.tokens, batch.lengths, strict=True):
        key = tuple(row[:n].tolist())
        counts[key] = counts.get(key, 0) + 1
    common = [w for w, p in exact.items() if p * 20_000 > 20]
    observed = [counts.get(w, 0) for w in common]
    expected = [exact[w] * 20_000 for w in common]
    rest_o, rest_e = 20_000 - sum(observed), 20_000 - sum(expected)
    assert chisquare(observed + [rest_o], expected + [rest_e]).pvalue > 1e-3
    # string_probability agrees with the enumeration.
    for w in common:
        assert g.string_probability(list(w)) == pytest.approx(exact[w], rel=1e-9)


def test_uniform_rule_choice_and_length_guard():
    g = Grammar.from_text("S -> a S [0.9] | b [0.1]")
    uni = g.sample(4000, seed=0, choice="uniform", max_length=200)
    # Uniform choice: length L with probability 2^-L.
    frac1 = float((uni.lengths == 1).mean())
    assert abs(frac1 - 0.5) < 0.04
    short = g.sample(200, seed=0, max_length=5)
    assert short.lengths.max() <= 5 and short.tokens.shape == (200, 5)
    with pytest.raises(ValueError, match="max_length"):
        Grammar.from_text("S -> a a a").sample(2, seed=0, max_length=2)


def test_same_seed_same_strings_any_thread_count():
    g = Grammar.from_text("S -> S S [0.3] | a [0.4] | b [0.3]")
    a = g.sample(64, seed=3, threads=1, max_length=100)
    b = g.sample(64, seed=3, threads=2, max_length=100)
    c = g.sample(32, seed=3, start=32, max_length=100)
    assert np.array_equal(a.tokens, b.tokens) and np.array_equal(a.tokens[32:], c.tokens)


def test_consistency_of_known_grammars():
    sub = Grammar.from_text("S -> S S [0.25] | a [0.75]").consistency()
    assert sub["consistent"] and sub["spectral_radius"] == pytest.approx(0.5)
    assert sub["expected_length"] == pytest.approx(1.5)
    sup = Grammar.from_text("S -> S S [2] | a [1]", normalise=True).consistency()
    assert not sup["consistent"] and sup["termination_probability"] == pytest.approx(0.5)
    assert sup["spectral_radius"] == pytest.approx(4 / 3) and sup["expected_length"] is None
    p = 0.3
    anbn = Grammar.from_text(f"S -> a S b [{p}] | c [{1 - p}]").consistency()
    assert anbn["expected_length"] == pytest.approx((1 + p) / (1 - p))


def test_exact_length_uniform_sampling():
    from scipy.stats import chisquare

    g = Grammar.from_text("S -> a S b | a b | S S")  # ambiguous: uniform over derivations
    assert g.num_derivations(6) == 6.0  # derivations of length 6 (counted by hand below)
    x = g.sample_uniform_length(5000, 6, seed=1)
    words, counts = np.unique(x, axis=0, return_counts=True)
    # Derivations per string: ababab has 2 (left or right nesting of S S), the others 1.
    per = {"aaabbb": 1, "aababb": 1, "aabbab": 1, "abaabb": 1, "ababab": 2}
    got = {g.vocab.decode(w): c for w, c in zip(words, counts, strict=True)}
    assert set(got) == set(per)
    assert chisquare([got[w] for w in per], [5000 * per[w] / 6 for w in per]).pvalue > 1e-3


# -- parsing and prefix probabilities -----------------------------------------------------


def test_parse_tree_counts_and_brackets():
    g = Grammar.from_text("S -> S S [0.3] | a [0.7]")
    assert g.count_parses("aaaa") == 5.0  # Catalan(3)
    tree = g.parse("aaa")
    assert tree.leaves() == ["a", "a", "a"] and tree.span == (0, 3)
    assert tree.probability == pytest.approx(0.3**2 * 0.7**3)
    assert tree.to_brackets().count("(S") == 5
    assert g.parse("ab") is None and g.count_parses("b") == 0.0


def test_next_token_distributions_match_enumeration():
    g = Grammar.cfg3_family("cfg3i", seed=5, sizes=[1, 2, 2])
    exact = enumerate_language(g, 20)
    v = len(g.terminals)
    for word in list(exact)[:5]:
        dist = g.next_token_distributions(list(word))
        assert dist.shape == (len(word) + 1, v + 1)
        for t in range(len(word) + 1):
            prefix = word[:t]
            mass = {
                a: sum(p for w, p in exact.items() if w[: t + 1] == prefix + (a,)) for a in range(v)
            }
            end = exact.get(prefix, 0.0)
            total = end + sum(mass.values())
            want = [end / total] + [mass[a] / total for a in range(v)]
            assert dist[t] == pytest.approx(want, abs=1e-12)
        assert kl_to_grammar(dist, dist) == pytest.approx(0.0, abs=1e-12)
    assert g.prefix_probability([]) == pytest.approx(1.0)


def test_generation_accuracy():
    g = Grammar.from_text("S -> a S b [0.4] | c [0.6]")
    batch = g.sample(50, seed=0, max_length=41)
    assert g.generation_accuracy(batch.tokens, batch.lengths) == 1.0
    broken = batch.tokens.copy()
    broken[:, 0] = 1  # "b" first: never in the language
    assert g.generation_accuracy(broken, batch.lengths) == 0.0


# -- tasks ----------------------------------------------------------------------------------


def test_cfg3_task_rows_parse_and_labels_follow_rules():
    task = tasks.get("cfg3_random", grammar="cfg3b", grammar_seed=2, labels="ancestors,spans")
    g = task.grammar
    batch = task.batch(4, seed=0)
    rules = {(lhs, tuple(rhs)) for lhs, rhs, _ in g.rules}
    nts = g.nonterminals
    for b in range(4):
        n = int(batch.lengths[b])
        word = (batch.tokens[b, :n] - 1).tolist()
        assert g.accepts(word)
        anc, spans = batch.labels["ancestors"][b, :n], batch.labels["spans"][b, :n]
        depth = anc.shape[1]
        for level in range(depth):
            for span in np.unique(spans[:, level]):
                where = np.flatnonzero(spans[:, level] == span)
                assert np.all(np.diff(where) == 1)  # spans are contiguous
                lhs = nts[anc[where[0], level]]
                if level + 1 < depth:
                    kids = [
                        nts[anc[i, level + 1]]
                        for i in where
                        if i == where[0] or spans[i, level + 1] != spans[i - 1, level + 1]
                    ]
                else:
                    kids = [g.terminals[word[i]] for i in where]
                assert (lhs, tuple(kids)) in rules
        assert np.all(batch.labels["ancestors"][b, n:] == kleene.IGNORE_INDEX)


def test_cfg3_task_loads_the_official_file():
    path = str(shared_data("cfg3", "cfg3f.json"))
    task = tasks.get("cfg3", path=path)
    batch = task.batch(3, seed=1)
    assert batch.tokens.shape == (3, 729) and task.vocab.eos_id == 4
    assert all(
        task.grammar.accepts((batch.tokens[i, : batch.lengths[i]] - 1).tolist()) for i in range(3)
    )


def test_dyck_task_is_uniform_and_balanced():
    from scipy.stats import chisquare

    task = tasks.get("dyck", k=2, length=6)
    batch = task.batch(6000, seed=0)
    depth = batch.labels["depth"]
    assert depth.min() >= 0 and np.all(depth[:, -1] == 0)
    strings = [task.decode(r) for r in batch.tokens]
    for s in strings[:200]:
        stack = []
        for c in s:
            if c in "([":
                stack.append(c)
            else:
                assert stack and "([".index(stack.pop()) == ")]".index(c)
    # Dyck-2 words of length 6: Catalan(3) * 2^3 = 40, each with probability 1/40.
    words, counts = np.unique(batch.tokens, axis=0, return_counts=True)
    assert len(words) == 40
    assert chisquare(counts).pvalue > 1e-3
    assert batch.labels["max_depth"].max() == 3


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: tasks.get("cfg3", grammar="cfg3z"), ValueError),
        (lambda: tasks.get("dyck", length=7), ValueError),
        (lambda: Grammar.from_text("S -> a").sample(2, seed=0, choice="greedy"), ValueError),
        (lambda: Grammar.from_text("S -> a").sample_python_compatible(-1, 2), ValueError),
        (lambda: Grammar.from_text(3), TypeError),
        (lambda: Grammar.from_text("S -> a S | ε").sample_uniform_length(2, 3, seed=0), ValueError),
        (lambda: Grammar.cfg3_family("cfg3b", foo=1), ValueError),
    ],
)
def test_bad_input_is_refused(call, error):
    with pytest.raises(error):
        call()


def test_all_strings_of_a_tiny_grammar_against_brute_force():
    g = Grammar.from_text("S -> a S b S | b S a S | ε")  # equal numbers of a and b
    for n in range(7):
        for w in itertools.product("ab", repeat=n):
            assert g.accepts("".join(w)) == (w.count("a") == w.count("b"))


def test_deep_grammars_do_not_overflow_and_big_requests_are_refused(monkeypatch):
    depth = 3000
    text = "\n".join(f"A{i} -> a A{i + 1}" for i in range(depth)) + f"\nA{depth} -> b"
    g = Grammar.from_text(text)
    batch = g.sample(2, seed=0)
    assert batch.lengths.tolist() == [depth + 1] * 2
    assert g.consistency()["expected_length"] == pytest.approx(depth + 1)
    rec = Grammar.from_text("S -> a S [0.5] | b [0.5]")
    assert rec.accepts("a" * 2000 + "b")
    monkeypatch.setenv("KLEENE_MAX_BYTES", "100000")
    with pytest.raises(ValueError, match="too large"):
        rec.accepts("a" * 2000 + "b")
    with pytest.raises(ValueError, match="too large"):
        rec.sample(10_000, seed=0, max_length=100)


def test_sample_is_as_wide_as_the_longest_string_unless_asked():
    g = Grammar.from_text("S -> a S b [0.4] | c [0.6]")
    batch = g.sample(200, seed=1, label_depth=2)
    longest = int(batch.lengths.max())
    assert batch.tokens.shape == (200, longest) and batch.labels["spans"].shape[1] == longest
    wide = g.sample(200, seed=1, max_length=longest + 7)
    assert wide.tokens.shape == (200, longest + 7)
    assert np.array_equal(wide.tokens[:, :longest], batch.tokens)  # same strings, more padding
