"""Public selective-scan entry point: argument checks and dispatch (reference or Triton)."""

from __future__ import annotations

import torch

from .kernels import selective_scan_fwd_kernel
from .op import MAX_D_STATE, selective_scan_fwd
from .reference import selective_scan_ref

Tensor = torch.Tensor

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_COMPLEX = (torch.complex64, torch.complex128)
BACKENDS = ("auto", "triton", "reference")


def _fail(name: str, message: str) -> ValueError:
    return ValueError(f"selective_scan: `{name}` {message}")


def _check_tensor(
    name: str, t, dims: tuple[int, ...], optional: bool = False, complex_ok: bool = False
) -> None:
    if t is None and optional:
        return
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"selective_scan: `{name}` must be a torch.Tensor, got {type(t).__name__}")
    if t.is_complex():
        if complex_ok and t.dtype in _COMPLEX:
            return _check_dims(name, t, dims)
        allowed = "complex A (and constant B / C with it)" if name != "A" else "complex64/128"
        raise ValueError(f"selective_scan: `{name}` is complex; only {allowed} may be")
    if t.dtype not in _FLOATS:
        raise TypeError(f"selective_scan: `{name}` must be float16/bfloat16/float32/float64")
    _check_dims(name, t, dims)


def _check_dims(name: str, t: Tensor, dims: tuple[int, ...]) -> None:
    if t.dim() not in dims:
        raise _fail(name, f"must have {' or '.join(map(str, dims))} dims, got {t.dim()}")


def _check_shapes(u, delta, A, B, C, D, z, delta_bias) -> None:
    for name, t, dims in (("u", u, (3,)), ("delta", delta, (3,))):
        _check_tensor(name, t, dims)
    _check_tensor("A", A, (2,), complex_ok=True)
    cplx = A.is_complex()
    _check_tensor("B", B, (2, 3, 4), complex_ok=cplx and B.dim() == 2)
    _check_tensor("C", C, (2, 3, 4), complex_ok=cplx and C.dim() == 2)
    _check_tensor("D", D, (1,), optional=True)
    _check_tensor("z", z, (3,), optional=True)
    _check_tensor("delta_bias", delta_bias, (1,), optional=True)
    b, dim, L = u.shape
    if delta.shape != u.shape or (z is not None and z.shape != u.shape):
        raise _fail("delta/z", f"must have u's shape {tuple(u.shape)}")
    if A.shape[0] != dim:
        raise _fail("A", f"must be [d, N] with d = {dim}, got {tuple(A.shape)}")
    n = A.shape[1]
    if not 1 <= n <= MAX_D_STATE:
        raise _fail("A", f"has d_state N = {n}; supported range is 1..{MAX_D_STATE}")
    for name, M in (("B", B), ("C", C)):
        # with complex A, input-dependent B / C interleave (re, im) along time: 2L (mamba_ssm)
        _check_bc(name, M, b, dim, n, 2 * L if cplx and M.dim() > 2 else L)
    if B.dim() == 4 and C.dim() == 4 and B.shape[1] != C.shape[1]:
        raise _fail("C", f"has {C.shape[1]} groups but B has {B.shape[1]}")
    for name, t in (("D", D), ("delta_bias", delta_bias)):
        if t is not None and t.shape != (dim,):
            raise _fail(name, f"must have shape ({dim},), got {tuple(t.shape)}")
    devices = {t.device for t in (u, delta, A, B, C, D, z, delta_bias) if t is not None}
    if len(devices) > 1:
        raise _fail("u", f"and the other tensors must share one device, got {devices}")


def _check_bc(name: str, M: Tensor, b: int, dim: int, n: int, L: int) -> None:
    if M.dim() == 2:
        if M.shape != (dim, n):
            raise _fail(name, f"constant form must be [d, N] = ({dim}, {n}), got {tuple(M.shape)}")
        return
    g = 1 if M.dim() == 3 else M.shape[1]
    want = (b, n, L) if M.dim() == 3 else (b, g, n, L)
    if tuple(M.shape) != want:
        raise _fail(name, f"input-dependent form must be {want}, got {tuple(M.shape)}")
    if g < 1 or dim % g:
        raise _fail(name, f"has {g} groups, which must divide d = {dim}")


