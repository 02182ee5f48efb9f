"""Pure-PyTorch linear recurrence: the oracle for the Triton kernels and the CPU path.

h_t = a_t * h_{t-1} + x_t, elementwise over channels, with real (signed) or complex gates.
Everything here is a plain loop over time in the accumulation dtype (fp32, or fp64 / complex128
for fp64 / complex128 inputs), so it is slow but obviously correct, and differentiable by
autograd (which is what the tests use as the gradient oracle).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["accumulation_dtype", "linear_recurrence_ref", "linear_recurrence_bwd_ref"]


def accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the recurrence is carried in: at least fp32 (complex64 for complex inputs)."""
    if dtype.is_complex:
        return torch.complex128 if dtype == torch.complex128 else torch.complex64
    return torch.float64 if dtype == torch.float64 else torch.float32


def _scan(a: Tensor, x: Tensor, h0: Tensor | None) -> tuple[Tensor, Tensor]:
    """Forward-in-time loop over one dense batch; a, x [B, T, D] in the accumulation dtype."""
    batch, length, dim = x.shape
    h = torch.zeros(batch, dim, dtype=x.dtype, device=x.device) if h0 is None else h0
    outputs = []
    for t in range(length):
        h = a[:, t] * h + x[:, t]
        outputs.append(h)
    out = torch.stack(outputs, dim=1) if outputs else x.new_zeros(batch, 0, dim)
    return out, h


def _dense(a: Tensor, x: Tensor, h0: Tensor | None, reverse: bool) -> tuple[Tensor, Tensor]:
    if reverse:
        out, final = _scan(a.flip(1), x.flip(1), h0)
        return out.flip(1), final
    return _scan(a, x, h0)


def linear_recurrence_ref(
    a: Tensor,
    x: Tensor,
    initial_state: Tensor | None = None,
    reverse: bool = False,
    cu_seqlens: Tensor | None = None,
    output_final_state: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Reference first-order linear recurrence h_t = a_t * h_{t-1} + x_t.

    Args:
        a: gates [B, T, D], real (any sign) or complex.
        x: inputs [B, T, D], same dtype as ``a``.
        initial_state: h_{-1} [N, D] (N = B, or the number of sequences with ``cu_seqlens``);
            zeros when omitted.
        reverse: run from the last step to the first (h_t = a_t * h_{t+1} + x_t).
        cu_seqlens: int offsets [N + 1] of packed sequences (B must be 1); each sequence
            starts from its own initial state.
        output_final_state: also return the last state of every sequence.

    Returns:
        h [B, T, D] in ``x.dtype``, and with ``output_final_state`` the final states [N, D]
        in the accumulation dtype (fp32, fp64, complex64 or complex128).
    """
    acc = accumulation_dtype(x.dtype)
    a_acc, x_acc = a.to(acc), x.to(acc)
    h0 = None if initial_state is None else initial_state.to(acc)
    if cu_seqlens is None:
        out, final = _dense(a_acc, x_acc, h0, reverse)
    else:
        offsets = cu_seqlens.tolist()
        pieces, finals = [], []
        for n, (bos, eos) in enumerate(zip(offsets[:-1], offsets[1:], strict=False)):
            start = None if h0 is None else h0[n : n + 1]
            piece, fin = _dense(a_acc[:, bos:eos], x_acc[:, bos:eos], start, reverse)
            pieces.append(piece)
            finals.append(fin)
        out = torch.cat(pieces, dim=1)
        final = torch.cat(finals, dim=0)
    out = out.to(x.dtype)
    return (out, final) if output_final_state else out


def linear_recurrence_bwd_ref(
    a: Tensor,
    h: Tensor,
    initial_state: Tensor | None,
    dh: Tensor,
    dht: Tensor | None,
    reverse: bool = False,
    cu_seqlens: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Explicit backward of :func:`linear_recurrence_ref` (the CPU backward path).

    With g_t the total gradient reaching h_t (PyTorch's conjugate convention for complex):
    g_t = dh_t + conj(a_{t+1}) g_{t+1} (plus ``dht`` at the last step), dx_t = g_t,
    da_t = g_t * conj(h_{t-1}), d(initial_state) = conj(a_0) g_0.

    Args:
        a: gates [B, T, D]. h: forward outputs [B, T, D]. initial_state: [N, D] or None.
        dh: gradient of h [B, T, D]. dht: gradient of the final states [N, D] or None.
        reverse, cu_seqlens: as in the forward.

    Returns:
        (da, dx, dh0) with da in ``a.dtype``, dx in ``dh.dtype``'s input dtype and dh0 [N, D]
        in the accumulation dtype.
    """
    acc = accumulation_dtype(a.dtype)
    a_acc, h_acc, dh_acc = a.to(acc), h.to(acc), dh.to(acc)
    if reverse:
        a_acc, h_acc, dh_acc = a_acc.flip(1), h_acc.flip(1), dh_acc.flip(1)
    batch, length, dim = a.shape
    spans = (
        [(0, length)]
        if cu_seqlens is None
        else list(zip(cu_seqlens[:-1].tolist(), cu_seqlens[1:].tolist(), strict=False))
    )
    if reverse and cu_seqlens is not None:  # spans are in the flipped time axis
        spans = [(length - eos, length - bos) for bos, eos in spans]
    n_states = batch if cu_seqlens is None else len(spans)
    h0 = a.new_zeros(n_states, dim, dtype=acc) if initial_state is None else initial_state.to(acc)
    g_final = a.new_zeros(n_states, dim, dtype=acc) if dht is None else dht.to(acc)
    da = torch.zeros_like(a_acc)
    dx = torch.zeros_like(a_acc)
    dh0 = torch.zeros(n_states, dim, dtype=acc, device=a.device)
    for n, (bos, eos) in enumerate(spans):
        rows = slice(None) if cu_seqlens is None else slice(n, n + 1)
        bidx = slice(None) if cu_seqlens is None else slice(0, 1)
        g = g_final[rows]
        for t in range(eos - 1, bos - 1, -1):
            if t < eos - 1:
                g = a_acc[bidx, t + 1].conj() * g
            g = g + dh_acc[bidx, t]
            prev = h0[rows] if t == bos else h_acc[bidx, t - 1]
            dx[bidx, t] = g
            da[bidx, t] = g * prev.conj()
        dh0[rows] = a_acc[bidx, bos].conj() * g if eos > bos else g_final[rows]
    if reverse:
        da, dx = da.flip(1), dx.flip(1)
    return da.to(a.dtype), dx.to(a.dtype), dh0
