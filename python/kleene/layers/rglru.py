"""RG-LRU: the Real-Gated Linear Recurrent Unit of Griffin (De et al. 2024, arXiv 2402.19427)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..triton_kernels.rglru import rglru_scan
from ..triton_kernels.rglru.reference import rglru_gates, rglru_normalise

__all__ = ["RGLRU"]


def _at_least_fp32(t: Tensor) -> Tensor:
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


class _BlockDiagonalLinear(nn.Module):
    """y = x W + b with W block diagonal ([num_blocks, W/num_blocks, W/num_blocks])."""

    def __init__(self, width: int, num_blocks: int, generator: torch.Generator | None) -> None:
        super().__init__()
        block = width // num_blocks
        self.num_blocks = num_blocks
        self.w = nn.Parameter(
            torch.randn(num_blocks, block, block, generator=generator) / block**0.5
        )
        self.b = nn.Parameter(torch.zeros(num_blocks, block))

    def forward(self, x: Tensor) -> Tensor:
        xb = x.unflatten(-1, (self.num_blocks, -1))
        return (torch.einsum("...hi,hij->...hj", xb, self.w) + self.b).flatten(-2)


class RGLRU(nn.Module):
    """Griffin's gated diagonal recurrence with gates in (0, 1).

    r_t = sigmoid(W_a x_t + b_a), i_t = sigmoid(W_x x_t + b_x),
    a_t = sigmoid(-Lambda)^(c r_t), h_t = a_t h_{t-1} + sqrt(1 - a_t^2) (i_t x_t), y_t = h_t.
    At the start of every sequence (when no initial state is given) the state is reset and the
    input is not scaled by sqrt(1 - a^2), as in RecurrentGemma. The gate projections run in
    PyTorch; the gate nonlinearities, the decay and the normalisation are fused with the scan
    in :func:`kleene.triton_kernels.rglru.rglru_scan` (on CPU its PyTorch reference runs).

    Args:
        width: channels W.
        num_blocks: blocks of the block-diagonal gate projections (W must be divisible).
        c: the constant c = 8 of the paper.
        min_rad, max_rad: sigmoid(-Lambda) is initialised with its square uniform on
            [min_rad^2, max_rad^2].
        generator: optional torch.Generator for the initialisation.

    Example:
        >>> import torch
        >>> layer = RGLRU(8, num_blocks=2, generator=torch.Generator().manual_seed(0))
        >>> layer(torch.randn(2, 5, 8)).shape
        torch.Size([2, 5, 8])
    """

    def __init__(
        self,
        width: int,
        num_blocks: int = 1,
        c: float = 8.0,
        min_rad: float = 0.9,
        max_rad: float = 0.999,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if width < 1 or num_blocks < 1 or width % num_blocks:
            raise ValueError(
                f"width ({width}) must be a positive multiple of num_blocks ({num_blocks})"
            )
        if not 0.0 < min_rad < max_rad < 1.0:
            raise ValueError(f"need 0 < min_rad < max_rad < 1, got {min_rad}, {max_rad}")
        self.c = c
        self.input_gate = _BlockDiagonalLinear(width, num_blocks, generator)
        self.a_gate = _BlockDiagonalLinear(width, num_blocks, generator)
        radius_sq = torch.rand(width, generator=generator) * (max_rad**2 - min_rad**2) + min_rad**2
        # softplus(a_param) = -log(radius), i.e. a_param = inverse_softplus(-0.5 log radius^2).
        target = -0.5 * torch.log(radius_sq)
        self.a_param = nn.Parameter(target + torch.log(-torch.expm1(-target)))

    def _preactivations(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(x, input-gate and recurrence-gate pre-activations, decay softplus(Lambda)), fp32."""
        xf = _at_least_fp32(x)
        decay = F.softplus(_at_least_fp32(self.a_param))
        return xf, self.input_gate(xf), self.a_gate(xf), decay

    def forward(
        self,
        x: Tensor,
        initial_state: Tensor | None = None,
        cu_seqlens: Tensor | None = None,
        output_final_state: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Runs the layer over whole sequences.

        Args:
            x: inputs [B, T, W].
            initial_state: fp32 states [N_seq, W]; when given, sequences continue from it
                (no reset at their first step).
            cu_seqlens: offsets [N_seq + 1] of packed sequences (B = 1).
            output_final_state: also return the final states [N_seq, W] (fp32).

        Returns:
            y [B, T, W] in x.dtype (and the final states).
        """
        xf, gx, ga, decay = self._preactivations(x)
        h, final = rglru_scan(xf, gx, ga, decay, self.c, initial_state, cu_seqlens)
        y = h.to(x.dtype)
        return (y, final) if output_final_state else y

    def step(self, x_t: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One generation step: x_t [B, W], state [B, W] fp32 (None = a sequence start)."""
        log_a, gated = rglru_gates(*self._preactivations(x_t), self.c)
        if state is None:
            state = gated
        else:
            state = torch.exp(log_a) * state + rglru_normalise(log_a, gated, None)
        return state.to(x_t.dtype), state
