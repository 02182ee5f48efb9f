"""Triton kernels for h_t = a_t * h_{t-1} + x_t: a chunked parallel scan with a carried state.

One program owns a block of BD channels of one sequence and walks its time axis in chunks of
BT steps. Inside a chunk, ``tl.associative_scan`` combines (a, x) pairs in parallel; the
state carried from the previous chunk enters as h = A_cum * carry + X_cum. Only the inputs and
the outputs touch memory (the backward reads the saved outputs h for d a_t = g_t * h_{t-1}).

Both kernels handle real and complex (interleaved re/im, from ``torch.view_as_real``) data,
forward and reverse time, an initial state, the final state and packed sequences
(``cu_seqlens``). They load any float dtype and compute in fp32.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl


@triton.jit
def _combine_real(a1, x1, a2, x2):
    return a1 * a2, a2 * x1 + x2


@triton.jit
def _combine_complex(ar1, ai1, xr1, xi1, ar2, ai2, xr2, xi2):
    return (
        ar1 * ar2 - ai1 * ai2,
        ar1 * ai2 + ai1 * ar2,
        ar2 * xr1 - ai2 * xi1 + xr2,
        ar2 * xi1 + ai2 * xr1 + xi2,
    )


@triton.jit
def _last_row(v, rows, BT: tl.constexpr):
    return tl.sum(tl.where(rows[:, None] == BT - 1, v, 0.0), axis=0)


@triton.jit
def _sequence(cu_seqlens, i_n, T, IS_VARLEN: tl.constexpr):
    """(batch index, first time step, length) of sequence i_n."""
    if IS_VARLEN:
        bos = tl.load(cu_seqlens + i_n).to(tl.int64)
        eos = tl.load(cu_seqlens + i_n + 1).to(tl.int64)
        return 0, bos, eos - bos
    return i_n.to(tl.int64), 0, T


@triton.jit
def chunk_linear_recurrence_fwd_kernel(
    a, x, h, h0, ht, cu_seqlens,
    T, D, stride_ab, stride_at, stride_xb, stride_xt, stride_hb, stride_ht,
    BT: tl.constexpr, BD: tl.constexpr, REVERSE: tl.constexpr, IS_COMPLEX: tl.constexpr,
    USE_INITIAL_STATE: tl.constexpr, STORE_FINAL_STATE: tl.constexpr, IS_VARLEN: tl.constexpr,
):  # fmt: skip
    i_d, i_n = tl.program_id(0), tl.program_id(1)
    i_b, bos, seq_len = _sequence(cu_seqlens, i_n, T, IS_VARLEN)
    CH: tl.constexpr = 2 if IS_COMPLEX else 1
    o_d = i_d * BD + tl.arange(0, BD)
    m_d = o_d < D
    rows = tl.arange(0, BT)
    col = (o_d * CH).to(tl.int64)
    s_ptr = i_n.to(tl.int64) * D * CH + col  # initial / final state [N, D(, 2)]
    cr = tl.zeros([BD], dtype=tl.float32)
    ci = tl.zeros([BD], dtype=tl.float32)
    if USE_INITIAL_STATE:
        cr = tl.load(h0 + s_ptr, mask=m_d, other=0.0).to(tl.float32)
        if IS_COMPLEX:
            ci = tl.load(h0 + s_ptr + 1, mask=m_d, other=0.0).to(tl.float32)
    for i_c in range(0, tl.cdiv(seq_len, BT)):
        p = tl.cast(i_c * BT, tl.int64) + rows
        m_t = p < seq_len
        t = bos + (seq_len - 1 - p if REVERSE else p)
        mask = m_t[:, None] & m_d[None, :]
        pa = a + i_b * stride_ab + t[:, None] * stride_at + col[None, :]
        px = x + i_b * stride_xb + t[:, None] * stride_xt + col[None, :]
        ph = h + i_b * stride_hb + t[:, None] * stride_ht + col[None, :]
        ar = tl.load(pa, mask=mask, other=1.0).to(tl.float32)
        xr = tl.load(px, mask=mask, other=0.0).to(tl.float32)
        if IS_COMPLEX:
            ai = tl.load(pa + 1, mask=mask, other=0.0).to(tl.float32)
            xi = tl.load(px + 1, mask=mask, other=0.0).to(tl.float32)
            ar, ai, xr, xi = tl.associative_scan((ar, ai, xr, xi), 0, _combine_complex)
            hr = ar * cr[None, :] - ai * ci[None, :] + xr
            hi = ar * ci[None, :] + ai * cr[None, :] + xi
            tl.store(ph, hr.to(h.dtype.element_ty), mask=mask)
            tl.store(ph + 1, hi.to(h.dtype.element_ty), mask=mask)
            cr = _last_row(hr, rows, BT)
            ci = _last_row(hi, rows, BT)
        else:
            ar, xr = tl.associative_scan((ar, xr), 0, _combine_real)
            hr = ar * cr[None, :] + xr
            tl.store(ph, hr.to(h.dtype.element_ty), mask=mask)
            cr = _last_row(hr, rows, BT)
    if STORE_FINAL_STATE:
        tl.store(ht + s_ptr, cr, mask=m_d)
        if IS_COMPLEX:
            tl.store(ht + s_ptr + 1, ci, mask=m_d)


@triton.jit
def chunk_linear_recurrence_bwd_kernel(
    a, h, h0, dh, dht, da, dx, dh0, cu_seqlens,
    T, D, stride_ab, stride_at, stride_hb, stride_ht, stride_gb, stride_gt,
    BT: tl.constexpr, BD: tl.constexpr, REVERSE: tl.constexpr, IS_COMPLEX: tl.constexpr,
    USE_INITIAL_STATE: tl.constexpr, USE_FINAL_STATE_GRADIENT: tl.constexpr,
    IS_VARLEN: tl.constexpr,
):  # fmt: skip
    """Scan opposite to the forward: g_p = dh_p + conj(a_{p+1}) g_{p+1}, p in forward order.

    Gradients da / dx are written with the strides of ``dh`` (contiguous outputs).
    """
    i_d, i_n = tl.program_id(0), tl.program_id(1)
    i_b, bos, seq_len = _sequence(cu_seqlens, i_n, T, IS_VARLEN)
    CH: tl.constexpr = 2 if IS_COMPLEX else 1
    o_d = i_d * BD + tl.arange(0, BD)
    m_d = o_d < D
    rows = tl.arange(0, BT)
    col = (o_d * CH).to(tl.int64)
    s_ptr = i_n.to(tl.int64) * D * CH + col
    cr = tl.zeros([BD], dtype=tl.float32)
    ci = tl.zeros([BD], dtype=tl.float32)
    if USE_FINAL_STATE_GRADIENT:
        cr = tl.load(dht + s_ptr, mask=m_d, other=0.0).to(tl.float32)
        if IS_COMPLEX:
            ci = tl.load(dht + s_ptr + 1, mask=m_d, other=0.0).to(tl.float32)
    for i_c in range(0, tl.cdiv(seq_len, BT)):
        p = seq_len - 1 - (tl.cast(i_c * BT, tl.int64) + rows)  # forward-order position
        m_t = p >= 0
        t = bos + (seq_len - 1 - p if REVERSE else p)
        t_next = t - 1 if REVERSE else t + 1  # step p + 1
        t_prev = t + 1 if REVERSE else t - 1  # step p - 1
        mask = m_t[:, None] & m_d[None, :]
        m_next = (m_t & (p + 1 < seq_len))[:, None] & m_d[None, :]
        m_prev = (m_t & (p >= 1))[:, None] & m_d[None, :]
        pa = a + i_b * stride_ab + t_next[:, None] * stride_at + col[None, :]
        pg = i_b * stride_gb + t[:, None] * stride_gt + col[None, :]
        pp = h + i_b * stride_hb + t_prev[:, None] * stride_ht + col[None, :]
        is_first = (p == 0)[:, None]
        gr = tl.load(dh + pg, mask=mask, other=0.0).to(tl.float32)
        ar = tl.load(pa, mask=m_next, other=1.0).to(tl.float32)
        hr = tl.load(pp, mask=m_prev, other=0.0).to(tl.float32)
        if USE_INITIAL_STATE:
            h0r = tl.load(h0 + s_ptr, mask=m_d, other=0.0).to(tl.float32)
            hr = tl.where(is_first, h0r[None, :], hr)
        if IS_COMPLEX:
            gi = tl.load(dh + pg + 1, mask=mask, other=0.0).to(tl.float32)
            ai = -tl.load(pa + 1, mask=m_next, other=0.0).to(tl.float32)
            hi = tl.load(pp + 1, mask=m_prev, other=0.0).to(tl.float32)
            if USE_INITIAL_STATE:
                h0i = tl.load(h0 + s_ptr + 1, mask=m_d, other=0.0).to(tl.float32)
                hi = tl.where(is_first, h0i[None, :], hi)
            ar, ai, gr, gi = tl.associative_scan((ar, ai, gr, gi), 0, _combine_complex)
            gr, gi = (
                ar * cr[None, :] - ai * ci[None, :] + gr,
                ar * ci[None, :] + ai * cr[None, :] + gi,
            )
            tl.store(dx + pg, gr.to(dx.dtype.element_ty), mask=mask)
            tl.store(dx + pg + 1, gi.to(dx.dtype.element_ty), mask=mask)
            # da = g * conj(h_prev)
            tl.store(da + pg, (gr * hr + gi * hi).to(da.dtype.element_ty), mask=mask)
            tl.store(da + pg + 1, (gi * hr - gr * hi).to(da.dtype.element_ty), mask=mask)
            cr = _last_row(gr, rows, BT)
            ci = _last_row(gi, rows, BT)
        else:
            ar, gr = tl.associative_scan((ar, gr), 0, _combine_real)
            gr = ar * cr[None, :] + gr
            tl.store(dx + pg, gr.to(dx.dtype.element_ty), mask=mask)
            tl.store(da + pg, (gr * hr).to(da.dtype.element_ty), mask=mask)
            cr = _last_row(gr, rows, BT)
    # dh0 = conj(a_0) g_0; for an empty sequence the gradient passes straight through.
    t0 = bos + (seq_len - 1 if REVERSE else 0)
    m0 = m_d & ((o_d * 0 + seq_len) > 0)
    a0r = tl.load(a + i_b * stride_ab + t0 * stride_at + col, mask=m0, other=1.0).to(tl.float32)
    if IS_COMPLEX:
        a0i = -tl.load(a + i_b * stride_ab + t0 * stride_at + col + 1, mask=m0, other=0.0).to(
            tl.float32
        )
        tl.store(dh0 + s_ptr, a0r * cr - a0i * ci, mask=m_d)
        tl.store(dh0 + s_ptr + 1, a0r * ci + a0i * cr, mask=m_d)
    else:
        tl.store(dh0 + s_ptr, a0r * cr, mask=m_d)


def _unit_channel_stride(t: torch.Tensor) -> torch.Tensor:
    """Batch and time strides are free (e.g. stride-0 expanded gates); channels must be dense."""
    return t if t.stride(-1) == 1 else t.contiguous()


def _real_view(t: torch.Tensor) -> torch.Tensor:
    return torch.view_as_real(t) if t.is_complex() else t


def _blocks(length: int, dim: int) -> tuple[int, int]:
    """(BT, BD): one config, since autotuning needs a GPU driver.

    Under TRITON_INTERPRET the scan combine runs once per element in Python, so small tiles
    waste less on masked lanes (and short test sequences still span several chunks).
    """
    if os.environ.get("TRITON_INTERPRET") == "1":
        return min(16, triton.next_power_of_2(max(length, 1))), min(32, triton.next_power_of_2(dim))
    return 64, 32


def chunk_linear_recurrence_fwd(
    a: torch.Tensor,
    x: torch.Tensor,
    initial_state: torch.Tensor | None,
    reverse: bool,
    cu_seqlens: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Launches the forward kernel; returns (h [B, T, D] in x.dtype, final state [N, D])."""
    a, x = _unit_channel_stride(a), _unit_channel_stride(x)
    batch, length, dim = x.shape
    n_seq = batch if cu_seqlens is None else cu_seqlens.numel() - 1
    state_dtype = torch.complex64 if x.is_complex() else torch.float32
    h = torch.empty_like(x, memory_format=torch.contiguous_format)
    ht = torch.empty(n_seq, dim, dtype=state_dtype, device=x.device)
    h0 = None if initial_state is None else initial_state.to(state_dtype).contiguous()
    ar, xr, hr = _real_view(a), _real_view(x), _real_view(h)
    bt, bd = _blocks(length, dim)
    grid = (triton.cdiv(dim, bd), n_seq)
    chunk_linear_recurrence_fwd_kernel[grid](
        ar, xr, hr, _real_view(h0 if h0 is not None else ht), _real_view(ht), cu_seqlens,
        length, dim, ar.stride(0), ar.stride(1), xr.stride(0), xr.stride(1),
        hr.stride(0), hr.stride(1),
        BT=bt, BD=bd, REVERSE=reverse, IS_COMPLEX=x.is_complex(),
        USE_INITIAL_STATE=h0 is not None, STORE_FINAL_STATE=True,
        IS_VARLEN=cu_seqlens is not None,
    )  # fmt: skip
    return h, ht


