"""Parity with linear RNNs: signed gates learn it and extrapolate, [0, 1] gates do not.

After Grazzi et al., "Unlocking State-Tracking in Linear RNNs Through Negative Eigenvalues"
(arXiv 2411.12537). One-layer models that differ only in the gate range of their
``GatedLinearRNN`` are trained on random bit strings of length ``--train-len`` to predict the
running parity at every position, then tested on much longer strings. Gate ranges: (-1, 1)
(``signed=True``), [-1, 1] (``signed=True, saturate=0.1``: the ends are reachable) and
[0, 1] (``saturate=0.1``).

Data come from kleene's ``parity`` task and the scores from ``kleene.evaluate`` (accuracy by
length). Run: ``python examples/linrec_parity.py`` (about a minute on a 2-core CPU; ``--report
DIR`` writes each model's figures). It prints (seed 0)::

    | gates in (-1, 1) | 16 | 1.000 | 1.000 |
    | gates in (-1, 1) | 64 | 0.999 | 0.988 |
    | gates in (-1, 1) | 256 | 0.741 | 0.516 |
    | gates in (-1, 1) | 1024 | 0.559 | 0.531 |
    | gates in [-1, 1] | 16 | 1.000 | 1.000 |
    | gates in [-1, 1] | 64 | 1.000 | 1.000 |
    | gates in [-1, 1] | 256 | 1.000 | 1.000 |
    | gates in [-1, 1] | 1024 | 1.000 | 1.000 |
    | gates in [0, 1] | 16 | 0.789 | 0.504 |
    | gates in [0, 1] | 64 | 0.583 | 0.508 |
    | gates in [0, 1] | 256 | 0.524 | 0.527 |
    | gates in [0, 1] | 1024 | 0.505 | 0.527 |

(columns: model, test length, accuracy over all positions, accuracy at the last position).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

import kleene
from kleene.layers import GatedLinearRNN


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
    """Trains on kleene's ``parity`` task at length ``--train-len``: tokens are the bits, and
    ``label_trace[:, t]`` is the parity of ``tokens[:, :t+1]`` (stream seed ``--seed``)."""
    torch.manual_seed(args.seed)
    task = kleene.tasks.get("parity", min_length=args.train_len, max_length=args.train_len)
    model = ParityModel(signed, saturate)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    for step in range(1, args.steps + 1):
        batch = task.batch(args.batch, seed=args.seed, start=step * args.batch).to_torch()
        logits = model(batch["tokens"].long())
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), batch["label_trace"].flatten())
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % args.log_every == 0 or step == args.steps:
            print(f"  [{name}] step {step:5d}  loss {loss.item():.4f}")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--train-len", type=int, default=16)
    parser.add_argument("--test-lens", type=int, nargs="+", default=[16, 64, 256, 1024])
    parser.add_argument("--num", type=int, default=256, help="test strings per length")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--report", help="directory for each model's figures and report")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny tensors: extra threads only add contention

    test = kleene.tasks.get("parity", min_length=args.train_len, max_length=args.train_len)
    rows = []
    models = [("gates in (-1, 1)", True, 0.0), ("gates in [-1, 1]", True, 0.1)]
    models.append(("gates in [0, 1]", False, 0.1))
    for i, (name, signed, saturate) in enumerate(models):
        start = time.perf_counter()
        model = train(name, signed, saturate, args).eval()
        # held-out strings (seed 1 + the training seed) at every test length
        result = kleene.evaluate(
            model, test, num=args.num, seed=args.seed + 1, lengths=args.test_lens
        )
        for length, m in result.metrics.items():
            rows.append((name, length, m["position_accuracy"], m["accuracy"]))
        if args.report:
            result.report(f"{args.report}/model{i}", train_lengths=(1, args.train_len))
        print(f"  trained and evaluated in {time.perf_counter() - start:.0f} s")

    print(f"\nrunning-parity accuracy (trained on length {args.train_len})")
    print("| model | test length | all positions | last position |")
    print("|---|---|---|---|")
    for name, length, acc_all, acc_last in rows:
        print(f"| {name} | {length} | {acc_all:.3f} | {acc_last:.3f} |")


if __name__ == "__main__":
    main()
