"""Selective scan (Mamba S6): fused Triton forward / backward and a PyTorch reference.

``selective_scan`` has mamba_ssm's ``selective_scan_fn`` signature (plus ``signed_gate``,
``initial_state``, ``cu_seqlens``); ``selective_scan_ref`` is the oracle with the same one.
"""

from .api import selective_scan
from .op import MAX_D_STATE
from .reference import selective_scan_ref

__all__ = ["MAX_D_STATE", "selective_scan", "selective_scan_ref"]
