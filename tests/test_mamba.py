"""kleene.layers.Mamba against a plain PyTorch implementation of the same block, decoding
with the cache against the full forward, and mamba_ssm's initialisation."""

from __future__ import annotations

import copy
import math
import os

if "TRITON_INTERPRET" not in os.environ:  # must precede the first triton.jit decoration
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        os.environ["TRITON_INTERPRET"] = "0" if __import__("torch").cuda.is_available() else "1"

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")
F = torch.nn.functional

from kleene.layers import Mamba  # noqa: E402
from kleene.triton_kernels.selective_scan import op  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.fixture(autouse=True)
def small_tiles(monkeypatch):
    """Short tiles and checkpoints under the interpreter only (see test_selective_scan)."""
    if os.environ.get("TRITON_INTERPRET") == "1":
        monkeypatch.setattr(op, "FORCE_BLOCK_T", 16)
        monkeypatch.setattr(op, "FORCE_CHECKPOINT_TILES", 2)


def plain_mamba(m: Mamba, x: torch.Tensor) -> torch.Tensor:
    """The Mamba block written out step by step from the module's parameters: explicit
    causal convolution taps and a loop over time for the recurrence."""
    batch, length, _ = x.shape
    d_inner, n = m.d_inner, m.d_state
    xz = F.linear(x, m.in_proj.weight, m.in_proj.bias)
    xs, z = xz[..., :d_inner], xz[..., d_inner:]
    w = m.conv1d.weight[:, 0, :]  # [d_inner, K]
    k_w = w.shape[1]
    conv = torch.zeros_like(xs)
    for t in range(length):
        for k in range(k_w):
            src = t - (k_w - 1) + k
            if src >= 0:
                conv[:, t] = conv[:, t] + xs[:, src] * w[:, k]
    if m.conv1d.bias is not None:
        conv = conv + m.conv1d.bias
    conv = F.silu(conv)
    proj = conv @ m.x_proj.weight.T
    dt_low, Bm, Cm = proj.split([m.dt_rank, n, n], dim=-1)
    dt = F.softplus(dt_low @ m.dt_proj.weight.T + m.dt_proj.bias)
    A = -torch.exp(m.A_log)
    h = x.new_zeros(batch, d_inner, n)
    ys = []
    for t in range(length):
        gate = torch.exp(dt[:, t, :, None] * A)
        if m.signed_gate:
            gate = 2 * gate - 1
        h = gate * h + (dt[:, t] * conv[:, t])[..., None] * Bm[:, t, None, :]
        y = (h * Cm[:, t, None, :]).sum(-1) + m.D * conv[:, t]
        ys.append(y * F.silu(z[:, t]))
    return F.linear(torch.stack(ys, 1), m.out_proj.weight, m.out_proj.bias)


def rel_err(ref, got):
    return ((ref.double() - got.double()).norm() / ref.double().norm()).item()


@pytest.mark.parametrize(
    "backend, signed, bias", [("triton", False, False), ("reference", True, True)]
)
def test_block_matches_plain_implementation(backend, signed, bias):
    torch.manual_seed(0)
    m = Mamba(8, d_state=4, d_conv=3, expand=2, bias=bias, signed_gate=signed, backend=backend)
    m = m.to(DEVICE)
    m64 = copy.deepcopy(m).double()
    x = torch.randn(2, 19, 8, device=DEVICE)
    x64 = x.double().requires_grad_()
    x.requires_grad_()
    out = m(x)
    ref = plain_mamba(m64, x64)
    assert rel_err(ref, out) < 1e-5
    g = torch.randn_like(out)
    (out * g).sum().backward()
    (ref * g.double()).sum().backward()
    assert rel_err(x64.grad, x.grad) < 1e-4
    params64 = dict(m64.named_parameters())
    for name, p in m.named_parameters():
        assert rel_err(params64[name].grad, p.grad) < 1e-4, name


@pytest.mark.parametrize("signed", [False, True])
def test_step_by_step_decoding_equals_full_forward(signed):
    torch.manual_seed(1)
    m = Mamba(8, d_state=4, d_conv=4, signed_gate=signed, backend="reference").eval()
    x = torch.randn(3, 11, 8)
    with torch.no_grad():
        full = m(x)
        cache = None  # the first step starts from a fresh cache
        steps = []
        for t in range(11):
            y, cache = m.step(x[:, t], cache)  # [B, d_model] like the other layers
            steps.append(y[:, None])
        assert cache.seqlen_offset == 11
        assert rel_err(full, torch.cat(steps, dim=1)) < 1e-5
        for prefix in (2, 7):  # shorter and longer than d_conv
            cache = m.allocate_cache(3)
            head = m(x[:, :prefix], cache)
            tail = [m.step(x[:, t : t + 1], cache)[0] for t in range(prefix, 11)]  # [B, 1, D]
            assert rel_err(full, torch.cat([head, *tail], dim=1)) < 1e-5


