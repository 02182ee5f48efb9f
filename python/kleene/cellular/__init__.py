"""Cellular automata: elementary rules (1D) and Life-like rules (2D), bit-parallel in Rust.

Example:
    >>> import kleene
    >>> eca = kleene.ECA(90)
    >>> rows = eca.run("single", steps=7, width=31)
    >>> rows.shape, [int(r.sum()) for r in rows]
    ((8, 31), [1, 2, 2, 4, 2, 4, 4, 8])
    >>> life = kleene.Life("B3/S23")
    >>> g = kleene.cellular.pattern("glider", shape=(8, 8))
    >>> bool((life.run(g, 4)[-1] == np.roll(g, (1, 1), axis=(0, 1))).all())
    True
"""

from __future__ import annotations

import numpy as np  # noqa: F401  (used by the doctest above)

from .eca import BOUNDARIES, ECA
from .life import LIFE_BOUNDARIES, Life, soup
from .measures import complexity
from .patterns import PATTERNS, parse_rle, pattern
from .rules import (
    WOLFRAM_CLASS_SOURCE,
    WOLFRAM_CLASSES,
    RuleInfo,
    representatives,
    rule_info,
    wolfram_class,
)
from .tasks import EcaTask, LifeTask, lifegpt_text

__all__ = [
    "BOUNDARIES",
    "ECA",
    "LIFE_BOUNDARIES",
    "Life",
    "PATTERNS",
    "RuleInfo",
    "WOLFRAM_CLASSES",
    "WOLFRAM_CLASS_SOURCE",
    "EcaTask",
    "LifeTask",
    "complexity",
    "lifegpt_text",
    "parse_rle",
    "pattern",
    "representatives",
    "rule_info",
    "soup",
    "wolfram_class",
]
