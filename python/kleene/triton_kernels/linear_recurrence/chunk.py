"""Triton kernels for h_t = a_t * h_{t-1} + x_t: a chunked parallel scan with a carried state.

One program owns a block of BD channels of one sequence and walks its time axis in chunks of
BT steps. Inside a chunk, ``tl.associative_scan`` combines (a, x) pairs in parallel; the
state carried from the previous chunk enters as h = A_cum * carry + X_cum. Only the inputs and
the outputs touch memory (the backward reads the saved outputs h for d a_t = g_t * h_{t-1}).

Both kernels handle real and complex (interleaved re/im, from ``torch.view_as_real``) data,
forward and reverse time, an initial state, the final state and packed sequences
(``cu_seqlens``). They load any float dtype and compute in fp32.

Few programs (small B x D, long T) would leave most of a GPU idle, so dense batches may also
be split over time into segments (the third grid axis), reduce-then-scan style: a first
launch computes each segment's summary (its gate product and its final state from a zero
carry, no outputs written), a tiny recurrence over the segments gives every segment's entry
state, and a second launch scans each segment from its entry state and writes the outputs.

Block sizes, warps and stages are autotuned on a GPU, keyed on D, the bucketed length and
the dtypes (Triton adds the tensors' dtypes to the key); the interpreter runs one config.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"

FORCE_SEGMENTS: int | None = None
"""Tests set this to split dense scans over time into this many segments."""

PROGRAMS_PER_SM = 4
"""The split over time aims for at least this many programs per multiprocessor."""

MIN_SEGMENT = 512
"""Steps per segment at the least: shorter segments cost more in the extra pass than they
gain in parallelism."""


CANDIDATES = [(64, 32, 4, 2), (32, 64, 4, 2), (128, 32, 8, 2), (64, 64, 8, 2), (64, 64, 8, 3),
              (16, 128, 4, 3), (32, 128, 8, 2), (128, 16, 4, 3)]  # fmt: skip
"""Autotuning candidates (BT, BD, warps, stages) on a GPU. Tiles hold at most 4096 fp32
elements per operand; each compiles for sm_90 without register spills
(bench/test_scan_compile.py; 4096-element tiles need 8 warps in the backward: at 4 they
spilled up to 20 bytes)."""


def config(candidate: tuple[int, int, int, int]) -> triton.Config:
    bt, bd, warps, stages = candidate
    return triton.Config({"BT": bt, "BD": bd}, num_warps=warps, num_stages=stages)


def _configs() -> list[triton.Config]:
    """``KLEENE_AUTOTUNE=0`` keeps only the first candidate (tests on a GPU use it: autotuning
    every test shape would compile every candidate for each; each has its own test)."""
    if INTERPRETED:  # the combine runs per element in Python: small tiles, one config
        return [triton.Config({"BT": 16, "BD": 32}, num_warps=4, num_stages=1)]
    if os.environ.get("KLEENE_AUTOTUNE") == "0":
        return [config(CANDIDATES[0])]
    return [config(c) for c in CANDIDATES]


CONFIGS = _configs()
"""The autotuner's candidates (exposed for the compile check)."""

FORCE_CONFIG: triton.Config | None = None
"""Tests set this to launch one candidate directly, bypassing the autotuner."""


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
def _segment(seq_len, SEG):
    """(first, end) scan-order position of this program's segment (grid axis 2)."""
    p0 = tl.program_id(2).to(tl.int64) * SEG
    return p0, tl.minimum(p0 + SEG, seq_len)


@triton.jit
def _state_offset(i_n, D, CH: tl.constexpr):
    """Start of the [N, n_segments, D(, 2)] state row of (sequence, segment)."""
    return (i_n.to(tl.int64) * tl.num_programs(2) + tl.program_id(2)) * D * CH


