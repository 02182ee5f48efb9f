"""REGBENCH in a few lines: episodes for training, and the paper's metrics for evaluation.

Run: python examples/automata_regbench.py
"""

from __future__ import annotations

import numpy as np

import kleene
from kleene.automata import dfa_accuracy, distribution_distance

train = kleene.tasks.get("regbench", split="train")
test = kleene.tasks.get("regbench", split="test", labels="targets,states")

batch = train.batch(8, seed=0)  # tokens [8, 1024], targets [8, 1024] (-100 = ignored)
print(batch.decode(0)[:80], "...")

# A stand-in "model": predict uniformly over the letters; a real model gives its own [B, T, V].
eval_batch = test.batch(16, seed=0)
probs = np.zeros((*eval_batch.tokens.shape, len(test.vocab)))
probs[..., : test.num_letters] = 1 / test.num_letters
print("accuracy of argmax:", dfa_accuracy(probs.argmax(-1), eval_batch, test))
print(
    "distance to the true next-symbol distribution:", distribution_distance(probs, eval_batch, test)
)

# The automaton behind an episode, as a kleene.DFA
dfa = test.automaton(int(eval_batch.labels["dfa_index"][0]))
print(dfa, "accepts the first string:", dfa.accepts(eval_batch.decode(0).split("|")[0]))
