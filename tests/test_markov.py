"""The markov task against exact oracles: transition statistics (chi-square), the Bayes
predictive against exact Dirichlet-multinomial marginal likelihoods, and bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, special, stats

import kleene
from kleene import tasks
from kleene.markov import bayes_loss

P_MIN = 1e-3  # fixed seeds: a correct sampler passes; a wrong one fails by a wide margin


def test_fixed_chain_transitions_match_chi_square():
    chain = [[0.7, 0.2, 0.1], [0.05, 0.05, 0.9], [0.3, 0.3, 0.4]]
    task = tasks.get("markov", vocab_size=3, order=1, length=200, transition=chain, labels="")
    tokens = task.batch(400, seed=11).tokens
    prev, nxt = tokens[:, :-1].ravel(), tokens[:, 1:].ravel()
    for s in range(3):
        observed = np.bincount(nxt[prev == s], minlength=3)
        expected = np.array(chain[s]) * observed.sum()
        assert stats.chisquare(observed, expected).pvalue > P_MIN


def test_order_two_chain_and_uniform_start():
    rng = np.random.default_rng(0)
    chain = rng.dirichlet(np.ones(2), size=4)  # contexts 00, 01, 10, 11
    task = tasks.get("markov", order=2, length=100, transition=chain.tolist(), labels="")
    tokens = task.batch(600, seed=3).tokens
    ctx = tokens[:, :-2] * 2 + tokens[:, 1:-1]
    nxt = tokens[:, 2:]
    for s in range(4):
        observed = np.bincount(nxt[ctx == s], minlength=2)
        assert stats.chisquare(observed, chain[s] * observed.sum()).pvalue > P_MIN
    first = np.bincount(tokens[:, :2].ravel(), minlength=2)
    assert stats.chisquare(first).pvalue > P_MIN


def log_marginal(seq: np.ndarray, v: int, k: int, alpha: float, segment: int) -> float:
    """log P(seq) with independent Dirichlet(alpha) rows per segment (closed-form
    Dirichlet-multinomial evidence), uniform first k symbols."""
    n = len(seq)
    total = -min(k, n) * np.log(v)
    segment = segment or n
    counts: dict[tuple[int, tuple], np.ndarray] = {}
    for t in range(k, n):
        key = (t // segment, tuple(seq[t - k : t]))
        counts.setdefault(key, np.zeros(v))[seq[t]] += 1
    for c in counts.values():
        total += special.gammaln(v * alpha) - special.gammaln(c.sum() + v * alpha)
        total += np.sum(special.gammaln(c + alpha) - special.gammaln(alpha))
    return total


@pytest.mark.parametrize(
    ("v", "k", "alpha", "switch", "length"),
    [
        (2, 1, 1.0, 0, 14),
        (3, 1, 0.5, 0, 14),
        (2, 2, 2.0, 0, 14),
        (3, 1, 0.3, 5, 14),
        (3, 1, 0.3, 5, 15),  # a chain would start right after the sequence
        (2, 3, 1.0, 0, 3),  # only the uniform prefix; the chain starts after it
    ],
)
def test_bayes_predictive_equals_ratio_of_exact_evidences(v, k, alpha, switch, length):
    """Output-aligned: position t holds P(token t+1 = j | tokens ..t), the last position too."""
    task = tasks.get(
        "markov",
        vocab_size=v,
        order=k,
        length=length,
        alpha=alpha,
        switch_every=switch,
        labels="bayes",
    )
    batch = task.batch(5, seed=2)
    for row, probs in zip(batch.tokens, batch.labels["bayes"], strict=True):
        for t in range(len(row)):
            base = log_marginal(row[: t + 1], v, k, alpha, switch)
            for j in range(v):
                cand = np.append(row[: t + 1], j)
                exact = np.exp(log_marginal(cand, v, k, alpha, switch) - base)
                assert probs[t, j] == pytest.approx(exact, rel=2e-6)


def test_bayes_predictive_against_numerical_integration():
    """Binary order-1 with alpha=1: integrate the likelihood over both rows directly."""
    batch = tasks.get("markov", length=9, labels="bayes").batch(2, seed=8)
    for row, probs in zip(batch.tokens, batch.labels["bayes"], strict=True):

        def evidence(seq):
            def likelihood(p1_given_1, p1_given_0):
                p = 1.0
                for a, b in itertools.pairwise(seq):
                    q = p1_given_1 if a else p1_given_0
                    p *= q if b else 1 - q
                return p

            return integrate.dblquad(likelihood, 0, 1, 0, 1, epsabs=1e-13)[0]

        for t in (1, 4, 8):
            exact = evidence(list(row[: t + 1]) + [1]) / evidence(list(row[: t + 1]))
            assert probs[t, 1] == pytest.approx(exact, rel=1e-6)


def test_fixed_chain_bayes_is_the_chain():
    chain = [[0.9, 0.1], [0.25, 0.75]]
    batch = tasks.get("markov", length=30, transition=chain).batch(3, seed=0)
    expected = np.array(chain, dtype=np.float32)[batch.tokens]  # the row of each context
    assert np.array_equal(batch.labels["bayes"], expected)
    assert np.array_equal(batch.labels["true_probs"], expected)


def test_dirichlet_rows_follow_their_beta_marginal():
    """The first row used by each sequence: P(next = 0 | ctx) ~ Beta(alpha, (V-1) alpha)."""
    alpha, v = 0.6, 3
    task = tasks.get("markov", vocab_size=v, length=2, alpha=alpha, labels="true_probs")
    row = task.batch(3000, seed=4).labels["true_probs"][:, 0, 0]
    assert stats.kstest(row, stats.beta(alpha, (v - 1) * alpha).cdf).pvalue > P_MIN


def test_sampled_symbols_are_calibrated_to_the_bayes_predictive():
    """Sequences drawn from the prior: E[1{x_t = j}] equals the predictive, so the summed
    residuals are ~N(0, sum p(1-p))."""
    batch = tasks.get(
        "markov", vocab_size=3, order=1, length=64, alpha=0.8, switch_every=20, labels="bayes"
    ).batch(500, seed=6)
    probs = batch.labels["bayes"][:, :-1].astype(np.float64)
    onehot = np.eye(3)[batch.tokens[:, 1:]]
    resid = (onehot - probs).sum(axis=(0, 1))
    sd = np.sqrt((probs * (1 - probs)).sum(axis=(0, 1)))
    assert np.all(np.abs(resid / sd) < 4.5)


def test_switching_draws_a_new_chain():
    batch = tasks.get("markov", length=40, switch_every=10, labels="true_probs").batch(50, seed=1)
    tp = batch.labels["true_probs"]
    # positions 0..8 predict tokens 1..9, drawn by the first chain
    same_segment = np.isclose(tp[:, 0], tp[:, 8]).all(axis=-1) | (
        batch.tokens[:, 0] != batch.tokens[:, 8]
    )
    assert same_segment.all()
    # token 10 comes from a new chain: the row for the same context differs almost surely
    ctx_equal = batch.tokens[:, 9] == batch.tokens[:, 19]
    assert not np.isclose(tp[ctx_equal, 9], tp[ctx_equal, 19]).all(axis=-1).any()
    # the last position predicts token 40, which would start a fifth chain
    ctx_equal = batch.tokens[:, 39] == batch.tokens[:, 38]
    assert not np.isclose(tp[ctx_equal, 39], tp[ctx_equal, 38]).all(axis=-1).any()


def test_bayes_loss_is_the_mean_log_loss_of_the_predictive():
    batch = tasks.get("markov", length=20).batch(4, seed=0)
    loss = bayes_loss(batch)
    assert loss.shape == (4, 19)
    t, b = 5, 2
    expected = -np.log(batch.labels["bayes"][b, t - 1, batch.tokens[b, t]])
    assert loss[b, t - 1] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(order=-1), "order"),
        (dict(vocab_size=1), "vocab_size"),
        (dict(alpha=0.0), "alpha"),
        (dict(alpha=-1.0), "alpha"),
        (dict(length=0), "length"),
        (dict(length=kleene.markov.MAX_LENGTH + 1), "length"),
        (dict(vocab_size=16, order=6), "order"),
        (dict(transition=[[0.5, 0.6], [0.5, 0.5]]), "row 0 sums to"),
        (dict(transition=[[1.0, 0.0]]), "rows"),
        (dict(transition=[[1.5, -0.5], [0.5, 0.5]]), "negative"),
        (dict(vocab_size=300, dtype="uint8"), "dtype"),
        (dict(labels="bayes,oops"), "labels"),
    ],
)
def test_bad_parameters_are_refused_with_the_name(params, message):
    with pytest.raises(ValueError, match=message):
        tasks.get("markov", **params).batch(1, seed=0)


def test_wrong_types_are_refused():
    with pytest.raises(TypeError, match="order"):
        tasks.get("markov", order="2")
    with pytest.raises(TypeError, match="vocab_size"):
        tasks.get("markov", vocab_size=True)


def test_huge_requests_are_refused_before_allocating():
    task = tasks.get("markov", length=1 << 24, labels="bayes")
    with pytest.raises(ValueError, match="too large"):
        task.batch(10_000, seed=0)
