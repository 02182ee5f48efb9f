"""Regular languages: the :class:`DFA` engine, REGBENCH and the built-in regular tasks.

Example:
    >>> import kleene
    >>> d = kleene.DFA.from_regex("a(b|c)*", alphabet="abc")
    >>> d.count(3)
    4
    >>> batch = d.sample(4, length=3, seed=0)
    >>> all(d.accepts(batch.tokens[i, :3].tolist()) for i in range(4))
    True
"""

from . import languages, regbench, tasks
from .dfa import DFA, LABELS, METHODS
from .regbench import dfa_accuracy, distribution_distance

__all__ = [
    "DFA",
    "LABELS",
    "METHODS",
    "dfa_accuracy",
    "distribution_distance",
    "languages",
    "regbench",
    "tasks",
]
