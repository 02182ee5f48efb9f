"""REGBENCH: episodes for training, and the paper's metrics for a model, with in-context n-gram
baselines (the paper reports a 3-gram alongside its neural models).

Run: ``python examples/automata_regbench.py`` (numpy only; about 3 s on a 2-core CPU). It
prints the DFA accuracy and total-variation distance of three predictors on 128 test episodes:

    predictor    dfa_accuracy      tv
    uniform             0.509   0.647
    2-gram              0.835   0.339
    3-gram              0.892   0.328

(a perfect model scores 1 and 0; numbers from this script on the default configuration).
"""

from __future__ import annotations

import numpy as np

import kleene

train = kleene.tasks.get("regbench", split="train")
test = kleene.tasks.get("regbench", split="test")

batch = train.batch(8, seed=0)  # tokens [8, 1024], targets [8, 1024] (-100 = ignored)
print(batch.decode(0)[:80], "...")


def in_context_ngram(n: int, smoothing: float = 0.1):
    """Predicts the next symbol from counts of the last ``n - 1`` symbols' continuations seen
    earlier in the same episode (add-``smoothing`` over the letters)."""
    letters, vocab = test.num_letters, len(test.vocab)

    def model(tokens: np.ndarray) -> np.ndarray:
        b, t_len = tokens.shape
        counts = np.zeros((b, *([vocab] * n)))
        rows = np.arange(b)
        out = np.empty((b, t_len, vocab))
        for t in range(t_len):
            ctx = tuple(tokens[:, max(t - k, 0)] for k in range(n - 2, -1, -1))
            row = counts[(rows, *ctx)] + smoothing
            row[:, letters:] = 0.0  # never predict the separator or padding
            with np.errstate(divide="ignore"):  # log 0 = -inf for the two non-letters
                out[:, t] = np.log(row / row.sum(-1, keepdims=True))
            if t + 1 < t_len:
                counts[(rows, *ctx, tokens[:, t + 1])] += 1
        return out

    return model


uniform = in_context_ngram(1, smoothing=1.0)  # no context: every letter equally likely
print(f"{'predictor':12s} {'dfa_accuracy':>12s} {'tv':>7s}")
predictors = {"uniform": uniform, "2-gram": in_context_ngram(2), "3-gram": in_context_ngram(3)}
for name, model in predictors.items():
    result = kleene.evaluate(model, test, num=128, seed=0, batch_size=32)
    m = result.metrics[test.length]
    print(f"{name:12s} {m['dfa_accuracy']:12.3f} {m['tv']:7.3f}")

# The automaton behind an episode, as a kleene.DFA
episode = test.batch(1, seed=0)
dfa = test.automaton(int(episode.labels["dfa_index"][0]))
print(dfa, "accepts the first string:", dfa.accepts(episode.decode(0).split("|")[0]))
