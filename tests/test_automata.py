"""DFA engine, samplers and labels against independent oracles (enumeration, Python's re,
exact distributions with chi-square tests at fixed seeds)."""

from __future__ import annotations

import itertools
import math
import pickle
import re

import numpy as np
import pytest
from scipy import stats

from kleene import DFA
from kleene.automata import languages


def strings(alphabet: str, n: int):
    return ("".join(p) for p in itertools.product(alphabet, repeat=n))


def row_strings(batch, dfa):
    return [dfa.decode(batch.tokens[i, : batch.lengths[i]]) for i in range(len(batch))]


# -- construction and algebra ---------------------------------------------------------------

PATTERNS = [
    "(ab)*",
    "a*b+a?",
    "(a|b)*abb",
    "[ab]{2,4}c?",
    "((a|c)b*)*",
    "a{3}|b{1,}",
    ".*cc.*",
    "[^a]*a[^a]*",
    "(|a)(b|)c*",
    "(a(b|c){0,2})+",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_regex_matches_python_re_on_random_strings(pattern):
    d = DFA.from_regex(pattern, "abc")
    m = d.minimize()
    rng = np.random.default_rng(0)
    for _ in range(600):
        word = "".join(rng.choice(list("abc"), size=rng.integers(0, 9)))
        want = re.fullmatch(pattern, word) is not None
        assert d.accepts(word) == want == m.accepts(word), word


@pytest.mark.parametrize(
    ("pattern", "position"),
    [("ab(a", 2), ("abd", 2), ("a)", 1), ("*a", 0), ("a{3,2}", 1), ("[ab", 0), ("a{2", 3)],
)
def test_regex_errors_point_at_the_position(pattern, position):
    with pytest.raises(ValueError, match=f"position {position}"):
        DFA.from_regex(pattern, "abc")


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="alphabet"):
        DFA.from_regex("a", "")
    with pytest.raises(ValueError, match="table"):
        DFA.from_table(np.zeros((0, 2), int), [])
    with pytest.raises(ValueError, match="not a state"):
        DFA.from_table([[0, 3]], [True])
    with pytest.raises(ValueError, match="start"):
        DFA.from_table([[0, 0]], [True], start=2)
    d = DFA.from_regex("(aa)*", "a")
    with pytest.raises(ValueError, match="no string"):
        d.sample(4, 3)
    with pytest.raises(ValueError, match="max_len"):
        d.sample(4, (0, 1 << 21))
    with pytest.raises(ValueError, match="lo <= hi"):
        d.sample(4, (3, 2))
    with pytest.raises(ValueError, match="method"):
        d.sample(4, 2, method="nope")
    with pytest.raises(ValueError, match="alphabets differ"):
        d & DFA.from_regex("a", "ab")
    with pytest.raises(ValueError, match="KLEENE_MAX_BYTES"):
        DFA.from_regex("a*", "a").sample(1 << 40, 100)


def test_algebra_against_enumeration():
    a = DFA.from_regex("(a|b)*a(a|b)", "ab")
    b = DFA.from_regex("(ab|b)*", "ab")
    for n in range(7):
        for w in strings("ab", n):
            x, y = a.accepts(w), b.accepts(w)
            assert (a & b).accepts(w) == (x and y)
            assert (a | b).accepts(w) == (x or y)
            assert (a - b).accepts(w) == (x and not y)
            assert (a ^ b).accepts(w) == (x != y)
            assert (~a).accepts(w) == (not x)
    assert (~(a | b)).equivalent(~a & ~b)  # De Morgan
    assert (a & ~a).is_empty() and not a.is_empty()
    assert a == a.minimize() and a != b
    assert a.minimize().minimize().table.tolist() == a.minimize().table.tolist()


def test_canonical_hash_is_invariant_under_renumbering():
    d = DFA.random(9, 3, seed=4)
    perm = np.random.default_rng(1).permutation(9)
    inverse = np.argsort(perm)
    table = perm[d.table[inverse]]
    renamed = DFA.from_table(table, d.accepting[inverse], start=int(perm[d.start]), alphabet="012")
    assert renamed.canonical_hash() == d.canonical_hash()
    assert renamed.equivalent(d)
    assert DFA.random(9, 3, seed=5).canonical_hash() != d.canonical_hash()