def test_prefill_with_triton_backend_continues_decoding():
    torch.manual_seed(2)
    m = Mamba(8, d_state=4, backend="triton").to(DEVICE).eval()
    x = torch.randn(2, 9, 8, device=DEVICE)
    with torch.no_grad():
        full = plain_mamba(m, x)
        cache = m.allocate_cache(2)
        head = m(x[:, :6], cache)
        tail = [m.step(x[:, t : t + 1], cache)[0] for t in range(6, 9)]
    assert rel_err(full, torch.cat([head, *tail], dim=1)) < 1e-5


@pytest.mark.parametrize("backend", ["triton", "reference"])
def test_packed_sequences_equal_separate_runs(backend):
    """cu_seqlens through the block: outputs and input / parameter gradients equal separate
    runs of each sequence (an empty one and ones shorter than d_conv included), and the
    filled cache continues every sequence like its own full forward."""
    torch.manual_seed(4)
    m = Mamba(8, d_state=4, d_conv=4, backend=backend).to(DEVICE)
    bounds = [0, 2, 2, 13, 20]
    x = torch.randn(1, 22, 8, device=DEVICE)  # the last two steps are decoded below
    cu = torch.tensor(bounds, device=DEVICE)
    xp = x[:, :20].clone().requires_grad_()
    cache = m.allocate_cache(4)
    packed = m(xp, cache, cu_seqlens=cu)
    g = torch.randn_like(packed)
    (packed * g).sum().backward()
    grads = {n: p.grad.clone() for n, p in m.named_parameters()}
    m.zero_grad()
    for s, e in zip(bounds[:-1], bounds[1:], strict=True):
        if e == s:
            continue
        xs = x[:, s:e].clone().requires_grad_()
        alone = m(xs)
        assert rel_err(alone, packed[:, s:e]) < 1e-5
        (alone * g[:, s:e]).sum().backward()
        assert rel_err(xs.grad, xp.grad[:, s:e]) < 1e-5
    for n, p in m.named_parameters():
        assert rel_err(p.grad, grads[n]) < 1e-5, n
    # decoding continues the third sequence (index 2, steps 2..12) from the packed cache
    with torch.no_grad():
        seq = torch.cat([x[:, 2:13], x[:, 20:22]], dim=1)
        want = m(seq)[:, -2:]
        step_cache = m.allocate_cache(1)
        step_cache.conv_state.copy_(cache.conv_state[2:3])
        step_cache.ssm_state.copy_(cache.ssm_state[2:3])
        got = [m.step(x[:, t], step_cache)[0] for t in (20, 21)]
    assert rel_err(want, torch.stack(got, dim=1)) < 1e-5


def test_initialisation_follows_mamba_ssm():
    torch.manual_seed(3)
    m = Mamba(40, d_state=6, d_conv=4, expand=2, dt_min=0.01, dt_max=0.05)
    d_inner, rank = 80, math.ceil(40 / 16)
    shapes = {name: tuple(p.shape) for name, p in m.named_parameters()}
    assert shapes == {
        "A_log": (d_inner, 6),
        "D": (d_inner,),
        "in_proj.weight": (2 * d_inner, 40),
        "conv1d.weight": (d_inner, 1, 4),
        "conv1d.bias": (d_inner,),
        "x_proj.weight": (rank + 12, d_inner),
        "dt_proj.weight": (d_inner, rank),
        "dt_proj.bias": (d_inner,),
        "out_proj.weight": (40, d_inner),
    }
    assert torch.allclose(torch.exp(m.A_log), torch.arange(1.0, 7.0).repeat(d_inner, 1))
    assert torch.equal(m.D.data, torch.ones(d_inner))
    dt = F.softplus(m.dt_proj.bias)
    assert dt.min() >= 0.01 * (1 - 1e-5) and dt.max() <= 0.05 * (1 + 1e-5)
    assert dt.max() / dt.min() > 2  # spread log-uniformly, not constant
    std = rank**-0.5
    assert m.dt_proj.weight.abs().max() <= std
    const = Mamba(40, dt_init="constant", dt_scale=2.0)
    assert torch.allclose(const.dt_proj.weight, torch.full_like(const.dt_proj.weight, 2 * std))
    assert Mamba(16, dt_rank=5).dt_rank == 5


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="dt_init"):
        Mamba(8, dt_init="xavier")
    with pytest.raises(ValueError, match="dt_min"):
        Mamba(8, dt_min=0.2, dt_max=0.1)
    with pytest.raises(ValueError, match="d_state"):
        Mamba(8, d_state=0)
    m = Mamba(8, d_state=2)
    with pytest.raises(ValueError, match="input must be"):
        m(torch.randn(2, 5, 7))
    cache = m.allocate_cache(1)
    with pytest.raises(ValueError, match=r"\[B, 8\] or \[B, 1, 8\]"):
        m.step(torch.randn(1, 2, 8), cache)
    with pytest.raises(TypeError, match="cu_seqlens"):
        m(torch.randn(1, 5, 8), cu_seqlens=[0, 5])
    with pytest.raises(ValueError, match="batch size must be 1"):
        m(torch.randn(2, 5, 8), cu_seqlens=torch.tensor([0, 5]))
