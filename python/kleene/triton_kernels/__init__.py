"""Triton kernels with pure-PyTorch references (CPU path) and torch.library registration.

Importing this package imports torch (and triton when available); ``import kleene`` does not.
Each op lives in its own sub-package: ``reference.py`` (the oracle), the Triton kernels, and
the autograd / torch.library glue.
"""

from .selective_scan import selective_scan, selective_scan_ref  # noqa: F401
