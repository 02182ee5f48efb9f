"""Selective scan (Mamba S6) on a GPU: kleene's Triton op against mamba_ssm's CUDA kernel,
Mamba-2's Triton SSD at the same width, mambapy's pscan and a PyTorch sequential reference.

Shape of the issue: B = 8, D = 1536, N = 16, L = 2048 (with z, D skip, delta_bias, softplus),
bf16 and fp32; forward and forward+backward. Peak memory above the inputs is recorded in
``extra_info["peak_MiB"]`` and the minimal bytes moved in ``extra_info["bytes"]``. Skipped
without CUDA. Run::

    MAMBA_SRC=/path/to/mamba_ssm-src python -m pytest bench/test_scan.py --benchmark-only
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("the selective-scan benchmark needs a CUDA device", allow_module_level=True)

from conftest import declare  # noqa: E402
from peers_scan import (  # noqa: E402
    MambaCudaScan,
    load_mamba_cuda,
    load_mambapy,
    load_ssd,
    mambapy_scan,
)

from kleene.triton_kernels import selective_scan, selective_scan_ref  # noqa: E402

BATCH, DIM, N, L, HEADDIM = 8, 1536, 16, 2048, 64
DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}
PEERS = {"mamba_ssm-cuda": load_mamba_cuda, "mamba2-ssd": load_ssd, "mambapy": load_mambapy}
_LOADED: dict = {}


def peer(name):
    if name not in _LOADED:
        _LOADED[name] = PEERS[name]()
    if _LOADED[name] is None:
        pytest.skip(f"peer {name} is not available (see bench/peers_scan.py)")
    return _LOADED[name]


def inputs(dtype, length=L, grad=False):
    g = torch.Generator(device="cuda").manual_seed(0)

    def r(*shape, dt=dtype, scale=1.0, rand=False):
        f = torch.rand if rand else torch.randn
        t = (f(*shape, generator=g, device="cuda") * scale).to(dt)
        return t.requires_grad_(grad)

    return dict(
        u=r(BATCH, DIM, length),
        delta=r(BATCH, DIM, length, scale=0.5, rand=True),
        A=(
            -torch.exp(torch.log(torch.arange(1.0, N + 1, device="cuda")).repeat(DIM, 1))
        ).requires_grad_(grad),
        B=r(BATCH, N, length),
        C=r(BATCH, N, length),
        D=r(DIM, dt=torch.float32),
        z=r(BATCH, DIM, length),
        delta_bias=r(DIM, dt=torch.float32, scale=0.5, rand=True),
    )


def bytes_moved(dtype, backward: bool, length=L) -> int:
    """Minimal HBM traffic: read u, delta, z, B, C and write out (forward); the backward also
    reads them and dout and writes du, ddelta, dz, dB, dC."""
    b = torch.finfo(dtype).bits // 8
    fwd = b * BATCH * length * (4 * DIM + 2 * N)
    bwd = b * BATCH * length * (8 * DIM + 4 * N)
    return fwd + (bwd if backward else 0)


def kleene_fn(x):
    return selective_scan(**x, delta_softplus=True)


def cuda_fn(x):
    mod = peer("mamba_ssm-cuda")
    B, C = x["B"].unsqueeze(1), x["C"].unsqueeze(1)
    return MambaCudaScan.apply(mod, x["u"], x["delta"], x["A"], B, C, x["D"], x["z"],
                               x["delta_bias"], True)  # fmt: skip


def ssd_fn(x):
    scan = peer("mamba2-ssd")
    heads = DIM // HEADDIM
    bl = lambda t: t.transpose(1, 2)  # noqa: E731  [b, d, L] -> [b, L, d]
    xs = bl(x["u"]).reshape(BATCH, -1, heads, HEADDIM)
    z = bl(x["z"]).reshape(BATCH, -1, heads, HEADDIM)
    dt = bl(x["delta"]).reshape(BATCH, -1, heads, HEADDIM)[..., 0].contiguous()
    A = x["A"][::HEADDIM, 0].contiguous()  # one scalar per head
    B, C = bl(x["B"]).unsqueeze(2), bl(x["C"]).unsqueeze(2)
    D = x["D"][::HEADDIM].contiguous()
    bias = x["delta_bias"][::HEADDIM].contiguous()
    return scan(xs, dt, A, B, C, chunk_size=256, D=D, z=z, dt_bias=bias, dt_softplus=True)


def mambapy_fn(x):
    return mambapy_scan(peer("mambapy"), **x)


IMPLS = {"kleene-triton": kleene_fn, "mamba_ssm-cuda": cuda_fn, "mamba2-ssd": ssd_fn,
         "mambapy": mambapy_fn}  # fmt: skip


def timed(fn, x, backward):
    def call():
        out = fn(x)
        if backward:
            out.backward(torch.ones_like(out))
        torch.cuda.synchronize()

    return call


def peak_mib(call) -> float:
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    call()
    return (torch.cuda.max_memory_allocated() - base) / 2**20


@pytest.mark.parametrize("mode", ["fwd", "fwd+bwd"])
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("impl", list(IMPLS))
def test_s6(benchmark, impl, dtype, mode):
    backward = mode == "fwd+bwd"
    x = inputs(DTYPES[dtype], grad=backward)
    call = timed(IMPLS[impl], x, backward)
    call()  # compile / autotune outside the timing
    declare(benchmark, group=f"S6 {mode} B{BATCH} D{DIM} N{N} L{L} {dtype}", impl=impl,
            items=BATCH * L, unit="tokens")  # fmt: skip
    benchmark.extra_info["peak_MiB"] = round(peak_mib(call), 1)
    benchmark.extra_info["bytes"] = bytes_moved(DTYPES[dtype], backward)
    benchmark.pedantic(call, rounds=20, warmup_rounds=3)


@pytest.mark.parametrize("impl", ["kleene-triton", "pytorch-sequential"])
def test_s6_sequential_reference(benchmark, impl):
    """The PyTorch loop is too slow at L = 2048; both rows run at L = 256."""
    x = inputs(torch.bfloat16, length=256)
    fn = kleene_fn if impl == "kleene-triton" else (
        lambda x: selective_scan_ref(**x, delta_softplus=True))  # fmt: skip
    call = timed(fn, x, False)
    call()
    declare(benchmark, group=f"S6 fwd B{BATCH} D{DIM} N{N} L256 bf16", impl=impl,
            items=BATCH * 256, unit="tokens")  # fmt: skip
    benchmark.pedantic(call, rounds=5, warmup_rounds=1)


@pytest.mark.parametrize("impl", ["mamba_ssm-cuda", "mambapy"])
def test_peers_agree_with_kleene(impl):
    """Sanity check before trusting the timings: each peer computes the same S6."""
    x = inputs(torch.float32, length=300)
    want = kleene_fn(x)
    got = IMPLS[impl](x)
    assert ((got - want).norm() / want.norm()).item() < 1e-4
