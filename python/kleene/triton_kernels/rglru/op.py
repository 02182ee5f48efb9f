"""Public ``rglru_scan``: the RG-LRU recurrence with its gate math fused into one Triton pass
(CUDA, or CPU with ``KLEENE_TRITON_CPU=1`` and ``TRITON_INTERPRET=1``), otherwise the PyTorch
reference. Registered as ``kleene::rglru_scan`` / ``kleene::rglru_scan_bwd`` custom ops with
fake implementations and ``register_autograd`` so ``torch.compile(fullgraph=True)`` traces it.
"""

from __future__ import annotations

import os

import torch
import triton
from torch import Tensor

from .reference import rglru_scan_ref

__all__ = ["rglru_scan"]

_KERNEL_DTYPES = (torch.float32, torch.float16, torch.bfloat16)

FWD_WARPS, BWD_WARPS = 4, 8
"""Warps per program; at 64 x 32 tiles the backward spilled 76 bytes at 4 warps on sm_90
(bench/test_scan_compile.py)."""


def use_fused(x: Tensor) -> bool:
    """Whether ``rglru_scan`` runs the fused kernels for these inputs."""
    if x.dtype not in _KERNEL_DTYPES:
        return False
    if x.is_cuda:
        return True
    return os.environ.get("KLEENE_TRITON_CPU") == "1" and os.environ.get("TRITON_INTERPRET") == "1"


def _blocks() -> tuple[int, int]:
    if os.environ.get("TRITON_INTERPRET") == "1":
        return 16, 32
    return 64, 32


def _n_seq(x: Tensor, cu_seqlens: Tensor | None) -> int:
    return x.shape[0] if cu_seqlens is None else cu_seqlens.shape[0] - 1


@torch.library.custom_op("kleene::rglru_scan", mutates_args=())
def _rglru_op(
    x: Tensor, gx: Tensor, ga: Tensor, decay: Tensor, c: float,
    initial_state: Tensor | None, cu_seqlens: Tensor | None,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    from .kernels import fused_rglru_fwd_kernel

    batch, length, dim = x.shape
    n = _n_seq(x, cu_seqlens)
    h = torch.empty_like(x)
    ht = torch.empty(n, dim, dtype=torch.float32, device=x.device)
    h0 = None if initial_state is None else initial_state.float().contiguous()
    bt, bd = _blocks()
    fused_rglru_fwd_kernel[(triton.cdiv(dim, bd), n)](
        x, gx, ga, decay, h, ht if h0 is None else h0, ht, cu_seqlens, float(c),
        length, dim, x.stride(0), x.stride(1),
        BT=bt, BD=bd, USE_INITIAL_STATE=h0 is not None, IS_VARLEN=cu_seqlens is not None,
        num_warps=FWD_WARPS,
    )  # fmt: skip
    return h, ht


@_rglru_op.register_fake
def _(x, gx, ga, decay, c, initial_state, cu_seqlens):
    n = _n_seq(x, cu_seqlens)
    return torch.empty_like(x), x.new_empty((n, x.shape[-1]), dtype=torch.float32)


@torch.library.custom_op("kleene::rglru_scan_bwd", mutates_args=())
def _rglru_bwd_op(
    x: Tensor, gx: Tensor, ga: Tensor, decay: Tensor, c: float, h: Tensor,
    initial_state: Tensor | None, cu_seqlens: Tensor | None, dh: Tensor, dht: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:  # fmt: skip
    from .kernels import fused_rglru_bwd_kernel

    batch, length, dim = x.shape
    n = _n_seq(x, cu_seqlens)
    dx, dgx, dga = (torch.empty_like(x) for _ in range(3))
    f32 = dict(dtype=torch.float32, device=x.device)
    ddecay, dh0 = torch.empty(n, dim, **f32), torch.empty(n, dim, **f32)
    h0 = None if initial_state is None else initial_state.float().contiguous()
    dht = None if dht is None else dht.float().contiguous()
    bt, bd = _blocks()
    fused_rglru_bwd_kernel[(triton.cdiv(dim, bd), n)](
        x, gx, ga, decay, h, dh0 if h0 is None else h0, dh.contiguous(),
        dh0 if dht is None else dht, dx, dgx, dga, ddecay, dh0, cu_seqlens, float(c),
        length, dim, x.stride(0), x.stride(1),
        BT=bt, BD=bd, USE_INITIAL_STATE=h0 is not None,
        USE_FINAL_STATE_GRADIENT=dht is not None, IS_VARLEN=cu_seqlens is not None,
        num_warps=BWD_WARPS,
    )  # fmt: skip
    return dx, dgx, dga, ddecay.sum(0), dh0


@_rglru_bwd_op.register_fake
def _(x, gx, ga, decay, c, h, initial_state, cu_seqlens, dh, dht):
    n = _n_seq(x, cu_seqlens)
    f32 = dict(dtype=torch.float32, device=x.device)
    return (
        torch.empty_like(x), torch.empty_like(x), torch.empty_like(x),
        torch.empty(x.shape[-1], **f32), torch.empty(n, x.shape[-1], **f32),
    )  # fmt: skip


def _setup_context(ctx, inputs, output):
    x, gx, ga, decay, c, initial_state, cu_seqlens = inputs
    ctx.save_for_backward(x, gx, ga, decay, output[0], initial_state, cu_seqlens)
    ctx.c = c
    ctx.types = (decay.dtype, None if initial_state is None else initial_state.dtype)


def _backward(ctx, dh, dht):
    x, gx, ga, decay, h, initial_state, cu_seqlens = ctx.saved_tensors
    if dh is None:
        dh = torch.zeros_like(h)
    dx, dgx, dga, ddecay, dh0 = _rglru_bwd_op(
        x, gx, ga, decay, ctx.c, h, initial_state, cu_seqlens, dh, dht
    )
    decay_dtype, h0_dtype = ctx.types
    dh0 = None if initial_state is None else dh0.to(h0_dtype)
    return dx, dgx, dga, ddecay.to(decay_dtype), None, dh0, None


_rglru_op.register_autograd(_backward, setup_context=_setup_context)


def rglru_scan(
    x: Tensor,
    gx: Tensor,
    ga: Tensor,
    decay: Tensor,
    c: float = 8.0,
    initial_state: Tensor | None = None,
    cu_seqlens: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """The RG-LRU recurrence from its pre-activations, gates fused into the scan.

    i_t = sigmoid(gx_t), r_t = sigmoid(ga_t), a_t = exp(-c r_t decay), h_t = a_t h_{t-1} +
    sqrt(1 - a_t^2) i_t x_t, with the sqrt factor 1 at the first step of a sequence started
    without ``initial_state`` (Griffin / RecurrentGemma).

    Args:
        x, gx, ga: input and the input / recurrence gate pre-activations [B, T, W], one dtype
            (fp16 / bf16 / fp32 fused; fp64 runs the reference).
        decay: softplus(Lambda) [W] (fp32), the per-channel decay rate.
        c: the constant c (8 in Griffin).
        initial_state: fp32 states [N, W]; sequences then continue without a reset.
        cu_seqlens: int offsets [N + 1] of packed sequences (B = 1).

    Returns:
        (h [B, T, W] in x.dtype, final states [N, W] fp32).
    """
    if not use_fused(x):
        return rglru_scan_ref(x, gx, ga, decay, c, initial_state, cu_seqlens)
    x, gx, ga = (t.contiguous() for t in (x, gx, ga))
    decay = decay.contiguous()
    return _rglru_op(x, gx, ga, decay, float(c), initial_state, cu_seqlens)