def test_random_families():
    m = DFA.random(6, 2, family="minimal", seed=3)
    assert m.num_states == 6 and m.minimize().complete().num_states == 6
    r = DFA.random(50, 2, family="reachable", seed=3)
    assert r.num_states <= 50 and r.trim().num_states <= r.num_states


def test_pickle_round_trip():
    d = DFA.from_regex("a(b|c)*", "abc")
    clone = pickle.loads(pickle.dumps(d))
    assert clone == d and clone.alphabet == d.alphabet


# -- counting -------------------------------------------------------------------------------

KNOWN_COUNTS = {
    5: [1, 0, 2, 0, 8, 0, 32, 0, 128, 0, 512, 0, 2048],
    6: [1, 0, 2, 2, 6, 10, 22, 42, 86, 170, 342, 682, 1366],
    1: [1] * 13,
    2: [1, 0] * 6 + [1],
}


@pytest.mark.parametrize("index", range(1, 8))
def test_tomita_counts_and_membership_match_enumeration(index):
    d = languages.tomita(index)
    for n in range(11):
        words = list(strings("01", n))
        brute = sum(languages.tomita_ref(index, w) for w in words)
        assert d.count(n) == brute, n
        assert all(d.accepts(w) == languages.tomita_ref(index, w) for w in words)
        if index in KNOWN_COUNTS:
            assert d.count(n) == KNOWN_COUNTS[index][n]
    if index in KNOWN_COUNTS:
        assert d.count(12) == KNOWN_COUNTS[index][12]


def test_counts_switch_to_log_space_beyond_128_bits():
    d = DFA.from_regex("(0|1)*", "01")
    assert d.count(127) == 2**127 and d.count_is_exact(127)
    assert not d.count_is_exact(128)
    with pytest.raises(ValueError, match="log_count"):
        d.count(300)
    assert d.log_count(300) == pytest.approx(300 * math.log(2))
    fib = DFA.from_regex("(0|10)*(|1)", "01")  # no "11": Fibonacci
    assert [fib.count(n) for n in range(8)] == [1, 2, 3, 5, 8, 13, 21, 34]


# -- samplers -------------------------------------------------------------------------------


def chi2_pvalue(observed: dict, expected: dict, n: int) -> float:
    keys = list(expected)
    obs = np.array([observed.get(k, 0) for k in keys], dtype=float)
    exp = np.array([expected[k] * n for k in keys])
    assert sum(observed.values()) == obs.sum(), "sampled a string outside the support"
    return stats.chisquare(obs, exp).pvalue


@pytest.mark.parametrize(
    ("pattern", "length"),
    [("(0|1)*", 8), ("(0|10)*(|1)", 9), ("(00|11|(01|10)(00|11)*(01|10))*", 8)],
)
def test_uniform_sampler_is_uniform(pattern, length):
    d = DFA.from_regex(pattern, "01")
    words = [w for w in strings("01", length) if d.accepts(w)]
    n = 30 * len(words)
    batch = d.sample(n, length, seed=7)
    counts: dict = {}
    for w in row_strings(batch, d):
        counts[w] = counts.get(w, 0) + 1
    assert chi2_pvalue(counts, {w: 1 / len(words) for w in words}, n) > 1e-3


def test_negatives_are_uniform_over_the_complement():
    d = languages.tomita(6)
    words = [w for w in strings("01", 7) if not d.accepts(w)]
    n = 30 * len(words)
    counts: dict = {}
    for w in row_strings(d.sample(n, 7, method="negative", seed=2), d):
        counts[w] = counts.get(w, 0) + 1
    assert chi2_pvalue(counts, {w: 1 / len(words) for w in words}, n) > 1e-3


def test_log_space_sampling_is_accepted_and_near_uniform_in_symbols():
    d = DFA.from_regex("(0|1)*", "01")
    batch = d.sample(200, 300, seed=1)
    assert (batch.lengths == 300).all()
    assert abs(batch.tokens.mean() - 0.5) < 0.01


def walk_probability(d: DFA, word: str, weights=None) -> float:
    table = d.table
    w = np.ones(table.shape) if weights is None else np.asarray(weights, float)
    q, p = d.start, 1.0
    for a in d.encode(word):
        row = np.where(table[q] >= 0, w[q], 0.0)
        p *= row[a] / row.sum()
        q = table[q, a]
    return p


