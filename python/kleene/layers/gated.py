"""A gated diagonal linear RNN whose gates may be negative (Grazzi et al. 2025, arXiv 2411.12537).

Linear RNNs with all transition eigenvalues in [0, 1] cannot track parity in finite precision;
letting them range over (-1, 1) can. ``GatedLinearRNN(signed=True)`` uses a_t = 2 sigmoid(z) - 1.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..triton_kernels.linear_recurrence import linear_recurrence

__all__ = ["GatedLinearRNN"]


def _at_least_fp32(t: Tensor) -> Tensor:
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


class GatedLinearRNN(nn.Module):
    """h_t = a_t * h_{t-1} + W_v x_t, y_t = W_o h_t, with input-dependent diagonal gates.

    a_t = sigmoid(W_a x_t + b_a) in (0, 1), or with ``signed=True``
    a_t = 2 sigmoid(W_a x_t + b_a) - 1 in (-1, 1) (negative eigenvalues). With
    ``saturate = s > 0`` the gate is stretched by 1 + s about the middle of its range and
    clipped, so it reaches the ends of the closed interval ([-1, 1] or [0, 1]) exactly; in an
    open interval a stored sign decays as (1 - eps)^t, which limits length extrapolation
    (see examples/linrec_parity.py).

    Args:
        d_model: input and output width H.
        d_hidden: recurrent width (default d_model).
        signed: allow negative gates.
        saturate: stretch s >= 0 of the gate before clipping to the closed interval.

    Example:
        >>> import torch
        >>> layer = GatedLinearRNN(4, 6, signed=True)
        >>> layer(torch.randn(2, 5, 4)).shape
        torch.Size([2, 5, 4])
    """

    def __init__(
        self, d_model: int, d_hidden: int | None = None, signed: bool = False, saturate: float = 0.0
    ) -> None:
        super().__init__()
        d_hidden = d_model if d_hidden is None else d_hidden
        if d_model < 1 or d_hidden < 1:
            raise ValueError(f"d_model and d_hidden must be >= 1, got {d_model}, {d_hidden}")
        if not saturate >= 0.0:
            raise ValueError(f"saturate must be >= 0, got {saturate}")
        self.signed = signed
        self.saturate = saturate
        self.gate = nn.Linear(d_model, d_hidden)
        self.value = nn.Linear(d_model, d_hidden)
        self.out = nn.Linear(d_hidden, d_model)

    def _gate_and_input(self, x: Tensor) -> tuple[Tensor, Tensor]:
        a = torch.sigmoid(_at_least_fp32(self.gate(x)))
        if self.signed:
            a = 2 * a - 1
        if self.saturate > 0:  # stretch about the interval's middle, then clip to its ends
            low = -1.0 if self.signed else 0.0
            middle = (low + 1.0) / 2
            a = (middle + (a - middle) * (1 + self.saturate)).clamp(low, 1.0)
        return a, _at_least_fp32(self.value(x))

    def forward(
        self,
        x: Tensor,
        initial_state: Tensor | None = None,
        cu_seqlens: Tensor | None = None,
        output_final_state: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Runs the layer over whole sequences.

        Args:
            x: inputs [B, T, H].
            initial_state: fp32 states [N_seq, d_hidden] (zeros when omitted).
            cu_seqlens: offsets [N_seq + 1] of packed sequences (B = 1).
            output_final_state: also return the final states [N_seq, d_hidden].

        Returns:
            y [B, T, H] (and the final states).
        """
        a, v = self._gate_and_input(x)
        h, final = linear_recurrence(
            a, v, initial_state, cu_seqlens=cu_seqlens, output_final_state=True
        )
        y = self.out(h.to(x.dtype))
        return (y, final) if output_final_state else y

    def step(self, x_t: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One generation step: x_t [B, H], state [B, d_hidden] fp32 (None = zeros)."""
        a, v = self._gate_and_input(x_t)
        state = v if state is None else a * state + v
        return self.out(state.to(x_t.dtype)), state
