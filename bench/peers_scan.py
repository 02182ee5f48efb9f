"""Peer selective-scan implementations for bench/test_scan.py (GPU only).

- mamba_ssm's CUDA ``selective_scan_cuda`` (the kernel kleene's op replaces): imported if
  installed, else built from a mamba_ssm source tree named by ``MAMBA_SRC`` with
  ``torch.utils.cpp_extension.load`` (about 3 minutes, ``TORCH_CUDA_ARCH_LIST=9.0``).
- Mamba-2's Triton SSD ``mamba_chunk_scan_combined`` at the same width (H heads of P = 64).
- mambapy's Blelloch ``pscan`` over materialised ``[B, L, D, N]`` tensors.
Each loader returns None when the peer is unavailable, so its rows are skipped with a reason.
"""

from __future__ import annotations

import glob
import os
import sys
import types

import torch


def load_mamba_cuda():
    """The compiled ``selective_scan_cuda`` module, or None."""
    try:
        import selective_scan_cuda  # type: ignore[import-not-found]

        return selective_scan_cuda
    except ImportError:
        pass
    src = os.environ.get("MAMBA_SRC")
    if not src or not torch.cuda.is_available():
        return None
    from torch.utils.cpp_extension import load

    csrc = os.path.join(src, "csrc", "selective_scan")
    sources = [os.path.join(csrc, "selective_scan.cpp")]
    sources += sorted(glob.glob(os.path.join(csrc, "selective_scan_*.cu")))
    flags = ["-O3", "-std=c++17", "-U__CUDA_NO_HALF_OPERATORS__", "-U__CUDA_NO_HALF_CONVERSIONS__",
             "-U__CUDA_NO_BFLOAT16_OPERATORS__", "-U__CUDA_NO_BFLOAT16_CONVERSIONS__",
             "-U__CUDA_NO_BFLOAT162_OPERATORS__", "-U__CUDA_NO_BFLOAT162_CONVERSIONS__",
             "--expt-relaxed-constexpr", "--expt-extended-lambda", "--use_fast_math",
             "--ptxas-options=-v", "-lineinfo"]  # fmt: skip
    return load("selective_scan_cuda", sources, extra_cuda_cflags=flags,
                extra_cflags=["-O3", "-std=c++17"], extra_include_paths=[csrc])  # fmt: skip


class MambaCudaScan(torch.autograd.Function):
    """mamba_ssm's ``SelectiveScanFn`` calls, B and C as ``[b, G, N, L]``."""

    @staticmethod
    def forward(ctx, mod, u, delta, A, B, C, D, z, delta_bias, softplus):
        out, x, *rest = mod.fwd(u, delta, A, B, C, D, z, delta_bias, softplus)
        ctx.mod, ctx.softplus = mod, softplus
        ctx.save_for_backward(u, delta, A, B, C, D, z, delta_bias, x, out)
        return rest[0] if z is not None else out

    @staticmethod
    def backward(ctx, dout):
        u, delta, A, B, C, D, z, delta_bias, x, out = ctx.saved_tensors
        du, ddelta, dA, dB, dC, dD, ddelta_bias, *rest = ctx.mod.bwd(
            u, delta, A, B, C, D, z, delta_bias, dout.contiguous(), x, out, None, ctx.softplus,
            False,
        )  # fmt: skip
        dz = rest[0] if z is not None else None
        return None, du, ddelta, dA, dB, dC, dD, dz, ddelta_bias, None


def import_ssd():
    """``mamba_chunk_scan_combined``; raises when unavailable. Without an installed mamba_ssm,
    the Triton SSD files are imported from the source tree in ``MAMBA_SRC`` with the package's
    ``__init__`` skipped (it imports the compiled modules)."""
    try:
        from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined

        return mamba_chunk_scan_combined
    except Exception as err:  # noqa: BLE001 - try the source tree next
        src = os.environ.get("MAMBA_SRC")
        if not src:
            raise RuntimeError(f"mamba_ssm not importable ({err}) and MAMBA_SRC unset") from err
    for name in [m for m in sys.modules if m == "mamba_ssm" or m.startswith("mamba_ssm.")]:
        del sys.modules[name]  # partial imports of the failed attempt
    package = types.ModuleType("mamba_ssm")
    package.__path__ = [os.path.join(src, "mamba_ssm")]
    sys.modules["mamba_ssm"] = package
    from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined

    return mamba_chunk_scan_combined


def load_ssd():
    """``mamba_chunk_scan_combined`` or None."""
    try:
        return import_ssd()
    except Exception:  # noqa: BLE001 - any import failure means "peer unavailable"
        return None


def load_mambapy():
    """mambapy's ``pscan`` or None."""
    try:
        from mambapy.pscan import pscan
    except Exception:  # noqa: BLE001
        return None
    return pscan


def mambapy_scan(pscan, u, delta, A, B, C, D, z, delta_bias):
    """S6 as mambapy computes it (``MambaBlock.selective_scan``), inputs in kleene's
    ``[b, d, L]`` layout, B and C ``[b, N, L]``."""
    dt = torch.nn.functional.softplus(delta + delta_bias[:, None]).transpose(1, 2)  # [b, L, d]
    x = u.transpose(1, 2)
    dA = torch.exp(dt.unsqueeze(-1) * A)  # [b, L, d, N]
    bx = dt.unsqueeze(-1) * B.transpose(1, 2).unsqueeze(2) * x.unsqueeze(-1)
    hs = pscan(dA, bx)
    y = (hs @ C.transpose(1, 2).unsqueeze(-1)).squeeze(3) + D * x
    return (y * torch.nn.functional.silu(z.transpose(1, 2))).transpose(1, 2)