def test_walk_follows_the_regbench_path_probabilities():
    d = DFA.from_table([[1, 2, -1], [-1, 0, 2], [0, -1, -1]], [True] * 3, alphabet="abc")
    words = [w for w in strings("abc", 5) if d.accepts(w)]
    expected = {w: walk_probability(d, w) for w in words}
    assert sum(expected.values()) == pytest.approx(1.0)
    n = 20000
    counts: dict = {}
    for w in row_strings(d.sample(n, 5, method="walk", seed=3), d):
        counts[w] = counts.get(w, 0) + 1
    assert chi2_pvalue(counts, expected, n) > 1e-3


def test_weighted_walk_and_randgen_probabilities():
    d = DFA.from_regex("(a|b)*", "ab").minimize()  # one state, accepting, two loops
    weights = np.array([[3.0, 1.0]])
    n = 20000
    counts: dict = {}
    batch = d.sample(n, (0, 40), method="randgen", weights=weights, seed=5)
    beyond = np.arange(40)[None, :] >= batch.lengths[:, None]
    assert (batch.tokens[beyond] == d.vocab.pad_id).all()  # dropped walks leave no symbols
    for w in row_strings(batch, d):
        counts[w] = counts.get(w, 0) + 1
    # randgen: stop weight 1 vs arcs 3 + 1; P(w) = (3/5)^#a (1/5)^#b (1/5), dropped at 40
    expected = {
        w: 0.6 ** w.count("a") * 0.2 ** w.count("b") * 0.2
        for k in range(4)
        for w in strings("ab", k)
    }
    short = {w: c for w, c in counts.items() if len(w) < 4}
    obs = np.array([short.get(w, 0) for w in expected])
    exp = np.array(list(expected.values())) * n / (1 - 0.8**40)
    rest_obs, rest_exp = n - obs.sum(), n - exp.sum()
    p = stats.chisquare(np.append(obs, rest_obs), np.append(exp, rest_exp)).pvalue
    assert p > 1e-3


def test_near_misses_are_rejected_at_edit_distance_one():
    d = languages.tomita(4)
    pos, neg = d.near_misses(300, (3, 12), seed=0)
    for p, q in zip(row_strings(pos, d), row_strings(neg, d), strict=False):
        assert d.accepts(p) and not d.accepts(q)
        assert edit_distance(p, q) == 1


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def test_sampling_is_deterministic_across_threads_and_splits():
    d = DFA.random(20, 3, seed=1, accept_prob=0.3)
    a = d.sample(64, (5, 30), seed=9, threads=1)
    b = d.sample(64, (5, 30), seed=9, threads=2)
    c = d.sample(32, (5, 30), seed=9, start=32)
    assert np.array_equal(a.tokens, b.tokens) and np.array_equal(a.tokens[32:], c.tokens)
    assert all(d.accepts(w) for w in row_strings(a, d))


# -- labels ---------------------------------------------------------------------------------


def test_labels_against_brute_force():
    d = DFA.from_regex("a(b|c)*a|c", "abc")
    batch = d.sample(
        40,
        (1, 6),
        method="walk",
        seed=4,
        labels=("states", "valid_next", "prefix_accept", "accept"),
    )
    batch_u = d.sample(40, (1, 6), seed=4, labels=("next_probs",))
    accepted = {w for n in range(9) for w in strings("abc", n) if d.accepts(w)}
    for i, w in enumerate(row_strings(batch, d)):
        assert batch.labels["accept"][i] == d.accepts(w)
        for t in range(len(w)):
            prefix = w[: t + 1]
            assert batch.labels["prefix_accept"][i, t] == d.accepts(prefix)
            for a, sym in enumerate("abc"):
                extendable = any(x.startswith(prefix + sym) for x in accepted)
                assert batch.labels["valid_next"][i, t, a] == extendable
    for i, w in enumerate(row_strings(batch_u, d)):
        n = len(w)
        for t in range(n - 1):
            prefix = w[: t + 1]
            total = sum(x.startswith(prefix) for x in accepted if len(x) == n)
            for a, sym in enumerate("abc"):
                part = sum(x.startswith(prefix + sym) for x in accepted if len(x) == n)
                assert batch_u.labels["next_probs"][i, t, a] == pytest.approx(part / total)
        assert not batch_u.labels["next_probs"][i, n - 1].any()
