"""Context-free grammars and PCFGs (``kleene.Grammar``) and the grammar tasks.

A grammar is written in a readable text format::

    # comment
    S -> a S b [0.4] | c [0.6]     # alternatives with probabilities
    T -> 'quoted terminal' | ε     # ε, eps and '' are the empty string
       | x                          # a line starting with '|' continues the rule above

The first left-hand side is the start symbol. A bare word with rules is a nonterminal, other
bare words are terminals (an undefined word starting with an upper-case letter is an error:
quote it to make it a terminal). Alternatives without weights are equally likely.

Example:
    >>> import kleene
    >>> g = kleene.Grammar.from_text("S -> a S b [0.4] | c [0.6]")
    >>> batch = g.sample(3, seed=0)
    >>> batch.tokens.shape[0], g.accepts("aacbb"), g.accepts("acbb")
    (3, True, False)
    >>> round(g.consistency()["expected_length"], 6)
    2.333333
"""

from . import chomsky as chomsky  # registers the Chomsky-hierarchy tasks
from . import tasks as tasks  # registers cfg3, cfg3_random, dyck
from .grammar import CFG3_PRESETS, DEFAULT_MAX_LENGTH, Grammar, Tree, kl_to_grammar

__all__ = ["CFG3_PRESETS", "DEFAULT_MAX_LENGTH", "Grammar", "Tree", "kl_to_grammar"]
