"""Public ``linear_recurrence``: validation, backend choice and torch.library registration.

The op is registered as ``kleene::linear_recurrence`` (forward) and
``kleene::linear_recurrence_bwd`` with fake implementations and ``register_autograd``, so
``torch.compile(fullgraph=True)`` traces through it. CUDA tensors run the Triton kernels;
CPU tensors run a vectorised log-depth PyTorch scan (``cpu.py``), unless
``KLEENE_TRITON_CPU=1`` is set together with ``TRITON_INTERPRET=1`` (how the tests exercise
the kernels without a GPU).
fp64 and complex128 always take the PyTorch path (the kernels accumulate in fp32).
"""

from __future__ import annotations

import os

import torch
from torch import Tensor

from .cpu import linear_recurrence_cpu_bwd, linear_recurrence_cpu_fwd
from .reference import accumulation_dtype

__all__ = ["linear_recurrence"]

_KERNEL_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.complex64)
_INPUT_DTYPES = _KERNEL_DTYPES + (torch.float64, torch.complex128)


def _use_triton(t: Tensor) -> bool:
    if t.dtype not in _KERNEL_DTYPES:
        return False
    if t.is_cuda:
        return True
    return os.environ.get("KLEENE_TRITON_CPU") == "1" and os.environ.get("TRITON_INTERPRET") == "1"


def _n_states(x: Tensor, cu_seqlens: Tensor | None) -> int:
    return x.shape[0] if cu_seqlens is None else cu_seqlens.shape[0] - 1


@torch.library.custom_op("kleene::linear_recurrence", mutates_args=())
def _linear_recurrence_op(
    a: Tensor, x: Tensor, initial_state: Tensor | None, cu_seqlens: Tensor | None, reverse: bool
) -> tuple[Tensor, Tensor]:
    if _use_triton(x):
        from .chunk import chunk_linear_recurrence_fwd

        return chunk_linear_recurrence_fwd(a, x, initial_state, reverse, cu_seqlens)
    return linear_recurrence_cpu_fwd(a, x, initial_state, reverse, cu_seqlens)


@_linear_recurrence_op.register_fake
def _(a, x, initial_state, cu_seqlens, reverse):
    h = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    n = _n_states(x, cu_seqlens)
    ht = x.new_empty((n, x.shape[-1]), dtype=accumulation_dtype(x.dtype))
    return h, ht


@torch.library.custom_op("kleene::linear_recurrence_bwd", mutates_args=())
def _linear_recurrence_bwd_op(
    a: Tensor,
    h: Tensor,
    initial_state: Tensor | None,
    dh: Tensor,
    dht: Tensor | None,
    cu_seqlens: Tensor | None,
    reverse: bool,
) -> tuple[Tensor, Tensor, Tensor]:
    if _use_triton(a):
        from .chunk import chunk_linear_recurrence_bwd

        return chunk_linear_recurrence_bwd(a, h, initial_state, dh, dht, reverse, cu_seqlens)
    return linear_recurrence_cpu_bwd(a, h, initial_state, dh, dht, reverse, cu_seqlens)


@_linear_recurrence_bwd_op.register_fake
def _(a, h, initial_state, dh, dht, cu_seqlens, reverse):
    n = _n_states(a, cu_seqlens)
    dh0 = a.new_empty((n, a.shape[-1]), dtype=accumulation_dtype(a.dtype))
    return torch.empty_like(a), torch.empty_like(a), dh0


def _setup_context(ctx, inputs, output):
    a, _x, initial_state, cu_seqlens, reverse = inputs
    h, _ht = output
    ctx.save_for_backward(a, h, initial_state, cu_seqlens)
    ctx.reverse = reverse
    ctx.h0_dtype = None if initial_state is None else initial_state.dtype


def _backward(ctx, dh, dht):
    a, h, initial_state, cu_seqlens = ctx.saved_tensors
    if dh is None:
        dh = torch.zeros_like(h)
    da, dx, dh0 = _linear_recurrence_bwd_op(a, h, initial_state, dh, dht, cu_seqlens, ctx.reverse)
    dh0 = None if initial_state is None else dh0.to(ctx.h0_dtype)
    return da, dx, dh0, None, None


_linear_recurrence_op.register_autograd(_backward, setup_context=_setup_context)


