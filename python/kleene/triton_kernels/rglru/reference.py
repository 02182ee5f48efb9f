"""RG-LRU recurrence with its gate math in plain PyTorch: the oracle of the fused kernel and the
CPU path. Same signature as :func:`kleene.triton_kernels.rglru.rglru_scan`.

Griffin (De et al. 2024, arXiv 2402.19427), as RecurrentGemma computes it: i_t = sigmoid(gx_t),
r_t = sigmoid(ga_t), log a_t = -c r_t softplus(Lambda), h_t = a_t h_{t-1} + m_t (i_t x_t) with
m_t = sqrt(1 - a_t^2), except m_t = 1 at the first step of a sequence that starts without an
initial state (the reset). The sqrt has a bounded derivative (its argument clamped at 1e-6).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..linear_recurrence import linear_recurrence

__all__ = ["rglru_scan_ref", "sequence_starts"]


def _at_least_fp32(t: Tensor) -> Tensor:
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


class _SqrtBoundDerivative(torch.autograd.Function):
    """sqrt(x) whose gradient is capped at 1000, as in RecurrentGemma (avoids inf near x = 0)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return torch.sqrt(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad / (2 * torch.sqrt(x.clamp(min=1e-6)))


def sequence_starts(length: int, cu_seqlens: Tensor | None, device) -> Tensor:
    """bool [1, T, 1]: the first step of every (non-empty) sequence."""
    starts = torch.zeros(length, dtype=torch.bool, device=device)
    if cu_seqlens is None:
        starts[:1] = True
    else:
        bos, eos = cu_seqlens[:-1].long(), cu_seqlens[1:].long()
        starts[bos[eos > bos]] = True  # empty sequences have no first step
    return starts[None, :, None]


def rglru_gates(x: Tensor, gx: Tensor, ga: Tensor, decay: Tensor, c: float):
    """(log a, gated input i * x) in fp32 (fp64 for fp64 inputs); decay = softplus(Lambda)."""
    log_a = -c * torch.sigmoid(_at_least_fp32(ga)) * _at_least_fp32(decay)
    return log_a, _at_least_fp32(x) * torch.sigmoid(_at_least_fp32(gx))


def rglru_normalise(log_a: Tensor, gated: Tensor, reset: Tensor | None) -> Tensor:
    """m_t (i_t x_t) with m_t = sqrt(1 - a_t^2), or 1 where ``reset``."""
    multiplier = _SqrtBoundDerivative.apply(-torch.expm1(2 * log_a))
    if reset is not None:
        multiplier = torch.where(reset, torch.ones_like(multiplier), multiplier)
    return gated * multiplier


def rglru_scan_ref(
    x: Tensor,
    gx: Tensor,
    ga: Tensor,
    decay: Tensor,
    c: float = 8.0,
    initial_state: Tensor | None = None,
    cu_seqlens: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Returns (h [B, T, W] in x.dtype, final states [N, W] fp32 / fp64)."""
    log_a, gated = rglru_gates(x, gx, ga, decay, c)
    reset = None if initial_state is not None else sequence_starts(x.shape[1], cu_seqlens, x.device)
    h, final = linear_recurrence(
        torch.exp(log_a), rglru_normalise(log_a, gated, reset), initial_state,
        cu_seqlens=cu_seqlens, output_final_state=True,
    )  # fmt: skip
    return h.to(x.dtype), final
