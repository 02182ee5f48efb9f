"""Selective scan: Triton kernels (under TRITON_INTERPRET=1 on CPU) against the reference.

Every output and gradient (u, delta, A, B, C, D, z, delta_bias, initial state) of the fp32
Triton path is compared with the fp64 reference by relative RMS error, on odd sizes. Under the
interpreter the tiles are short (BT = 16) and checkpoints two tiles apart, so that sequences
span several tiles and checkpoints and the carried state, the recomputation of tile-entry
states from checkpoints and the per-tile recomputation are exercised; on a GPU the production
tile sizes run, and long sequences exercise them. Output buffers are NaN-filled.
"""

from __future__ import annotations

import os

if "TRITON_INTERPRET" not in os.environ:  # must precede the first triton.jit decoration
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        os.environ["TRITON_INTERPRET"] = "0" if __import__("torch").cuda.is_available() else "1"

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")

from kleene.triton_kernels import selective_scan, selective_scan_ref  # noqa: E402
from kleene.triton_kernels.selective_scan import MAX_D_STATE, op  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias", "initial_state")


@pytest.fixture(autouse=True)
def small_tiles(monkeypatch):
    """Short tiles and checkpoints under the interpreter only: compiled kernels on a GPU run
    with the production sizes."""
    if INTERPRETED:
        monkeypatch.setattr(op, "FORCE_BLOCK_T", 16)
        monkeypatch.setattr(op, "FORCE_CHECKPOINT_TILES", 2)


@pytest.fixture
def nan_buffers(monkeypatch):
    """Kernel output buffers start as NaN, so anything left unwritten shows up."""
    empty, empty_like, new_empty = torch.empty, torch.empty_like, torch.Tensor.new_empty

    def fill(t):
        return t.fill_(float("nan")) if t.is_floating_point() else t

    monkeypatch.setattr(op.torch, "empty", lambda *a, **k: fill(empty(*a, **k)))
    monkeypatch.setattr(op.torch, "empty_like", lambda *a, **k: fill(empty_like(*a, **k)))
    monkeypatch.setattr(torch.Tensor, "new_empty", lambda s, *a, **k: fill(new_empty(s, *a, **k)))


def rel_err(ref: torch.Tensor, got: torch.Tensor) -> float:
    ref, got = ref.double(), got.double()
    return ((ref - got).norm() / ref.norm().clamp_min(1e-12)).item()


def make_inputs(b=2, d=5, L=37, n=3, groups=None, vary_b=True, vary_c=True, dtype=torch.float32,
                big_delta=False, seed=0):  # fmt: skip
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape, scale=1.0, offset=0.0, dt=dtype, rand=False):
        t = torch.rand(*shape, generator=g) if rand else torch.randn(*shape, generator=g)
        return (t * scale + offset).to(dt).to(DEVICE)

    def bc(varying):
        if groups is not None:
            return rnd(b, groups, n, L)
        return rnd(b, n, L) if varying else rnd(d, n, dt=torch.float32)

    u = rnd(b, d, L)
    delta = rnd(b, d, L, scale=4.0 if big_delta else 0.5, rand=True)
    A = rnd(d, n, scale=-0.5, offset=-0.1, dt=torch.float32, rand=True)
    B = bc(vary_b)
    C = bc(vary_c)
    D = rnd(d, dt=torch.float32)
    z = rnd(b, d, L)
    bias = rnd(d, scale=0.5, dt=torch.float32, rand=True)
    h0 = rnd(b, d, n, dt=torch.float32)
    return [u, delta, A, B, C, D, z, bias, h0]


