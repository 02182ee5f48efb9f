"""Metadata of the 256 elementary rules: symmetry classes, Langton's lambda, Wolfram classes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from .. import _core
from ._checks import check_int

WOLFRAM_CLASS_SOURCE = (
    "Wolfram classes of the 88 class representatives as commonly used in the literature "
    "(S. Wolfram, 'Universality and complexity in cellular automata', Physica D 10, 1984; "
    "A New Kind of Science, 2002; tabulated e.g. in G. J. Martinez, 'A note on elementary "
    "cellular automata classification', J. Cellular Automata 8, 2013). Class 1: 0 8 32 40 "
    "128 136 160 168; class 3: 18 22 30 45 60 90 105 122 126 146 150; class 4: 41 54 106 "
    "110; class 2: the other 65. Borderline rules differ between sources: pass your own table."
)

WOLFRAM_CLASSES: dict[int, int] = {}
"""Default table: class representative -> Wolfram class (1-4), filled below from the core."""


class RuleInfo(NamedTuple):
    """Facts about one elementary rule."""

    rule: int
    representative: int
    """Smallest rule equivalent under reflection and complement."""
    reflected: int
    complemented: int
    equivalents: tuple[int, ...]
    """The rule's class (1, 2 or 4 rules), sorted."""
    langton_lambda: float
    """Fraction of the 8 neighbourhoods mapping to 1 (quiescent state 0)."""
    wolfram_class: int
    """From :data:`WOLFRAM_CLASSES` (see :data:`WOLFRAM_CLASS_SOURCE`)."""


def rule_info(rule: int) -> RuleInfo:
    """Symmetries, lambda and default Wolfram class of ``rule`` (0..255).

    Example:
        >>> rule_info(110).equivalents, rule_info(110).wolfram_class
        ((110, 124, 137, 193), 4)
    """
    rule = check_int("rule", rule, 0, 255)
    rep, refl, comp, lam, cls = _core.eca_rule_info(rule)
    both = _core.eca_rule_info(comp)[1]
    equivalents = tuple(sorted({rule, refl, comp, both}))
    return RuleInfo(rule, rep, refl, comp, equivalents, lam, cls)


def representatives() -> list[int]:
    """The 88 minimal representatives of the classes under reflection and complement."""
    return list(_core.eca_representatives())


def wolfram_class(rule: int, table: Mapping[int, int] | None = None) -> int:
    """The Wolfram class of ``rule``: ``table`` (default :data:`WOLFRAM_CLASSES`) is looked up
    at the rule itself, then at its class representative.

    Raises:
        ValueError: ``rule`` is outside 0..255 or neither key is in ``table``.
    """
    info = rule_info(rule)
    table = WOLFRAM_CLASSES if table is None else table
    for key in (info.rule, info.representative):
        if key in table:
            return int(table[key])
    raise ValueError(f"rule {rule} (representative {info.representative}) is not in `table`")


WOLFRAM_CLASSES.update({r: _core.eca_rule_info(r)[4] for r in _core.eca_representatives()})
