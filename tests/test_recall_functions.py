"""Boolean functions in context, GOTU and binary sequences against brute-force evaluation
and exact distributions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from kleene import IGNORE_INDEX, recall, tasks

ALPHA = 1e-4


def pooled_chisquare(counts: np.ndarray, probs: np.ndarray) -> float:
    """p-value of counts vs probs, with the bins expecting < 5 pooled into one."""
    expected = probs * counts.sum()
    keep = expected >= 5
    obs, exp = counts[keep], expected[keep]
    if not keep.all():
        obs, exp = np.append(obs, counts[~keep].sum()), np.append(exp, expected[~keep].sum())
    return stats.chisquare(obs, exp).pvalue


def brute_force(cls: str, spec: np.ndarray, bias: float, x: np.ndarray) -> np.ndarray:
    """Labels (+-1) of points ``x [m, n]`` under one function, from the class definitions."""
    w = spec[0]

    def conj(w):
        return np.all((w == 0) | (x == w), axis=1)

    def disj(w):
        return np.any((w != 0) & (x == w), axis=1)

    if cls == "conjunction":
        y = conj(w)
    elif cls in ("disjunction", "sparse_disjunction"):
        y = disj(w)
    elif cls == "dnf":
        y = np.any([conj(t) for t in spec], axis=0)
    elif cls == "cnf":
        y = np.all([disj(c) for c in spec], axis=0)
    elif cls in ("parity", "sparse_parity"):
        y = (x[:, w == 1] == 1).sum(axis=1) % 2 == 1
    elif cls == "majority":
        y = x[:, w == 1].sum(axis=1) - 0.5 > 0
    elif cls == "zero_one_threshold":
        y = x @ w.astype(np.float64) - bias > 0
    elif cls == "integer_halfspace":
        y = x @ w.astype(np.float64) - 0.5 > 0
    else:
        raise AssertionError(cls)
    return np.where(y, 1, -1)


@pytest.mark.parametrize("cls", recall.BOOLEAN_CLASSES)
def test_labels_match_brute_force_evaluation(cls):
    n, m = 7, 30
    task = tasks.get("boolean_functions", function_class=cls, n_dims=n, n_points=m)
    batch = task.batch(300, seed=1)
    tok, lab = batch.tokens.reshape(-1, m, n + 1), batch.labels
    assert np.array_equal(lab["x"], 2 * tok[:, :, :n] - 1)
    assert np.array_equal(lab["y"], np.where(tok[:, :, n] == 3, 1, -1))
    assert np.array_equal(lab["y"], lab["y_clean"])
    flat = lab["targets"].reshape(-1, m, n + 1)
    assert np.array_equal(flat[:, :, n - 1], tok[:, :, n])
    assert (np.delete(flat, n - 1, axis=2) == IGNORE_INDEX).all()
    for b in range(len(batch)):
        expected = brute_force(cls, lab["spec"][b], float(lab["bias"][b]), lab["x"][b])
        assert np.array_equal(lab["y"][b], expected), b


def literal_counts(spec: np.ndarray) -> np.ndarray:
    return np.array([(spec == 0).sum(), (spec == 1).sum(), (spec == -1).sum()])


@pytest.mark.parametrize(
    ("cls", "probs"),
    [
        ("conjunction", (0.7, 0.15, 0.15)),
        ("disjunction", (0.7, 0.15, 0.15)),
        ("zero_one_threshold", (0.7, 0.15, 0.15)),
        ("dnf", (0.8, 0.1, 0.1)),
        ("cnf", (0.8, 0.1, 0.1)),
        ("majority", (0.7, 0.3, 0.0)),
        ("parity", (0.5, 0.5, 0.0)),
    ],
)
def test_function_priors(cls, probs):
    task = tasks.get("boolean_functions", function_class=cls, n_dims=10, n_points=1)
    spec = task.batch(4000, seed=2).labels["spec"]
    counts = literal_counts(spec)
    probs = np.array(probs)
    keep = probs > 0
    assert counts[~keep].sum() == 0
    assert stats.chisquare(counts[keep], probs[keep] * spec.size).pvalue > ALPHA


def test_sparse_supports_and_integer_weights_are_uniform():
    for cls, k in [("sparse_parity", 3), ("sparse_disjunction", 4)]:
        spec = (
            tasks.get("boolean_functions", function_class=cls, n_dims=9, k=k)
            .batch(3000, seed=3)
            .labels["spec"][:, 0]
        )
        assert (spec.sum(axis=1) == k).all() and set(np.unique(spec)) <= {0, 1}
        assert stats.chisquare(spec.sum(axis=0)).pvalue > ALPHA
    task = tasks.get("boolean_functions", function_class="integer_halfspace", n_dims=10)
    w = task.batch(3000, seed=3).labels["spec"].ravel()
    assert stats.chisquare(np.bincount(w + 3, minlength=7)).pvalue > ALPHA
    task = tasks.get("boolean_functions", function_class="zero_one_threshold", n_dims=4)
    bias = task.batch(6000, seed=3).labels["bias"]
    values, counts = np.unique(bias, return_counts=True)
    assert values.tolist() == [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5]
    assert stats.chisquare(counts).pvalue > ALPHA


@pytest.mark.parametrize(("cls", "target"), [("conjunction", 1), ("disjunction", -1)])
def test_points_are_pushed_to_the_decisive_corner_with_probability_0_3(cls, target):
    """Given w, a point satisfies (conjunction) / falsifies (disjunction) every literal with
    probability 0.3 + 0.7 * 2^-|w|; compare the count with its exact mean and variance."""
    n, m = 5, 20
    batch = tasks.get("boolean_functions", function_class=cls, n_dims=n, n_points=m).batch(
        4000, seed=6
    )
    size = np.abs(batch.labels["spec"][:, 0]).sum(axis=1)
    p = np.repeat(0.3 + 0.7 * 0.5**size, m)
    hits = (batch.labels["y"] == target).ravel()
    z = (hits.sum() - p.sum()) / math.sqrt((p * (1 - p)).sum())
    assert abs(z) < 4.5


def test_label_noise_flips_at_the_given_rate():
    task = tasks.get("boolean_functions", function_class="parity", n_dims=6, noise_rate=0.2)
    lab = task.batch(1000, seed=4).labels
    flips = int((lab["y"] != lab["y_clean"]).sum())
    assert stats.binomtest(flips, lab["y"].size, 0.2).pvalue > ALPHA


def gotu_target(fn: str, s: int, x: np.ndarray) -> np.ndarray:
    d = x.shape[1]
    if fn == "parity":
        return x[:, :s].prod(axis=1)
    if fn == "majority":
        return np.where(x[:, :s].sum(axis=1) >= 0, 1, -1)
    return sum(np.prod([x[:, (i + j) % d] for j in range(s)], axis=0) for i in range(d))


@pytest.mark.parametrize(
    ("fn", "support", "frozen", "r"),
    [("parity", 2, 1, -1), ("parity", 12, 0, 4), ("majority", 5, 2, 3), ("cyclic", 3, 1, 6)],
)
def test_gotu_region_curriculum_and_targets(fn, support, frozen, r):
    d = 12
    task = tasks.get("gotu", dims=d, function=fn, support=support, frozen=frozen, max_negatives=r)
    batch = task.batch(20_000, seed=9)
    x, y = batch.labels["x"], batch.labels["y"]
    assert (x[:, :frozen] == 1).all()
    assert np.array_equal(y, gotu_target(fn, support, x.astype(np.float64)))
    free = d - frozen
    top = free if r < 0 else r
    negatives = (x == -1).sum(axis=1)
    assert negatives.max() <= top
    probs = np.array([math.comb(free, k) for k in range(top + 1)], dtype=np.float64)
    probs /= probs.sum()
    counts = np.bincount(negatives, minlength=top + 1)
    assert pooled_chisquare(counts, probs) > ALPHA
    # given their number, the -1 coordinates are a uniform subset of the free ones
    assert stats.chisquare((x[:, frozen:] == -1).sum(axis=0)).pvalue > ALPHA


def test_bernoulli_sequences():
    task = tasks.get("binary_sequences", p=0.3, length=50)
    batch = task.batch(2000, seed=1)
    ones = int(batch.tokens.sum())
    assert stats.binomtest(ones, batch.tokens.size, 0.3).pvalue > ALPHA
    assert np.allclose(batch.labels["p_one"], 0.3)
    assert recall.bayes_accuracy(batch) == pytest.approx(0.7)


def test_random_p_gives_laplace_predictions_and_uniform_counts():
    t = 20
    batch = tasks.get("binary_sequences", random_p=True, length=t).batch(20_000, seed=2)
    ones_so_far = np.cumsum(batch.tokens, axis=1)  # output-aligned: tokens ..=t predict t+1
    laplace = (ones_so_far + 1) / (np.arange(t) + 3)
    assert np.allclose(batch.labels["p_one"], laplace, atol=1e-6)
    # with p ~ U(0, 1) the number of ones in t flips is uniform on 0..t
    assert stats.chisquare(np.bincount(batch.tokens.sum(axis=1), minlength=t + 1)).pvalue > ALPHA


def posterior_one(patterns: list[str], random_phase: bool, prefix: np.ndarray) -> float:
    """P(next = 1 | prefix) by enumerating (pattern, phase) with the uniform prior."""
    num = den = 0.0
    t = len(prefix)
    for pat in patterns:
        phases = range(len(pat)) if random_phase else [0]
        for ph in phases:
            seq = [int(pat[(i + ph) % len(pat)]) for i in range(t + 1)]
            if seq[:t] == prefix.tolist():
                weight = 1 / len(phases)
                den += weight
                num += weight * seq[t]
    return num / den


@pytest.mark.parametrize("random_phase", [False, True])
def test_periodic_concepts_and_their_posterior(random_phase):
    patterns = ["001", "10", "0110"]
    task = tasks.get(
        "binary_sequences",
        kind="periodic",
        patterns=patterns,
        random_phase=random_phase,
        length=12,
    )
    batch = task.batch(300, seed=3)
    for row in range(40):
        tok = batch.tokens[row]
        for t in range(12):
            expected = posterior_one(patterns, random_phase, tok[: t + 1])
            assert batch.labels["p_one"][row, t] == pytest.approx(expected, abs=1e-6)
    # every row repeats one of the concepts, each chosen with probability 1/3
    which = []
    for tok in batch.tokens:
        text = "".join(map(str, tok))
        matches = [
            i
            for i, p in enumerate(patterns)
            if any(text == (p * 12)[ph : ph + 12] for ph in range(len(p)))
        ]
        assert matches
        which.append(matches[0])
    assert stats.chisquare(np.bincount(which, minlength=3)).pvalue > ALPHA


def test_random_patterns_are_uniform_and_repeat():
    period = 4
    batch = tasks.get("binary_sequences", kind="periodic", period=period, length=10).batch(
        8000, seed=4
    )
    tok = batch.tokens
    assert np.array_equal(tok[:, period:], tok[:, :-period])
    codes = tok[:, :period] @ (1 << np.arange(period))
    assert stats.chisquare(np.bincount(codes, minlength=2**period)).pvalue > ALPHA
    p = batch.labels["p_one"]
    # position t predicts token t + 1: a coin until a whole period has been seen
    assert np.allclose(p[:, : period - 1], 0.5)
    assert np.array_equal(p[:, period - 1 :], tok[:, : 10 - period + 1])
    scored = 10 - 1  # positions 0..8 predict tokens 1..9
    assert recall.bayes_accuracy(batch) == pytest.approx(
        ((period - 1) * 0.5 + 10 - period) / scored
    )


@pytest.mark.parametrize(("frozen", "r"), [(0, -1), (1, 2), (2, 1)])
def test_gotu_points_are_uniform_over_the_enumerated_region(frozen, r):
    """Enumerate the cube, keep the allowed points, and compare point frequencies."""
    d = 6
    cube = np.array(list(itertools.product([-1, 1], repeat=d)))
    allowed = (cube[:, :frozen] == 1).all(axis=1)
    if r >= 0:
        allowed &= (cube == -1).sum(axis=1) <= r
    code = {tuple(p): i for i, p in enumerate(cube)}
    x = tasks.get("gotu", dims=d, frozen=frozen, max_negatives=r).batch(20_000, seed=5)
    hits = np.bincount([code[tuple(p)] for p in x.labels["x"]], minlength=len(cube))
    assert hits[~allowed].sum() == 0
    assert stats.chisquare(hits[allowed]).pvalue > ALPHA


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("boolean_functions", dict(function_class="sparse_parity", n_dims=3, k=4), "`k`"),
        ("boolean_functions", dict(noise_rate=0.6), "noise_rate"),
        ("boolean_functions", dict(function_class="xor"), "function_class"),
        ("gotu", dict(dims=5, frozen=5), "frozen"),
        ("gotu", dict(dims=5, support=6), "support"),
        ("binary_sequences", dict(kind="periodic", patterns=["012"]), "patterns"),
        ("binary_sequences", dict(kind="periodic", period=0), "period"),
        ("binary_sequences", dict(p=1.5), "`p`"),
    ],
)
def test_bad_parameters_name_the_failed_constraint(name, params, message):
    with pytest.raises(ValueError, match=message):
        tasks.get(name, **params)


def test_gotu_cube_regions_and_targets_agree_with_the_sampler():
    task = tasks.get("gotu", dims=8, function="cyclic", support=3, frozen=2)
    x_all, y_all = task.cube()
    assert x_all.shape == (256, 8) and len({tuple(r) for r in x_all}) == 256
    assert np.array_equal(y_all, gotu_target("cyclic", 3, x_all.astype(np.float64)))
    seen, _ = task.cube("seen")
    unseen, _ = task.cube("unseen")
    assert len(seen) == 64 and len(unseen) == 192 and (seen[:, :2] == 1).all()
    batch = task.batch(500, seed=0)
    assert np.array_equal(task.target(batch.labels["x"]), batch.labels["y"])