def run_both(inputs, use, softplus=True, signed=False, cu_seqlens=None):
    """(outputs, grads) of the Triton path and of the fp64 reference for the same upstream
    gradients of out and of the last state. ``use`` picks the optional inputs."""
    ts = [t.detach().clone().requires_grad_() if t is not None else None for t in inputs]
    ts = [t if (i < 5 or NAMES[i] in use) else None for i, t in enumerate(ts)]
    u, delta, A, B, C, D, z, bias, h0 = ts
    kw = dict(signed_gate=signed, initial_state=h0, cu_seqlens=cu_seqlens)
    out, last = selective_scan(
        u, delta, A, B, C, D, z, bias, softplus, True, backend="triton", **kw
    )
    dbl = [t.detach().double().requires_grad_() if t is not None else None for t in ts]
    kw["initial_state"] = dbl[8]
    out_r, last_r = selective_scan_ref(*dbl[:8], softplus, True, **kw)
    g = torch.Generator().manual_seed(1)
    gout = torch.randn(out.shape, generator=g).to(DEVICE)
    glast = torch.randn(last.shape, generator=g).to(DEVICE)
    live = [(i, t) for i, t in enumerate(ts) if t is not None]
    grads = torch.autograd.grad(
        (out.float() * gout).sum() + (last * glast).sum(), [t for _, t in live]
    )
    grads_r = torch.autograd.grad(
        (out_r * gout.double()).sum() + (last_r * glast.double()).sum(), [dbl[i] for i, _ in live]
    )
    pairs = {"out": (out_r, out), "last_state": (last_r, last)}
    for (i, _), gr, gt in zip(live, grads_r, grads, strict=True):
        pairs["d" + NAMES[i]] = (gr, gt)
    return pairs, ts


ALL = set(NAMES)
CASES = {
    "B2-D5-L37-N3-varyingBC-all-options": (dict(), ALL, dict()),
    "B2-D5-L37-N3-constBC-signed": (dict(vary_b=False, vary_c=False), ALL, dict(signed=True)),
    "B2-D6-L33-N4-G2-bare-nosoftplus": (
        dict(d=6, L=33, n=4, groups=2),
        set(),
        dict(softplus=False),
    ),
    "B1-D3-L40-N5-constB-varyingC-signed-bigdelta": (
        dict(b=1, d=3, L=40, n=5, vary_b=False, big_delta=True),
        {"D", "initial_state"},
        dict(signed=True),
    ),
    "B2-D4-L21-N2-fp64": (dict(d=4, L=21, n=2, dtype=torch.float64), ALL, dict()),
    "B1-D2-L20-N256-max-d_state": (dict(b=1, d=2, L=20, n=MAX_D_STATE), ALL, dict()),
}


@pytest.mark.parametrize("case", list(CASES))
def test_values_and_gradients_match_reference(case, nan_buffers):
    shape_kw, use, run_kw = CASES[case]
    pairs, _ = run_both(make_inputs(**shape_kw), use, **run_kw)
    for name, (ref, got) in pairs.items():
        assert got.shape == ref.shape, name
        assert torch.isfinite(got).all(), name
        assert rel_err(ref, got) < 2e-5, f"{name}: relative error {rel_err(ref, got):.2e}"


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_half_inputs_accumulate_in_fp32(dtype):
    """The state is fp32: the last state (fp32 output) matches the fp64 reference on the same
    rounded inputs to fp32 accuracy, far below the half-precision epsilon (8e-3 for bf16); the
    half outputs and gradients carry only their own rounding."""
    pairs, ts = run_both(make_inputs(b=1, d=3, L=40, n=4, dtype=dtype), ALL)
    assert pairs["out"][1].dtype == dtype and pairs["du"][1].dtype == dtype
    assert pairs["last_state"][1].dtype == torch.float32
    assert rel_err(*pairs["last_state"]) < 1e-5
    assert rel_err(*pairs["out"]) < torch.finfo(dtype).eps
    for name, (ref, got) in pairs.items():
        assert rel_err(ref, got) < 1e-2, f"{name}: relative error {rel_err(ref, got):.2e}"


