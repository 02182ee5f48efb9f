"""linear_recurrence: Triton kernels (under TRITON_INTERPRET=1 on CPU) and the CPU path against
the fp64 PyTorch reference, whose own gradients are checked with gradcheck."""

from __future__ import annotations

import importlib
import os

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    # Before triton is first imported: its own jit helpers (tl.zeros, ...) pick the mode then.
    os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton")

from kleene.triton_kernels import linear_recurrence, linear_recurrence_ref  # noqa: E402
from kleene.triton_kernels.linear_recurrence.reference import linear_recurrence_bwd_ref  # noqa: E402

DEVICE = (
    "cuda" if os.environ.get("TRITON_INTERPRET") != "1" and torch.cuda.is_available() else "cpu"
)


def interpreted_kernels(monkeypatch):
    """Routes CPU tensors to the Triton kernels, run by the interpreter."""
    if DEVICE != "cpu":
        return
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    monkeypatch.setenv("KLEENE_TRITON_CPU", "1")
    from triton.runtime.interpreter import InterpretedFunction

    from kleene.triton_kernels.linear_recurrence import chunk

    if not isinstance(chunk.chunk_linear_recurrence_fwd_kernel, InterpretedFunction):
        importlib.reload(chunk)  # imported earlier without the interpreter


@pytest.fixture
def triton_path(monkeypatch):
    """Triton kernels (interpreted on CPU) with NaN-filled fresh buffers."""
    interpreted_kernels(monkeypatch)
    empty, empty_like = torch.empty, torch.empty_like

    def nan_empty(*args, **kwargs):
        t = empty(*args, **kwargs)
        return t.fill_(float("nan")) if (t.is_floating_point() or t.is_complex()) else t

    def nan_empty_like(*args, **kwargs):
        t = empty_like(*args, **kwargs)
        return t.fill_(float("nan")) if (t.is_floating_point() or t.is_complex()) else t

    monkeypatch.setattr(torch, "empty", nan_empty)
    monkeypatch.setattr(torch, "empty_like", nan_empty_like)


def rel_err(got, want):
    got, want = got.to(want.dtype), want
    return (
        (got - want).abs().pow(2).sum().sqrt() / want.abs().pow(2).sum().sqrt().clamp(min=1e-12)
    ).item()


