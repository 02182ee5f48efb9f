"""LRU, RGLRU and GatedLinearRNN: formulas against independent fp64 loops, step-by-step
generation against the full forward, state continuation, packed sequences, and the Triton
path (interpreted on CPU) against the CPU path."""

from __future__ import annotations

import importlib
import math
import os

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    # Before triton is first imported: its own jit helpers (tl.zeros, ...) pick the mode then.
    os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton")

from kleene.layers import LRU, RGLRU, GatedLinearRNN  # noqa: E402

H = 6


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def make_layer(kind):
    torch.manual_seed(0)
    if kind == "lru":
        return LRU(H, 5, r_min=0.5, r_max=0.99, generator=gen())
    if kind == "rglru":
        return RGLRU(H, num_blocks=2, generator=gen())
    return GatedLinearRNN(H, 7, signed=kind.startswith("signed"), saturate=0.2 * ("sat" in kind))


KINDS = ["lru", "rglru", "signed", "unsigned", "signed-sat"]


def inputs(B=2, T=11, seed=1):
    return torch.randn(B, T, H, generator=gen(seed))


@pytest.mark.parametrize("kind", KINDS)
def test_step_by_step_equals_forward(kind):
    layer = make_layer(kind)
    x = inputs()
    with torch.no_grad():
        y, final = layer(x, output_final_state=True)
        state, steps = None, []
        for t in range(x.shape[1]):
            y_t, state = layer.step(x[:, t], state)
            steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, 1), y, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(state, final, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_initial_state_continues_a_sequence(kind):
    layer = make_layer(kind)
    x = inputs(T=12)
    with torch.no_grad():
        whole = layer(x)
        first, state = layer(x[:, :5], output_final_state=True)
        rest = layer(x[:, 5:], initial_state=state)
    torch.testing.assert_close(torch.cat([first, rest], 1), whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_packed_sequences_equal_separate_runs(kind):
    layer = make_layer(kind)
    lengths = [4, 0, 7, 3]
    x = inputs(B=1, T=sum(lengths))
    cu = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()])
    with torch.no_grad():
        packed = layer(x, cu_seqlens=cu)
        separate = [layer(x[:, a:b]) for a, b in zip(cu[:-1], cu[1:], strict=True) if b > a]
    torch.testing.assert_close(packed, torch.cat(separate, 1), rtol=1e-5, atol=1e-5)


def test_lru_matches_paper_formula_in_fp64():
    layer = make_layer("lru").double()
    u = inputs().double()
    p = {k: v.detach() for k, v in layer.named_parameters()}
    lam = torch.exp(-torch.exp(p["nu_log"]) + 1j * torch.exp(p["theta_log"]))
    b_mat = (p["B_re"] + 1j * p["B_im"]) * torch.exp(p["gamma_log"])[:, None]
    c_mat = p["C_re"] + 1j * p["C_im"]
    state = torch.zeros(u.shape[0], lam.shape[0], dtype=torch.complex128)
    want = []
    for t in range(u.shape[1]):
        state = lam * state + u[:, t].to(torch.complex128) @ b_mat.T
        want.append((state @ c_mat.T).real + p["D"] * u[:, t])
    with torch.no_grad():
        got = layer(u)
    torch.testing.assert_close(got, torch.stack(want, 1), rtol=1e-9, atol=1e-9)


def test_lru_ring_initialisation():
    layer = LRU(4, 4000, r_min=0.4, r_max=0.9, max_phase=math.pi, generator=gen(2))
    with torch.no_grad():
        lam = layer.eigenvalues()
        radius = lam.abs()
        assert radius.min() >= 0.4 - 1e-6 and radius.max() <= 0.9 + 1e-6
        assert lam.angle().min() >= 0 and lam.angle().max() <= math.pi + 1e-5
        # |lambda|^2 uniform on [0.16, 0.81]: mean 0.485, and gamma = sqrt(1 - |lambda|^2)
        assert abs(radius.square().mean().item() - 0.485) < 0.01
        torch.testing.assert_close(torch.exp(layer.gamma_log), torch.sqrt(1 - radius.square()))


