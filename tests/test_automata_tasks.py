"""The registered regular tasks against independent reference definitions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from kleene import IGNORE_INDEX, _core, tasks
from kleene.automata import dfa_accuracy, distribution_distance, languages


def rows(batch):
    for i in range(len(batch)):
        yield batch.tokens[i, : batch.lengths[i]].astype(int).tolist(), i


def test_parity_even_pairs_cycle_navigation_labels():
    for name, ref in [
        ("parity", lambda w: sum(w) % 2),
        ("even_pairs", lambda w: int(w[0] != w[-1])),
        ("cycle_navigation", lambda w: sum({0: 0, 1: 1, 2: -1}[a] for a in w) % 5),
    ]:
        batch = tasks.get(name, max_length=30).batch(200, seed=1)
        for w, i in rows(batch):
            assert batch.labels["label"][i] == ref(w), (name, w)
            for t in range(len(w)):
                assert batch.labels["label_trace"][i, t] == ref(w[: t + 1])
            assert (batch.labels["label_trace"][i, len(w) :] == IGNORE_INDEX).all()


def test_modular_arithmetic_matches_python_evaluation():
    task = tasks.get("modular_arithmetic", min_length=1, max_length=21)
    batch = task.batch(300, seed=2)
    symbols = "01234+-*"
    assert set(batch.lengths % 2) == {1}
    for w, i in rows(batch):
        expr = "".join(symbols[a] for a in w)
        assert batch.labels["label"][i] == eval(expr) % 5, expr  # noqa: S307
    for expr, want in [("1+2*3", 2), ("1-1-1", 4), ("0*1+4*3-2", 0)]:
        d, classes = languages.modular_arithmetic(5)
        states = d.state_trace(np.array([d.encode(expr)]), np.array([len(expr)]))
        assert classes[states[0, -1]] == want


def permutation_closure(generators):
    n = len(generators[0])
    seen = {tuple(range(n))}
    frontier = list(seen)
    while frontier:
        g = frontier.pop()
        for h in generators:
            p = tuple(h[g[i]] for i in range(n))
            if p not in seen:
                seen.add(p)
                frontier.append(p)
    return seen


def test_groups_have_the_right_orders_and_generators():
    names, table, identity = languages.group("S5")
    assert len(names) == 120
    names5, _, _ = languages.group("A5")
    assert len(names5) == 60
    a5 = permutation_closure([(1, 2, 3, 4, 0), (1, 0, 3, 2, 4)])
    assert {tuple(int(c) for c in n) for n in names5} == a5
    assert len(permutation_closure([(1, 2, 3, 4, 0), (1, 0, 2, 3, 4)])) == 120
    # associativity and identity of the multiplication table
    g = np.arange(len(names))
    assert (table[identity] == g).all() and (table[:, identity] == g).all()
    rng = np.random.default_rng(0)
    a, b, c = rng.integers(0, 120, (3, 500))
    assert (table[table[a, b], c] == table[a, table[b, c]]).all()
    assert len(languages.group("S3xZ2")[0]) == 12


def test_word_problem_running_product():
    task = tasks.get("word_problem", group="S5", max_length=20)
    names, _, _ = languages.group("S5")
    perms = [tuple(int(c) for c in n) for n in names]
    batch = task.batch(50, seed=3)
    for w, i in rows(batch):
        acc = tuple(range(5))
        for t, a in enumerate(w):
            acc = tuple(perms[a][acc[j]] for j in range(5))  # apply acc, then element a
            assert perms[batch.labels["label_trace"][i, t]] == acc
        assert perms[batch.labels["label"][i]] == acc
    # elements are uniform
    tokens = task.batch(2000, seed=4).tokens
    counts = np.bincount(tokens[tokens < 120], minlength=120)
    assert stats.chisquare(counts).pvalue > 1e-3


@pytest.mark.parametrize("index", range(1, 8))
def test_tomita_positive_and_classify(index):
    pos = tasks.get("tomita", index=index, min_length=1, max_length=14).batch(100, seed=5)
    for w, i in rows(pos):
        word = "".join(map(str, w))
        assert languages.tomita_ref(index, word)
        for t in range(len(w)):
            assert pos.labels["valid_next"][i, t].any()  # a positive prefix stays extendable
    cls = tasks.get("tomita", index=index, max_length=14, mode="classify").batch(400, seed=6)
    labels = cls.labels["label"]
    for w, i in rows(cls):
        assert labels[i] == languages.tomita_ref(index, "".join(map(str, w)))
    assert 140 < labels.sum() < 260


def test_flip_flop_reads_return_the_last_write():
    task = tasks.get("flip_flop", length=200)
    batch = task.batch(20, seed=7)
    w_id, r_id = 0, 1
    instr = batch.tokens[:, ::2]
    assert (instr[:, 0] == w_id).all()
    for b in range(len(batch)):
        memory = None
        for t in range(0, batch.tokens.shape[1], 2):
            op, bit = batch.tokens[b, t], batch.tokens[b, t + 1] - 3
            if op == w_id:
                memory = bit
            elif op == r_id:
                assert bit == memory
                assert batch.labels["targets"][b, t] == bit + 3
            else:
                assert batch.labels["targets"][b, t] == IGNORE_INDEX
    ops = np.bincount(instr[:, 1:].reshape(-1), minlength=3)[:3]
    expected = np.array([0.1, 0.1, 0.8]) * ops.sum()
    assert stats.chisquare(ops, expected).pvalue > 1e-3


def test_dyck_bounded_strings_are_balanced_and_bounded():
    task = tasks.get("dyck_bounded", k=3, m=4, min_length=4, max_length=60)
    batch = task.batch(300, seed=8)
    assert (batch.lengths >= 4).all() and (batch.lengths <= 60).all()
    for w, i in rows(batch):
        stack = []
        for t, a in enumerate(w):
            if a < 3:
                stack.append(a)
            else:
                assert stack and stack.pop() == a - 3
            assert len(stack) <= 4
            assert batch.labels["depth"][i, t] == len(stack)
        assert not stack


def test_dyck_length_distribution_matches_the_pfa():
    # Dyck-(1, 1): "()" repeated; at depth 0 stop with 1/2, so P(len = 2j) = 2^-(j+1), j >= 0,
    # conditioned on len >= 2 (stops before min_length are redrawn): P(2j) = 2^-j for j >= 1.
    batch = tasks.get("dyck_bounded", k=1, m=1, min_length=2, max_length=200).batch(4000, seed=9)
    half = batch.lengths // 2
    obs = np.bincount(np.minimum(half, 6), minlength=7)[1:]
    exp = np.array([2.0**-j for j in range(1, 6)] + [2.0**-5]) * len(half)
    assert stats.chisquare(obs, exp).pvalue > 1e-3


def test_regbench_episodes_pools_and_metrics():
    task = tasks.get(
        "regbench", num_train_dfas=200, num_test_dfas=50, labels="targets,valid_next,next_probs"
    )
    test_pool, train_pool = task.pools
    train_hashes = {train_pool.get(i).canonical_hash() for i in range(len(train_pool))}
    test_hashes = {test_pool.get(i).canonical_hash() for i in range(len(test_pool))}
    assert len(train_hashes) == 200 and len(test_hashes) == 50
    assert not train_hashes & test_hashes
    batch = task.batch(30, seed=1)
    sep = task.vocab.sep_id
    for b in range(len(batch)):
        d = task.automaton(int(batch.labels["dfa_index"][b]))
        words = [w for w in task.decode(batch.tokens[b, : batch.lengths[b]]).split("|")]
        assert 10 <= len(words) <= 19
        for w in words[:-1]:
            assert 1 <= len(w) <= 49 and d.accepts(w)
        targets = batch.labels["targets"][b]
        nxt = batch.tokens[b, 1 : batch.lengths[b]]
        assert (targets[: batch.lengths[b] - 1][nxt == sep] == IGNORE_INDEX).all()
    # a model predicting a valid symbol everywhere scores 1; the truth has distance 0
    valid = batch.labels["valid_next"]
    perfect = valid.argmax(-1)
    assert dfa_accuracy(perfect, batch, task) == 1.0
    assert distribution_distance(batch.labels["next_probs"], batch, task)["l1"] < 1e-6
    uniform = np.full(valid.shape, 1 / valid.shape[-1])
    assert distribution_distance(uniform, batch, task)["tv"] > 0.3
    wrong = np.where(valid.any(-1), (1 - valid).argmax(-1), 0)
    assert dfa_accuracy(wrong, batch, task) < 0.05


def test_regbench_defaults_follow_the_paper():
    task = tasks.get("regbench")
    assert len(task.vocab) == 20 and task.vocab.decode([0, 17, 18, 19]) == "ar|"
    test_pool, train_pool = task.pools
    assert (len(train_pool), len(test_pool)) == (5000, 500)
    sizes = [train_pool.get(i).num_states for i in range(len(train_pool))]
    assert 6.0 < np.mean(sizes) < 8.0 and max(sizes) <= 12


def test_all_tasks_list_their_automata_languages():
    assert {"tomita", "parity", "even_pairs", "cycle_navigation", "modular_arithmetic"} <= set(
        tasks.names()
    )
    assert list(itertools.islice(languages.tomita(2).sample(3, 4, seed=0).tokens.tolist(), 1)) == [
        [1, 0, 1, 0]
    ]


def python_regbench_sizes(count: int, seed: int) -> list[int]:
    """The reference procedure written independently in Python (numpy draws, Moore
    minimisation of the completed automaton); returns the minimal trimmed state counts."""
    rng = np.random.default_rng(seed)
    sizes = []
    for _ in range(count):
        n = int(rng.integers(4, 13))
        sigma = int(rng.integers(4, 19))
        table = -np.ones((n + 1, sigma), dtype=np.int64)  # state n = rejecting sink
        for q in range(n):
            k = int(rng.integers(1, 4))
            symbols = rng.choice(sigma, size=k, replace=False)
            targets = rng.choice([m for m in range(n) if m != q], size=k, replace=False)
            table[q, symbols] = targets
        table[table < 0] = n
        # Moore refinement from {accepting = 0..n-1, sink}, on the reachable states
        reach, stack = {0}, [0]
        while stack:
            for t in table[stack.pop()]:
                if int(t) not in reach:
                    reach.add(int(t))
                    stack.append(int(t))
        block = {q: int(q == n) for q in reach}
        while True:
            sig = {q: (block[q], *(block[int(t)] for t in table[q])) for q in reach}
            ids = {s: i for i, s in enumerate(sorted(set(sig.values())))}
            new = {q: ids[sig[q]] for q in reach}
            if len(set(new.values())) == len(set(block.values())):
                break
            block = new
        live_blocks = {block[q] for q in reach if q != n}
        sizes.append(len(live_blocks))
    return sizes


def test_regbench_state_counts_match_an_independent_python_procedure():
    pool = _core.dfa_regbench_batch(
        max_out=4, max_states=12, num_letters=18, seed=11, salt=0, start=0, count=3000
    )
    ours = np.bincount([pool.get(i).num_states for i in range(len(pool))], minlength=13)
    ref = np.bincount(python_regbench_sizes(500, seed=0), minlength=13)
    table = np.array([ours, ref])
    table = table[:, table.sum(0) > 0]
    assert stats.chi2_contingency(table).pvalue > 1e-3


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("tomita", {"index": 8}, "index"),
        ("parity", {"min_length": 5, "max_length": 3}, "min_length"),
        ("word_problem", {"group": "Q8"}, "group"),
        ("word_problem", {"group": "S8"}, "group"),
        ("word_problem", {"group": "Z64xZ64"}, "order"),
        ("dyck_bounded", {"k": 65}, "k"),
        ("dyck_bounded", {"min_length": 101}, "min_length"),
        ("flip_flop", {"p_write": 0.7, "p_read": 0.5}, "p_write"),
        ("regbench", {"max_out": 13}, "max_out"),
        ("regbench", {"min_strings": 5, "max_strings": 2}, "min_strings"),
        ("regbench", {"labels": "targets,nope"}, "labels"),
        ("modular_arithmetic", {"modulus": 1}, "modulus"),
    ],
)
def test_bad_task_parameters_are_refused(name, params, match):
    with pytest.raises(ValueError, match=match):
        tasks.get(name, **params)


def test_modular_arithmetic_without_odd_length_in_range_is_refused():
    with pytest.raises(ValueError, match="no string with length"):
        tasks.get("modular_arithmetic", min_length=2, max_length=2).batch(2, seed=0)


def test_regex_repetition_bound_is_limited():
    from kleene import DFA

    with pytest.raises(ValueError, match="repetition bound above 1000"):
        DFA.from_regex("a{1001}", "a")
