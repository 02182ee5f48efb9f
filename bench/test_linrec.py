"""linear_recurrence (h_t = a_t h_{t-1} + x_t) on a GPU against accelerated-scan's Triton scan,
fla's HGRN kernels (chunk and fused_recurrent), a PyTorch loop over time, and a 3-operand
elementwise op as the memory roofline (the scan must read a and x and write h).

Run on a CUDA machine: ``pytest bench/test_linrec.py --benchmark-only``
(skipped without CUDA). Peers: ``pip install accelerated-scan fla-core``.

Bytes per element (minimal model): forward 3 (read a, x; write h), forward+backward 8
(+ read a, h, dh; write da, dx); multiply by the element size for GB/s.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    pytest.skip("linrec benchmarks need a CUDA device", allow_module_level=True)

from conftest import declare  # noqa: E402

from kleene.triton_kernels import linear_recurrence  # noqa: E402

SHAPES = [(8, 4096, 2048), (2, 16384, 2048)]
DTYPE = torch.bfloat16


def shape_id(shape):
    return "B{}-T{}-D{}".format(*shape)


def inputs(shape, requires_grad=False):
    g = torch.Generator(device="cuda").manual_seed(0)
    a = torch.rand(shape, device="cuda", generator=g).mul(0.1).add(0.9).to(DTYPE)  # in (0.9, 1)
    x = torch.randn(shape, device="cuda", generator=g).to(DTYPE)
    return a.requires_grad_(requires_grad), x.requires_grad_(requires_grad)


def timed(fn, backward: bool):
    """A callable that runs fn (and its backward with a fixed upstream gradient), synchronised."""

    def run(*args):
        out = fn(*args)
        if backward:  # autograd.grad: no accumulation into .grad between rounds
            torch.autograd.grad(out, [t for t in args if t.requires_grad], torch.ones_like(out))
        torch.cuda.synchronize()

    return run


def _leaf(t, requires_grad):
    return t.detach().contiguous().requires_grad_(requires_grad)


def _accelerated_scan():
    from accelerated_scan.scalar import scan

    def prepare(a, x):  # its layout is [B, D, T]; transposed outside the timing
        return tuple(_leaf(t.transpose(1, 2), t.requires_grad) for t in (a, x))

    return prepare, scan


def _fla(kernel_name):
    import fla.ops.hgrn as hgrn

    kernel = getattr(hgrn, kernel_name)

    def prepare(a, x):  # fla's HGRN takes g = log a (so it cannot express negative gates)
        return _leaf(x, x.requires_grad), _leaf(a.float().log().to(a.dtype), a.requires_grad)

    return prepare, lambda x, g: kernel(x, g)[0]


def _same(a, x):
    return a, x


def roofline(a, x):
    return torch.addcmul(x, a, x)  # reads 2 tensors, writes 1: the forward's minimal traffic


def impls(backward: bool):
    """name -> factory of (prepare, fn); a factory raising ImportError means 'not installed'."""
    rows = {
        "kleene linear_recurrence": lambda: (_same, linear_recurrence),
        "accelerated-scan scalar": _accelerated_scan,
        "fla chunk_hgrn": lambda: _fla("chunk_hgrn"),
        "fla fused_recurrent_hgrn": lambda: _fla("fused_recurrent_hgrn"),
    }
    if not backward:
        rows["roofline: 3-operand elementwise"] = lambda: (_same, roofline)
    return rows


IMPLS = list(impls(False))


@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
@pytest.mark.parametrize("backward", [False, True], ids=["fwd", "fwd+bwd"])
@pytest.mark.parametrize("impl", IMPLS)
def test_linrec(benchmark, shape, backward, impl):
    factories = impls(backward)
    if impl not in factories:
        pytest.skip("no backward for the roofline row")
    try:
        prepare, fn = factories[impl]()
    except Exception as err:  # not installed, or fails at import with this triton
        pytest.skip(f"{impl} unavailable: {err}")
    args = prepare(*inputs(shape, requires_grad=backward))
    items = shape[0] * shape[1] * shape[2]
    group = f"linrec {'fwd+bwd' if backward else 'fwd'} {shape_id(shape)} bf16"
    declare(benchmark, group=group, impl=impl, items=items, unit="elements")
    benchmark.extra_info["bytes"] = items * DTYPE.itemsize * (8 if backward else 3)
    run = timed(fn, backward)
    run(*args)  # compile / autotune outside the timing
    benchmark.pedantic(run, args=args, rounds=20, warmup_rounds=2)


def torch_loop(a, x):
    h, outs = torch.zeros_like(x[:, 0]), []
    for t in range(x.shape[1]):
        h = a[:, t] * h + x[:, t]
        outs.append(h)
    return torch.stack(outs, 1)


@pytest.mark.parametrize("backward", [False, True], ids=["fwd", "fwd+bwd"])
@pytest.mark.parametrize("impl", ["kleene linear_recurrence", "torch loop"])
def test_linrec_vs_torch_loop(benchmark, backward, impl):
    """The plain PyTorch loop over time, at a shorter length (it is O(T) kernel launches)."""
    shape = (8, 512, 2048)
    a, x = inputs(shape, requires_grad=backward)
    items = shape[0] * shape[1] * shape[2]
    group = f"linrec torch loop {'fwd+bwd' if backward else 'fwd'} {shape_id(shape)} bf16"
    declare(benchmark, group=group, impl=impl, items=items, unit="elements")
    run = timed(linear_recurrence if impl.startswith("kleene") else torch_loop, backward)
    run(a, x)
    benchmark.pedantic(run, args=(a, x), rounds=5, warmup_rounds=1)