def _check_varlen(u: Tensor, cu_seqlens, eager: bool) -> int:
    """Checks the packing offsets; returns the number of sequences S."""
    b, dim, L = u.shape
    n_seq = b
    if cu_seqlens is not None:
        if not isinstance(cu_seqlens, torch.Tensor) or cu_seqlens.dtype not in (
            torch.int32,
            torch.int64,
        ):
            got = getattr(cu_seqlens, "dtype", type(cu_seqlens).__name__)
            raise TypeError(
                f"selective_scan: `cu_seqlens` must be an int32/int64 torch.Tensor, got {got}"
            )
        if cu_seqlens.dim() != 1 or cu_seqlens.numel() < 2:
            raise _fail("cu_seqlens", "must be 1-D with at least 2 offsets")
        if b != 1:
            raise _fail("u", f"must have batch 1 when `cu_seqlens` packs sequences, got {b}")
        if eager:  # data-dependent checks (one host sync); skipped while compiling
            c = cu_seqlens.tolist()
            if c[0] != 0 or c[-1] != L or any(x > y for x, y in zip(c[:-1], c[1:], strict=True)):
                raise _fail("cu_seqlens", f"must rise from 0 to L = {L}, got {c}")
        n_seq = cu_seqlens.numel() - 1
    return n_seq


def _check_state(initial_state, n_seq: int, dim: int, n: int, cplx: bool) -> None:
    if initial_state is None:
        return
    _check_tensor("initial_state", initial_state, (3,), complex_ok=cplx)
    if tuple(initial_state.shape) != (n_seq, dim, n):
        raise _fail(
            "initial_state",
            f"must have shape {(n_seq, dim, n)}, got {tuple(initial_state.shape)}",
        )


def _interpreted() -> bool:
    """Whether the kernels were decorated under TRITON_INTERPRET=1 (decided at import)."""
    from triton.runtime.interpreter import InterpretedFunction

    return isinstance(selective_scan_fwd_kernel, InterpretedFunction)


def _use_triton(backend: str, u: Tensor) -> bool:
    if backend not in BACKENDS:
        raise _fail("backend", f"must be one of {BACKENDS}, got {backend!r}")
    if backend == "auto":
        return u.is_cuda
    if backend == "triton" and not u.is_cuda and not _interpreted():
        raise _fail(
            "backend",
            "'triton' on CPU tensors needs the Triton interpreter: set TRITON_INTERPRET=1 "
            "before kleene.triton_kernels is first imported",
        )
    return backend == "triton"


def _complex_scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state,
                  signed_gate, initial_state, cu_seqlens, check_A, backend, eager):  # fmt: skip
    """Complex A (mamba_ssm's complex variant): the PyTorch reference on every device."""
    if backend == "triton":
        raise _fail("backend", "'triton' has no complex-A kernel; use 'auto' or 'reference'")
    _use_triton("reference" if backend == "auto" else backend, u)  # validates the name
    if signed_gate:
        raise _fail("signed_gate", "applies to real A only")
    if check_A is None:
        check_A = A.device.type == "cpu"
    if check_A and eager and bool((A.real > 0).any()):
        raise _fail("A", "has entries with a positive real part; the scan would grow as "
                    "|exp(dt * A)|. Pass check_A=False to allow it")  # fmt: skip
    return selective_scan_ref(
        u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state,
        initial_state=initial_state, cu_seqlens=cu_seqlens,
    )  # fmt: skip


