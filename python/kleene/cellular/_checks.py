"""Argument checks shared by the cellular modules (clear ValueError / TypeError messages)."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_int(name: str, value: Any, low: int, high: int) -> int:
    """Returns ``value`` if it is an int in ``[low, high]``; raises otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
    if not low <= int(value) <= high:
        raise ValueError(f"`{name}` must be in [{low}, {high}], got {value}")
    return int(value)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Returns ``value`` if it is one of ``choices``; raises otherwise."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {', '.join(choices)}; got {value!r}")
    return value


def check_prob(name: str, value: Any) -> float:
    """Returns ``value`` as a float in ``[0, 1]``; raises otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"`{name}` must be in [0, 1], got {value}")
    return float(value)


def binary_cells(name: str, value: Any, ndims: tuple[int, ...]) -> np.ndarray:
    """``value`` as a C-contiguous uint8 array of 0/1 with one of the allowed ranks."""
    arr = np.asarray(value)
    if arr.ndim not in ndims:
        raise ValueError(
            f"`{name}` must have {' or '.join(map(str, ndims))} dimensions, got {arr.ndim}"
        )
    if arr.size == 0 or 0 in arr.shape:
        raise ValueError(f"`{name}` must not be empty, got shape {arr.shape}")
    if arr.dtype.kind not in "biu":
        raise TypeError(f"`{name}` must hold integers or booleans, got dtype {arr.dtype}")
    if arr.dtype != np.bool_ and (arr.max() > 1 or (arr.dtype.kind == "i" and arr.min() < 0)):
        raise ValueError(f"`{name}` must hold only 0 and 1")
    return np.ascontiguousarray(arr, dtype=np.uint8)
