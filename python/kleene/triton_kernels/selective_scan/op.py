"""Launchers of the selective-scan kernels and their ``torch.library`` registration.

``kleene::selective_scan_fwd`` / ``kleene::selective_scan_bwd`` are custom ops with fake
implementations, and the backward is attached with ``register_autograd``, so
``torch.compile(fullgraph=True)`` traces through the Triton path without a graph break.
Inputs reaching these ops are already validated and canonical: contiguous, B and C either
``[d, N]`` or ``[b, G, N, L]``.
"""

import torch
import triton

from .kernels import selective_scan_bwd_kernel, selective_scan_fwd_kernel

Tensor = torch.Tensor

MAX_D_STATE = 256
"""Largest d_state (N) the kernels accept, as in mamba_ssm."""

TILE_BUDGET, BWD_TILE_BUDGET = 4096, 2048
"""Elements of one ``[BD, BN, BT]`` fp32 tile held by a forward / backward program (the
backward keeps more tiles live; it takes fewer channels, the same BT)."""

FWD_WARPS, BWD_WARPS = 4, 8
"""Warps per program. Compiled for sm_90 by ptxas (bench/test_scan_compile.py) at N = 16,
bf16: the forward uses 255 registers without spills at 4 warps; the backward with its
checkpoint recomputation spilled 68 bytes at 8 warps with a 4096-element tile, none at 2048."""

FORCE_BLOCK_T: int | None = None
"""Tests set this to a small power of two so that short sequences span several tiles."""

CHECKPOINT_STEPS = 2048
"""The forward saves the state every this many steps (mamba_ssm saves its chunk carries at the
same spacing); the backward recomputes the states in between."""

FORCE_CHECKPOINT_TILES: int | None = None
"""Tests set this to a small count so that short sequences span several checkpoints."""


