"""Vectorised CPU path: a log-depth (Hillis-Steele) scan instead of a loop over time.

ceil(log2 T) whole-tensor steps of x[t] += A[t] x[t - k], A[t] *= A[t - k]. No division by
gate products, so zero and negative gates are exact. Packed sequences become one dense
segmented scan: each sequence's initial state is folded into its first input and a restart
flag at that step stops every combine from reaching across the boundary (a select, not a
multiplication by a zero gate, so a NaN or inf in one sequence cannot leak into the next).
The backward is the same scan run the other way with gates shifted by one step.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .reference import accumulation_dtype

__all__ = ["linear_recurrence_cpu_fwd", "linear_recurrence_cpu_bwd"]


def _scan(a: Tensor, x: Tensor, restart: Tensor | None) -> Tensor:
    """Inclusive scan over dim 1 of h_t = a_t h_{t-1} + x_t from h_{-1} = 0 (a, x are consumed).

    ``restart`` (bool [B, T, 1]) marks steps where the recurrence starts afresh (h_t = x_t).
    """
    length = x.shape[1]
    step = 1
    while step < length:
        if restart is None:
            x[:, step:] += a[:, step:] * x[:, :-step]
            a[:, step:] = a[:, step:] * a[:, :-step]  # out of place: the operands overlap
        else:
            keep = restart[:, step:]
            x[:, step:] = torch.where(keep, x[:, step:], x[:, step:] + a[:, step:] * x[:, :-step])
            a[:, step:] = torch.where(keep, a[:, step:], a[:, step:] * a[:, :-step])
            restart[:, step:] = keep | restart[:, :-step]
        step *= 2
    return x


def _spans(
    length: int, batch: int, cu_seqlens: Tensor | None, device
) -> tuple[Tensor, Tensor, Tensor]:
    """(row, first, last) of every sequence, int64 [N]: its batch row and first / last time
    index; empty sequences have last < first."""
    if cu_seqlens is None:
        rows = torch.arange(batch, dtype=torch.int64, device=device)
        first = torch.zeros(batch, dtype=torch.int64, device=device)
        return rows, first, first + length - 1
    offsets = cu_seqlens.to(device=device, dtype=torch.int64)
    rows = torch.zeros(offsets.shape[0] - 1, dtype=torch.int64, device=device)
    return rows, offsets[:-1], offsets[1:] - 1


def _restarts(shape: tuple[int, ...], rows: Tensor, times: Tensor, device) -> Tensor:
    flags = torch.zeros(shape[0], shape[1], 1, dtype=torch.bool, device=device)
    flags[rows, times] = True
    return flags


def linear_recurrence_cpu_fwd(
    a: Tensor, x: Tensor, initial_state: Tensor | None, reverse: bool, cu_seqlens: Tensor | None
) -> tuple[Tensor, Tensor]:
    """Same contract as the reference with ``output_final_state=True``; returns (h, final)."""
    acc = accumulation_dtype(x.dtype)
    a_w, x_w = a.to(acc).clone(), x.to(acc).clone()
    if reverse:
        a_w, x_w = a_w.flip(1), x_w.flip(1)
    batch, length, dim = x.shape
    rows, first, last = _spans(length, batch, cu_seqlens, x.device)
    if reverse:
        first, last = length - 1 - last, length - 1 - first
    nonempty = last >= first
    rows, starts, ends = rows[nonempty], first[nonempty], last[nonempty]
    h0 = None if initial_state is None else initial_state.to(acc)
    if h0 is not None:
        x_w[rows, starts] += a_w[rows, starts] * h0[nonempty]
    restart = None
    if cu_seqlens is not None:
        restart = _restarts(x.shape, rows, starts, x.device)
    h = _scan(a_w, x_w, restart)
    final = (
        torch.zeros(first.shape[0], dim, dtype=acc, device=a.device) if h0 is None else h0.clone()
    )
    final[nonempty] = h[rows, ends]
    if reverse:
        h = h.flip(1)
    return h.to(x.dtype), final


def linear_recurrence_cpu_bwd(
    a: Tensor,
    h: Tensor,
    initial_state: Tensor | None,
    dh: Tensor,
    dht: Tensor | None,
    reverse: bool,
    cu_seqlens: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients (da, dx, d initial_state) of the forward, PyTorch's conjugate convention."""
    acc = accumulation_dtype(a.dtype)
    a_w, h_w, g = a.to(acc), h.to(acc), dh.to(acc).clone()
    if not reverse:  # work in the backward's scan order: flip time so it runs forwards
        a_w, h_w, g = a_w.flip(1), h_w.flip(1), g.flip(1)
    batch, length, dim = a.shape
    rows, first, last = _spans(length, batch, cu_seqlens, a.device)
    if not reverse:
        first, last = length - 1 - last, length - 1 - first
    nonempty = last >= first
    rows, starts, ends = rows[nonempty], first[nonempty], last[nonempty]
    # forward order step p -> here index i; step p + 1 is i - 1: gate of row i is a[i - 1].
    gates = torch.ones_like(a_w)
    gates[:, 1:] = a_w[:, :-1].conj()
    if dht is not None:
        g[rows, starts] += dht.to(acc)[nonempty]
    restart = None
    if cu_seqlens is not None:
        restart = _restarts(a.shape, rows, starts, a.device)
    g = _scan(gates, g, restart)
    # h_{p-1} is the next row here; at each sequence's last row it is the initial state.
    h_prev = torch.zeros_like(h_w)
    h_prev[:, :-1] = h_w[:, 1:]
    h_prev[rows, ends] = 0.0 if initial_state is None else initial_state.to(acc)[nonempty]
    da = g * h_prev.conj()
    dh0 = (
        torch.zeros(first.shape[0], dim, dtype=acc, device=a.device)
        if dht is None
        else dht.to(acc).clone()
    )
    dh0[nonempty] = a_w[rows, ends].conj() * g[rows, ends]
    if not reverse:
        da, g = da.flip(1), g.flip(1)
    return da.to(a.dtype), g.to(a.dtype), dh0
