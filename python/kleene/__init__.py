"""kleene: fast, seedable formal-language data and sequence-model layers.

Example:
    >>> import kleene
    >>> batch = kleene.tasks.get("markov", length=16).batch(8, seed=1)
    >>> batch.tokens.shape, batch.labels["bayes"].shape
    ((8, 16), (8, 16, 2))
"""

from . import _core, tasks
from . import grammars as grammars
from . import markov as markov
from .batch import IGNORE_INDEX, Batch, Vocabulary
from .grammars import Grammar

__version__: str = _core.__version__

__all__ = [
    "Batch",
    "Grammar",
    "grammars",
    "IGNORE_INDEX",
    "Vocabulary",
    "markov",
    "tasks",
    "__version__",
]