def chunk_linear_recurrence_bwd(
    a: torch.Tensor,
    h: torch.Tensor,
    initial_state: torch.Tensor | None,
    dh: torch.Tensor,
    dht: torch.Tensor | None,
    reverse: bool,
    cu_seqlens: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Launches the backward kernel; returns (da, dx, d initial_state [N, D])."""
    a, h = _unit_channel_stride(a), _unit_channel_stride(h)
    batch, length, dim = a.shape
    n_seq = batch if cu_seqlens is None else cu_seqlens.numel() - 1
    state_dtype = torch.complex64 if a.is_complex() else torch.float32
    dh = dh.contiguous()
    da = torch.empty(a.shape, dtype=a.dtype, device=a.device)
    dx = torch.empty(a.shape, dtype=a.dtype, device=a.device)
    dh0 = torch.empty(n_seq, dim, dtype=state_dtype, device=a.device)
    h0 = None if initial_state is None else initial_state.to(state_dtype).contiguous()
    dht = None if dht is None else dht.to(state_dtype).contiguous()
    ar, hr, gr = _real_view(a), _real_view(h), _real_view(dh)
    bt, bd = _blocks(length, dim)
    grid = (triton.cdiv(dim, bd), n_seq)
    chunk_linear_recurrence_bwd_kernel[grid](
        ar, hr, _real_view(h0 if h0 is not None else dh0), gr,
        _real_view(dht if dht is not None else dh0),
        _real_view(da), _real_view(dx), _real_view(dh0), cu_seqlens,
        length, dim, ar.stride(0), ar.stride(1), hr.stride(0), hr.stride(1),
        gr.stride(0), gr.stride(1),
        BT=bt, BD=bd, REVERSE=reverse, IS_COMPLEX=a.is_complex(),
        USE_INITIAL_STATE=h0 is not None, USE_FINAL_STATE_GRADIENT=dht is not None,
        IS_VARLEN=cu_seqlens is not None,
    )  # fmt: skip
    return da, dx, dh0