def test_rglru_matches_griffin_formula_in_fp64():
    layer = make_layer("rglru").double()
    x = inputs().double()
    with torch.no_grad():
        r = torch.sigmoid(layer.a_gate(x))
        i = torch.sigmoid(layer.input_gate(x))
        a = torch.sigmoid(-layer.a_param) ** (8.0 * r)
        h = torch.zeros(x.shape[0], H, dtype=torch.float64)
        want = []
        for t in range(x.shape[1]):
            scale = 1.0 if t == 0 else torch.sqrt(1 - a[:, t] ** 2)
            h = a[:, t] * h + scale * i[:, t] * x[:, t]
            want.append(h)
        got = layer(x)
    torch.testing.assert_close(got, torch.stack(want, 1), rtol=1e-9, atol=1e-9)


def test_rglru_initial_radius():
    layer = RGLRU(3000, min_rad=0.9, max_rad=0.999, generator=gen(3))
    radius = torch.sigmoid(-layer.a_param.detach())
    assert radius.min() >= 0.9 - 1e-5 and radius.max() <= 0.999 + 1e-5
    assert abs(radius.square().mean().item() - (0.81 + 0.998001) / 2) < 0.01


@pytest.mark.parametrize("saturate", [0.0, 0.1])
@pytest.mark.parametrize("signed", [False, True])
def test_gate_ranges(signed, saturate):
    layer = GatedLinearRNN(H, 7, signed=signed, saturate=saturate).double()
    with torch.no_grad():
        layer.gate.weight.mul_(5)
        a, _ = layer._gate_and_input(inputs(T=50).double())
    low = -1.0 if signed else 0.0
    assert a.max() <= 1 and a.min() >= low
    assert (a.min() < -0.9) == signed
    # the interval's ends are reached exactly only with saturate > 0
    assert ((a == 1).any() and (a == low).any()) == (saturate > 0)


