"""Compiles the selective-scan kernels for a Hopper GPU (sm_90) with the real Triton backend,
without needing a GPU, and checks ptxas reports no register spills at the launch settings.

The CPU tests run the kernels under the interpreter, which accepts code the compiler rejects;
this catches that. Each kernel compiles in a subprocess (TRITON_INTERPRET must be unset when
triton.jit decorates). About a minute per configuration on a 2-core machine. Run::

    python -m pytest bench/test_scan_compile.py -q
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("triton")

SCRIPT = textwrap.dedent(
    """
    import glob, os, subprocess, sys, tempfile
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    from kleene.triton_kernels.selective_scan import kernels, op

    which, dtype = sys.argv[1], sys.argv[2]
    fn = getattr(kernels, f"selective_scan_{which}_kernel")
    bd, bn, bt = op.block_sizes(16, 1536)
    consts = dict(BD=bd, BN=bn, BT=bt, HAS_D=True, HAS_Z=True, HAS_BIAS=True, SOFTPLUS=True,
                  SIGNED=False, B_VARYING=True, C_VARYING=True, IS_VARLEN=False, HAS_H0=False,
                  SAVE_STATES=True, HAS_DLAST=False)
    consts = {k: v for k, v in consts.items() if k in fn.arg_names}
    fp32 = {"A_ptr", "D_ptr", "bias_ptr", "h0_ptr", "last_ptr", "states_ptr", "dlast_ptr",
            "dA_ptr", "dB_ptr", "dC_ptr", "dD_ptr", "dbias_ptr", "dh0_ptr"}
    sig = {}
    for name in fn.arg_names:
        if name in consts:
            sig[name] = "constexpr"
        elif name == "cu_seqlens":
            sig[name] = "*i32"
        elif name == "chunk_offsets":
            sig[name] = "*i64"
        elif name.endswith("_ptr"):
            sig[name] = "*fp32" if name in fp32 else "*" + dtype
        else:
            sig[name] = "i32"
    warps = op.FWD_WARPS if which == "fwd" else op.BWD_WARPS
    k = triton.compile(ASTSource(fn, sig, constexprs=consts), target=GPUTarget("cuda", 90, 32),
                       options=dict(num_warps=warps))
    with tempfile.NamedTemporaryFile("w", suffix=".ptx", delete=False) as f:
        f.write(k.asm["ptx"])
    bindir = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin")
    for ptxas in sorted(glob.glob(os.path.join(bindir, "ptxas*"))):
        r = subprocess.run([ptxas, "-v", "--gpu-name", "sm_90a", f.name, "-o", os.devnull],
                           capture_output=True, text=True)
        if r.returncode == 0:
            print(r.stderr)
            break
    else:
        sys.exit("no bundled ptxas accepted the PTX")
    """
)


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
@pytest.mark.parametrize("which", ["fwd", "bwd"])
def test_kernel_compiles_for_sm90_without_spills(which, dtype):
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["PYTHONPATH"] = str(root / "python") + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT, which, dtype], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "0 bytes spill stores" in r.stdout, r.stdout