def _validate(a, x, initial_state, cu_seqlens) -> None:
    for name, t in (("a", a), ("x", x)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dtype not in _INPUT_DTYPES:
            raise TypeError(
                f"{name} must be float16/bfloat16/float32/float64/complex, got {t.dtype}"
            )
    if a.dim() != 3 or a.shape != x.shape:
        raise ValueError(
            f"a and x must both be [B, T, D], got {tuple(a.shape)} and {tuple(x.shape)}"
        )
    if a.dtype != x.dtype:
        raise TypeError(f"a and x must share a dtype, got {a.dtype} and {x.dtype}")
    if a.device != x.device:
        raise ValueError(f"a and x must be on one device, got {a.device} and {x.device}")
    n = x.shape[0]
    if cu_seqlens is not None:
        _validate_cu_seqlens(cu_seqlens, x)
        n = cu_seqlens.shape[0] - 1
    if initial_state is not None:
        if tuple(initial_state.shape) != (n, x.shape[-1]):
            raise ValueError(
                f"initial_state must be [N, D] = {[n, x.shape[-1]]}, "
                f"got {list(initial_state.shape)}"
            )
        if initial_state.device != x.device:
            raise ValueError(f"initial_state must be on {x.device}, got {initial_state.device}")
        if (
            initial_state.is_complex() != x.is_complex()
            or not initial_state.is_floating_point()
            and not initial_state.is_complex()
        ):
            raise TypeError(
                f"initial_state dtype {initial_state.dtype} does not fit inputs of {x.dtype}"
            )


def _validate_cu_seqlens(cu_seqlens: Tensor, x: Tensor) -> None:
    if not isinstance(cu_seqlens, Tensor):
        raise TypeError(
            f"cu_seqlens must be an int32/int64 torch.Tensor, got {type(cu_seqlens).__name__}"
        )
    if cu_seqlens.dim() != 1 or cu_seqlens.shape[0] < 2:
        raise ValueError("cu_seqlens must be a 1-D tensor of N + 1 >= 2 offsets")
    if cu_seqlens.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"cu_seqlens must be int32 or int64, got {cu_seqlens.dtype}")
    if cu_seqlens.device != x.device:
        raise ValueError(f"cu_seqlens must be on {x.device}, got {cu_seqlens.device}")
    if x.shape[0] != 1:
        raise ValueError(f"with cu_seqlens the batch size must be 1, got {x.shape[0]}")
    if torch.compiler.is_compiling():
        return  # the value checks below would need a host sync inside the graph
    offsets = cu_seqlens.tolist()
    if offsets[0] != 0 or offsets[-1] != x.shape[1]:
        raise ValueError(
            f"cu_seqlens must start at 0 and end at T = {x.shape[1]}, "
            f"got {offsets[0]}..{offsets[-1]}"
        )
    if any(b < a for a, b in zip(offsets, offsets[1:], strict=False)):
        raise ValueError("cu_seqlens must be non-decreasing")


def linear_recurrence(
    a: Tensor,
    x: Tensor,
    initial_state: Tensor | None = None,
    reverse: bool = False,
    cu_seqlens: Tensor | None = None,
    output_final_state: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """First-order linear recurrence h_t = a_t * h_{t-1} + x_t with signed or complex gates.

    Gates live in linear space, so any real a_t (negative included) or complex a_t works;
    the state is carried in fp32 (complex64) whatever the input dtype.

    Args:
        a: gates [B, T, D]; float16, bfloat16, float32, float64 or complex64/128. May be an
            expanded (stride-0) view, e.g. ``lam.expand(B, T, D)``.
        x: inputs [B, T, D], same dtype and device as ``a``.
        initial_state: h_{-1} of every sequence [N, D]; zeros when omitted.
        reverse: scan from the last step to the first (h_t = a_t * h_{t+1} + x_t).
        cu_seqlens: offsets [N + 1] (int32/int64, from 0 to T, non-decreasing) of packed
            sequences; B must be 1 and each sequence starts from its own initial state.
        output_final_state: also return the final states [N, D].

    Returns:
        h [B, T, D] in ``x.dtype``; with ``output_final_state`` also the final states [N, D]
        in fp32 (fp64 / complex64 / complex128 for those inputs).

    Example:
        >>> import torch
        >>> a = torch.tensor([[[-1.0], [-1.0], [0.5]]])
        >>> x = torch.tensor([[[1.0], [0.0], [2.0]]])
        >>> linear_recurrence(a, x)[0, :, 0].tolist()
        [1.0, -1.0, 1.5]
    """
    _validate(a, x, initial_state, cu_seqlens)
    h, ht = _linear_recurrence_op(a, x, initial_state, cu_seqlens, bool(reverse))
    return (h, ht) if output_final_state else h
