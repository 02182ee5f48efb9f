"""Triton kernels of the RG-LRU recurrence with its gate math fused: one pass reads x and the two
gate pre-activations, computes the gates, the decay and the sqrt(1 - a^2) normalisation in
registers, scans, and writes h. The backward recomputes the gates from the same inputs and
runs the reverse scan (layout and chunking as the linear recurrence's ``chunk.py``).
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _combine(a1, x1, a2, x2):
    return a1 * a2, a2 * x1 + x2


@triton.jit
def _expm1(y):
    # exp(y) - 1 without cancellation near 0 (a near 1 makes 1 - a^2 tiny)
    small = y * (1.0 + y * (0.5 + y * (1.0 / 6 + y * (1.0 / 24 + y * (1.0 / 120 + y / 720)))))
    return tl.where(tl.abs(y) < 0.1, small, tl.exp(y) - 1.0)


@triton.jit
def _gates(x, gx, ga, decay, c, reset):
    """(a, log a, m, i, r) for one tile: m = sqrt(1 - a^2), or 1 at a reset."""
    i = tl.sigmoid(gx)
    r = tl.sigmoid(ga)
    log_a = -c * r * decay[None, :]
    a = tl.exp(log_a)
    m = tl.where(reset, 1.0, tl.sqrt(-_expm1(2.0 * log_a)))
    return a, log_a, m, i, r


@triton.jit
def _resets(p, USE_INITIAL_STATE: tl.constexpr):
    """[BT, 1] bool: the first step of a sequence that starts without an initial state."""
    if USE_INITIAL_STATE:
        flags = (p < 0)[:, None]
    else:
        flags = (p == 0)[:, None]
    return flags


@triton.jit
def _sequence(cu_seqlens, i_n, T, IS_VARLEN: tl.constexpr):
    if IS_VARLEN:
        bos = tl.load(cu_seqlens + i_n).to(tl.int64)
        eos = tl.load(cu_seqlens + i_n + 1).to(tl.int64)
        return 0, bos, eos - bos
    return i_n.to(tl.int64), 0, T


@triton.jit
def _last_row(v, rows, BT: tl.constexpr):
    return tl.sum(tl.where(rows[:, None] == BT - 1, v, 0.0), axis=0)


@triton.jit
def fused_rglru_fwd_kernel(
    x, gx, ga, decay, h, h0, ht, cu_seqlens, c, T, D, stride_b, stride_t,
    BT: tl.constexpr, BD: tl.constexpr, USE_INITIAL_STATE: tl.constexpr,
    IS_VARLEN: tl.constexpr,
):  # fmt: skip
    """x, gx, ga, h share the strides (contiguous [B, T, D]); states are [N, D] fp32."""
    i_d, i_n = tl.program_id(0), tl.program_id(1)
    i_b, bos, seq_len = _sequence(cu_seqlens, i_n, T, IS_VARLEN)
    o_d = i_d * BD + tl.arange(0, BD)
    m_d = o_d < D
    rows = tl.arange(0, BT)
    dec = tl.load(decay + o_d, mask=m_d, other=0.0).to(tl.float32)
    carry = tl.zeros([BD], dtype=tl.float32)
    if USE_INITIAL_STATE:
        carry = tl.load(h0 + i_n.to(tl.int64) * D + o_d, mask=m_d, other=0.0)
    for i_c in range(0, tl.cdiv(seq_len, BT)):
        p = tl.cast(i_c * BT, tl.int64) + rows
        mask = (p < seq_len)[:, None] & m_d[None, :]
        off = i_b * stride_b + (bos + p)[:, None] * stride_t + o_d[None, :]
        xv = tl.load(x + off, mask=mask, other=0.0).to(tl.float32)
        gxv = tl.load(gx + off, mask=mask, other=0.0).to(tl.float32)
        gav = tl.load(ga + off, mask=mask, other=0.0).to(tl.float32)
        reset = _resets(p, USE_INITIAL_STATE)
        a, _, m, i, _ = _gates(xv, gxv, gav, dec, c, reset)
        a = tl.where(mask, a, 1.0)
        xin = tl.where(mask, m * i * xv, 0.0)
        pa, px = tl.associative_scan((a, xin), 0, _combine)
        hv = pa * carry[None, :] + px
        tl.store(h + off, hv.to(h.dtype.element_ty), mask=mask)
        carry = _last_row(hv, rows, BT)
    tl.store(ht + i_n.to(tl.int64) * D + o_d, carry, mask=m_d)


@triton.jit
def fused_rglru_bwd_kernel(
    x, gx, ga, decay, h, h0, dh, dht, dx, dgx, dga, ddecay, dh0, cu_seqlens,
    c, T, D, stride_b, stride_t,
    BT: tl.constexpr, BD: tl.constexpr, USE_INITIAL_STATE: tl.constexpr,
    USE_FINAL_STATE_GRADIENT: tl.constexpr, IS_VARLEN: tl.constexpr,
):  # fmt: skip
    """Reverse scan g_p = dh_p + a_{p+1} g_{p+1}, then the chain rule through the gates:
    dx, dgx, dga per element and per-sequence partial sums of d softplus(Lambda) [N, D]."""
    i_d, i_n = tl.program_id(0), tl.program_id(1)
    i_b, bos, seq_len = _sequence(cu_seqlens, i_n, T, IS_VARLEN)
    o_d = i_d * BD + tl.arange(0, BD)
    m_d = o_d < D
    rows = tl.arange(0, BT)
    s_ptr = i_n.to(tl.int64) * D + o_d
    dec = tl.load(decay + o_d, mask=m_d, other=0.0).to(tl.float32)
    carry = tl.zeros([BD], dtype=tl.float32)
    if USE_FINAL_STATE_GRADIENT:
        carry = tl.load(dht + s_ptr, mask=m_d, other=0.0)
    h0v = tl.zeros([BD], dtype=tl.float32)
    if USE_INITIAL_STATE:
        h0v = tl.load(h0 + s_ptr, mask=m_d, other=0.0)
    acc_decay = tl.zeros([BD], dtype=tl.float32)
    for i_c in range(0, tl.cdiv(seq_len, BT)):
        p = seq_len - 1 - (tl.cast(i_c * BT, tl.int64) + rows)  # forward position, descending
        m_t = p >= 0
        mask = m_t[:, None] & m_d[None, :]
        off = i_b * stride_b + (bos + p)[:, None] * stride_t + o_d[None, :]
        m_next = (m_t & (p + 1 < seq_len))[:, None] & m_d[None, :]
        gan = tl.load(ga + off + stride_t, mask=m_next, other=0.0).to(tl.float32)
        a_next = tl.where(m_next, tl.exp(-c * tl.sigmoid(gan) * dec[None, :]), 1.0)
        gv = tl.load(dh + off, mask=mask, other=0.0).to(tl.float32)
        pa, pg = tl.associative_scan((a_next, gv), 0, _combine)
        g = pa * carry[None, :] + pg
        carry = _last_row(g, rows, BT)
        # the gates of this step, recomputed
        xv = tl.load(x + off, mask=mask, other=0.0).to(tl.float32)
        gxv = tl.load(gx + off, mask=mask, other=0.0).to(tl.float32)
        gav = tl.load(ga + off, mask=mask, other=0.0).to(tl.float32)
        reset = _resets(p, USE_INITIAL_STATE)
        a, log_a, m, i, r = _gates(xv, gxv, gav, dec, c, reset)
        m_prev = (m_t & (p >= 1))[:, None] & m_d[None, :]
        h_prev = tl.load(h + off - stride_t, mask=m_prev, other=0.0).to(tl.float32)
        h_prev = tl.where((p == 0)[:, None], h0v[None, :], h_prev)
        dxin = tl.where(mask, g, 0.0)
        tl.store(dx + off, (dxin * i * m).to(dx.dtype.element_ty), mask=mask)
        di = dxin * xv * m
        tl.store(dgx + off, (di * i * (1.0 - i)).to(dgx.dtype.element_ty), mask=mask)
        # d log a: through a (da = g h_prev) and through m = sqrt(1 - a^2) with the bounded
        # derivative of the reference: dm/dlog a = -a^2 / sqrt(max(1 - a^2, 1e-6))
        dm = tl.where(reset, 0.0, dxin * xv * i)
        one_minus = tl.maximum(-_expm1(2.0 * log_a), 1e-6)
        dlog_a = dxin * h_prev * a - dm * a * a / tl.sqrt(one_minus)
        dlog_a = tl.where(mask, dlog_a, 0.0)
        dr = dlog_a * (-c) * dec[None, :]
        tl.store(dga + off, (dr * r * (1.0 - r)).to(dga.dtype.element_ty), mask=mask)
        acc_decay += tl.sum(dlog_a * (-c) * r, axis=0)
    tl.store(ddecay + s_ptr, acc_decay, mask=m_d)
    # d h0 = a_0 g_0 (the carry after the last reverse step); empty sequences pass it through
    m0 = m_d & ((o_d * 0 + seq_len) > 0)
    ga0 = tl.load(ga + i_b * stride_b + bos * stride_t + o_d, mask=m0, other=0.0).to(tl.float32)
    a0 = tl.where(m0, tl.exp(-c * tl.sigmoid(ga0) * dec), 1.0)
    tl.store(dh0 + s_ptr, a0 * carry, mask=m_d)
