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
    if any(t is not None and t.dtype in (torch.float64, torch.complex128) for t in tensors):
        return torch.float64
    return torch.float32


def _complex_bc(M: Tensor, dtype: torch.dtype) -> Tensor:
    """Complex A's B or C: constant ``[d, N]`` complex, or input-dependent real with (re, im)
    interleaved along time (``[..., 2L]``) as mamba_ssm stores them."""
    cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    if M.dim() == 2:
        return M.to(cdtype)
    return torch.view_as_complex(M.to(dtype).unflatten(-1, (-1, 2)).contiguous())


def _per_channel(M: Tensor, dim: int, dtype: torch.dtype) -> Tensor:
    """B or C as time-major ``[L, batch, dim, N]`` (input-dependent) or ``[dim, N]``."""
    M = M.to(dtype)
    if M.dim() == 2:
        return M
    if M.dim() == 3:
        M = M.unsqueeze(1)
    M = M.permute(3, 0, 1, 2)  # [L, b, G, N]
    return M.repeat_interleave(dim // M.shape[2], dim=2).contiguous()


def _scan_dense(dA: Tensor, dBu: Tensor, C: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
    """Runs x_t = dA_t * x_{t-1} + dBu_t over time-major ``[L, b, d, N]`` inputs and returns
    (sum_n x_t C_t ``[b, d, L]``, x_L)."""
    # unbind once: indexing [t] in the loop would make autograd scatter into a full-size zero
    # tensor per step (quadratic in L)
    C_t = [C] * dA.shape[0] if C.dim() == 2 else C.unbind(0)
    ys = []
    for a, bu, c in zip(dA.unbind(0), dBu.unbind(0), C_t, strict=True):
        h = a * h + bu
        ys.append((h * c).sum(-1))
    y = torch.stack(ys, dim=-1) if ys else h.new_zeros(h.shape[:-1] + (0,))
    return y, h


def _scan_batch(u, delta, A, B, C, h0, signed_gate):
    """The recurrence for ``[b, d, L]`` inputs (delta already biased / softplus-ed)."""
    dt = delta.permute(2, 0, 1).unsqueeze(-1)  # [L, b, d, 1]
    dA = torch.exp(dt * A).contiguous()  # [L, b, d, N]
    if signed_gate:
        dA = 2 * dA - 1
    dBu = (dt * u.permute(2, 0, 1).unsqueeze(-1) * B).contiguous()
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
    uf = u.to(dtype)
    if A.is_complex():  # mamba_ssm's complex variant: complex state, y = 2 Re <x, C>
        cdtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        Af, state_dtype = A.to(cdtype), cdtype
        B, C = _complex_bc(B, dtype), _complex_bc(C, dtype)
    else:
        Af, state_dtype = A.to(dtype), dtype
    Bf, Cf = _per_channel(B, dim, state_dtype), _per_channel(C, dim, state_dtype)
    h0 = initial_state.to(state_dtype) if initial_state is not None else None

    if cu_seqlens is None:
        h = h0 if h0 is not None else torch.zeros(u.shape[0], dim, n, dtype=state_dtype,
                                                   device=u.device)  # fmt: skip
        y, last = _scan_batch(uf, dt, Af, Bf, Cf, h, signed_gate)
    else:
        ys, lasts = [], []
        bounds = cu_seqlens.tolist()
        for i, (s, e) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            h = (
                h0[i : i + 1]
                if h0 is not None
                else torch.zeros(1, dim, n, dtype=state_dtype, device=u.device)
            )
            pick = lambda M, s=s, e=e: M if M.dim() == 2 else M[s:e]  # noqa: E731
            y_i, last_i = _scan_batch(
                uf[..., s:e], dt[..., s:e], Af, pick(Bf), pick(Cf), h, signed_gate
            )
            ys.append(y_i)
            lasts.append(last_i)
        y = torch.cat(ys, dim=-1)
        last = torch.cat(lasts, dim=0)

    if y.is_complex():
        y = 2 * y.real
    if D is not None:
        y = y + D.to(dtype)[:, None] * uf
    if z is not None:
        y = y * F.silu(z.to(dtype))
    out = y.to(u.dtype)
    return (out, last) if return_last_state else out