def block_sizes(d_state: int, group_dim: int, budget: int = TILE_BUDGET) -> tuple[int, int, int]:
    """(BD channels, BN padded state, BT steps) per program. BT does not depend on the
    budget, so forward and backward tiles (and checkpoints) line up."""
    bn = triton.next_power_of_2(d_state)
    bt = FORCE_BLOCK_T or max(16, min(64, TILE_BUDGET // bn))
    bd = max(1, min(triton.next_power_of_2(group_dim), budget // (bn * bt)))
    return bd, bn, bt


def _groups(B: Tensor, C: Tensor) -> int:
    return B.shape[1] if B.dim() == 4 else (C.shape[1] if C.dim() == 4 else 1)


def checkpoint_tiles(bt: int) -> int:
    """Tiles of BT steps between two saved states."""
    return FORCE_CHECKPOINT_TILES or max(1, CHECKPOINT_STEPS // bt)


def _rows(u: Tensor, cu_seqlens: Tensor | None, steps: int) -> tuple[int, int]:
    """(number of sequences, rows needed for one state every ``steps`` steps). With packing
    each sequence wastes at most one partial block, so ``ceil(L / steps) + S`` rows suffice."""
    L = u.shape[2]
    if cu_seqlens is None:
        return u.shape[0], u.shape[0] * triton.cdiv(L, steps)
    n_seq = cu_seqlens.shape[0] - 1
    return n_seq, triton.cdiv(L, steps) + n_seq


def _row_offsets(cu_seqlens: Tensor, steps: int) -> Tensor:
    """First row of every packed sequence, one row per ``steps`` steps of each."""
    lens = cu_seqlens[1:] - cu_seqlens[:-1]
    counts = (lens + steps - 1) // steps
    return torch.cumsum(counts, 0) - counts


def _common(
    u: Tensor, A: Tensor, B: Tensor, C: Tensor, cu_seqlens: Tensor | None, budget=TILE_BUDGET
):
    b, dim, L = u.shape
    n = A.shape[1]
    g = _groups(B, C)
    bd, bn, bt = block_sizes(n, dim // g, budget)
    ckpt = checkpoint_tiles(bt)
    n_seq, n_rows = _rows(u, cu_seqlens, bt * ckpt)
    grid = (g * triton.cdiv(dim // g, bd), n_seq)
    meta = dict(L=L, DIM=dim, DG=dim // g, N=n, G=g, NCHUNK=triton.cdiv(L, bt * ckpt),
                BD=bd, BN=bn, BT=bt, CKPT=ckpt)  # fmt: skip
    offsets = _row_offsets(cu_seqlens, bt * ckpt) if cu_seqlens is not None else u
    return grid, meta, n_seq, n_rows, offsets


def _scratch(u: Tensor, cu_seqlens: Tensor | None, meta: dict) -> tuple[Tensor, Tensor, int]:
    """Backward scratch for the entry states of one checkpoint's tiles: (buffer, per-sequence
    first rows when packed, rows per dense sequence). Packed sequences get one row per tile
    (each may be shorter than a checkpoint), dense ones ``min(CKPT, tiles)`` rows."""
    bt, dim, n = meta["BT"], meta["DIM"], meta["N"]
    scr = min(meta["CKPT"], triton.cdiv(u.shape[2], bt))
    if cu_seqlens is None:
        rows, offsets = u.shape[0] * scr, u
    else:
        rows = _rows(u, cu_seqlens, bt)[1]
        offsets = _row_offsets(cu_seqlens, bt)
    return u.new_empty((rows, dim, n), dtype=torch.float32), offsets, max(scr, 1)


def _device_guard(t: Tensor):
    # no torch.cuda call on the CPU / interpreter path
    return torch.cuda.device(t.device) if t.is_cuda else _NullContext()


class _NullContext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


@torch.library.custom_op("kleene::selective_scan_fwd", mutates_args=())
def selective_scan_fwd(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None,
    z: Tensor | None,
    delta_bias: Tensor | None,
    initial_state: Tensor | None,
    cu_seqlens: Tensor | None,
    delta_softplus: bool,
    signed_gate: bool,
    save_states: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    """Returns (out ``[b, d, L]``, last state ``[S, d, N]`` fp32, the states saved every
    ``CHECKPOINT_STEPS`` steps for the backward, ``[rows, d, N]`` fp32)."""
    grid, meta, n_seq, n_rows, offsets = _common(u, A, B, C, cu_seqlens)
    dim, n = meta["DIM"], meta["N"]
    out = torch.empty_like(u)
    last = u.new_empty((n_seq, dim, n), dtype=torch.float32)
    states = u.new_empty((n_rows if save_states else 0, dim, n), dtype=torch.float32)
    with _device_guard(u):
        selective_scan_fwd_kernel[grid](
            u, delta, A, B, C,
            u if D is None else D, u if z is None else z,
            u if delta_bias is None else delta_bias,
            u if initial_state is None else initial_state,
            u if cu_seqlens is None else cu_seqlens, offsets,
            out, last, states if save_states else last,
            HAS_D=D is not None, HAS_Z=z is not None, HAS_BIAS=delta_bias is not None,
            SOFTPLUS=delta_softplus, SIGNED=signed_gate,
            B_VARYING=B.dim() == 4, C_VARYING=C.dim() == 4,
            HAS_H0=initial_state is not None, SAVE_STATES=save_states,
            IS_VARLEN=cu_seqlens is not None, num_warps=FWD_WARPS, **meta,
        )  # fmt: skip
    return out, last, states


@selective_scan_fwd.register_fake
def _(u, delta, A, B, C, D, z, delta_bias, initial_state, cu_seqlens, delta_softplus,
      signed_gate, save_states):  # fmt: skip
    _, meta, n_seq, n_rows, _ = _common(u, A, B, C, cu_seqlens)
    dim, n = meta["DIM"], meta["N"]
    last = u.new_empty((n_seq, dim, n), dtype=torch.float32)
    states = u.new_empty((n_rows if save_states else 0, dim, n), dtype=torch.float32)
    return torch.empty_like(u), last, states


def _bwd_buffers(u, A, B, C, z, n_seq):
    """Output buffers of the backward kernel; every one is fully written by it except the
    input-dependent dB / dC, which are accumulated with atomics and so start at zero."""
    dim, n = A.shape
    f32 = dict(dtype=torch.float32, device=u.device)
    part = (n_seq, dim, n)
    return dict(
        du=torch.empty_like(u),
        ddelta=torch.empty_like(u),
        dz=torch.empty_like(z) if z is not None else u.new_empty(0),
        dA=torch.empty(part, **f32),
        dB=torch.zeros(B.shape, **f32) if B.dim() == 4 else torch.empty(part, **f32),
        dC=torch.zeros(C.shape, **f32) if C.dim() == 4 else torch.empty(part, **f32),
        dD=torch.empty((n_seq, dim), **f32),
        dbias=torch.empty((n_seq, dim), **f32),
        dh0=torch.empty(part, **f32),
    )


@torch.library.custom_op("kleene::selective_scan_bwd", mutates_args=())
def selective_scan_bwd(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None,
    z: Tensor | None,
    delta_bias: Tensor | None,
    cu_seqlens: Tensor | None,
    states: Tensor,
    dout: Tensor,
    dlast: Tensor | None,
    delta_softplus: bool,
    signed_gate: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Returns (du, ddelta, dA, dB, dC, dD, dz, ddelta_bias, dinitial_state), reduced over
    sequences; dz is empty without z. Parameter gradients are fp32."""
    grid, meta, n_seq, _, offsets = _common(u, A, B, C, cu_seqlens, BWD_TILE_BUDGET)
    buf = _bwd_buffers(u, A, B, C, z, n_seq)
    scratch, tile_offsets, scr = _scratch(u, cu_seqlens, meta)
    with _device_guard(u):
        selective_scan_bwd_kernel[grid](
            u, delta, A, B, C,
            u if D is None else D, u if z is None else z,
            u if delta_bias is None else delta_bias,
            u if cu_seqlens is None else cu_seqlens, offsets, tile_offsets, states, scratch,
            dout,
            u if dlast is None else dlast,
            buf["du"], buf["ddelta"], buf["dz"] if z is not None else u,
            buf["dA"], buf["dB"], buf["dC"], buf["dD"], buf["dbias"], buf["dh0"],
            HAS_D=D is not None, HAS_Z=z is not None, HAS_BIAS=delta_bias is not None,
            SOFTPLUS=delta_softplus, SIGNED=signed_gate,
            B_VARYING=B.dim() == 4, C_VARYING=C.dim() == 4,
            HAS_DLAST=dlast is not None, IS_VARLEN=cu_seqlens is not None, SCR=scr,
            num_warps=BWD_WARPS, **meta,
        )  # fmt: skip
    dB = buf["dB"].to(B.dtype) if B.dim() == 4 else buf["dB"].sum(0)
    dC = buf["dC"].to(C.dtype) if C.dim() == 4 else buf["dC"].sum(0)
    return (
        buf["du"], buf["ddelta"], buf["dA"].sum(0), dB, dC,
        buf["dD"].sum(0), buf["dz"], buf["dbias"].sum(0), buf["dh0"],
    )  # fmt: skip


@selective_scan_bwd.register_fake
def _(u, delta, A, B, C, D, z, delta_bias, cu_seqlens, states, dout, dlast, delta_softplus,
      signed_gate):  # fmt: skip
    dim, n = A.shape
    n_seq = u.shape[0] if cu_seqlens is None else cu_seqlens.shape[0] - 1
    f32 = dict(dtype=torch.float32, device=u.device)
    return (
        torch.empty_like(u),
        torch.empty_like(u),
        torch.empty((dim, n), **f32),
        torch.empty(B.shape, dtype=B.dtype if B.dim() == 4 else torch.float32, device=u.device),
        torch.empty(C.shape, dtype=C.dtype if C.dim() == 4 else torch.float32, device=u.device),
        torch.empty((dim,), **f32),
        torch.empty_like(z) if z is not None else u.new_empty(0),
        torch.empty((dim,), **f32),
        torch.empty((n_seq, dim, n), **f32),
    )


def _setup_context(ctx, inputs, output):
    (u, delta, A, B, C, D, z, delta_bias, h0, cu_seqlens, softplus, signed, _) = inputs
    ctx.save_for_backward(u, delta, A, B, C, D, z, delta_bias, cu_seqlens, output[2])
    ctx.flags = (softplus, signed, h0 is not None)
    ctx.h0_dtype = h0.dtype if h0 is not None else None


def _backward(ctx, dout, dlast, _dstates):
    u, delta, A, B, C, D, z, delta_bias, cu_seqlens, states = ctx.saved_tensors
    softplus, signed, has_h0 = ctx.flags
    if dlast is not None:
        dlast = dlast.contiguous()
    du, ddelta, dA, dB, dC, dD, dz, dbias, dh0 = selective_scan_bwd(
        u, delta, A, B, C, D, z, delta_bias, cu_seqlens, states, dout.contiguous(), dlast,
        softplus, signed,
    )  # fmt: skip
    return (
        du, ddelta, dA.to(A.dtype), dB.to(B.dtype), dC.to(C.dtype),
        dD.to(D.dtype) if D is not None else None,
        dz if z is not None else None,
        dbias.to(delta_bias.dtype) if delta_bias is not None else None,
        dh0.to(ctx.h0_dtype) if has_h0 else None,
        None, None, None, None,
    )  # fmt: skip


selective_scan_fwd.register_autograd(_backward, setup_context=_setup_context)
