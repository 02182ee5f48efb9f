"""Parity with linear RNNs: signed gates learn it and extrapolate, [0, 1] gates do not.

After Grazzi et al., "Unlocking State-Tracking in Linear RNNs Through Negative Eigenvalues"
(arXiv 2411.12537). One-layer models that differ only in the gate range of their
``GatedLinearRNN`` are trained on random bit strings of length ``--train-len`` to predict the
running parity at every position, then tested on much longer strings. Gate ranges: (-1, 1)
(``signed=True``), [-1, 1] (``signed=True, saturate=0.1``: the ends are reachable) and
[0, 1] (``saturate=0.1``).

Run (CPU, a few minutes): ``python examples/linrec_parity.py``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from kleene.layers import GatedLinearRNN


def parity_batch(rng: np.random.Generator, batch: int, length: int) -> tuple[torch.Tensor, ...]:
    """Bits [B, T] and their running parity [B, T] (label t = parity of bits 0..t)."""
    bits = rng.integers(0, 2, size=(batch, length))
    return torch.from_numpy(bits), torch.from_numpy(np.cumsum(bits, axis=1) % 2)


class ParityModel(nn.Module):
    """Embedding -> GatedLinearRNN (+ residual) -> MLP head, predicting parity per position."""

    def __init__(self, signed: bool, saturate: float, d_model: int = 32, d_hidden: int = 64):
        super().__init__()
        self.embed = nn.Embedding(2, d_model)
        self.rnn = GatedLinearRNN(d_model, d_hidden, signed=signed, saturate=saturate)
        self.head = nn.Sequential(nn.Linear(d_model, 64), nn.GELU(), nn.Linear(64, 2))

    def forward(self, bits: torch.Tensor) -> torch.Tensor:
        x = self.embed(bits)
        return self.head(x + self.rnn(x))


def train(name: str, signed: bool, saturate: float, args: argparse.Namespace) -> ParityModel:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = ParityModel(signed, saturate)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    for step in range(1, args.steps + 1):
        bits, labels = parity_batch(rng, args.batch, args.train_len)
        loss = nn.functional.cross_entropy(model(bits).flatten(0, 1), labels.flatten())
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % args.log_every == 0 or step == args.steps:
            print(f"  [{name}] step {step:5d}  loss {loss.item():.4f}")
    return model


@torch.no_grad()
def accuracy(model: ParityModel, length: int, seed: int, batch: int = 256) -> tuple[float, float]:
    """(accuracy over all positions, accuracy at the last position) on fresh strings."""
    bits, labels = parity_batch(np.random.default_rng(10_000 + seed), batch, length)
    pred = model(bits).argmax(-1)
    return (pred == labels).float().mean().item(), (
        pred[:, -1] == labels[:, -1]
    ).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--train-len", type=int, default=16)
    parser.add_argument("--test-lens", type=int, nargs="+", default=[16, 64, 256, 1024])
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny tensors: extra threads only add contention

    rows = []
    models = [("gates in (-1, 1)", True, 0.0), ("gates in [-1, 1]", True, 0.1)]
    models.append(("gates in [0, 1]", False, 0.1))
    for name, signed, saturate in models:
        start = time.perf_counter()
        model = train(name, signed, saturate, args)
        for length in args.test_lens:
            rows.append((name, length, *accuracy(model, length, args.seed)))
        print(f"  trained in {time.perf_counter() - start:.0f} s")

    print(f"\nrunning-parity accuracy (trained on length {args.train_len})")
    print("| model | test length | all positions | last position |")
    print("|---|---|---|---|")
    for name, length, acc_all, acc_last in rows:
        print(f"| {name} | {length} | {acc_all:.3f} | {acc_last:.3f} |")


if __name__ == "__main__":
    main()