def selective_scan(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
    *,
    signed_gate: bool = False,
    initial_state: Tensor | None = None,
    cu_seqlens: Tensor | None = None,
    check_A: bool | None = None,
    backend: str = "auto",
) -> Tensor | tuple[Tensor, Tensor]:
    """Fused selective scan (Mamba S6), a drop-in for mamba_ssm's ``selective_scan_fn``.

    Per channel ``d`` and state ``n``, with ``dt = delta (+ delta_bias)`` (softplus-ed if
    ``delta_softplus``): ``x_t = exp(dt_t A) x_{t-1} + dt_t B_t u_t``,
    ``y_t = <x_t, C_t> + D u_t`` and ``out_t = y_t * silu(z_t)``. The state is fp32.

    Args:
        u: input ``[b, d, L]`` (fp16 / bf16 / fp32 / fp64).
        delta: time steps ``[b, d, L]``, same dtype as ``u``.
        A: ``[d, N]``, N <= 256; entries must be <= 0 (see ``check_A``). Complex A
            (complex64 / complex128, real parts <= 0) follows mamba_ssm's complex variant:
            the state is complex, constant B / C are complex ``[d, N]``, input-dependent B / C
            are real with (re, im) interleaved along time (``[b, N, 2L]`` or
            ``[b, G, N, 2L]``), the readout is ``y = 2 Re <x, C>`` and the last state is
            complex. It runs the PyTorch reference on every device (no kernel yet).
        B: ``[d, N]`` (time-invariant), ``[b, N, L]`` or ``[b, G, N, L]`` (input-dependent,
            G groups of d / G consecutive channels).
        C: like ``B``.
        D: skip weights ``[d]``. z: gate ``[b, d, L]``. delta_bias: ``[d]``.
        delta_softplus: apply softplus to ``delta + delta_bias``.
        return_last_state: also return the final state ``[b, d, N]`` (fp32). Unlike
            mamba_ssm, gradients flow through it.
        signed_gate: use ``2 * exp(dt A) - 1`` as the transition, allowing eigenvalues in
            (-1, 1] (negative eigenvalues, Grazzi et al. 2025).
        initial_state: ``[b, d, N]`` (``[S, d, N]`` when packed); zeros when None.
        cu_seqlens: ``[S + 1]`` int offsets of S sequences packed along L; ``u`` must then
            have batch 1, each sequence starts from its own initial state, and the last state
            is ``[S, d, N]``.
        check_A: refuse ``A`` with positive entries (they make ``exp(dt A)`` grow without
            bound). ``None`` (default) checks CPU tensors, where it is free, and skips the
            check on GPU tensors, where it would cost a host synchronisation per call;
            ``True`` checks on every device; ``False`` never checks. Skipped under
            ``torch.compile``.
        backend: ``"auto"`` (Triton on CUDA tensors, the PyTorch reference otherwise),
            ``"triton"`` (CPU tensors need ``TRITON_INTERPRET=1``) or ``"reference"``.

    Returns:
        ``out [b, d, L]`` in ``u.dtype``; with ``return_last_state`` also the last state.

    Raises:
        TypeError: a non-tensor or non-float argument.
        ValueError: inconsistent shapes, N outside 1..256, positive ``A`` (when checked),
            bad packing.

    Example:
        >>> import torch
        >>> from kleene.triton_kernels import selective_scan
        >>> u, dt = torch.randn(2, 4, 8), torch.rand(2, 4, 8)
        >>> A, B, C = -torch.rand(4, 3), torch.randn(2, 3, 8), torch.randn(2, 3, 8)
        >>> selective_scan(u, dt, A, B, C).shape
        torch.Size([2, 4, 8])
    """
    _check_shapes(u, delta, A, B, C, D, z, delta_bias)
    eager = not torch.compiler.is_compiling()
    n_seq = _check_varlen(u, cu_seqlens, eager)
    _check_state(initial_state, n_seq, A.shape[0], A.shape[1], A.is_complex())
    if A.is_complex():
        return _complex_scan(
            u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state,
            signed_gate, initial_state, cu_seqlens, check_A, backend, eager,
        )  # fmt: skip
    if check_A is None:
        check_A = A.device.type == "cpu"
    if check_A and eager and bool((A > 0).any()):
        raise _fail("A", "has positive entries; the scan would grow as exp(dt * A). Use "
                    "A = -exp(A_log) as Mamba does, or pass check_A=False to allow it")  # fmt: skip
    kwargs = dict(signed_gate=signed_gate, initial_state=initial_state, cu_seqlens=cu_seqlens)
    if not _use_triton(backend, u):
        return selective_scan_ref(
            u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state, **kwargs
        )
    if B.dim() == 3:
        B = B.unsqueeze(1)
    if C.dim() == 3:
        C = C.unsqueeze(1)
    tensors = (u, delta, A, B, C, D, z, delta_bias, initial_state, cu_seqlens)
    needs_grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)
    u, delta, A, B, C, D, z, delta_bias, initial_state, cu_seqlens = (
        t.contiguous() if t is not None else None for t in tensors
    )
    out, last, _ = selective_scan_fwd(
        u, delta, A, B, C, D, z, delta_bias, initial_state, cu_seqlens,
        delta_softplus, signed_gate, needs_grad,
    )  # fmt: skip
    return (out, last) if return_last_state else out