@triton.autotune(configs=CONFIGS, key=["D", "T_BUCKET"])
@triton.jit
def chunk_linear_recurrence_fwd_kernel(
    a, x, h, h0, ht, gp, cu_seqlens,
    T, D, SEG, T_BUCKET, stride_ab, stride_at, stride_xb, stride_xt, stride_hb, stride_ht,
    BT: tl.constexpr, BD: tl.constexpr, REVERSE: tl.constexpr, IS_COMPLEX: tl.constexpr,
    USE_INITIAL_STATE: tl.constexpr, STORE_FINAL_STATE: tl.constexpr, IS_VARLEN: tl.constexpr,
    STORE_H: tl.constexpr, STORE_GATE_PRODUCT: tl.constexpr,
):  # fmt: skip
    """Scans positions [SEG * s, SEG * (s + 1)) of every sequence (s: grid axis 2) from the
    state in h0 (zeros without), storing h (STORE_H), the segment's final state in ht and the
    product of its gates in gp; states are [N, n_segments, D]."""
    i_d, i_n = tl.program_id(0), tl.program_id(1)
    i_b, bos, seq_len = _sequence(cu_seqlens, i_n, T, IS_VARLEN)
    p0, p1 = _segment(seq_len, SEG)
    CH: tl.constexpr = 2 if IS_COMPLEX else 1
    o_d = i_d * BD + tl.arange(0, BD)
    m_d = o_d < D
    rows = tl.arange(0, BT)
    col = (o_d * CH).to(tl.int64)
    s_ptr = _state_offset(i_n, D, CH) + col
    cr = tl.zeros([BD], dtype=tl.float32)
    ci = tl.zeros([BD], dtype=tl.float32)
    pr = tl.full([BD], 1.0, dtype=tl.float32)  # gate product of the segment
    pi = tl.zeros([BD], dtype=tl.float32)
    if USE_INITIAL_STATE:
        cr = tl.load(h0 + s_ptr, mask=m_d, other=0.0).to(tl.float32)
        if IS_COMPLEX:
            ci = tl.load(h0 + s_ptr + 1, mask=m_d, other=0.0).to(tl.float32)
    for i_c in range(0, tl.cdiv(tl.maximum(p1 - p0, 0), BT)):
        p = p0 + tl.cast(i_c * BT, tl.int64) + rows
        m_t = p < p1
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
            if STORE_H:
                tl.store(ph, hr.to(h.dtype.element_ty), mask=mask)
                tl.store(ph + 1, hi.to(h.dtype.element_ty), mask=mask)
            if STORE_GATE_PRODUCT:
                qr, qi = _last_row(ar, rows, BT), _last_row(ai, rows, BT)
                pr, pi = qr * pr - qi * pi, qr * pi + qi * pr
            cr = _last_row(hr, rows, BT)
            ci = _last_row(hi, rows, BT)
        else:
            ar, xr = tl.associative_scan((ar, xr), 0, _combine_real)
            hr = ar * cr[None, :] + xr
            if STORE_H:
                tl.store(ph, hr.to(h.dtype.element_ty), mask=mask)
            if STORE_GATE_PRODUCT:
                pr = _last_row(ar, rows, BT) * pr
            cr = _last_row(hr, rows, BT)
    if STORE_FINAL_STATE:
        tl.store(ht + s_ptr, cr, mask=m_d)
        if IS_COMPLEX:
            tl.store(ht + s_ptr + 1, ci, mask=m_d)
    if STORE_GATE_PRODUCT:
        tl.store(gp + s_ptr, pr, mask=m_d)
        if IS_COMPLEX:
            tl.store(gp + s_ptr + 1, pi, mask=m_d)


@triton.jit
def _store_dh0(a, dh0, i_b, bos, seq_len, stride_ab, stride_at, col, n_ptr, m_d, o_d, cr, ci,
               REVERSE: tl.constexpr, IS_COMPLEX: tl.constexpr):  # fmt: skip
    t0 = bos + (seq_len - 1 if REVERSE else 0)
    m0 = m_d & ((o_d * 0 + seq_len) > 0)
    a0r = tl.load(a + i_b * stride_ab + t0 * stride_at + col, mask=m0, other=1.0).to(tl.float32)
    if IS_COMPLEX:
        a0i = -tl.load(a + i_b * stride_ab + t0 * stride_at + col + 1, mask=m0, other=0.0).to(
            tl.float32
        )
        tl.store(dh0 + n_ptr, a0r * cr - a0i * ci, mask=m_d)
        tl.store(dh0 + n_ptr + 1, a0r * ci + a0i * cr, mask=m_d)
    else:
        tl.store(dh0 + n_ptr, a0r * cr, mask=m_d)