def make_inputs(B, T, D, dtype, n_states=None, seed=0, edges=False):
    """Signed gates in (-1, 1) (complex: inside the unit disc), inputs ~ N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    real = torch.float64
    a = torch.rand(B, T, D, generator=g, dtype=real) * 2 - 1
    if edges:  # gates at and next to +-1 and 0
        a.view(-1)[::3] = torch.tensor([1.0, -1.0, 0.0, -0.999, 0.999], dtype=real).repeat(
            a.numel()
        )[: a.view(-1)[::3].numel()]
    x = torch.randn(B, T, D, generator=g, dtype=real)
    h0 = torch.randn(n_states or B, D, generator=g, dtype=real)
    if dtype.is_complex:
        phase = torch.rand(B, T, D, generator=g, dtype=real) * 6.283
        a = torch.polar(a.abs(), phase)
        x = torch.complex(x, torch.randn(B, T, D, generator=g, dtype=real))
        h0 = torch.complex(h0, torch.randn(h0.shape, generator=g, dtype=real))
    return (t.to(dtype).to(DEVICE) for t in (a, x, h0))


def run_with_grads(fn, a, x, h0, dh, dht, **kw):
    a, x = a.detach().requires_grad_(), x.detach().requires_grad_()
    h0 = None if h0 is None else h0.detach().requires_grad_()
    h, ht = fn(a, x, h0, output_final_state=True, **kw)
    loss = (h.to(dh.dtype) * dh.conj()).real.sum() + (ht.to(dht.dtype) * dht.conj()).real.sum()
    loss.backward()
    return h, ht, a.grad, x.grad, None if h0 is None else h0.grad


def oracle(a, x, h0, **kw):
    wide = torch.complex128 if a.is_complex() else torch.float64
    return [t.to(wide) if t is not None else None for t in (a, x, h0)], kw


def check_against_reference(a, x, h0, tol, seed=1, **kw):
    n, dim = (
        (x.shape[0] if kw.get("cu_seqlens") is None else kw["cu_seqlens"].numel() - 1),
        x.shape[-1],
    )
    wide = torch.complex128 if a.is_complex() else torch.float64
    g = torch.Generator().manual_seed(seed)
    dh = torch.randn(x.shape, generator=g, dtype=torch.float64).to(wide).to(DEVICE)
    dht = torch.randn(n, dim, generator=g, dtype=torch.float64).to(wide).to(DEVICE)
    got = run_with_grads(linear_recurrence, a, x, h0, dh, dht, **kw)
    (aw, xw, h0w), _ = oracle(a, x, h0)
    want = run_with_grads(linear_recurrence_ref, aw, xw, h0w, dh, dht, **kw)
    assert got[0].dtype == x.dtype
    for name, g_, w_ in zip(("h", "final", "da", "dx", "dh0"), got, want, strict=False):
        if w_ is None:
            assert g_ is None
            continue
        assert torch.isfinite(torch.view_as_real(g_) if g_.is_complex() else g_).all(), name
        assert rel_err(g_, w_) < tol, (name, rel_err(g_, w_))


# --- Triton kernels (interpreted on CPU) -------------------------------------------------------

TRITON_CASES = [  # B, T, D, reverse, initial state, dtype
    (2, 37, 5, False, True, torch.float32),
    (1, 19, 33, True, False, torch.float32),
    (2, 17, 3, True, True, torch.float32),
    (1, 20, 3, False, False, torch.complex64),
    (1, 18, 3, True, True, torch.complex64),
]


def case_id(B, T, D, reverse, use_h0, dtype):
    return f"B{B}-T{T}-D{D}-{'rev' if reverse else 'fwd'}-{'h0' if use_h0 else 'zero'}-{dtype}"


@pytest.mark.parametrize(
    "B,T,D,reverse,use_h0,dtype",
    TRITON_CASES,
    ids=[case_id(*c) for c in TRITON_CASES],
)
def test_triton_matches_reference(triton_path, B, T, D, reverse, use_h0, dtype):
    a, x, h0 = make_inputs(B, T, D, dtype)
    check_against_reference(a, x, h0 if use_h0 else None, 1e-5, reverse=reverse)


SPLIT_CASES = [  # B, T, D, reverse, initial state, dtype, segments
    (2, 37, 5, False, True, torch.float32, 3),
    (1, 40, 33, True, False, torch.float32, 4),
    (1, 21, 3, True, True, torch.complex64, 2),
    (1, 9, 2, False, True, torch.float32, 4),  # a trailing empty segment (ceil(9 / 4) = 3)
]


@pytest.mark.parametrize(
    "B,T,D,reverse,use_h0,dtype,segments",
    SPLIT_CASES,
    ids=[case_id(*c[:6]) + f"-S{c[6]}" for c in SPLIT_CASES],
)
def test_triton_split_over_time(
    monkeypatch, triton_path, B, T, D, reverse, use_h0, dtype, segments
):
    """The split over time (segment summaries, carry pass, second scan) in both directions,
    forward and backward, equals the reference."""
    from kleene.triton_kernels.linear_recurrence import chunk

    monkeypatch.setattr(chunk, "FORCE_SEGMENTS", segments)
    calls = []
    real = chunk._segment_entries
    monkeypatch.setattr(chunk, "_segment_entries", lambda *a: calls.append(1) or real(*a))
    a, x, h0 = make_inputs(B, T, D, dtype, seed=segments)
    check_against_reference(a, x, h0 if use_h0 else None, 1e-5, reverse=reverse)
    assert len(calls) == 2  # the forward and the backward both took the split path


def test_triton_gate_edges(triton_path):
    """Gates exactly +-1 and 0 and next to +-1 stay finite and exact."""
    a, x, h0 = make_inputs(1, 33, 4, torch.float32, edges=True)
    check_against_reference(a, x, h0, 1e-5)


@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
def test_triton_varlen_equals_per_sequence(triton_path, reverse):
    offsets = [0, 7, 7, 24, 30]
    cu = torch.tensor(offsets, dtype=torch.int32, device=DEVICE)
    a, x, h0 = make_inputs(1, 30, 5, torch.float32, n_states=4)
    check_against_reference(a, x, h0, 1e-5, reverse=reverse, cu_seqlens=cu)
    h, ht = linear_recurrence(a, x, h0, reverse=reverse, cu_seqlens=cu, output_final_state=True)
    for n, (bos, eos) in enumerate(zip(offsets[:-1], offsets[1:], strict=False)):
        hn, htn = linear_recurrence_ref(
            a[:, bos:eos], x[:, bos:eos], h0[n : n + 1], reverse=reverse, output_final_state=True
        )
        torch.testing.assert_close(h[:, bos:eos], hn, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(ht[n : n + 1], htn, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=["bf16", "fp16"])
def test_triton_half_inputs_accumulate_in_fp32(triton_path, dtype):
    """Half inputs: the only error left is the rounding of the stored outputs."""
    a, x, h0 = make_inputs(1, 40, 4, dtype)
    h, ht = linear_recurrence(a, x, h0, output_final_state=True)
    want, want_t = linear_recurrence_ref(
        a.double(), x.double(), h0.double(), output_final_state=True
    )
    assert h.dtype == dtype and ht.dtype == torch.float32
    assert rel_err(ht, want_t) < 1e-5
    eps = torch.finfo(dtype).eps
    torch.testing.assert_close(h.double(), want, rtol=eps, atol=eps)
    check_against_reference(a, x, h0, 2e-2)


def test_triton_non_contiguous_inputs(triton_path):
    """A stride-0 gate (one value per channel) and a transposed input view."""
    lam = torch.tensor([0.9, -0.7, 0.3], device=DEVICE)
    a = lam.expand(2, 21, 3)
    x = torch.randn(2, 3, 21, device=DEVICE).transpose(1, 2)
    torch.testing.assert_close(
        linear_recurrence(a, x), linear_recurrence_ref(a, x.contiguous()), rtol=1e-5, atol=1e-5
    )


# --- CPU path (the reference with its explicit backward) --------------------------------------

CPU_CASES = [(2, 63, 7, False), (1, 50, 5, True)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.complex64, torch.complex128])
@pytest.mark.parametrize("B,T,D,reverse", CPU_CASES, ids=["B2-T63-D7-fwd", "B1-T50-D5-rev"])
def test_cpu_path_matches_autograd_of_reference(B, T, D, reverse, dtype):
    if DEVICE != "cpu":
        pytest.skip("the CPU path")
    a, x, h0 = make_inputs(B, T, D, dtype, edges=True)
    check_against_reference(a, x, h0, 1e-5, reverse=reverse)


@pytest.mark.parametrize("reverse", [False, True])
def test_cpu_path_varlen(reverse):
    cu = torch.tensor([0, 3, 3, 40, 41], device=DEVICE)
    a, x, h0 = make_inputs(1, 41, 6, torch.float64, n_states=4)
    check_against_reference(a, x, h0, 1e-10, reverse=reverse, cu_seqlens=cu)
    check_against_reference(a, x, None, 1e-10, reverse=reverse, cu_seqlens=cu)


@pytest.mark.parametrize("path", ["cpu", "triton"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")], ids=["nan", "inf"])
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
def test_varlen_non_finite_stays_in_its_sequence(monkeypatch, path, bad, reverse):
    """A NaN / inf in one packed sequence leaves the other sequences' outputs and gradients
    equal to separate reference runs (issue 18: it used to leak through the zero gate)."""
    if path == "triton":
        interpreted_kernels(monkeypatch)
    elif DEVICE != "cpu":
        pytest.skip("the CPU path")
    offsets = [0, 3, 6, 9]
    a = torch.full((1, 9, 2), 0.5, device=DEVICE)
    x = torch.ones(1, 9, 2, device=DEVICE)
    x[0, 4, 0] = bad  # the middle sequence
    cu = torch.tensor(offsets, device=DEVICE)
    a_, x_ = a.clone().requires_grad_(), x.clone().requires_grad_()
    h = linear_recurrence(a_, x_, reverse=reverse, cu_seqlens=cu)
    h.sum().backward()
    for bos, eos in ((0, 3), (6, 9)):
        ar = a[:, bos:eos].double().requires_grad_()
        xr = x[:, bos:eos].double().requires_grad_()
        want = linear_recurrence_ref(ar, xr, reverse=reverse)
        want.sum().backward()
        torch.testing.assert_close(h[:, bos:eos].double(), want)
        torch.testing.assert_close(a_.grad[:, bos:eos].double(), ar.grad)
        torch.testing.assert_close(x_.grad[:, bos:eos].double(), xr.grad)
    assert not torch.isfinite(h[0, 3:6, 0]).all()  # the bad sequence itself is not finite


@pytest.mark.parametrize("h0", [False, True], ids=["zero", "h0"])
def test_zero_length_sequences(h0):
    """Dense T = 0 with batch 2 and packed empty sequences: the final state is the initial
    state (or zeros) and the gradient of the initial state passes straight through."""
    init = torch.randn(2, 3, device=DEVICE, dtype=torch.float64).requires_grad_() if h0 else None
    empty = torch.zeros(2, 0, 3, device=DEVICE, dtype=torch.float64)
    h, ht = linear_recurrence(empty, empty, init, output_final_state=True)
    assert h.shape == (2, 0, 3)
    want = init if h0 else torch.zeros(2, 3, device=DEVICE, dtype=torch.float64)
    torch.testing.assert_close(ht, want)
    if h0:
        ht.sum().backward()
        torch.testing.assert_close(init.grad, torch.ones_like(init))
    a, x, h0p = make_inputs(1, 5, 3, torch.float64, n_states=4)
    cu = torch.tensor([0, 0, 5, 5, 5], device=DEVICE)
    h, ht = linear_recurrence(a, x, h0p, cu_seqlens=cu, output_final_state=True)
    hn, htn = linear_recurrence_ref(a, x, h0p[1:2], output_final_state=True)
    torch.testing.assert_close(h, hn)
    torch.testing.assert_close(ht[1:2], htn)
    torch.testing.assert_close(ht[[0, 2, 3]], h0p[[0, 2, 3]])


def test_bwd_ref_equals_autograd_exactly_in_fp64():
    a, x, h0 = make_inputs(2, 9, 3, torch.complex128)
    h = linear_recurrence_ref(a, x, h0)
    dh = torch.randn_like(h)
    da, dx, dh0 = linear_recurrence_bwd_ref(a, h, h0, dh, None)
    a_, x_, h0_ = (t.clone().requires_grad_() for t in (a, x, h0))
    torch.autograd.backward(linear_recurrence_ref(a_, x_, h0_), dh)
    for got, want in ((da, a_.grad), (dx, x_.grad), (dh0, h0_.grad)):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.complex128])
@pytest.mark.parametrize("reverse", [False, True])
def test_gradcheck_reference(dtype, reverse):
    a, x, h0 = make_inputs(2, 6, 3, dtype)
    inputs = tuple(t.cpu().requires_grad_() for t in (a, x, h0))

    def fn(a, x, h0):
        return linear_recurrence_ref(a, x, h0, reverse=reverse, output_final_state=True)

    assert torch.autograd.gradcheck(fn, inputs)


def test_gradcheck_public_op():
    a, x, h0 = make_inputs(1, 8, 2, torch.float64)
    cu = torch.tensor([0, 3, 8], device=DEVICE)
    inputs = (a.requires_grad_(), x.requires_grad_(), torch.cat([h0, h0]).requires_grad_())

    def fn(a, x, h0):
        return linear_recurrence(a, x, h0, cu_seqlens=cu, reverse=True, output_final_state=True)

    assert torch.autograd.gradcheck(fn, inputs)


def test_signed_gates_count_parity():
    """a_t = -1 on ones and +1 on zeros: h_t = (-1)^(number of ones so far)."""
    bits = torch.randint(0, 2, (3, 100, 1), generator=torch.Generator().manual_seed(3))
    a = (1 - 2 * bits).float()
    h = linear_recurrence(a, torch.zeros_like(a), torch.ones(3, 1))
    assert torch.equal(h, (1 - 2 * (bits.cumsum(1) % 2)).float())


def test_torch_compile_fullgraph():
    a, x, h0 = make_inputs(2, 12, 4, torch.float32)
    a, x, h0 = (t.requires_grad_() for t in (a, x, h0))

    def loss_fn(a, x, h0):
        h, ht = linear_recurrence(a.tanh(), x * 2, h0, reverse=True, output_final_state=True)
        return h.square().sum() + ht.sum()

    compiled = torch.compile(loss_fn, fullgraph=True, backend="aot_eager")
    got = torch.autograd.grad(compiled(a, x, h0), (a, x, h0))
    want = torch.autograd.grad(loss_fn(a, x, h0), (a, x, h0))
    for g_, w_ in zip(got, want, strict=False):
        torch.testing.assert_close(g_, w_)


def test_torch_compile_fullgraph_triton_path(monkeypatch):
    interpreted_kernels(monkeypatch)
    a, x, h0 = make_inputs(1, 9, 3, torch.float32)
    a, x, h0 = (t.requires_grad_() for t in (a, x, h0))

    def loss_fn(a, x, h0):
        h, ht = linear_recurrence(a, x, h0, output_final_state=True)
        return h.square().sum() + ht.sum()

    compiled = torch.compile(loss_fn, fullgraph=True, backend="aot_eager")
    got = torch.autograd.grad(compiled(a, x, h0), (a, x, h0))
    want = torch.autograd.grad(loss_fn(a, x, h0), (a, x, h0))
    for g_, w_ in zip(got, want, strict=True):
        torch.testing.assert_close(g_, w_, rtol=1e-5, atol=1e-5)


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"x": torch.zeros(2, 5, 4)}, ValueError, "a and x must both be"),
        ({"x": torch.zeros(2, 5, 3, dtype=torch.float64)}, TypeError, "share a dtype"),
        ({"a": torch.zeros(2, 5, 3, dtype=torch.int32)}, TypeError, "a must be"),
        ({"a": torch.zeros(5, 3), "x": torch.zeros(5, 3)}, ValueError, r"\[B, T, D\]"),
        ({"initial_state": torch.zeros(3, 3)}, ValueError, "initial_state must be"),
        ({"cu_seqlens": torch.tensor([0, 5])}, ValueError, "batch size must be 1"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {"a": torch.zeros(2, 5, 3), "x": torch.zeros(2, 5, 3), **kwargs}
    with pytest.raises(error, match=match):
        linear_recurrence(**args)


@pytest.mark.parametrize(
    "cu,match",
    [
        ([0, 3, 2, 5], "non-decreasing"),
        ([0, 3], "end at T"),
        ([1, 5], "start at 0"),
        ([5], "N \\+ 1"),
    ],
)
def test_bad_cu_seqlens(cu, match):
    with pytest.raises(ValueError, match=match):
        linear_recurrence(torch.zeros(1, 5, 2), torch.zeros(1, 5, 2), cu_seqlens=torch.tensor(cu))
    with pytest.raises(TypeError, match="int32 or int64"):
        linear_recurrence(
            torch.zeros(1, 5, 2), torch.zeros(1, 5, 2), cu_seqlens=torch.tensor([0.0, 5.0])
        )


def test_cu_seqlens_as_list_is_a_type_error():
    with pytest.raises(TypeError, match="cu_seqlens must be an int32/int64 torch.Tensor, got list"):
        linear_recurrence(torch.zeros(1, 7, 2), torch.zeros(1, 7, 2), cu_seqlens=[0, 7])


# --- GPU only: compiled kernels at sizes that exercise masking ---------------------------------

GPU_CASES = [(2, 4096 + 16, 500, torch.float32, 1e-5), (1, 2048, 2048 + 16, torch.bfloat16, 1e-2)]
GPU_CASES += [(3, 63, 500, torch.float16, 5e-3), (2, 1000, 64, torch.complex64, 1e-5)]
GPU_CASES += [(2, 8192 + 5, 2048, torch.bfloat16, 1e-2)]  # few programs: split over time


@pytest.mark.gpu
@pytest.mark.parametrize("reverse", [False, True], ids=["fwd", "rev"])
@pytest.mark.parametrize(
    "B,T,D,dtype,tol", GPU_CASES, ids=[f"B{c[0]}-T{c[1]}-D{c[2]}-{c[3]}" for c in GPU_CASES]
)
def test_gpu_kernels_against_reference(B, T, D, dtype, tol, reverse):
    if DEVICE != "cuda":
        pytest.skip("runs the compiled kernels on a CUDA device")
    a, x, h0 = make_inputs(B, T, D, dtype)
    if not dtype.is_complex:  # gates near +-1 (long memory, both signs) are the hard case
        a = (a.abs().sqrt() * torch.sign(a)).to(dtype)
    check_against_reference(a, x, h0, tol, reverse=reverse)


@pytest.mark.gpu
@pytest.mark.parametrize("index", range(8))
def test_gpu_every_autotune_candidate(monkeypatch, index):
    """Each candidate of the autotuner, launched directly, forward and backward, split and not
    (the tests above run only the first when KLEENE_AUTOTUNE=0)."""
    if DEVICE != "cuda":
        pytest.skip("runs the compiled kernels on a CUDA device")
    from kleene.triton_kernels.linear_recurrence import chunk

    monkeypatch.setattr(chunk, "FORCE_CONFIG", chunk.config(chunk.CANDIDATES[index]))
    for segments in (None, 3):
        monkeypatch.setattr(chunk, "FORCE_SEGMENTS", segments)
        a, x, h0 = make_inputs(2, 1000 + 7, 300, torch.float32, seed=index)
        check_against_reference(a, x, h0, 1e-5, reverse=index % 2 == 1)
