"""LRU: the Linear Recurrent Unit (Orvieto et al. 2023, arXiv 2303.06349)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..triton_kernels.linear_recurrence import linear_recurrence

__all__ = ["LRU"]


def _at_least_fp32(t: Tensor) -> Tensor:
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


class LRU(nn.Module):
    """Complex diagonal linear recurrence with ring initialisation and gamma normalisation.

    x_t = lambda * x_{t-1} + gamma * (B u_t), y_t = Re(C x_t) + D * u_t, with
    lambda = exp(-exp(nu_log) + i exp(theta_log)) (so |lambda| < 1) and
    gamma = exp(gamma_log), initialised to sqrt(1 - |lambda|^2).

    Args:
        d_model: input and output width H.
        d_state: number of complex state channels N.
        r_min, r_max: |lambda| is drawn with |lambda|^2 uniform on [r_min^2, r_max^2].
        max_phase: arg(lambda) is drawn uniformly in [0, max_phase].
        generator: optional torch.Generator for the initialisation.

    Example:
        >>> import torch
        >>> layer = LRU(4, 8, generator=torch.Generator().manual_seed(0))
        >>> layer(torch.randn(2, 5, 4)).shape
        torch.Size([2, 5, 4])
    """

    def __init__(
        self,
        d_model: int,
        d_state: int,
        r_min: float = 0.0,
        r_max: float = 1.0,
        max_phase: float = 2 * math.pi,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 <= r_min < r_max <= 1.0:
            raise ValueError(f"need 0 <= r_min < r_max <= 1, got r_min={r_min}, r_max={r_max}")
        if d_model < 1 or d_state < 1:
            raise ValueError(f"d_model and d_state must be >= 1, got {d_model}, {d_state}")
        g = generator
        u1, u2 = torch.rand(d_state, generator=g), torch.rand(d_state, generator=g)
        radius_sq = u1 * (r_max**2 - r_min**2) + r_min**2
        nu_log = torch.log(-0.5 * torch.log(radius_sq.clamp(min=1e-12)))
        theta_log = torch.log((max_phase * u2).clamp(min=1e-12))
        self.nu_log = nn.Parameter(nu_log)
        self.theta_log = nn.Parameter(theta_log)
        self.gamma_log = nn.Parameter(0.5 * torch.log1p(-radius_sq.clamp(max=1 - 1e-6)))
        scale_b = 1 / math.sqrt(2 * d_model)
        self.B_re = nn.Parameter(torch.randn(d_state, d_model, generator=g) * scale_b)
        self.B_im = nn.Parameter(torch.randn(d_state, d_model, generator=g) * scale_b)
        self.C_re = nn.Parameter(torch.randn(d_model, d_state, generator=g) / math.sqrt(d_state))
        self.C_im = nn.Parameter(torch.randn(d_model, d_state, generator=g) / math.sqrt(d_state))
        self.D = nn.Parameter(torch.randn(d_model, generator=g))

    def eigenvalues(self) -> Tensor:
        """lambda [N], complex64."""
        return torch.polar(torch.exp(-torch.exp(self.nu_log)), torch.exp(self.theta_log))

    def _drive(self, u: Tensor) -> Tensor:
        """gamma * (B u) as complex (at least complex64), [..., N]."""
        u = _at_least_fp32(u)
        gamma = torch.exp(self.gamma_log).to(u.dtype)
        b_re, b_im = self.B_re.to(u.dtype), self.B_im.to(u.dtype)
        return torch.complex(u @ b_re.T, u @ b_im.T) * gamma

    def _readout(self, h: Tensor, u: Tensor) -> Tensor:
        wide = _at_least_fp32(u)
        c_re, c_im = self.C_re.to(wide.dtype), self.C_im.to(wide.dtype)
        y = h.real @ c_re.T - h.imag @ c_im.T + self.D.to(wide.dtype) * wide
        return y.to(u.dtype)

    def forward(
        self,
        u: Tensor,
        initial_state: Tensor | None = None,
        cu_seqlens: Tensor | None = None,
        output_final_state: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Runs the layer over whole sequences.

        Args:
            u: inputs [B, T, H].
            initial_state: complex states [N_seq, N] (N_seq = B, or sequences in cu_seqlens).
            cu_seqlens: offsets [N_seq + 1] of packed sequences (B = 1).
            output_final_state: also return the final states [N_seq, N] (complex64).

        Returns:
            y [B, T, H] (and the final states).
        """
        drive = self._drive(u)
        lam = self.eigenvalues().to(drive.dtype)
        h, final = linear_recurrence(
            lam.expand_as(drive), drive, initial_state, cu_seqlens=cu_seqlens,
            output_final_state=True,
        )  # fmt: skip
        y = self._readout(h, u)
        return (y, final) if output_final_state else y

    def step(self, u_t: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One generation step: u_t [B, H], state [B, N] complex (None = zeros) -> (y_t, state)."""
        drive = self._drive(u_t)
        lam = self.eigenvalues().to(drive.dtype)
        state = drive if state is None else lam * state + drive
        return self._readout(state, u_t), state