@triton.autotune(configs=CONFIGS, key=["D", "T_BUCKET"])
@triton.jit
def chunk_linear_recurrence_bwd_kernel(
    a, h, h0, dh, dht, da, dx, dh0, gc, gp, cu_seqlens,
    T, D, SEG, T_BUCKET, stride_ab, stride_at, stride_hb, stride_ht, stride_gb, stride_gt,
    BT: tl.constexpr, BD: tl.constexpr, REVERSE: tl.constexpr, IS_COMPLEX: tl.constexpr,
    USE_INITIAL_STATE: tl.constexpr, USE_FINAL_STATE_GRADIENT: tl.constexpr,
    IS_VARLEN: tl.constexpr, STORE_GRADS: tl.constexpr, STORE_GATE_PRODUCT: tl.constexpr,
):  # fmt: skip
    """Scan opposite to the forward: g_p = dh_p + conj(a_{p+1}) g_{p+1}, p in forward order.

    Segments (grid axis 2) split the backward's scan order; a segment starts from the carry
    in dht ([N, n_segments, D]; zeros without) and, with STORE_GATE_PRODUCT, stores its final
    carry in gc and its gate product in gp. Gradients da / dx are written with the strides of
    ``dh`` (contiguous outputs); dh0 by the segment holding forward position 0.
    """
    i_d, i_n = tl.program_id(0), tl.program_id(1)
    i_b, bos, seq_len = _sequence(cu_seqlens, i_n, T, IS_VARLEN)
    q0, q1 = _segment(seq_len, SEG)  # positions in the backward's order
    CH: tl.constexpr = 2 if IS_COMPLEX else 1
    o_d = i_d * BD + tl.arange(0, BD)
    m_d = o_d < D
    rows = tl.arange(0, BT)
    col = (o_d * CH).to(tl.int64)
    s_ptr = _state_offset(i_n, D, CH) + col
    n_ptr = i_n.to(tl.int64) * D * CH + col  # initial state / its gradient [N, D]
    cr = tl.zeros([BD], dtype=tl.float32)
    ci = tl.zeros([BD], dtype=tl.float32)
    pr = tl.full([BD], 1.0, dtype=tl.float32)
    pi = tl.zeros([BD], dtype=tl.float32)
    if USE_FINAL_STATE_GRADIENT:
        cr = tl.load(dht + s_ptr, mask=m_d, other=0.0).to(tl.float32)
        if IS_COMPLEX:
            ci = tl.load(dht + s_ptr + 1, mask=m_d, other=0.0).to(tl.float32)
    for i_c in range(0, tl.cdiv(tl.maximum(q1 - q0, 0), BT)):
        q = q0 + tl.cast(i_c * BT, tl.int64) + rows
        p = seq_len - 1 - q  # forward-order position
        m_t = q < q1
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
            h0r = tl.load(h0 + n_ptr, mask=m_d, other=0.0).to(tl.float32)
            hr = tl.where(is_first, h0r[None, :], hr)
        if IS_COMPLEX:
            gi = tl.load(dh + pg + 1, mask=mask, other=0.0).to(tl.float32)
            ai = -tl.load(pa + 1, mask=m_next, other=0.0).to(tl.float32)
            hi = tl.load(pp + 1, mask=m_prev, other=0.0).to(tl.float32)
            if USE_INITIAL_STATE:
                h0i = tl.load(h0 + n_ptr + 1, mask=m_d, other=0.0).to(tl.float32)
                hi = tl.where(is_first, h0i[None, :], hi)
            ar, ai, gr, gi = tl.associative_scan((ar, ai, gr, gi), 0, _combine_complex)
            gr, gi = (
                ar * cr[None, :] - ai * ci[None, :] + gr,
                ar * ci[None, :] + ai * cr[None, :] + gi,
            )
            if STORE_GRADS:
                tl.store(dx + pg, gr.to(dx.dtype.element_ty), mask=mask)
                tl.store(dx + pg + 1, gi.to(dx.dtype.element_ty), mask=mask)
                # da = g * conj(h_prev)
                tl.store(da + pg, (gr * hr + gi * hi).to(da.dtype.element_ty), mask=mask)
                tl.store(da + pg + 1, (gi * hr - gr * hi).to(da.dtype.element_ty), mask=mask)
            if STORE_GATE_PRODUCT:
                qr, qi = _last_row(ar, rows, BT), _last_row(ai, rows, BT)
                pr, pi = qr * pr - qi * pi, qr * pi + qi * pr
            cr = _last_row(gr, rows, BT)
            ci = _last_row(gi, rows, BT)
        else:
            ar, gr = tl.associative_scan((ar, gr), 0, _combine_real)
            gr = ar * cr[None, :] + gr
            if STORE_GRADS:
                tl.store(dx + pg, gr.to(dx.dtype.element_ty), mask=mask)
                tl.store(da + pg, (gr * hr).to(da.dtype.element_ty), mask=mask)
            if STORE_GATE_PRODUCT:
                pr = _last_row(ar, rows, BT) * pr
            cr = _last_row(gr, rows, BT)
    if STORE_GATE_PRODUCT:
        tl.store(gc + s_ptr, cr, mask=m_d)
        tl.store(gp + s_ptr, pr, mask=m_d)
        if IS_COMPLEX:
            tl.store(gc + s_ptr + 1, ci, mask=m_d)
            tl.store(gp + s_ptr + 1, pi, mask=m_d)
    # dh0 = conj(a_0) g_0 by the segment holding q = seq_len - 1 (forward position 0); for
    # an empty sequence the gradient passes straight through.
    last_q = tl.maximum(seq_len - 1, 0)
    if STORE_GRADS:
        if (last_q >= q0) & (last_q < q0 + SEG):
            _store_dh0(a, dh0, i_b, bos, seq_len, stride_ab, stride_at, col, n_ptr, m_d, o_d,
                       cr, ci, REVERSE, IS_COMPLEX)  # fmt: skip


