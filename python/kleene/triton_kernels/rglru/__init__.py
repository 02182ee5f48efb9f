"""RG-LRU recurrence (Griffin) with the gate math fused into the scan.

``rglru_scan`` is the public op (fused Triton kernels on CUDA, the PyTorch reference on CPU);
``rglru_scan_ref`` is the oracle with the same signature.
"""

from .op import rglru_scan
from .reference import rglru_scan_ref

__all__ = ["rglru_scan", "rglru_scan_ref"]
