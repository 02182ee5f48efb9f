"""kleene: fast, seedable formal-language data and sequence-model layers.

Example:
    >>> import kleene
    >>> batch = kleene.tasks.get("markov", length=16).batch(8, seed=1)
    >>> batch.tokens.shape, batch.labels["bayes"].shape
    ((8, 16), (8, 16, 2))
"""

from . import _core, tasks
from . import automata as automata
from . import cellular as cellular
from . import grammars as grammars
from . import io as io
from . import markov as markov
from . import recall as recall
from . import tokbias as tokbias
from .automata import DFA
from .batch import IGNORE_INDEX, Batch, Vocabulary
from .cellular import ECA, Life
from .evaluation import EvalResult, evaluate
from .grammars import Grammar
from .io import load, write

__version__: str = _core.__version__

__all__ = [
    "DFA",
    "ECA",
    "EvalResult",
    "Batch",
    "Grammar",
    "IGNORE_INDEX",
    "Life",
    "Vocabulary",
    "__version__",
    "automata",
    "cellular",
    "evaluate",
    "grammars",
    "io",
    "load",
    "markov",
    "recall",
    "tasks",
    "tokbias",
    "write",
]
