"""`Batch` and `Vocabulary`: the containers every task returns."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

IGNORE_INDEX = -100
"""Label value that losses ignore (PyTorch's `ignore_index` default)."""

FORMER_LABELS: dict[str, tuple[tuple[str, ...], int]] = {
    "labels": (("targets", "reconstruction"), 0),
    "lm_labels": (("targets",), 1),
}
"""Former label names: the current names they resolve to, and by how many positions the former
layout sat later (life's ``lm_labels`` held each token at its own position)."""


class Labels(dict[str, np.ndarray]):
    """A batch's label arrays by name. A former name still resolves, in its former layout,
    with a DeprecationWarning; it is never stored, so files and iteration use current names."""

    def __missing__(self, key: str) -> np.ndarray:
        current, later = FORMER_LABELS.get(key, ((), 0))
        for name in current:
            if name in self:
                warnings.warn(
                    f"label {key!r} is now {name!r}"
                    + (" (output-aligned: one position earlier)" if later else ""),
                    DeprecationWarning,
                    stacklevel=3,
                )
                return _delayed(self[name], later)
        raise KeyError(key)


def _delayed(array: np.ndarray, positions: int) -> np.ndarray:
    """``array`` moved ``positions`` later along axis 1 (IGNORE_INDEX in front)."""
    if positions == 0:
        return array
    out = np.full_like(array, IGNORE_INDEX)
    out[:, positions:] = array[:, :-positions]
    return out


@dataclass(frozen=True)
class Vocabulary:
    """Token strings of a task and its special ids (``None`` where the task has none).

    Example:
        >>> v = Vocabulary(("a", "b", "<pad>"), pad_id=2)
        >>> v.decode([0, 1, 1, 2])
        'abb'
        >>> len(v)
        3
    """

    tokens: tuple[str, ...]
    pad_id: int | None = None
    bos_id: int | None = None
    eos_id: int | None = None
    sep_id: int | None = None
    joiner: str = ""
    """String placed between decoded tokens."""

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def special_ids(self) -> dict[str, int]:
        """Names and ids of the special tokens this vocabulary has."""
        names = ("pad", "bos", "eos", "sep")
        ids = (self.pad_id, self.bos_id, self.eos_id, self.sep_id)
        return {n: i for n, i in zip(names, ids, strict=True) if i is not None}

    def id_of(self, token: str) -> int:
        """The id of a token string; raises ValueError if absent."""
        try:
            return self.tokens.index(token)
        except ValueError:
            raise ValueError(f"token {token!r} is not in the vocabulary") from None

    def decode(self, ids: Sequence[int] | np.ndarray, skip_pad: bool = True) -> str:
        """Token ids to text; padding is dropped unless ``skip_pad`` is False."""
        out = []
        for i in np.asarray(ids).reshape(-1).tolist():
            if skip_pad and i == self.pad_id:
                continue
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"token id {i} outside the vocabulary 0..{len(self.tokens) - 1}")
            out.append(self.tokens[i])
        return self.joiner.join(out)


@dataclass
class Batch:
    """A batch of items from a task stream.

    Attributes:
        tokens: token ids ``[B, T]``, padded with ``vocab.pad_id`` where lengths differ.
        lengths: valid length of each row ``[B]`` (int64).
        indices: stream index of each row ``[B]`` (int64).
        labels: task-specific arrays, first dimension ``B`` (see the task's docstring).
        vocab: the task's vocabulary.
    """

    tokens: np.ndarray
    lengths: np.ndarray
    indices: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=Labels)
    vocab: Vocabulary | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.labels, Labels):
            self.labels = Labels(self.labels)

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    def __repr__(self) -> str:
        """A summary (shapes, dtypes, index and length ranges), not every array."""

        def shape(a: np.ndarray) -> str:
            return f"{a.dtype} {list(a.shape)}"

        def span(a: np.ndarray) -> str:
            return f"{a.min()}..{a.max()}" if a.size else "none"

        labels = ", ".join(f"{k}: {shape(v)}" for k, v in self.labels.items())
        return (
            f"Batch({len(self)} items, tokens {shape(self.tokens)}, "
            f"indices {span(self.indices)}, lengths {span(self.lengths)}"
            + (f", labels {{{labels}}})" if labels else ")")
        )

    def __getitem__(self, key: str) -> np.ndarray:
        arrays = self.arrays()
        return arrays[key] if key in arrays else self.labels[key]

    def keys(self) -> list[str]:
        return list(self.arrays())

    def arrays(self) -> dict[str, np.ndarray]:
        """Every array of the batch by name: tokens, lengths, indices, then the labels."""
        base = {"tokens": self.tokens, "lengths": self.lengths, "indices": self.indices}
        return {**base, **self.labels}

    def rows(self) -> Iterator[dict[str, np.ndarray]]:
        """One dict of arrays per item (views, no copies)."""
        arrays = self.arrays()
        for i in range(len(self)):
            yield {k: v[i] for k, v in arrays.items()}

    def to_torch(self, device: Any = None) -> dict[str, Any]:
        """Arrays as torch tensors; shares memory with the batch when ``device`` is None/cpu."""
        import torch

        out = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in self.arrays().items()}
        if device is not None:
            out = {k: v.to(device) for k, v in out.items()}
        return out

    def decode(self, row: int) -> str:
        """Row ``row`` as text (up to its length)."""
        if self.vocab is None:
            raise ValueError("this batch carries no vocabulary")
        return self.vocab.decode(self.tokens[row, : int(self.lengths[row])])