@pytest.mark.parametrize("kind", KINDS)
def test_triton_path_equals_cpu_path(kind, monkeypatch):
    """Same layer, same inputs: outputs and every parameter gradient through both backends."""
    if torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1":
        pytest.skip("compares the interpreted kernels with the CPU path")
    layer = make_layer(kind)
    x = inputs(B=1, T=9)

    def run():
        layer.zero_grad()
        y = layer(x)
        (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
        return y.detach(), {k: p.grad.clone() for k, p in layer.named_parameters()}

    y_cpu, g_cpu = run()
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    monkeypatch.setenv("KLEENE_TRITON_CPU", "1")
    from triton.runtime.interpreter import InterpretedFunction

    from kleene.triton_kernels.linear_recurrence import chunk
    from kleene.triton_kernels.rglru import kernels

    if not isinstance(chunk.chunk_linear_recurrence_fwd_kernel, InterpretedFunction):
        importlib.reload(chunk)
    if not isinstance(kernels.fused_rglru_fwd_kernel, InterpretedFunction):
        importlib.reload(kernels)
    y_tri, g_tri = run()
    torch.testing.assert_close(y_tri, y_cpu, rtol=1e-5, atol=1e-5)
    for name in g_cpu:
        torch.testing.assert_close(g_tri[name], g_cpu[name], rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.parametrize("kind", ["lru", "rglru", "signed-sat"])
def test_layer_compiles_fullgraph(kind):
    """Forward and parameter gradients of the compiled layer equal eager ones."""
    layer = make_layer(kind)
    x = inputs()
    compiled = torch.compile(layer, fullgraph=True, backend="aot_eager")
    compiled(x).square().sum().backward()
    got = {k: p.grad.clone() for k, p in layer.named_parameters()}
    layer.zero_grad()
    layer(x).square().sum().backward()
    torch.testing.assert_close(compiled(x), layer(x))
    for k, p in layer.named_parameters():
        torch.testing.assert_close(got[k], p.grad, msg=k)


def test_bad_arguments():
    with pytest.raises(ValueError, match="r_min"):
        LRU(4, 4, r_min=0.9, r_max=0.5)
    with pytest.raises(ValueError, match="num_blocks"):
        RGLRU(10, num_blocks=3)
    with pytest.raises(ValueError, match="d_hidden"):
        GatedLinearRNN(4, 0)


# --- the fused RG-LRU op ---------------------------------------------------------------------

RGLRU_CASES = [  # batch, offsets (None: dense), initial state, dtype
    (2, None, False, torch.float32),
    (2, None, True, torch.float32),
    (1, [0, 7, 7, 20, 37], False, torch.float32),
    (1, [0, 7, 7, 20, 37], True, torch.float32),
    (1, None, False, torch.bfloat16),
]


@pytest.mark.parametrize(
    "batch,offsets,use_h0,dtype",
    RGLRU_CASES,
    ids=[
        f"B{c[0]}-{'packed' if c[1] else 'dense'}-{'h0' if c[2] else 'reset'}-{c[3]}"
        for c in RGLRU_CASES
    ],  # fmt: skip
)
def test_fused_rglru_matches_the_pytorch_reference(monkeypatch, batch, offsets, use_h0, dtype):
    """The fused kernels (interpreted on CPU) against the PyTorch gate math + scan in fp64:
    h, the final state and the gradients of x, both gate pre-activations, the decay and the
    initial state; decays down to 1e-4 (a near 1, where 1 - a^2 cancels)."""
    from kleene.triton_kernels.rglru import op, rglru_scan, rglru_scan_ref

    if not torch.cuda.is_available():
        monkeypatch.setenv("TRITON_INTERPRET", "1")
        monkeypatch.setenv("KLEENE_TRITON_CPU", "1")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    g = gen(4)
    T, W = 37, 5
    x, gx, ga = (torch.randn(batch, T, W, generator=g, dtype=torch.float64) for _ in range(3))
    decay = torch.tensor([1e-4, 1e-3, 0.01, 0.05, 0.3], dtype=torch.float64)
    cu = None if offsets is None else torch.tensor(offsets, device=device)
    n = batch if offsets is None else len(offsets) - 1
    h0 = torch.randn(n, W, generator=g, dtype=torch.float64) if use_h0 else None

    def run(fn, io_dtype, state_dtype):
        leaves = [t.to(device, io_dtype).requires_grad_() for t in (x, gx, ga)]
        leaves.append(decay.to(device, state_dtype).requires_grad_())
        init = None if h0 is None else h0.to(device, state_dtype).requires_grad_()
        h, ht = fn(*leaves, 8.0, init, cu)
        weights = torch.linspace(-1, 1, h.numel(), dtype=torch.float64, device=device)
        loss = (h.double() * weights.view_as(h)).sum() + 0.3 * ht.double().sum()
        grads = torch.autograd.grad(loss, leaves + ([init] if init is not None else []))
        return [h, ht, *grads]

    assert op.use_fused(x.to(device, dtype))
    got = run(rglru_scan, dtype, torch.float32)
    want = run(rglru_scan_ref, torch.float64, torch.float64)
    tol = 1e-5 if dtype == torch.float32 else 1e-2
    names = ["h", "final", "dx", "dgx", "dga", "ddecay", "dh0"]
    for name, got_t, want_t in zip(names, got, want, strict=False):
        err = ((got_t.double() - want_t).norm() / want_t.norm()).item()
        assert err < tol, (name, err)
    assert got[0].dtype == dtype and got[1].dtype == torch.float32


def test_fused_rglru_compiles_fullgraph(monkeypatch):
    """torch.compile(fullgraph=True) traces the fused op (custom op + fake + autograd)."""
    from kleene.triton_kernels.rglru import op, rglru_scan

    if not torch.cuda.is_available():
        monkeypatch.setenv("TRITON_INTERPRET", "1")
        monkeypatch.setenv("KLEENE_TRITON_CPU", "1")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    g = gen(5)
    x, gx, ga = (torch.randn(1, 9, 3, generator=g).to(device).requires_grad_() for _ in range(3))
    decay = (torch.rand(3, generator=g) * 0.1).to(device).requires_grad_()
    assert op.use_fused(x)

    def loss(x, gx, ga, decay):
        h, ht = rglru_scan(x, gx, ga, decay, 8.0)
        return h.square().sum() + ht.sum()

    compiled = torch.compile(loss, fullgraph=True, backend="aot_eager")
    got = torch.autograd.grad(compiled(x, gx, ga, decay), (x, gx, ga, decay))
    want = torch.autograd.grad(loss(x, gx, ga, decay), (x, gx, ga, decay))
    for g_, w_ in zip(got, want, strict=True):
        torch.testing.assert_close(g_, w_, rtol=1e-5, atol=1e-6)