def test_packed_sequences_equal_separate_runs(nan_buffers):
    """cu_seqlens packing (with an empty sequence and one shorter than a tile) equals running
    each sequence on its own, outputs, last states and all gradients."""
    lengths = [17, 0, 5, 30]
    cu = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], device=DEVICE)
    total = int(cu[-1])
    u, delta, A, B, C, D, z, bias, _ = make_inputs(b=1, d=5, L=total, n=3)
    h0 = torch.randn(len(lengths), 5, 3, device=DEVICE)
    packed, ts = run_both([u, delta, A, B, C, D, z, bias, h0], ALL, cu_seqlens=cu)
    for name, (ref, got) in packed.items():
        assert rel_err(ref, got) < 2e-5, f"packed {name} vs reference"

    pieces, dh0 = [], []
    for i, (s, e) in enumerate(zip(cu[:-1].tolist(), cu[1:].tolist(), strict=True)):
        sl = [t[..., s:e].detach().clone().requires_grad_() for t in (u, delta, B, C, z)]
        h = h0[i : i + 1].clone().requires_grad_()
        out, last = selective_scan(
            sl[0], sl[1], A, sl[2], sl[3], D, sl[4], bias, True, True, initial_state=h,
            backend="triton",
        )  # fmt: skip
        pieces.append((out, last))
        # same upstream gradients as the packed run used
        g = torch.Generator().manual_seed(1)
        gout = torch.randn(1, 5, total, generator=g)[..., s:e].to(DEVICE)
        glast = torch.randn(len(lengths), 5, 3, generator=g)[i : i + 1].to(DEVICE)
        grads = torch.autograd.grad((out * gout).sum() + (last * glast).sum(), [*sl, h])
        for name, got in zip(("du", "ddelta", "dB", "dC", "dz"), grads[:5], strict=True):
            if e > s:
                ref = packed[name][1][..., s:e]
                assert rel_err(ref, got) < 1e-5, f"{name} of sequence {i}"
        dh0.append(grads[-1])
    out_cat = torch.cat([p[0] for p in pieces], dim=-1)
    last_cat = torch.cat([p[1] for p in pieces], dim=0)
    assert rel_err(out_cat, packed["out"][1]) < 1e-6
    assert rel_err(last_cat, packed["last_state"][1]) < 1e-6
    assert rel_err(torch.cat(dh0), packed["dinitial_state"][1]) < 1e-5
    # the empty sequence passes its initial state through unchanged
    assert torch.equal(packed["last_state"][1][1], h0[1])


def test_initial_state_continues_a_split_sequence():
    """Scanning [0, s) then [s, L) from the first half's last state equals one scan."""
    u, delta, A, B, C, D, z, bias, _ = make_inputs(b=2, d=4, L=40, n=3)
    full, last = selective_scan(u, delta, A, B, C, D, z, bias, True, True, backend="triton")
    cut = 23
    half = [t[..., :cut] for t in (u, delta, B, C, z)]
    rest = [t[..., cut:] for t in (u, delta, B, C, z)]
    o1, h1 = selective_scan(half[0], half[1], A, half[2], half[3], D, half[4], bias, True, True,
                            backend="triton")  # fmt: skip
    o2, h2 = selective_scan(rest[0], rest[1], A, rest[2], rest[3], D, rest[4], bias, True, True,
                            initial_state=h1, backend="triton")  # fmt: skip
    assert rel_err(full, torch.cat([o1, o2], -1)) < 1e-6
    assert rel_err(last, h2) < 1e-6


