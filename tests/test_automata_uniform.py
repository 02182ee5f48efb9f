"""The uniform sampler is exactly uniform beyond 128-bit counts: prefix frequencies against the
exact probabilities from an independent big-integer count (Python ints)."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import chisquare

from kleene import DFA


def no_cc_count(length: int, last_is_c: bool) -> int:
    """Strings over {a, b, c} without "cc" of ``length`` that may follow a symbol (a ``c`` when
    ``last_is_c``): the transfer-matrix recurrence, in exact integers."""
    free, after_c = 1, 1  # counts of the empty suffix after a non-c / after a c
    for _ in range(length):
        free, after_c = 2 * free + after_c, 2 * free
    return after_c if last_is_c else free


def test_prefixes_follow_the_exact_law_when_counts_exceed_128_bits():
    length, n = 100, 20_000
    dfa = DFA.from_regex("(a|b|ca|cb)*(c|)", "abc")
    total = no_cc_count(length, False)
    assert total > 2**128 and abs(dfa.log_count(length) - np.log(float(total))) < 1e-9
    assert not dfa.count_is_exact(length)  # past 128 bits: the multi-word path runs
    batch = dfa.sample(n, length, method="uniform", seed=7)
    assert all(dfa.accepts(batch.decode(i)) for i in range(0, n, 97))
    prefixes = [p for p in itertools.product("abc", repeat=2) if p != ("c", "c")]
    expected = [no_cc_count(length - 2, p[1] == "c") / total * n for p in prefixes]
    ids = {s: i for i, s in enumerate("abc")}
    code = batch.tokens[:, 0] * 3 + batch.tokens[:, 1]
    observed = [int((code == ids[x] * 3 + ids[y]).sum()) for x, y in prefixes]
    assert sum(observed) == n
    assert chisquare(observed, expected).pvalue > 1e-4
    # every string is distinct with overwhelming probability among 2^145
    assert len({row.tobytes() for row in np.asarray(batch.tokens)}) == n
