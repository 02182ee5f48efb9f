"""Complexity of the 88 elementary-rule classes, as in "Intelligence at the Edge of Chaos".

For each class representative: one trajectory from a random row (width 1000, 1000 steps,
the paper's defaults), then its compression ratio, Lempel-Ziv complexity and block entropy,
grouped by Wolfram class. Run: ``python examples/cellular_complexity.py``.
"""

from __future__ import annotations

import numpy as np

import kleene
from kleene.cellular import complexity, representatives, rule_info


def main(width: int = 1000, steps: int = 1000, seed: int = 1234) -> None:
    reps = representatives()
    states = np.stack(
        [kleene.ECA(r).run("random", steps, width=width, seed=seed) for r in reps]
    )  # [88, steps + 1, width]
    m = complexity(states)
    print("rule  class  lambda  compression  lz_norm  entropy")
    for i, r in enumerate(reps):
        info = rule_info(r)
        print(
            f"{r:4d}  {info.wolfram_class:5d}  {info.langton_lambda:6.3f}  "
            f"{m['compression_ratio'][i]:11.3f}  {m['lz_normalized'][i]:7.3f}  "
            f"{m['block_entropy'][i]:7.3f}"
        )
    classes = np.array([rule_info(r).wolfram_class for r in reps])
    for c in (1, 2, 3, 4):
        sel = classes == c
        print(
            f"class {c}: {sel.sum():2d} rules, mean compression ratio "
            f"{m['compression_ratio'][sel].mean():.3f}, "
            f"mean LZ {m['lz_normalized'][sel].mean():.3f}"
        )


if __name__ == "__main__":
    main()