def test_saves_one_state_per_checkpoint():
    """The forward keeps ceil(L / (BT * CKPT)) states per sequence, not one per step or tile."""
    u, delta, A, B, C, *_ = make_inputs(b=2, d=5, L=37, n=3)
    _, _, states = op.selective_scan_fwd(
        u, delta, A, B.unsqueeze(1), C.unsqueeze(1), None, None, None, None, None, False, False,
        True,
    )  # fmt: skip
    steps = op.block_sizes(3, 5)[2] * op.checkpoint_tiles(op.block_sizes(3, 5)[2])
    assert tuple(states.shape) == (2 * -(-37 // steps), 5, 3)
    _, _, none = op.selective_scan_fwd(
        u, delta, A, B.unsqueeze(1), C.unsqueeze(1), None, None, None, None, None, False, False,
        False,
    )  # fmt: skip
    assert none.numel() == 0


def saved_for_backward_bytes(b, d, n, L, dtype) -> int:
    """Bytes autograd keeps for the backward of one selective_scan call (z, D, delta_bias,
    softplus), measured with saved-tensor hooks on fake tensors: shapes only, no compute."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    with FakeTensorMode():
        u, delta, z = (torch.empty(b, d, L, dtype=dtype).requires_grad_() for _ in range(3))
        A = torch.empty(d, n).requires_grad_()
        B, C = (torch.empty(b, n, L, dtype=dtype).requires_grad_() for _ in range(2))
        D, bias = torch.empty(d).requires_grad_(), torch.empty(d).requires_grad_()
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            selective_scan(u, delta, A, B, C, D, z, bias, True, check_A=False, backend="triton")
    return sum(saved)


def mamba_ssm_saved_bytes(b, d, n, L, dtype) -> int:
    """What mamba_ssm's SelectiveScanFn saves with z (selective_scan_interface.py): u, delta,
    A, B, C, D, z, delta_bias, out, and the fp32 chunk carries x [b, d, ceil(L / 2048), 2N]."""
    item = torch.empty(0, dtype=dtype).element_size()
    inputs = 3 * b * d * L * item + d * n * 4 + 2 * b * n * L * item + 2 * d * 4
    return inputs + b * d * L * item + b * d * -(-L // 2048) * 2 * n * 4


def test_saved_memory_at_mamba_130m_width_is_no_more_than_mamba_ssm(monkeypatch):
    """B8 D1536 N16 L2048 bf16 with production tiles: one fp32 state per 2048 steps."""
    monkeypatch.setattr(op, "FORCE_BLOCK_T", None)
    monkeypatch.setattr(op, "FORCE_CHECKPOINT_TILES", None)
    shape = (8, 1536, 16, 2048, torch.bfloat16)
    ours, theirs = saved_for_backward_bytes(*shape), mamba_ssm_saved_bytes(*shape)
    inputs = 3 * 8 * 1536 * 2048 * 2 + 1536 * 16 * 4 + 2 * 8 * 16 * 2048 * 2 + 2 * 1536 * 4
    assert ours - inputs == 8 * 1536 * 16 * 4  # 0.75 MiB of states beyond the inputs
    assert theirs - inputs == 8 * 1536 * 2048 * 2 + 8 * 1536 * 32 * 4  # out + carries
    assert ours <= theirs


def test_signed_gate_reaches_negative_eigenvalues():
    """With a large dt * |A| the signed transition tends to -1: the state flips sign each step
    (parity), which the unsigned gate cannot do; both paths agree."""
    u = torch.zeros(1, 1, 6, device=DEVICE)
    u[..., 0] = 1.0
    delta = torch.full((1, 1, 6), 50.0, device=DEVICE)
    A = torch.full((1, 1), -1.0, device=DEVICE)
    B = torch.ones(1, 1, device=DEVICE)
    C = torch.ones(1, 1, device=DEVICE)
    out = selective_scan(u, delta, A, B, C, signed_gate=True, backend="triton")
    ref = selective_scan_ref(u, delta, A, B, C, signed_gate=True)
    expected = 50.0 * torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0], device=DEVICE)
    assert torch.allclose(out[0, 0], expected, rtol=1e-5)
    assert torch.allclose(ref[0, 0], expected, rtol=1e-5)


def test_auto_backend_dispatches_on_the_device(monkeypatch):
    """``auto`` runs the reference on CPU tensors and the Triton kernels on CUDA tensors,
    whatever device the suite runs on (the kernels' launcher is spied on)."""
    launches = []
    real = op.selective_scan_fwd_kernel

    class Spy:
        def __getitem__(self, grid):
            launches.append(grid)
            return real[grid]

    monkeypatch.setattr(op, "selective_scan_fwd_kernel", Spy())
    cpu_inputs = [t.cpu() for t in make_inputs(b=1, d=3, L=9, n=2)[:8]]
    got = selective_scan(*cpu_inputs, True, backend="auto")
    assert torch.equal(got, selective_scan_ref(*cpu_inputs, True))
    assert launches == []
    if DEVICE == "cuda":
        cuda_inputs = [t.cuda() for t in cpu_inputs]
        got = selective_scan(*cuda_inputs, True, backend="auto")
        assert len(launches) == 1
        assert torch.equal(got, selective_scan(*cuda_inputs, True, backend="triton"))
    else:
        with pytest.raises(ValueError, match="backend"):
            selective_scan(*cpu_inputs, backend="gpu")


def test_torch_compile_fullgraph_traces_the_custom_op():
    u, delta, A, B, C, D, z, bias, _ = make_inputs(b=1, d=3, L=20, n=2)
    u.requires_grad_()

    def f(u):
        return selective_scan(u, delta, A, B, C, D, z, bias, True, backend="triton")

    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    out = compiled(u)
    (gu,) = torch.autograd.grad(out.sum(), u)
    out_e = f(u)
    (gu_e,) = torch.autograd.grad(out_e.sum(), u)
    assert torch.allclose(out, out_e) and torch.allclose(gu, gu_e)


@pytest.mark.parametrize(
    "mutate, error, match",
    [
        (lambda a: a.__setitem__(2, a[2].abs() + 0.1), ValueError, "positive entries"),
        (lambda a: a.__setitem__(2, torch.zeros(5, MAX_D_STATE + 1)), ValueError, "d_state"),
        (lambda a: a.__setitem__(1, a[1][..., :-1]), ValueError, "delta/z"),
        (lambda a: a.__setitem__(3, torch.randn(2, 3, 36)), ValueError, "input-dependent form"),
        (lambda a: a.__setitem__(3, torch.randn(2, 2, 3, 37)), ValueError, "groups"),
        (lambda a: a.__setitem__(0, a[0].to(torch.complex64)), ValueError, "complex"),
        (lambda a: a.__setitem__(0, a[0].long()), TypeError, "float16"),
        (lambda a: a.__setitem__(5, torch.ones(4)), ValueError, "shape"),
        (lambda a: a.__setitem__(0, [1.0]), TypeError, "torch.Tensor"),
    ],
    ids=[
        "positive-A",
        "d_state",
        "delta-shape",
        "B-shape",
        "groups",
        "complex",
        "int",
        "D",
        "list",
    ],  # fmt: skip
)
def test_bad_input_is_refused(mutate, error, match):
    args = make_inputs(b=2, d=5, L=37, n=3)[:8]
    mutate(args)
    with pytest.raises(error, match=match):
        selective_scan(*args, check_A=True)


def test_positive_A_check_is_free_by_default():
    """By default positive A is refused on CPU tensors (no sync needed) and not checked on
    GPU tensors; check_A=True checks everywhere, check_A=False nowhere."""
    u, delta, A, B, C, *_ = make_inputs(b=1, d=3, L=9, n=2)
    cpu = [t.cpu() for t in (u, delta, A.abs(), B, C)]
    with pytest.raises(ValueError, match="positive entries"):
        selective_scan(*cpu)
    with pytest.raises(ValueError, match="positive entries"):
        selective_scan(u, delta, A.abs(), B, C, check_A=True, backend="triton")
    assert torch.isfinite(selective_scan(*cpu, check_A=False)).all()
    if DEVICE == "cuda":  # unchecked, and no host synchronisation at all
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            selective_scan(u, delta, A.abs(), B, C)
        finally:
            torch.cuda.set_sync_debug_mode("default")


def test_bad_packing_and_state_are_refused():
    u, delta, A, B, C, *_ = make_inputs(b=1, d=5, L=10, n=3)
    with pytest.raises(ValueError, match="cu_seqlens"):
        selective_scan(u, delta, A, B, C, cu_seqlens=torch.tensor([0, 4, 3, 10]))
    with pytest.raises(ValueError, match="cu_seqlens"):
        selective_scan(u, delta, A, B, C, cu_seqlens=torch.tensor([0, 4, 9]))
    with pytest.raises(TypeError, match="cu_seqlens"):
        selective_scan(u, delta, A, B, C, cu_seqlens=torch.tensor([0.0, 10.0]))
    with pytest.raises(ValueError, match="initial_state"):
        selective_scan(u, delta, A, B, C, initial_state=torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match="backend"):
        selective_scan(u, delta, A, B, C, backend="cuda")
    # positive A passes when the check is switched off
    assert torch.isfinite(selective_scan(u, delta, A.abs(), B, C, check_A=False)).all()


# --- GPU only: compiled kernels with the production tile and checkpoint sizes -----------------

GPU_CASES = [  # b, d, L, N, dtype, tolerance on the outputs and gradients
    (2, 500, 4096 + 16, 16, torch.float32, 2e-5),  # two checkpoints and a partial tile
    (1, 2048 + 16, 2100, 16, torch.bfloat16, 1e-2),
    (2, 64, 63, 64, torch.float16, 1e-2),
]


@pytest.mark.gpu
@pytest.mark.parametrize(
    "b,d,L,n,dtype,tol",
    GPU_CASES,
    ids=[f"B{c[0]}-D{c[1]}-L{c[2]}-N{c[3]}-{c[4]}" for c in GPU_CASES],
)
def test_gpu_production_tiles_against_reference(b, d, L, n, dtype, tol):
    if DEVICE != "cuda" or INTERPRETED:
        pytest.skip("runs the compiled kernels on a CUDA device")
    pairs, _ = run_both(make_inputs(b=b, d=d, L=L, n=n, dtype=dtype), ALL)
    assert rel_err(*pairs["last_state"]) < 2e-5
    for name, (ref, got) in pairs.items():
        assert torch.isfinite(got).all(), name
        assert rel_err(ref, got) < tol, f"{name}: relative error {rel_err(ref, got):.2e}"


@pytest.mark.gpu
def test_gpu_forward_and_backward_do_not_synchronise():
    if DEVICE != "cuda" or INTERPRETED:
        pytest.skip("needs a CUDA device")
    inputs = [t.requires_grad_() for t in make_inputs(b=2, d=64, L=300, n=16)[:8]]
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        out = selective_scan(*inputs, True)
        out.backward(torch.ones_like(out))
    finally:
        torch.cuda.set_sync_debug_mode("default")


# --- complex A (mamba_ssm's complex variant) ---------------------------------------------------


def complex_inputs(form: str, dtype=torch.float64, b=2, d=4, n=3, L=13, seed=5):
    g = torch.Generator().manual_seed(seed)
    cdt = torch.complex128 if dtype == torch.float64 else torch.complex64

    def r(*shape, rand=False, dt=dtype):
        return (torch.rand if rand else torch.randn)(*shape, generator=g, dtype=torch.float64).to(
            dt
        )

    A = torch.complex(-r(d, n, rand=True) - 0.1, 3 * r(d, n)).to(cdt)
    if form == "constant":
        B, C = (torch.complex(r(d, n), r(d, n)).to(cdt) for _ in range(2))
    elif form == "varying":  # real, (re, im) interleaved along time
        B, C = r(b, n, 2 * L), r(b, n, 2 * L)
    else:  # two groups of d / 2 channels
        B, C = r(b, 2, n, 2 * L), r(b, 2, n, 2 * L)
    h0 = torch.complex(r(b, d, n), r(b, d, n)).to(cdt)
    return dict(u=r(b, d, L), delta=r(b, d, L, rand=True) * 0.5, A=A, B=B, C=C, D=r(d),
                z=r(b, d, L), delta_bias=r(d, rand=True) * 0.5, initial_state=h0)  # fmt: skip


def complex_oracle(u, delta, A, B, C, D, z, delta_bias, initial_state):
    """The complex S6 built from the complex linear recurrence (a separate op): one channel
    per (d, n), gates exp(dt A), inputs dt B u, then y = 2 Re <h, C> + D u, gated by z."""
    from kleene.triton_kernels import linear_recurrence

    b, d, L = u.shape
    n = A.shape[1]

    def per_step(M):  # -> [b, L, d, n] complex
        if M.dim() == 2:
            return M[None, None].expand(b, L, d, n)
        M = torch.view_as_complex(M.unflatten(-1, (L, 2)).contiguous())  # [b, (G,) n, L]
        if M.dim() == 3:
            M = M[:, None]
        M = M.repeat_interleave(d // M.shape[1], dim=1)  # [b, d, n, L]
        return M.permute(0, 3, 1, 2)

    dt = torch.nn.functional.softplus(delta + delta_bias[:, None]).transpose(1, 2)  # [b, L, d]
    gates = torch.exp(dt[..., None] * A)  # [b, L, d, n]
    drive = (dt * u.transpose(1, 2))[..., None] * per_step(B)
    h = linear_recurrence(gates.flatten(2), drive.flatten(2), initial_state.flatten(1),
                          output_final_state=True)  # fmt: skip
    states, last = h[0].unflatten(2, (d, n)), h[1].unflatten(1, (d, n))
    y = 2 * (states * per_step(C)).sum(-1).real + D * u.transpose(1, 2)
    return (y * torch.nn.functional.silu(z.transpose(1, 2))).transpose(1, 2), last


@pytest.mark.parametrize("form", ["constant", "varying", "grouped"])
def test_complex_A_matches_a_complex_linear_recurrence(form):
    """Outputs, the complex last state and every gradient (complex ones included) against an
    oracle built from another op, all in fp64 / complex128."""
    x = complex_inputs(form)
    leaves = {k: v.clone().requires_grad_() for k, v in x.items()}
    out, last = selective_scan(**leaves, delta_softplus=True, return_last_state=True)
    assert last.dtype == torch.complex128
    leaves_o = {k: v.clone().requires_grad_() for k, v in x.items()}
    out_o, last_o = complex_oracle(**leaves_o)
    torch.testing.assert_close(out, out_o)
    torch.testing.assert_close(last, last_o)
    g = torch.Generator().manual_seed(2)
    gout = torch.randn(out.shape, generator=g, dtype=torch.float64)
    glast = torch.randn(last.shape, generator=g, dtype=torch.complex128)

    def loss(o, s):
        return (o * gout).sum() + (s * glast.conj()).real.sum()

    grads = torch.autograd.grad(loss(out, last), list(leaves.values()))
    grads_o = torch.autograd.grad(loss(out_o, last_o), list(leaves_o.values()))
    for name, got, want in zip(leaves, grads, grads_o, strict=True):
        torch.testing.assert_close(got, want, msg=f"d{name}")


def test_complex64_inputs_match_the_complex128_reference():
    x32 = complex_inputs("varying", dtype=torch.float32)
    x64 = {k: v.to(torch.complex128 if v.is_complex() else torch.float64) for k, v in x32.items()}
    out, last = selective_scan(**x32, delta_softplus=True, return_last_state=True)
    want, want_last = selective_scan(**x64, delta_softplus=True, return_last_state=True)
    assert out.dtype == torch.float32 and last.dtype == torch.complex64
    assert rel_err(want, out) < 1e-5
    assert (want_last - last).abs().norm() / want_last.abs().norm() < 1e-5


def test_complex_A_packed_and_refusals():
    x = complex_inputs("varying", b=1, L=12)
    cu = torch.tensor([0, 5, 5, 12])
    h0 = torch.zeros(3, 4, 3, dtype=torch.complex128)
    out = selective_scan(**{**x, "initial_state": h0}, delta_softplus=True, cu_seqlens=cu)
    for s, e in ((0, 5), (5, 12)):
        part = {k: x[k][..., s:e] for k in ("u", "delta", "z")}
        part.update({k: x[k][..., 2 * s : 2 * e] for k in ("B", "C")})
        part = {**x, **part, "initial_state": None}
        torch.testing.assert_close(out[..., s:e], selective_scan(**part, delta_softplus=True))
    with pytest.raises(ValueError, match="no complex-A kernel"):
        selective_scan(**x, backend="triton")
    with pytest.raises(ValueError, match="positive real part"):
        selective_scan(**{**x, "A": -x["A"]})
    with pytest.raises(ValueError, match="input-dependent form"):  # L, not 2L, time steps
        selective_scan(**{**x, "B": x["B"][..., :12]})
    with pytest.raises(ValueError, match="is complex"):
        selective_scan(**{**x, "u": x["u"].to(torch.complex128)})
