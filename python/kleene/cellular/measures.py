"""Complexity measures of space-time diagrams (computed in Rust, one trajectory per row)."""

from __future__ import annotations

from typing import Any

from .. import _core
from ._checks import binary_cells, check_int


def complexity(states: Any, *, block: int = 3, threads: int | None = None) -> dict[str, Any]:
    """Complexity of each trajectory ``[T, W]`` of ``states`` (``[T, W]`` or ``[B, T, W]``).

    - ``compression_ratio``: raw DEFLATE (level 9, the flate2 crate) size of the cells packed
      8 per byte over the packed size: about 1 for noise, near 0 for regular patterns.
    - ``lz_phrases``: Lempel-Ziv (1976) complexity of the cells read row by row, and
      ``lz_normalized`` = ``lz_phrases * log2(n) / n`` (about 1 for fair coin flips).
    - ``block_entropy``: Shannon entropy of the length-``block`` words inside rows, in bits
      per cell.

    Returns:
        A dict of float arrays ``[B]`` (int64 for ``lz_phrases``), or of scalars for a single
        ``[T, W]`` trajectory.

    Example:
        >>> import kleene
        >>> noise = kleene.ECA(30).run("random", 63, width=64, seed=1)
        >>> still = kleene.ECA(204).run("single", 63, width=64)
        >>> complexity(noise)["lz_normalized"] > 5 * complexity(still)["lz_normalized"]
        True
    """
    cells = binary_cells("states", states, (2, 3))
    single = cells.ndim == 2
    cells = cells.reshape(-1, *cells.shape[-2:])
    out = _core.cellular_measures(cells, block=check_int("block", block, 1, 16), threads=threads)
    return {k: v[0].item() for k, v in out.items()} if single else out
