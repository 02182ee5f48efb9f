"""Triton kernels of the fused selective scan (forward and backward).

One program handles ``BD`` channels of one group of one sequence and walks the sequence in
tiles of ``BT`` steps, carrying the fp32 state ``[BD, BN]`` between tiles. Inside a tile the
discretisation, the scan (``tl.associative_scan`` over ``[BD, BN, BT]``), the C readout, the D
skip and the z gate are fused. The forward stores only the state entering every checkpoint of
``CKPT`` tiles (2048 steps, as mamba_ssm's chunk carries; the only saved activations besides
the inputs). The backward walks checkpoints in reverse: it recomputes the entry states of the
checkpoint's tiles into a scratch buffer, then walks those tiles in reverse, recomputing each
tile's states from its entry state and running the reverse scan for the state gradient.

Everything is computed in fp32 (loads are cast), which also keeps the kernels correct under
``TRITON_INTERPRET=1``, where bf16 arithmetic is not supported.
"""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _combine_fwd(a1, b1, a2, b2):
    # Composition of x -> a1 x + b1 (earlier) then x -> a2 x + b2 (later).
    return a1 * a2, a2 * b1 + b2


@triton.jit
def _combine_exclusive(p1, s1, la1, lb1, p2, s2, la2, lb2):
    # Segment summary whose last element is held back: (p, s) maps the state entering the
    # segment to the state entering its last element; (la, lb) is that last element. The scan
    # therefore yields h_{t-1} at position t without shifting registers.
    p_left = p1 * la1
    s_left = la1 * s1 + lb1
    return p_left * p2, p2 * s_left + s2, la2, lb2


@triton.jit
def _combine_bwd(p1, v1, la1, p2, v2, la2):
    # Reverse-time scan for g_t = x_t + a_{t+1} g_{t+1}: elements are (1, x_t, a_t) and the
    # gate of the element nearer the end (scan-order earlier, "1") is applied to it.
    return p1 * la1 * p2, v2 + p2 * la1 * v1, la2


@triton.jit
def _softplus(x):
    return tl.where(x <= 20.0, tl.log(1.0 + tl.exp(x)), x)


@triton.jit
def _program_coords(cu_seqlens, chunk_offsets, L, NCHUNK, IS_VARLEN: tl.constexpr):
    """(sequence, batch index, first position, end position, index of its first checkpoint)."""
    i_s = tl.program_id(1)
    if IS_VARLEN:
        bos = tl.load(cu_seqlens + i_s).to(tl.int64)
        eos = tl.load(cu_seqlens + i_s + 1).to(tl.int64)
        chunk0 = tl.load(chunk_offsets + i_s).to(tl.int64)
        i_b = tl.cast(0, tl.int64)
    else:
        i_b = tl.cast(i_s, tl.int64)
        bos = tl.cast(0, tl.int64)
        eos = tl.cast(L, tl.int64)
        chunk0 = i_b * NCHUNK
    return i_s, i_b, bos, eos, chunk0


@triton.jit
def _load_gate_inputs(
    u_ptr,
    delta_ptr,
    bias_ptr,
    offs_ud,
    mask_ud,
    mask_t,
    offs_d,
    mask_d,
    HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr,
):
    """u, the raw delta (+ bias) and the effective delta of one tile, fp32 ``[BD, BT]``."""
    u = tl.load(u_ptr + offs_ud, mask=mask_ud, other=0.0).to(tl.float32)
    dt_raw = tl.load(delta_ptr + offs_ud, mask=mask_ud, other=0.0).to(tl.float32)
    if HAS_BIAS:
        bias = tl.load(bias_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)
        dt_raw = dt_raw + bias[:, None]
    dt = dt_raw
    if SOFTPLUS:
        dt = _softplus(dt_raw)
    dt = tl.where(mask_t[None, :], dt, 0.0)  # padded steps: a = 1, Bu = 0
    return u, dt_raw, dt


