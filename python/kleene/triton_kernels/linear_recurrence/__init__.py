"""First-order linear recurrences h_t = a_t * h_{t-1} + x_t (real signed or complex gates).

``linear_recurrence`` is the public op (Triton on CUDA, PyTorch reference on CPU);
``linear_recurrence_ref`` is the oracle with the same signature.
"""

from .op import linear_recurrence
from .reference import linear_recurrence_ref

__all__ = ["linear_recurrence", "linear_recurrence_ref"]
