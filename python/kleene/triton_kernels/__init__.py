"""Triton kernels with pure-PyTorch references (CPU path) and torch.library registration.

Importing this package imports torch (and triton when available); ``import kleene`` does not.
Each op lives in its own sub-package: ``reference.py`` (the oracle), the Triton kernels, and
the autograd / torch.library glue.
"""

from .linear_recurrence import linear_recurrence, linear_recurrence_ref
from .rglru import rglru_scan, rglru_scan_ref
from .selective_scan import selective_scan, selective_scan_ref

__all__ = [
    "linear_recurrence",
    "linear_recurrence_ref",
    "rglru_scan",
    "rglru_scan_ref",
    "selective_scan",
    "selective_scan_ref",
]
