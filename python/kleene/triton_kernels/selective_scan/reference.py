"""Pure-PyTorch selective scan (Mamba S6): the oracle for the Triton kernels and the CPU path.

Same signature and semantics as :func:`kleene.triton_kernels.selective_scan`. The state is
carried in fp32 (fp64 when any input is fp64) by a plain loop over time, so autograd through
it gives reference gradients for every input, the initial state and the last state.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


def _compute_dtype(*tensors: Tensor | None) -> torch.dtype:
    if any(t is not None and t.dtype == torch.float64 for t in tensors):
        return torch.float64
    return torch.float32


def _per_channel(M: Tensor, dim: int, dtype: torch.dtype) -> Tensor:
    """B or C as ``[batch, dim, N, L]`` (input-dependent) or ``[dim, N]`` (constant)."""
    M = M.to(dtype)
    if M.dim() == 2:
        return M
    if M.dim() == 3:
        M = M.unsqueeze(1)
    return M.repeat_interleave(dim // M.shape[1], dim=1)


def _scan_dense(dA: Tensor, dBu: Tensor, C: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
    """Runs x_t = dA_t * x_{t-1} + dBu_t and returns (sum_n x_t C_t ``[b, d, L]``, x_L)."""
    ys = []
    for t in range(dA.shape[-1]):
        h = dA[..., t] * h + dBu[..., t]
        c_t = C if C.dim() == 2 else C[..., t]
        ys.append((h * c_t).sum(-1))
    y = torch.stack(ys, dim=-1) if ys else dA.new_zeros(h.shape[:-1] + (0,))
    return y, h


def _scan_batch(u, delta, A, B, C, h0, signed_gate):
    """The recurrence for dense ``[b, d, L]`` inputs (delta already biased / softplus-ed)."""
    dA = torch.exp(delta.unsqueeze(2) * A.unsqueeze(-1))  # [b, d, N, L]
    if signed_gate:
        dA = 2 * dA - 1
    du = (delta * u).unsqueeze(2)
    dBu = du * (B.unsqueeze(-1) if B.dim() == 2 else B)
    return _scan_dense(dA, dBu, C, h0)


def selective_scan_ref(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
    *,
    signed_gate: bool = False,
    initial_state: Tensor | None = None,
    cu_seqlens: Tensor | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    """Reference selective scan (see :func:`kleene.triton_kernels.selective_scan` for args).

    Args:
        u: ``[b, d, L]``. delta: ``[b, d, L]``. A: ``[d, N]`` (real).
        B, C: ``[d, N]`` (constant), ``[b, N, L]`` or ``[b, G, N, L]`` (input-dependent).
        D: ``[d]``. z: ``[b, d, L]``. delta_bias: ``[d]``.
        delta_softplus: apply softplus to ``delta + delta_bias``.
        return_last_state: also return the final state ``[b, d, N]`` (``[S, d, N]`` packed).
        signed_gate: use ``2 * exp(delta * A) - 1`` (eigenvalues in (-1, 1]).
        initial_state: ``[b, d, N]`` (``[S, d, N]`` when packed); zeros when None.
        cu_seqlens: ``[S + 1]`` offsets of S sequences packed along L (batch must be 1).

    Returns:
        ``out [b, d, L]`` in ``u.dtype``, and the last state (fp32, or fp64) when asked.
    """
    dtype = _compute_dtype(u, delta, A, B, C, D, z, delta_bias, initial_state)
    dim, n = A.shape
    dt = delta.to(dtype)
    if delta_bias is not None:
        dt = dt + delta_bias.to(dtype)[:, None]
    if delta_softplus:
        dt = F.softplus(dt)
    uf, Af = u.to(dtype), A.to(dtype)
    Bf, Cf = _per_channel(B, dim, dtype), _per_channel(C, dim, dtype)
    h0 = initial_state.to(dtype) if initial_state is not None else None

    if cu_seqlens is None:
        h = h0 if h0 is not None else uf.new_zeros(u.shape[0], dim, n)
        y, last = _scan_batch(uf, dt, Af, Bf, Cf, h, signed_gate)
    else:
        ys, lasts = [], []
        bounds = cu_seqlens.tolist()
        for i, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            h = h0[i : i + 1] if h0 is not None else uf.new_zeros(1, dim, n)
            pick = lambda M, s=s, e=e: M if M.dim() == 2 else M[..., s:e]  # noqa: E731
            y_i, last_i = _scan_batch(
                uf[..., s:e], dt[..., s:e], Af, pick(Bf), pick(Cf), h, signed_gate
            )
            ys.append(y_i)
            lasts.append(last_i)
        y = torch.cat(ys, dim=-1)
        last = torch.cat(lasts, dim=0)

    if D is not None:
        y = y + D.to(dtype)[:, None] * uf
    if z is not None:
        y = y * F.silu(z.to(dtype))
    out = y.to(u.dtype)
    return (out, last) if return_last_state else out
