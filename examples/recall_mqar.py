"""MQAR in a training loop: batches from kleene, loss on the labelled positions only.

Run: ``python examples/recall_mqar.py`` (needs torch). Training items are read from one
stream (seed 0) in order, so the run can be resumed at any step with the same data.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

import kleene

task = kleene.tasks.get("mqar", vocab_size=128, input_seq_len=64, num_kv_pairs=4)
test = task.batch(256, seed=1).to_torch()  # a fixed test set: seed 1; training uses seed 0


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


def accuracy(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> float:
    labels = batch["labels"]
    with torch.no_grad():
        pred = model(batch["tokens"].long()).argmax(-1)
    scored = labels != kleene.IGNORE_INDEX
    return (pred[scored] == labels[scored]).float().mean().item()


def main(steps: int = 300, batch_size: int = 64) -> None:
    model = TinyTransformer(len(task.vocab), task.input_seq_len)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for step in range(steps):
        batch = task.batch(batch_size, seed=0, start=step * batch_size).to_torch()
        logits = model(batch["tokens"].long())
        loss = F.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            acc = accuracy(model, test)
            print(f"step {step:4d}  loss {loss.item():.3f}  test accuracy {acc:.3f}")


if __name__ == "__main__":
    main()