def _unit_channel_stride(t: torch.Tensor) -> torch.Tensor:
    """Batch and time strides are free (e.g. stride-0 expanded gates); channels must be dense."""
    return t if t.stride(-1) == 1 else t.contiguous()


def _real_view(t: torch.Tensor) -> torch.Tensor:
    return torch.view_as_real(t) if t.is_complex() else t


def _grid(dim: int, n_seq: int, n_seg: int):
    return lambda meta: (triton.cdiv(dim, meta["BD"]), n_seq, n_seg)


def _launch(kernel, grid, *args, **kwargs) -> None:
    """The autotuned kernel, or the candidate in ``FORCE_CONFIG``."""
    if FORCE_CONFIG is None:
        kernel[grid](*args, **kwargs)
        return
    cfg = FORCE_CONFIG
    meta = dict(cfg.kwargs, num_warps=cfg.num_warps, num_stages=cfg.num_stages)
    kernel.fn[grid(cfg.kwargs)](*args, **kwargs, **meta)


def num_segments(batch: int, length: int, dim: int, device: torch.device) -> int:
    """Segments of the split over time for a dense batch: enough programs to fill the GPU
    (``PROGRAMS_PER_SM`` per multiprocessor, counting 32-channel blocks), segments of at
    least ``MIN_SEGMENT`` steps; 1 when the batch alone fills it."""
    if FORCE_SEGMENTS is not None:
        return max(1, min(FORCE_SEGMENTS, length))
    if device.type != "cuda":
        return 1
    sms = torch.cuda.get_device_properties(device).multi_processor_count
    programs = batch * triton.cdiv(dim, 32)
    want = triton.cdiv(PROGRAMS_PER_SM * sms, programs)
    return max(1, min(want, length // MIN_SEGMENT))


def _segment_entries(gate_products, finals, start):
    """Entry state of every segment [N, S, D] from the segments' gate products and final
    states from a zero carry, [N, S, D] each: e_0 = start, e_{s+1} = P_s e_s + F_s (a short
    recurrence over S, run by the vectorised PyTorch scan); also the state after the last."""
    from .cpu import linear_recurrence_cpu_fwd

    after, last = linear_recurrence_cpu_fwd(gate_products, finals, start, False, None)
    first = start if start is not None else torch.zeros_like(after[:, 0])
    return torch.cat([first[:, None], after[:, :-1]], dim=1).contiguous(), last


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
    n_seg = 1 if cu_seqlens is not None else num_segments(batch, length, dim, x.device)
    seg = triton.cdiv(max(length, 1), n_seg)
    state_dtype = torch.complex64 if x.is_complex() else torch.float32
    h = torch.empty_like(x, memory_format=torch.contiguous_format)
    h0 = None if initial_state is None else initial_state.to(state_dtype).contiguous()
    ar, xr, hr = _real_view(a), _real_view(x), _real_view(h)
    strides = (ar.stride(0), ar.stride(1), xr.stride(0), xr.stride(1), hr.stride(0), hr.stride(1))
    flags = dict(REVERSE=reverse, IS_COMPLEX=x.is_complex(), IS_VARLEN=cu_seqlens is not None)
    grid = _grid(dim, n_seq, n_seg)
    t_bucket = triton.next_power_of_2(max(length, 1))
    final = None
    if n_seg > 1:  # summaries of the segments, then their entry states
        ends = torch.empty(n_seq, n_seg, dim, dtype=state_dtype, device=x.device)
        prods = torch.empty_like(ends)
        _launch(
            chunk_linear_recurrence_fwd_kernel, grid,
            ar, xr, hr, _real_view(ends), _real_view(ends), _real_view(prods), cu_seqlens,
            length, dim, seg, t_bucket, *strides,
            USE_INITIAL_STATE=False, STORE_FINAL_STATE=True, STORE_H=False,
            STORE_GATE_PRODUCT=True, **flags,
        )  # fmt: skip
        h0, final = _segment_entries(prods, ends, h0)
    ht = torch.empty(n_seq, n_seg, dim, dtype=state_dtype, device=x.device)
    _launch(
        chunk_linear_recurrence_fwd_kernel, grid,
        ar, xr, hr, _real_view(h0 if h0 is not None else ht), _real_view(ht), hr, cu_seqlens,
        length, dim, seg, t_bucket, *strides,
        USE_INITIAL_STATE=h0 is not None, STORE_FINAL_STATE=n_seg == 1, STORE_H=True,
        STORE_GATE_PRODUCT=False, **flags,
    )  # fmt: skip
    return h, (ht[:, 0] if final is None else final)


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
    n_seg = 1 if cu_seqlens is not None else num_segments(batch, length, dim, a.device)
    seg = triton.cdiv(max(length, 1), n_seg)
    state_dtype = torch.complex64 if a.is_complex() else torch.float32
    dh = dh.contiguous()
    da = torch.empty(a.shape, dtype=a.dtype, device=a.device)
    dx = torch.empty(a.shape, dtype=a.dtype, device=a.device)
    dh0 = torch.empty(n_seq, dim, dtype=state_dtype, device=a.device)
    h0 = None if initial_state is None else initial_state.to(state_dtype).contiguous()
    carry = None if dht is None else dht.to(state_dtype).contiguous()
    ar, hr, gr = _real_view(a), _real_view(h), _real_view(dh)
    strides = (ar.stride(0), ar.stride(1), hr.stride(0), hr.stride(1), gr.stride(0), gr.stride(1))
    flags = dict(
        REVERSE=reverse, IS_COMPLEX=a.is_complex(), IS_VARLEN=cu_seqlens is not None,
        USE_INITIAL_STATE=h0 is not None,
    )  # fmt: skip
    grid = _grid(dim, n_seq, n_seg)
    t_bucket = triton.next_power_of_2(max(length, 1))
    h0_arg = _real_view(h0 if h0 is not None else dh0)
    if n_seg > 1:  # summaries of the segments in the backward's order, then their carries
        ends = torch.empty(n_seq, n_seg, dim, dtype=state_dtype, device=a.device)
        prods = torch.empty_like(ends)
        _launch(
            chunk_linear_recurrence_bwd_kernel, grid,
            ar, hr, h0_arg, gr, _real_view(ends), ar, ar, _real_view(dh0),
            _real_view(ends), _real_view(prods),
            cu_seqlens, length, dim, seg, t_bucket, *strides,
            USE_FINAL_STATE_GRADIENT=False, STORE_GRADS=False, STORE_GATE_PRODUCT=True, **flags,
        )  # fmt: skip
        carry, _ = _segment_entries(prods, ends, carry)
    _launch(
        chunk_linear_recurrence_bwd_kernel, grid,
        ar, hr, h0_arg, gr, _real_view(carry if carry is not None else dh0),
        _real_view(da), _real_view(dx), _real_view(dh0), _real_view(dh0), _real_view(dh0),
        cu_seqlens,
        length, dim, seg, t_bucket, *strides,
        USE_FINAL_STATE_GRADIENT=carry is not None, STORE_GRADS=True, STORE_GATE_PRODUCT=False,
        **flags,
    )  # fmt: skip
    return da, dx, dh0
