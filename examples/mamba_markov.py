"""Train a tiny Mamba on in-context Markov chains and compare with the Bayes-optimal loss.

Every sequence comes from its own order-1 chain over V symbols with Dirichlet(1) rows
("From Markov to Laplace", Bond1995/Markov-Mamba): to predict well the model must estimate
the transition counts of the sequence it is reading, in context. The Bayes-optimal
predictor is the add-one (Laplace) rule on those counts; ``kleene.markov.bayes_loss`` gives
its loss, the best any model can reach. Two baselines show what the model has learned:
without using the context every prediction is worth log(V) nats (averaged over chains every
transition is uniform), and the add-one rule on in-context *symbol* counts (ignoring the
previous symbol, an order-0 estimator) sits in between.

Runs on CPU in about 4.5 minutes of CPU time (the scan takes the PyTorch reference path
there; on CUDA the Triton kernels)::

    python examples/mamba_markov.py          # 400 steps, length 64, batch 32

It ends (seed 0) with the held-out loss 0.0011 nats above Bayes and ``kleene.evaluate``'s
scores on 256 held-out sequences: cross-entropy 0.5289 against the Bayes 0.5281 (excess
+0.0009, KL(Bayes || model) 0.0017 nats), the excess loss falling from +0.009 at t=1 to
+0.000 at t=63 (``--report DIR`` draws it against position).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from torch import nn

import kleene
from kleene.layers import Mamba


class TinyMamba(nn.Module):
    """Embedding, pre-norm residual Mamba blocks, final norm, tied-free output head."""

    def __init__(self, vocab: int, d_model: int, n_layers: int, d_state: int, d_conv: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(n_layers))
        self.blocks = nn.ModuleList(
            Mamba(d_model, d_state=d_state, d_conv=d_conv, expand=2) for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens)
        for norm, block in zip(self.norms, self.blocks, strict=True):
            h = h + block(norm(h))
        return self.head(self.norm(h))


def unigram_loss(tokens: np.ndarray, vocab: int) -> float:
    """Loss of the in-context add-one rule on symbol counts (order 0), positions 1..T-1."""
    onehot = np.eye(vocab)[tokens]  # [B, T, V]
    counts = np.cumsum(onehot, axis=1)[:, :-1]  # counts of tokens[:, :t+1]
    t = np.arange(1, tokens.shape[1])[None, :, None]
    probs = (counts + 1) / (t + vocab)
    picked = np.take_along_axis(probs, tokens[:, 1:, None].astype(np.intp), -1)
    return float(-np.log(picked).mean())


def loss_on(model: nn.Module, batch: kleene.Batch, device) -> float:
    tokens = torch.as_tensor(batch.tokens, dtype=torch.long, device=device)
    logits = model(tokens[:, :-1])
    loss = nn.functional.cross_entropy(logits.transpose(1, 2), tokens[:, 1:])
    return loss.item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vocab", type=int, default=2)
    ap.add_argument("--length", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--d-model", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--d-state", type=int, default=8)
    ap.add_argument("--d-conv", type=int, default=4)
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--held-out", type=int, default=256, help="held-out sequences")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--report", help="directory for kleene.evaluate's figures and report")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    task = kleene.tasks.get("markov", vocab_size=args.vocab, order=1, length=args.length + 1)
    held_out = task.batch(args.held_out, seed=args.seed + 1)  # a different stream from training
    bayes = kleene.markov.bayes_loss(held_out).mean()
    model = TinyMamba(args.vocab, args.d_model, args.layers, args.d_state, args.d_conv).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps)
    print(f"{sum(p.numel() for p in model.parameters())} parameters on {device}")
    order0 = unigram_loss(held_out.tokens, args.vocab)
    print(
        f"held-out losses (nats): Bayes-optimal {bayes:.4f}, in-context order-0 add-one "
        f"{order0:.4f}, context-free {math.log(args.vocab):.4f}"
    )

    start = time.time()
    for step in range(1, args.steps + 1):
        batch = task.batch(args.batch, seed=args.seed, start=(step - 1) * args.batch)
        tokens = torch.as_tensor(batch.tokens, dtype=torch.long, device=device)
        logits = model(tokens[:, :-1])
        loss = nn.functional.cross_entropy(logits.transpose(1, 2), tokens[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % args.eval_every == 0 or step == args.steps:
            with torch.no_grad():
                held = loss_on(model, held_out, device)
            print(
                f"step {step:5d}  train {loss.item():.4f}  held-out {held:.4f}  "
                f"gap to Bayes {held - bayes:+.4f}  ({time.time() - start:.0f} s)"
            )

    # Held-out sequences (stream seed + 1) scored by kleene.evaluate: the model's output at
    # position t is compared with the Bayes-optimal predictive of token t+1, position by position.
    scored = kleene.tasks.get("markov", vocab_size=args.vocab, order=1, length=args.length)
    result = kleene.evaluate(model.eval(), scored, num=args.held_out, seed=args.seed + 1)
    m = result.metrics[args.length]
    print(
        f"kleene.evaluate: cross-entropy {m['cross_entropy']:.4f}, Bayes "
        f"{m['bayes_cross_entropy']:.4f}, excess {m['excess_loss']:+.4f}, "
        f"KL(Bayes || model) {m['kl_bayes']:.4f} nats"
    )
    curve = result.curves[args.length]["excess_loss"]
    marks = sorted({1, 4, 16, args.length - 1} & set(range(1, args.length)))
    print("excess loss by position:", "  ".join(f"t={t} {curve[t - 1]:+.3f}" for t in marks))
    if args.report:
        print("report:", result.report(args.report))


if __name__ == "__main__":
    main()
