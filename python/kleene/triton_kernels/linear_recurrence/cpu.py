"""Vectorised CPU path: a log-depth (Hillis-Steele) scan instead of a loop over time.

ceil(log2 T) whole-tensor steps of x[t] += A[t] x[t - k], A[t] *= A[t - k]. No division by
gate products, so zero and negative gates are exact. Packed sequences become one dense scan:
each sequence's initial state is folded into its first input and the gate there is set to 0,
which cuts the recurrence at sequence boundaries. The backward is the same scan run the
other way with gates shifted by one step.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .reference import accumulation_dtype

__all__ = ["linear_recurrence_cpu_fwd", "linear_recurrence_cpu_bwd"]


def _scan(a: Tensor, x: Tensor) -> Tensor:
    """Inclusive scan over dim 1 of h_t = a_t h_{t-1} + x_t from h_{-1} = 0 (a, x are consumed)."""
    step = 1
    while step < x.shape[1]:
        x[:, step:] += a[:, step:] * x[:, :-step]
        a[:, step:] = a[:, step:] * a[:, :-step]  # out of place: the operands overlap
        step *= 2
    return x


def _spans(length: int, batch: int, cu_seqlens: Tensor | None, device) -> tuple[Tensor, Tensor]:
    """(first, last) time index of every sequence, int64 [N]; empty sequences have last < first."""
    if cu_seqlens is None:
        first = torch.zeros(batch, dtype=torch.int64, device=device)
        return first, first + length - 1
    offsets = cu_seqlens.to(torch.int64)
    return offsets[:-1], offsets[1:] - 1


def _gather_rows(t: Tensor, index: Tensor, cu_seqlens: Tensor | None) -> Tensor:
    """t[n, index[n]] per sequence (dense) or t[0, index[n]] (packed), [N, D]."""
    if cu_seqlens is None:
        return t[torch.arange(t.shape[0], device=t.device), index]
    return t[0, index]


def _scatter_add_rows(t: Tensor, index: Tensor, values: Tensor, cu_seqlens: Tensor | None) -> None:
    if cu_seqlens is None:
        t[torch.arange(t.shape[0], device=t.device), index] += values
    else:
        t[0].index_add_(0, index, values)


def _cut(a: Tensor, index: Tensor, cu_seqlens: Tensor | None, value: float) -> None:
    if cu_seqlens is None:
        a[torch.arange(a.shape[0], device=a.device), index] = value
    else:
        a[0, index] = value


def linear_recurrence_cpu_fwd(
    a: Tensor, x: Tensor, initial_state: Tensor | None, reverse: bool, cu_seqlens: Tensor | None
) -> tuple[Tensor, Tensor]:
    """Same contract as the reference with ``output_final_state=True``; returns (h, final)."""
    acc = accumulation_dtype(x.dtype)
    a_w, x_w = a.to(acc).clone(), x.to(acc).clone()
    if reverse:
        a_w, x_w = a_w.flip(1), x_w.flip(1)
    batch, length, dim = x.shape
    first, last = _spans(length, batch, cu_seqlens, x.device)
    if reverse:
        first, last = length - 1 - last, length - 1 - first
    nonempty = last >= first
    h0 = None if initial_state is None else initial_state.to(acc)
    starts = first[nonempty]
    if h0 is not None:
        fold = _gather_rows(a_w, starts, cu_seqlens) * h0[nonempty]
        _scatter_add_rows(x_w, starts, fold, cu_seqlens)
    if cu_seqlens is not None:
        _cut(a_w, starts, cu_seqlens, 0.0)
    h = _scan(a_w, x_w)
    final = (
        torch.zeros(first.shape[0], dim, dtype=acc, device=a.device) if h0 is None else h0.clone()
    )
    final[nonempty] = _gather_rows(h, last[nonempty], cu_seqlens)
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
    first, last = _spans(length, batch, cu_seqlens, a.device)
    if not reverse:
        first, last = length - 1 - last, length - 1 - first
    nonempty = last >= first
    # forward order step p -> here index i; step p + 1 is i - 1: gate of row i is a[i - 1].
    gates = torch.ones_like(a_w)
    gates[:, 1:] = a_w[:, :-1].conj()
    if dht is not None:
        _scatter_add_rows(g, first[nonempty], dht.to(acc)[nonempty], cu_seqlens)
    _cut(gates, first[nonempty], cu_seqlens, 0.0)
    g = _scan(gates, g)
    # h_{p-1} is the next row here; at each sequence's last row it is the initial state.
    h_prev = torch.zeros_like(h_w)
    h_prev[:, :-1] = h_w[:, 1:]
    ends = last[nonempty]
    if initial_state is None:
        _cut(h_prev, ends, cu_seqlens, 0.0)
    else:
        h0 = initial_state.to(acc)[nonempty]
        if cu_seqlens is None:
            h_prev[torch.arange(batch, device=a.device)[nonempty], ends] = h0
        else:
            h_prev[0, ends] = h0
    da = g * h_prev.conj()
    dh0 = (
        torch.zeros(first.shape[0], dim, dtype=acc, device=a.device)
        if dht is None
        else dht.to(acc).clone()
    )
    dh0[nonempty] = _gather_rows(a_w, ends, cu_seqlens).conj() * _gather_rows(g, ends, cu_seqlens)
    if not reverse:
        da, g = da.flip(1), g.flip(1)
    return da.to(a.dtype), g.to(a.dtype), dh0
