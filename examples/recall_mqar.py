"""MQAR in a training loop: batches from kleene, loss on the labelled positions only, test
accuracy from ``kleene.evaluate``.

Run: ``python examples/recall_mqar.py`` (needs torch; about 100 s on a 2-core CPU). Training
items are read from one stream (seed 0) in order, so the run can be resumed at any step with
the same data. The two-layer Transformer learns part of the task in 300 steps: it prints the
loss and the accuracy on 256 held-out items (seed 1) every 50 steps; with torch's seed 0 it
ended with ``step  299  loss 2.345  test accuracy 0.253`` here (torch's CPU kernels can move
the last digits; longer training goes higher).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

import kleene

task = kleene.tasks.get("mqar", vocab_size=128, length=64, num_kv_pairs=4)


class TinyTransformer(torch.nn.Module):
    def __init__(self, vocab: int, length: int, width: int = 64) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, width)
        self.pos = torch.nn.Parameter(torch.zeros(length, width))
        layer = torch.nn.TransformerEncoderLayer(width, 4, 4 * width, 0.0, batch_first=True)
        self.body = torch.nn.TransformerEncoder(layer, 2)
        self.head = torch.nn.Linear(width, vocab)
        self.register_buffer("mask", torch.nn.Transformer.generate_square_subsequent_mask(length))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens) + self.pos
        return self.head(self.body(h, mask=self.mask, is_causal=True))


def accuracy(model: torch.nn.Module) -> float:
    """Accuracy on the labelled positions of 256 held-out items (seed 1; training uses 0)."""
    result = kleene.evaluate(model, task, num=256, seed=1)
    return result.metrics[task.input_seq_len]["accuracy"]


def main(steps: int = 300, batch_size: int = 64) -> None:
    torch.manual_seed(0)
    model = TinyTransformer(len(task.vocab), task.input_seq_len)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for step in range(steps):
        batch = task.batch(batch_size, seed=0, start=step * batch_size).to_torch()
        logits = model(batch["tokens"].long())
        loss = F.cross_entropy(logits.flatten(0, 1), batch["targets"].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            acc = accuracy(model)
            print(f"step {step:4d}  loss {loss.item():.3f}  test accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