@triton.jit
def _load_bc(
    ptr, base, offs_n, mask_n, offs_t, mask_t, offs_d, mask_d, L, N, VARYING: tl.constexpr
):
    """B or C of one tile: ``[BN, BT]`` when input-dependent, ``[BD, BN]`` when constant."""
    # one return after a constexpr if/else: the compiler rejects returns of different
    # shapes from the branches, even static ones
    if VARYING:
        p = ptr + base + offs_n[:, None] * L + offs_t[None, :]
        M = tl.load(p, mask=mask_n[:, None] & mask_t[None, :], other=0.0).to(tl.float32)
    else:
        p = ptr + offs_d[:, None] * N + offs_n[None, :]
        M = tl.load(p, mask=mask_d[:, None] & mask_n[None, :], other=0.0).to(tl.float32)
    return M


@triton.jit
def _expand_bc(M, VARYING: tl.constexpr):
    """B or C broadcast against ``[BD, BN, BT]``."""
    if VARYING:
        X = M[None, :, :]
    else:
        X = M[:, :, None]
    return X


@triton.jit
def selective_scan_fwd_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, bias_ptr, h0_ptr,
    cu_seqlens, chunk_offsets,
    out_ptr, last_ptr, states_ptr,
    L, DIM, DG, N, G, NCHUNK,
    BD: tl.constexpr, BN: tl.constexpr, BT: tl.constexpr,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr, SIGNED: tl.constexpr,
    B_VARYING: tl.constexpr, C_VARYING: tl.constexpr,
    HAS_H0: tl.constexpr, SAVE_STATES: tl.constexpr, IS_VARLEN: tl.constexpr,
    CKPT: tl.constexpr,
):  # fmt: skip
    n_dblk = tl.cdiv(DG, BD)
    i_g = tl.program_id(0) // n_dblk
    offs_dg = (tl.program_id(0) % n_dblk) * BD + tl.arange(0, BD)
    mask_d = offs_dg < DG
    offs_d = (i_g * DG + offs_dg).to(tl.int64)
    offs_n = tl.arange(0, BN)
    mask_n = offs_n < N
    i_s, i_b, bos, eos, chunk0 = _program_coords(cu_seqlens, chunk_offsets, L, NCHUNK, IS_VARLEN)

    mask_dn = mask_d[:, None] & mask_n[None, :]
    offs_dn = offs_d[:, None] * N + offs_n[None, :]
    A = tl.load(A_ptr + offs_dn, mask=mask_dn, other=0.0).to(tl.float32)
    if HAS_D:
        Dv = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    h = tl.zeros([BD, BN], dtype=tl.float32)
    if HAS_H0:
        h = tl.load(h0_ptr + i_s * DIM * N + offs_dn, mask=mask_dn, other=0.0).to(tl.float32)
    base_u = i_b * DIM * L + offs_d[:, None] * L
    base_bc = (i_b * G + i_g) * N * L
    last_col = tl.arange(0, BT)[None, None, :] == BT - 1

    for c in range(0, tl.cdiv(eos - bos, BT)):
        if SAVE_STATES:
            if c % CKPT == 0:
                st = states_ptr + (chunk0 + c // CKPT) * DIM * N + offs_dn
                tl.store(st, h, mask=mask_dn)
        offs_t = bos + tl.cast(c, tl.int64) * BT + tl.arange(0, BT)
        mask_t = offs_t < eos
        offs_ud = base_u + offs_t[None, :]
        mask_ud = mask_d[:, None] & mask_t[None, :]
        u, dt_raw, dt = _load_gate_inputs(
            u_ptr, delta_ptr, bias_ptr, offs_ud, mask_ud, mask_t, offs_d, mask_d,
            HAS_BIAS, SOFTPLUS,
        )  # fmt: skip
        a = tl.exp(dt[:, None, :] * A[:, :, None])
        if SIGNED:
            a = 2.0 * a - 1.0
        Bm = _load_bc(B_ptr, base_bc, offs_n, mask_n, offs_t, mask_t, offs_d, mask_d, L, N,
                      B_VARYING)  # fmt: skip
        bu = (dt * u)[:, None, :] * _expand_bc(Bm, B_VARYING)
        pa, pb = tl.associative_scan((a, bu), 2, _combine_fwd)
        hs = pa * h[:, :, None] + pb
        Cm = _load_bc(C_ptr, base_bc, offs_n, mask_n, offs_t, mask_t, offs_d, mask_d, L, N,
                      C_VARYING)  # fmt: skip
        y = tl.sum(hs * _expand_bc(Cm, C_VARYING), axis=1)
        if HAS_D:
            y += Dv[:, None] * u
        if HAS_Z:
            zz = tl.load(z_ptr + offs_ud, mask=mask_ud, other=0.0).to(tl.float32)
            y = y * zz * tl.sigmoid(zz)
        tl.store(out_ptr + offs_ud, y.to(out_ptr.dtype.element_ty), mask=mask_ud)
        # padded steps keep the state, so the last column is the state after the tile
        h = tl.sum(tl.where(last_col, hs, 0.0), axis=2)

    tl.store(last_ptr + i_s * DIM * N + offs_dn, h, mask=mask_dn)


@triton.jit
def selective_scan_bwd_kernel(
    u_ptr, delta_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, bias_ptr,
    cu_seqlens, chunk_offsets, tile_offsets, states_ptr, scratch_ptr, dout_ptr, dlast_ptr,
    du_ptr, ddelta_ptr, dz_ptr, dA_ptr, dB_ptr, dC_ptr, dD_ptr, dbias_ptr, dh0_ptr,
    L, DIM, DG, N, G, NCHUNK,
    BD: tl.constexpr, BN: tl.constexpr, BT: tl.constexpr,
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_BIAS: tl.constexpr,
    SOFTPLUS: tl.constexpr, SIGNED: tl.constexpr,
    B_VARYING: tl.constexpr, C_VARYING: tl.constexpr,
    HAS_DLAST: tl.constexpr, IS_VARLEN: tl.constexpr, CKPT: tl.constexpr, SCR: tl.constexpr,
):  # fmt: skip
    """Gradients of one (sequence, channel block); per-sequence partial sums of the
    parameter gradients (dA, dD, dbias, constant dB / dC) are stored at ``[i_s, ...]`` and
    input-dependent dB / dC are accumulated over channel blocks with fp32 atomics.

    ``scratch`` holds the entry states of the tiles of one checkpoint: ``SCR`` rows per
    sequence (dense) or rows from ``tile_offsets`` (packed: one per tile of the sequence)."""
    n_dblk = tl.cdiv(DG, BD)
    i_g = tl.program_id(0) // n_dblk
    offs_dg = (tl.program_id(0) % n_dblk) * BD + tl.arange(0, BD)
    mask_d = offs_dg < DG
    offs_d = (i_g * DG + offs_dg).to(tl.int64)
    offs_n = tl.arange(0, BN)
    mask_n = offs_n < N
    i_s, i_b, bos, eos, chunk0 = _program_coords(cu_seqlens, chunk_offsets, L, NCHUNK, IS_VARLEN)

    mask_dn = mask_d[:, None] & mask_n[None, :]
    offs_dn = offs_d[:, None] * N + offs_n[None, :]
    A = tl.load(A_ptr + offs_dn, mask=mask_dn, other=0.0).to(tl.float32)
    Dv = tl.zeros([BD], dtype=tl.float32)
    if HAS_D:
        Dv = tl.load(D_ptr + offs_d, mask=mask_d, other=0.0).to(tl.float32)
    r = tl.zeros([BD, BN], dtype=tl.float32)  # gradient flowing into the state left of a tile
    if HAS_DLAST:
        r = tl.load(dlast_ptr + i_s * DIM * N + offs_dn, mask=mask_dn, other=0.0).to(tl.float32)
    base_u = i_b * DIM * L + offs_d[:, None] * L
    base_bc = (i_b * G + i_g) * N * L
    first_col = tl.arange(0, BT)[None, None, :] == 0
    acc_dA = tl.zeros([BD, BN], dtype=tl.float32)
    acc_dB = tl.zeros([BD, BN], dtype=tl.float32)
    acc_dC = tl.zeros([BD, BN], dtype=tl.float32)
    acc_dD = tl.zeros([BD], dtype=tl.float32)
    acc_dbias = tl.zeros([BD], dtype=tl.float32)
    n_tiles = tl.cdiv(eos - bos, BT)
    if IS_VARLEN:
        row0 = tl.load(tile_offsets + i_s).to(tl.int64)
    else:
        row0 = i_b * SCR
    n_ckpt = tl.cdiv(n_tiles, CKPT)
    last_col = tl.arange(0, BT)[None, None, :] == BT - 1

    for kk in range(0, n_ckpt):
        k = n_ckpt - 1 - kk
        c0 = k * CKPT
        c1 = tl.minimum(c0 + CKPT, n_tiles)
        # recompute the entry state of every tile of this checkpoint into the scratch rows
        h = tl.load(states_ptr + (chunk0 + k) * DIM * N + offs_dn, mask=mask_dn, other=0.0)
        for c in range(c0, c1):
            tl.store(scratch_ptr + (row0 + c - c0) * DIM * N + offs_dn, h, mask=mask_dn)
            offs_t = bos + tl.cast(c, tl.int64) * BT + tl.arange(0, BT)
            mask_t = offs_t < eos
            offs_ud = base_u + offs_t[None, :]
            mask_ud = mask_d[:, None] & mask_t[None, :]
            u, dt_raw, dt = _load_gate_inputs(
                u_ptr, delta_ptr, bias_ptr, offs_ud, mask_ud, mask_t, offs_d, mask_d,
                HAS_BIAS, SOFTPLUS,
            )  # fmt: skip
            a = tl.exp(dt[:, None, :] * A[:, :, None])
            if SIGNED:
                a = 2.0 * a - 1.0
            Bm = _load_bc(B_ptr, base_bc, offs_n, mask_n, offs_t, mask_t, offs_d, mask_d, L, N,
                          B_VARYING)  # fmt: skip
            bu = (dt * u)[:, None, :] * _expand_bc(Bm, B_VARYING)
            pa, pb = tl.associative_scan((a, bu), 2, _combine_fwd)
            hs = pa * h[:, :, None] + pb
            h = tl.sum(tl.where(last_col, hs, 0.0), axis=2)
        tl.debug_barrier()  # the scratch rows are read back below by other threads
        for cc in range(c0, c1):
            c = c1 - 1 - (cc - c0)
            offs_t = bos + tl.cast(c, tl.int64) * BT + tl.arange(0, BT)
            mask_t = offs_t < eos
            offs_ud = base_u + offs_t[None, :]
            mask_ud = mask_d[:, None] & mask_t[None, :]
            u, dt_raw, dt = _load_gate_inputs(
                u_ptr, delta_ptr, bias_ptr, offs_ud, mask_ud, mask_t, offs_d, mask_d,
                HAS_BIAS, SOFTPLUS,
            )  # fmt: skip
            e = tl.exp(dt[:, None, :] * A[:, :, None])
            a = e
            if SIGNED:
                a = 2.0 * e - 1.0
            Bm = _load_bc(B_ptr, base_bc, offs_n, mask_n, offs_t, mask_t, offs_d, mask_d, L, N,
                          B_VARYING)  # fmt: skip
            Bx = _expand_bc(Bm, B_VARYING)
            Cm = _load_bc(C_ptr, base_bc, offs_n, mask_n, offs_t, mask_t, offs_d, mask_d, L, N,
                          C_VARYING)  # fmt: skip
            Cx = _expand_bc(Cm, C_VARYING)
            bu = (dt * u)[:, None, :] * Bx

            # recompute the states of this tile from its entry state
            p_in = scratch_ptr + (row0 + c - c0) * DIM * N + offs_dn
            h_in = tl.load(p_in, mask=mask_dn, other=0.0)
            one = tl.full([BD, BN, BT], 1.0, tl.float32)
            zero = tl.zeros([BD, BN, BT], dtype=tl.float32)
            pex, sex, _, _ = tl.associative_scan((one, zero, a, bu), 2, _combine_exclusive)
            h_prev = sex + pex * h_in[:, :, None]  # h_{t-1}
            hs = a * h_prev + bu  # h_t

            # output gate
            dout = tl.load(dout_ptr + offs_ud, mask=mask_ud, other=0.0).to(tl.float32)
            dy = dout
            if HAS_Z:
                y = tl.sum(hs * Cx, axis=1) + Dv[:, None] * u
                zz = tl.load(z_ptr + offs_ud, mask=mask_ud, other=0.0).to(tl.float32)
                sz = tl.sigmoid(zz)
                dy = dout * zz * sz
                dz = dout * y * sz * (1.0 + zz * (1.0 - sz))
                tl.store(dz_ptr + offs_ud, dz.to(dz_ptr.dtype.element_ty), mask=mask_ud)

            # reverse scan: g_t = dy_t C_t + a_{t+1} g_{t+1}, plus the carry from the next tile
            x = dy[:, None, :] * Cx
            p, v, _ = tl.associative_scan((one, x, a), 2, _combine_bwd, reverse=True)
            g = v + p * r[:, :, None]
            r = tl.sum(tl.where(first_col, a * g, 0.0), axis=2)

            # gradients of the readout and the input
            dtu = dt * u
            if C_VARYING:
                dC_t = tl.sum(dy[:, None, :] * hs, axis=0)
                tl.atomic_add(dC_ptr + base_bc + offs_n[:, None] * L + offs_t[None, :], dC_t,
                              mask=mask_n[:, None] & mask_t[None, :])  # fmt: skip
            else:
                acc_dC += tl.sum(dy[:, None, :] * hs, axis=2)
            gB = tl.sum(g * Bx, axis=1)  # [BD, BT]
            if B_VARYING:
                dB_t = tl.sum(g * dtu[:, None, :], axis=0)
                tl.atomic_add(dB_ptr + base_bc + offs_n[:, None] * L + offs_t[None, :], dB_t,
                              mask=mask_n[:, None] & mask_t[None, :])  # fmt: skip
            else:
                acc_dB += tl.sum(g * dtu[:, None, :], axis=2)
            du = dy * Dv[:, None] + gB * dt
            acc_dD += tl.sum(dy * u, axis=1)

            # gradients through the gate a = exp(dt A) (or 2 exp(dt A) - 1)
            de = g * h_prev * e
            if SIGNED:
                de = 2.0 * de
            acc_dA += tl.sum(de * dt[:, None, :], axis=2)
            ddt = gB * u + tl.sum(de * A[:, :, None], axis=1)
            if SOFTPLUS:
                ddt = tl.where(dt_raw <= 20.0, ddt * tl.sigmoid(dt_raw), ddt)
            ddt = tl.where(mask_ud, ddt, 0.0)
            acc_dbias += tl.sum(ddt, axis=1)
            tl.store(du_ptr + offs_ud, du.to(du_ptr.dtype.element_ty), mask=mask_ud)
            tl.store(ddelta_ptr + offs_ud, ddt.to(ddelta_ptr.dtype.element_ty), mask=mask_ud)
        tl.debug_barrier()  # the next checkpoint overwrites the scratch rows

    part_dn = i_s * DIM * N + offs_dn
    tl.store(dh0_ptr + part_dn, r, mask=mask_dn)
    tl.store(dA_ptr + part_dn, acc_dA, mask=mask_dn)
    if not B_VARYING:
        tl.store(dB_ptr + part_dn, acc_dB, mask=mask_dn)
    if not C_VARYING:
        tl.store(dC_ptr + part_dn, acc_dC, mask=mask_dn)
    tl.store(dD_ptr + i_s * DIM + offs_d, acc_dD, mask=mask_d)
    tl.store(dbias_ptr + i_s * DIM + offs_d, acc_dbias, mask=mask_d)
