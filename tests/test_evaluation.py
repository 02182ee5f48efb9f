"""kleene.evaluate: perfect models score the documented optimum on every supported task,
uniform models their closed-form values, and the metric code matches hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from evaluation_oracles import BIG, PerfectModel, one_hot, uniform_model

import kleene
from kleene.batch import Batch
from kleene.evaluation import SCORERS, supported_tasks
from kleene.evaluation.scorers import MarkovScorer, Seq2SeqScorer, TraceScorer

SMALL = {
    "markov": dict(length=64),
    "regbench": dict(length=256),
    "eca": dict(seq_length=6, sample_width=16, width=64, horizon=64),
    "life": dict(size=6),
    "mqar": dict(length=64, num_kv_pairs=4, vocab_size=128),
    "dyck": dict(k=2, length=10),
}


@pytest.mark.parametrize("name", supported_tasks())
def test_perfect_model_scores_the_optimum(name):
    task = kleene.tasks.get(name, **SMALL.get(name, {}))
    num = 6 if name.startswith("cfg3") else 48
    model = PerfectModel(task, seed=5, num=num, labels=SCORERS[name].labels)
    result = kleene.evaluate(model, task, num=num, seed=5, batch_size=16)
    (values,) = result.metrics.values()
    assert values, name
    for metric, value in values.items():
        optimum = result.definitions[metric].optimum
        if isinstance(optimum, str):
            if optimum in values:
                assert value == pytest.approx(values[optimum], abs=1e-6), metric  # float32 labels
            continue
        assert value == pytest.approx(optimum, abs=1e-6), (metric, value)


def test_uniform_markov_model_has_closed_form_losses():
    task = kleene.tasks.get("markov", vocab_size=3, length=40, labels="bayes,true_probs")
    result = kleene.evaluate(uniform_model(3), task, num=32, seed=1)
    values = result.metrics[40]
    assert values["cross_entropy"] == pytest.approx(math.log(3), abs=1e-12)
    bayes = task.batch(32, seed=1).labels["bayes"][:, :-1].astype(np.float64)
    kl = (bayes * np.log(bayes * 3)).sum(-1).mean()  # KL(bayes || uniform)
    assert values["kl_bayes"] == pytest.approx(kl, rel=1e-9)
    assert values["excess_loss"] == pytest.approx(math.log(3) - values["bayes_cross_entropy"])


def test_uniform_regbench_model_has_the_closed_form_distance():
    task = kleene.tasks.get("regbench", length=200, labels="targets,valid_next")
    v = len(task.vocab)
    result = kleene.evaluate(uniform_model(v), task, num=16, seed=2)
    batch = task.batch(16, seed=2)
    scored = batch.labels["targets"] != -100
    k = batch.labels["valid_next"].sum(-1)[scored]
    assert result.metrics[200]["l1"] == pytest.approx((2 * (1 - k / v)).mean(), rel=1e-9)
    # argmax of a uniform row is symbol 0 ('a'): right where 'a' is a valid next letter
    a_valid = batch.labels["valid_next"][..., 0][scored]
    assert result.metrics[200]["dfa_accuracy"] == pytest.approx(a_valid.mean())


def _batch(tokens, lengths=None, **labels):
    tokens = np.asarray(tokens)
    if lengths is None:
        lengths = np.full(len(tokens), tokens.shape[1])
    return Batch(tokens, np.asarray(lengths), np.arange(len(tokens)), labels)


def test_markov_metrics_match_a_hand_computation():
    # output-aligned: position t holds the law of token t + 1 (the last one predicts past T)
    bayes = np.array([[[0.5, 0.5], [0.25, 0.75], [0.5, 0.5]]], np.float32)
    batch = _batch([[0, 1, 1]], bayes=bayes, true_probs=bayes)
    model = np.log(np.array([[[0.2, 0.8], [0.5, 0.5], [0.5, 0.5]]]))
    scorer = MarkovScorer(None)
    scorer.update(batch, model)
    got = scorer.finish()
    ce = (-math.log(0.8) - math.log(0.5)) / 2
    bce = (-math.log(0.5) - math.log(0.75)) / 2
    kl = (
        0.5 * math.log(0.5 / 0.2)
        + 0.5 * math.log(0.5 / 0.8)
        + 0.25 * math.log(0.25 / 0.5)
        + 0.75 * math.log(0.75 / 0.5)
    ) / 2
    assert got["cross_entropy"] == pytest.approx(ce)
    assert got["bayes_cross_entropy"] == pytest.approx(bce)
    assert got["excess_loss"] == pytest.approx(ce - bce)
    assert got["kl_bayes"] == pytest.approx(kl)
    assert got["bayes_kl_true"] == pytest.approx(0.0)
    per_position = [math.log(0.5 / 0.8), math.log(0.75 / 0.5)]
    assert scorer.curves()["excess_loss"][:2] == pytest.approx(per_position)


def test_seq2seq_metrics_match_a_hand_computation():
    # two items; output tokens at positions 2, 3, predicted (and stored) at positions 1, 2
    targets = np.array([[-100, 1, 0, -100], [-100, 1, 1, -100]])
    mask = targets != -100
    batch = _batch([[0, 2, 1, 0], [1, 2, 1, 1]], targets=targets, accuracy_mask=mask)
    # output t predicts position t+1: item 0 right twice, item 1 right once
    pred = np.array([[0, 1, 0, 0], [0, 1, 0, 0]])
    scorer = Seq2SeqScorer(None)
    scorer.update(batch, one_hot(pred, 3))
    got = scorer.finish()
    assert got["position_accuracy"] == pytest.approx(3 / 4)
    assert got["sequence_accuracy"] == pytest.approx(1 / 2)


def test_trace_metrics_match_a_hand_computation():
    trace = np.array([[1, 0, 1, -100], [0, 0, 1, 1]])
    batch = _batch([[1, 1, 1, 2], [0, 0, 1, 0]], lengths=[3, 4], label_trace=trace)
    pred = np.array([[1, 1, 1, 0], [0, 0, 1, 0]])
    scorer = TraceScorer(None)
    scorer.update(batch, one_hot(pred, 2))
    got = scorer.finish()
    assert got["accuracy"] == pytest.approx(1 / 2)  # item 0 right at t=2, item 1 wrong at t=3
    assert got["position_accuracy"] == pytest.approx(5 / 7)
    assert got["sequence_accuracy"] == pytest.approx(0.0)


def _parity_model(window: int | None):
    """The parity of the prefix (of its last ``window`` tokens), as two class scores."""

    def model(tokens):
        bits = (tokens == 1).astype(np.int64)
        csum = np.cumsum(bits, 1)
        if window is not None:
            csum = csum - np.pad(csum, ((0, 0), (window, 0)))[:, : tokens.shape[1]]
        return one_hot(csum % 2, 2)

    return model


def test_length_generalisation_is_reported_per_length():
    task = kleene.tasks.get("parity", min_length=1, max_length=8)
    exact = kleene.evaluate(_parity_model(None), task, num=64, seed=0, lengths=[4, 8, 64])
    assert exact.lengths == [4, 8, 64]
    assert all(m["accuracy"] == 1.0 for m in exact.metrics.values())
    short = kleene.evaluate(_parity_model(8), task, num=256, seed=0, lengths=[4, 8, 64])
    assert short.metrics[8]["accuracy"] == 1.0
    assert 0.35 < short.metrics[64]["accuracy"] < 0.65  # a coin past its window


def test_torch_module_runs_on_its_device_without_gradients():
    torch = pytest.importorskip("torch")

    class Uniform(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bias = torch.nn.Parameter(torch.zeros(2))

        def forward(self, tokens):
            assert tokens.dtype == torch.int64 and not torch.is_grad_enabled()
            return self.bias.expand(*tokens.shape, 2)

    task = kleene.tasks.get("markov", length=16)
    result = kleene.evaluate(Uniform(), task, num=8, seed=0)
    assert result.metrics[16]["cross_entropy"] == pytest.approx(math.log(2), abs=1e-6)


def test_dyck_truth_counts_completions():
    from evaluation_oracles import dyck_next_law

    from kleene.evaluation.scorers import DyckScorer

    for k, length in ((1, 12), (2, 8), (3, 10)):
        task = kleene.tasks.get("dyck", k=k, length=length)
        batch = task.batch(30, seed=1)
        want = dyck_next_law(k, length, batch.tokens.astype(np.int64))
        assert np.abs(DyckScorer(task).truth(batch) - want).max() < 1e-12


def test_grammar_truth_equals_prefix_probability_ratios():
    from kleene.evaluation.scorers import GrammarScorer

    task = kleene.tasks.get("cfg3", grammar="cfg3f")
    batch = task.batch(1, seed=3)
    truth = GrammarScorer(task).truth(batch)
    g, ids = task.grammar, (batch.tokens[0, : batch.lengths[0]] - 1).tolist()
    for t in range(4):
        prefix = ids[: t + 1]
        base = g.prefix_probability(prefix)
        for a in range(len(g.terminals)):
            want = g.prefix_probability(prefix + [a]) / base
            assert truth[0, t, a + 1] == pytest.approx(want, rel=1e-9, abs=1e-15)
        eos = g.string_probability(prefix) / base
        assert truth[0, t, task.vocab.eos_id] == pytest.approx(eos, abs=1e-15)


class _Replay:
    """Continues a prefix as the first held-out string that starts with it."""

    def __init__(self, batch, vocab):
        self.rows = [r[:n].tolist() for r, n in zip(batch.tokens, batch.lengths, strict=True)]
        self.vocab = vocab

    def __call__(self, tokens):
        out = np.full((*tokens.shape, len(self.vocab)), -BIG)
        for b, row in enumerate(tokens.tolist()):
            for t in range(len(row)):
                prefix = row[: t + 1]
                match = next((r for r in self.rows if r[: t + 1] == prefix), None)
                nxt = self.vocab.eos_id if match is None or len(match) == t + 1 else match[t + 1]
                out[b, t, nxt] = 0.0
        return out


def test_generation_accuracy_checks_continuations_with_the_parser():
    task = kleene.tasks.get("cfg3", grammar="cfg3f")
    batch = task.batch(3, seed=9)
    good = kleene.evaluate(
        _Replay(batch, task.vocab), task, num=3, seed=9, generate=True, prompt_length=20
    )
    assert good.metrics[None]["generation_accuracy"] == 1.0

    def junk(tokens):  # always the first terminal, never the end: too long or not derivable
        return one_hot(np.ones(tokens.shape, np.int64), len(task.vocab))

    bad = kleene.evaluate(junk, task, num=3, seed=9, generate=True, prompt_length=20)
    assert bad.metrics[None]["generation_accuracy"] == 0.0


def test_report_writes_figures_with_labelled_axes(tmp_path):
    pytest.importorskip("matplotlib")
    from kleene.evaluation.plots import _figures, _pyplot

    task = kleene.tasks.get("markov", length=32)
    result = kleene.evaluate(uniform_model(2), task, num=16, seed=0, lengths=[16, 32])
    report = result.report(tmp_path, train_lengths=(1, 16))
    text = report.read_text()
    pngs = sorted(tmp_path.glob("*.png"))
    assert {p.stem for p in pngs} >= {
        "excess_loss_vs_position",
        "excess_loss_vs_length",
        "calibration",
    }
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"({p.name})" in text
    plt = _pyplot()
    for name, fig in _figures(result, plt, (1, 16)):
        ax = fig.axes[0]
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), name
        plt.close(fig)
    assert (tmp_path / "result.json").exists()


def test_bad_requests_are_refused_with_a_message():
    task = kleene.tasks.get("markov", length=8)
    with pytest.raises(ValueError, match="expected"):
        kleene.evaluate(uniform_model(3), task, num=4)
    with pytest.raises(ValueError, match="does not score task 'gotu'"):
        kleene.evaluate(uniform_model(2), kleene.tasks.get("gotu"), num=4)
    with pytest.raises(ValueError, match="grammar"):
        kleene.evaluate(uniform_model(2), task, num=4, generate=True)
    with pytest.raises(ValueError, match="no length parameter"):
        kleene.evaluate(uniform_model(5), kleene.tasks.get("cfg3"), num=1, lengths=[8])
    with pytest.raises(ValueError, match="num"):
        kleene.evaluate(uniform_model(2), task, num=0)
    with pytest.raises(TypeError, match="callable"):
        kleene.evaluate("model", task, num=4)


def _bayes_counting_model(tokens, alpha=1.0):
    """Add-alpha bigram counts over the prefix, written independently of the labels."""
    b, t_len = tokens.shape
    out = np.zeros((b, t_len, 2))
    for t in range(t_len):
        same = tokens[:, :t] == tokens[:, t : t + 1]
        ones = (same & (tokens[:, 1 : t + 1] == 1)).sum(1)
        p1 = (ones + alpha) / (same.sum(1) + 2 * alpha)
        out[:, t] = np.log(np.stack([1 - p1, p1], -1))
    return out


def test_an_independent_bayes_counting_model_has_zero_excess_loss():
    task = kleene.tasks.get("markov", length=96)  # Dirichlet(1) rows: add-one is Bayes
    result = kleene.evaluate(_bayes_counting_model, task, num=128, seed=4)
    assert abs(result.metrics[96]["excess_loss"]) < 1e-6
    assert result.metrics[96]["kl_bayes"] < 1e-6
    half = kleene.evaluate(lambda x: _bayes_counting_model(x, 0.5), task, num=128, seed=4)
    assert half.metrics[96]["excess_loss"] > 1e-3  # the wrong prior is visibly worse
