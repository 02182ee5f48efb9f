"""Mamba (S6) block with mamba_ssm's constructor, initialisation and decoding cache.

The block follows ``mamba_ssm.modules.mamba_simple.Mamba``: ``in_proj`` to x and z, a causal
depthwise convolution and SiLU on x, ``x_proj`` to (dt, B, C), ``dt_proj`` (its bias enters the
scan as ``delta_bias`` with softplus), the selective scan with D skip and z gate, ``out_proj``.
The scan is :func:`kleene.triton_kernels.selective_scan` (Triton on CUDA, the PyTorch
reference on CPU). Parameter names match mamba_ssm's, so its state dicts load unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..triton_kernels.selective_scan import selective_scan

Tensor = torch.Tensor


@dataclass
class MambaCache:
    """Decoding state of one :class:`Mamba` layer.

    Attributes:
        conv_state: the last ``d_conv`` inputs of the convolution ``[B, d_inner, d_conv]``.
        ssm_state: the scan state ``[B, d_inner, d_state]``, fp32.
        seqlen_offset: tokens consumed so far.
    """

    conv_state: Tensor
    ssm_state: Tensor
    seqlen_offset: int = 0


class Mamba(nn.Module):
    """Mamba block; a drop-in for ``mamba_ssm.Mamba`` (slow path semantics).

    Args:
        d_model: model width D. d_state: SSM state size N (<= 256). d_conv: convolution width.
        expand: d_inner = expand * d_model. dt_rank: rank of the dt projection ("auto":
            ceil(d_model / 16)). dt_min, dt_max, dt_init ("random" or "constant"),
            dt_scale, dt_init_floor: the dt initialisation of mamba_ssm. conv_bias, bias:
            biases of the convolution and of in_proj / out_proj.
        use_fast_path, layer_idx: accepted for compatibility (unused).
        signed_gate: transitions ``2 exp(dt A) - 1`` (negative eigenvalues).
        backend: passed to :func:`~kleene.triton_kernels.selective_scan`.

    Shapes: ``forward([B, L, d_model]) -> [B, L, d_model]``; packed sequences pass
    ``cu_seqlens`` with B = 1. ``step(x_t, cache) -> (y_t, cache)`` like the other layers.

    Example:
        >>> import torch
        >>> from kleene.layers import Mamba
        >>> m = Mamba(16, d_state=4)
        >>> m(torch.randn(2, 7, 16)).shape
        torch.Size([2, 7, 16])
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | str = "auto",
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        dt_init: str = "random",
        dt_scale: float = 1.0,
        dt_init_floor: float = 1e-4,
        conv_bias: bool = True,
        bias: bool = False,
        use_fast_path: bool = True,
        layer_idx: int | None = None,
        device=None,
        dtype=None,
        *,
        signed_gate: bool = False,
        backend: str = "auto",
    ) -> None:
        super().__init__()
        if dt_init not in ("random", "constant"):
            raise ValueError(f"Mamba: `dt_init` must be 'random' or 'constant', got {dt_init!r}")
        if not 0 < dt_min <= dt_max:
            raise ValueError(f"Mamba: need 0 < dt_min <= dt_max, got {dt_min}, {dt_max}")
        for name, value in (("d_model", d_model), ("d_state", d_state), ("d_conv", d_conv)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"Mamba: `{name}` must be a positive int, got {value!r}")
        kw = dict(device=device, dtype=dtype)
        self.d_model, self.d_state, self.d_conv, self.expand = d_model, d_state, d_conv, expand
        self.d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.layer_idx, self.signed_gate, self.backend = layer_idx, signed_gate, backend

        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=bias, **kw)
        self.conv1d = nn.Conv1d(
            self.d_inner, self.d_inner, d_conv, groups=self.d_inner, padding=d_conv - 1,
            bias=conv_bias, **kw,
        )  # fmt: skip
        self.act = nn.SiLU()
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False, **kw)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True, **kw)
        self._init_dt(dt_init, dt_scale, dt_min, dt_max, dt_init_floor)

        # S4D-real: A = -(1, 2, ..., N) per channel, kept in fp32 as log
        A = torch.arange(1, d_state + 1, dtype=torch.float32, device=device)
        self.A_log = nn.Parameter(torch.log(A).repeat(self.d_inner, 1))
        self.A_log._no_weight_decay = True
        self.D = nn.Parameter(torch.ones(self.d_inner, device=device))
        self.D._no_weight_decay = True
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias, **kw)

    def _init_dt(self, dt_init, dt_scale, dt_min, dt_max, dt_init_floor) -> None:
        std = self.dt_rank**-0.5 * dt_scale
        if dt_init == "constant":
            nn.init.constant_(self.dt_proj.weight, std)
        else:
            nn.init.uniform_(self.dt_proj.weight, -std, std)
        # softplus(bias) starts log-uniform in [dt_min, dt_max]: bias = inverse softplus(dt)
        w = self.dt_proj.bias
        r = torch.rand(self.d_inner, device=w.device, dtype=torch.float32)
        dt = torch.exp(r * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = dt.clamp(min=dt_init_floor)
        with torch.no_grad():
            w.copy_(dt + torch.log(-torch.expm1(-dt)))
        w._no_reinit = True

    def _ssm_inputs(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(dt ``[B, d_inner, L]`` without bias, B ``[B, N, L]``, C ``[B, N, L]``) from
        the convolved input ``x [B, L, d_inner]``."""
        dt, B, C = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.linear(dt, self.dt_proj.weight)
        return dt.transpose(1, 2), B.transpose(1, 2), C.transpose(1, 2)

    def forward(
        self,
        hidden_states: Tensor,
        cache: MambaCache | None = None,
        cu_seqlens: Tensor | None = None,
    ) -> Tensor:
        """``[B, L, d_model] -> [B, L, d_model]``.

        Args:
            hidden_states: ``[B, L, d_model]``.
            cache: a fresh cache (``B`` rows, or ``S`` with ``cu_seqlens``) to fill with the
                state after the last token of every sequence, so that decoding can continue
                with :meth:`step`.
            cu_seqlens: ``[S + 1]`` int offsets of S sequences packed along L (B must be 1);
                neither the convolution nor the scan crosses a sequence boundary.
        """
        if hidden_states.dim() != 3 or hidden_states.shape[-1] != self.d_model:
            raise ValueError(
                f"Mamba: input must be [B, L, {self.d_model}], got {tuple(hidden_states.shape)}"
            )
        if cache is not None and cache.seqlen_offset != 0:
            raise ValueError("Mamba: forward() with a cache only prefills a fresh cache")
        if cu_seqlens is not None:
            _check_packing(cu_seqlens, hidden_states)
        length = hidden_states.shape[1]
        x, z = self.in_proj(hidden_states).chunk(2, dim=-1)
        x = x.transpose(1, 2)  # [B, d_inner, L]
        if cu_seqlens is None:
            x_conv = self.act(self.conv1d(x)[..., :length])
        else:
            x_conv = self.act(self._packed_conv(x, cu_seqlens))
        dt, B, C = self._ssm_inputs(x_conv.transpose(1, 2))
        out = selective_scan(
            x_conv, dt.to(x.dtype), -torch.exp(self.A_log.float()), B.to(x.dtype), C.to(x.dtype),
            self.D.float(), z.transpose(1, 2), self.dt_proj.bias.float(), delta_softplus=True,
            return_last_state=cache is not None, signed_gate=self.signed_gate,
            cu_seqlens=cu_seqlens, check_A=False, backend=self.backend,
        )  # fmt: skip
        if cache is not None:
            out, last = out
            self._fill_cache(cache, x, last, cu_seqlens)
        return self.out_proj(out.transpose(1, 2))

    def _packed_conv(self, x: Tensor, cu_seqlens: Tensor) -> Tensor:
        """The causal depthwise convolution of packed ``x [1, d_inner, L]`` with the taps
        that would reach into the previous sequence dropped (as zero padding per sequence)."""
        width, length = self.d_conv, x.shape[-1]
        steps = torch.arange(length, device=x.device)
        starts = cu_seqlens.to(steps.dtype)
        seq = torch.searchsorted(starts[1:], steps, right=True)
        pos = steps - starts[seq]  # position inside its sequence
        windows = F.pad(x, (width - 1, 0)).unfold(-1, width, 1)  # [1, d_inner, L, width]
        back = torch.arange(width - 1, -1, -1, device=x.device)  # tap k looks back width-1-k
        keep = (back[None, :] <= pos[:, None]).to(x.dtype)  # [L, width]
        out = (windows * keep * self.conv1d.weight[:, 0, None, :]).sum(-1)
        return out if self.conv1d.bias is None else out + self.conv1d.bias[:, None]

    def _fill_cache(
        self, cache: MambaCache, x: Tensor, last: Tensor, cu_seqlens: Tensor | None
    ) -> None:
        width, length = self.d_conv, x.shape[-1]
        if cache.ssm_state.shape != last.shape:
            raise ValueError(
                f"Mamba: the cache holds {cache.ssm_state.shape[0]} sequences, the input "
                f"{last.shape[0]}"
            )
        if cu_seqlens is None:
            tail = F.pad(x, (max(0, width - length), 0))[..., -width:]
        else:  # the last `width` inputs of every sequence, zeros before its start
            offsets = cu_seqlens.to(torch.int64)
            idx = offsets[1:, None] - width + torch.arange(width, device=x.device)
            valid = idx >= offsets[:-1, None]
            tail = x[0][:, idx.clamp(min=0)].permute(1, 0, 2) * valid[:, None, :].to(x.dtype)
        cache.conv_state.copy_(tail)
        cache.ssm_state.copy_(last)
        cache.seqlen_offset = length

    def allocate_cache(self, batch_size: int, device=None, dtype=None) -> MambaCache:
        """An empty decoding cache for ``batch_size`` sequences."""
        device = device or self.out_proj.weight.device
        dtype = dtype or self.conv1d.weight.dtype
        conv = torch.zeros(batch_size, self.d_inner, self.d_conv, device=device, dtype=dtype)
        ssm = torch.zeros(batch_size, self.d_inner, self.d_state, device=device)
        return MambaCache(conv, ssm, 0)

    def step(
        self, hidden_states: Tensor, cache: MambaCache | None = None
    ) -> tuple[Tensor, MambaCache]:
        """One decoding step, like the other layers' ``step``: returns ``(y_t, cache)``.

        Args:
            hidden_states: ``[B, d_model]`` (or ``[B, 1, d_model]`` as mamba_ssm takes it).
            cache: the decoding state; updated in place and returned. None starts from a
                fresh cache (zero state).

        Returns:
            ``y_t`` with the input's shape, and the cache.
        """
        if hidden_states.dim() == 3 and hidden_states.shape[1] == 1:
            y, cache = self.step(hidden_states[:, 0], cache)
            return y[:, None], cache
        if hidden_states.dim() != 2 or hidden_states.shape[-1] != self.d_model:
            raise ValueError(
                f"Mamba.step: input must be [B, {self.d_model}] or [B, 1, {self.d_model}], "
                f"got {tuple(hidden_states.shape)}"
            )
        if cache is None:
            cache = self.allocate_cache(hidden_states.shape[0], dtype=hidden_states.dtype)
        x, z = self.in_proj(hidden_states).chunk(2, dim=-1)  # [B, d_inner]
        cache.conv_state.copy_(torch.roll(cache.conv_state, shifts=-1, dims=-1))
        cache.conv_state[:, :, -1] = x
        x = (cache.conv_state * self.conv1d.weight[:, 0]).sum(-1)
        if self.conv1d.bias is not None:
            x = x + self.conv1d.bias
        x = self.act(x)
        dt, B, C = self._ssm_inputs(x[:, None])
        dt = F.softplus(dt[..., 0].float() + self.dt_proj.bias.float())  # [B, d_inner]
        dA = torch.exp(dt[..., None] * -torch.exp(self.A_log.float()))
        if self.signed_gate:
            dA = 2 * dA - 1
        dBx = (dt * x.float())[..., None] * B[:, None, :, 0].float()
        cache.ssm_state.copy_(cache.ssm_state * dA + dBx)
        y = (cache.ssm_state * C[:, None, :, 0].float()).sum(-1) + self.D.float() * x.float()
        y = (y * self.act(z.float())).to(x.dtype)
        cache.seqlen_offset += 1
        return self.out_proj(y), cache


def _check_packing(cu_seqlens, hidden_states: Tensor) -> None:
    """Shape checks only; the offsets' values are checked by selective_scan."""
    if not isinstance(cu_seqlens, Tensor):
        raise TypeError(
            f"Mamba: `cu_seqlens` must be an int32/int64 torch.Tensor, "
            f"got {type(cu_seqlens).__name__}"
        )
    if hidden_states.shape[0] != 1:
        raise ValueError(
            f"Mamba: with `cu_seqlens` the batch size must be 1, got {hidden_states.shape[0]}"
        )
