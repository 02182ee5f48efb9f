"""Recall, copying and in-context function tasks.

Zoology's multi-query associative recall (``mqar``), MAD's synthetic suite
(``in_context_recall``, ``noisy_in_context_recall``, ``fuzzy_in_context_recall``,
``selective_copying``, ``copying``, ``compression``, ``memorization``), H3's
``induction_heads`` and ``associative_recall``, in-context learning of Boolean functions
(``boolean_functions``), the GOTU setting (``gotu``) and random binary sequences
(``binary_sequences``). Every random choice of item ``i`` comes from item ``i``'s own
generator, so data never depends on threads, batch size or workers.

Label convention (every kleene task): ``targets[b, t]`` is the token a model should emit after
reading ``tokens[b, : t + 1]``, or ``-100`` (:data:`kleene.IGNORE_INDEX`) where nothing is
scored, so ``F.cross_entropy(logits.flatten(0, 1), targets.flatten())`` is the loss as is.
See ``docs/recall.md`` for the layouts in one place.

Example:
    >>> import kleene
    >>> task = kleene.tasks.get("mqar", vocab_size=256, length=64, num_kv_pairs=4)
    >>> batch = task.batch(2, seed=0)
    >>> batch.tokens.shape, batch.labels["targets"].shape
    ((2, 64), (2, 64))
    >>> int((batch.labels["targets"] != kleene.IGNORE_INDEX).sum(axis=1)[0])
    4
"""

from ._task import MAX_LENGTH, MAX_VOCAB
from .binary import BinarySequences, bayes_accuracy
from .boolean import BOOLEAN_CLASSES, BooleanFunctions, Gotu
from .copying import Copying, SelectiveCopying
from .fuzzy import FuzzyInContextRecall
from .induction import AssociativeRecall, InductionHeads
from .mad import Compression, InContextRecall, Memorization, NoisyInContextRecall
from .mqar import Mqar

__all__ = [
    "BOOLEAN_CLASSES",
    "MAX_LENGTH",
    "MAX_VOCAB",
    "AssociativeRecall",
    "BinarySequences",
    "BooleanFunctions",
    "Compression",
    "Copying",
    "FuzzyInContextRecall",
    "Gotu",
    "InContextRecall",
    "InductionHeads",
    "Memorization",
    "Mqar",
    "NoisyInContextRecall",
    "SelectiveCopying",
    "bayes_accuracy",
]
