"""Classic Life patterns, stored as run-length encoded (RLE) text."""

from __future__ import annotations

import re

import numpy as np

PATTERNS: dict[str, str] = {
    "glider": "bo$2bo$3o!",
    "blinker": "3o!",
    "block": "2o$2o!",
    "beehive": "b2o$o2bo$b2o!",
    "r_pentomino": "b2o$2o$bo!",
    "gosper_gun": (
        "24bo$22bobo$12b2o6b2o12b2o$11bo3bo4b2o12b2o$2o8bo5bo3b2o$2o8bo3bob2o4bobo$"
        "10bo5bo7bo$11bo3bo$12b2o!"
    ),
}
"""Name -> RLE (``b`` dead, ``o`` alive, ``$`` end of row, ``!`` end, counts before tags)."""


def parse_rle(text: str) -> np.ndarray:
    """Decodes an RLE pattern body (header lines ``x = ..`` and ``#`` comments are skipped)
    into its bounding box, uint8 ``[rows, cols]``.

    Example:
        >>> parse_rle("bo$2bo$3o!").tolist()
        [[0, 1, 0], [0, 0, 1], [1, 1, 1]]
    """
    body = "".join(
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "x"))
    )
    rows: list[list[int]] = [[]]
    for count, tag in re.findall(r"(\d*)([bo$!])", body.split("!")[0] + "!"):
        n = int(count) if count else 1
        if tag == "$":
            rows.extend([] for _ in range(n))
        elif tag in "bo":
            rows[-1].extend([int(tag == "o")] * n)
    if not re.fullmatch(r"(\d*[bo$])*\d*!?", body.split("!")[0] + "!") or not any(rows):
        raise ValueError(f"not a valid RLE pattern: {text!r}")
    width = max(len(r) for r in rows)
    grid = np.zeros((len(rows), width), dtype=np.uint8)
    for i, r in enumerate(rows):
        grid[i, : len(r)] = r
    return grid


def pattern(
    name: str, shape: tuple[int, int] | None = None, offset: tuple[int, int] = (1, 1)
) -> np.ndarray:
    """A named pattern (see :data:`PATTERNS`), alone or placed at ``offset`` (row, col) in a
    dead grid of ``shape``.

    Returns:
        uint8 ``[rows, cols]`` (the bounding box) or ``shape``.
    """
    if name not in PATTERNS:
        raise ValueError(f"unknown pattern {name!r}; valid: {', '.join(PATTERNS)}")
    cells = parse_rle(PATTERNS[name])
    if shape is None:
        return cells
    h, w = shape
    r, c = offset
    if r < 0 or c < 0 or r + cells.shape[0] > h or c + cells.shape[1] > w:
        raise ValueError(
            f"pattern {name!r} of size {cells.shape} at {offset} does not fit in {shape}"
        )
    grid = np.zeros((h, w), dtype=np.uint8)
    grid[r : r + cells.shape[0], c : c + cells.shape[1]] = cells
    return grid
