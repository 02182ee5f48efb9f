"""REGBENCH (Akyürek et al. 2024, "In-Context Language Learning"): in-context episodes of
random automata, and the paper's evaluation metrics.

The task ``regbench`` builds two disjoint, deduplicated pools of random DFAs once per
configuration (``num_test_dfas`` then ``num_train_dfas`` distinct minimal automata of the
stream keyed by ``pool_seed``; see ``kleene_core::automata::random``). Episode ``i`` of the
``split`` picks an automaton of its pool uniformly, a number of strings uniform on
``min_strings..max_strings`` and each string's length uniform on ``min_len..max_len``, samples
each string by a uniform random walk over the outgoing transitions, and joins them with the
separator ``|``. Vocabulary: letters ``a..`` (ids ``0..num_letters-1``), ``|``, pad ``.``.

Labels (position ``t`` describes the prefix ``tokens[:, :t+1]``):

- ``targets [B, T]`` int64: ``tokens[:, t+1]``, -100 where that is a separator, padding or
  past the end (the paper's loss mask);
- ``dfa_index [B]``: the automaton's index in its pool; ``states [B, T]``: its state (the start
  state after a separator, -1 on padding);
- ``valid_next [B, T, V]`` uint8: symbols with a transition from the current state;
- ``next_probs [B, T, V]`` float32: the true next-symbol distribution (uniform over them).
"""

from __future__ import annotations

import functools
import string
from typing import Any

import numpy as np

from .. import _core
from ..batch import IGNORE_INDEX, Batch, Vocabulary
from ..tasks import DTYPE, TARGETS, Label, Param, Task, in_range, item_label, register
from .dfa import DFA

LABEL_NAMES = ("targets", "states", "valid_next", "next_probs")
_POOL_SALT = 0x524547424E4348


def _labels_check(value: str) -> str | None:
    bad = [p for p in value.split(",") if p and p not in LABEL_NAMES]
    return f"lists unknown labels {bad}; choose from {list(LABEL_NAMES)}" if bad else None


@functools.lru_cache(maxsize=8)
def _pools(max_out, max_states, num_letters, pool_seed, num_test, num_train):
    return _core.dfa_regbench_pools(
        max_out=max_out,
        max_states=max_states,
        num_letters=num_letters,
        seed=pool_seed,
        salt=_POOL_SALT,
        num_test=num_test,
        num_train=num_train,
    )


@register
class Regbench(Task):
    """REGBENCH in-context language learning episodes (the paper's sizes by default)."""

    name = "regbench"
    label_specs = (
        item_label("dfa_index", "which automaton of the pool generated the item"),
        TARGETS,
        Label("states", "prefix", "value", "the automaton's state after tokens[:, :t+1]"),
        Label("valid_next", "next", "support", "1 where the symbol may be tokens[:, t+1]"),
        Label("next_probs", "next", "distribution", "the generator's law of tokens[:, t+1]"),
    )
    params = (
        Param("split", "train", "which pool: train or test", str, choices=("train", "test")),
        Param("num_train_dfas", 5000, "automata in the train pool", int, in_range(1, 1 << 20)),
        Param("num_test_dfas", 500, "automata in the test pool", int, in_range(1, 1 << 20)),
        Param("pool_seed", 0, "seed of the automata pools", int, in_range(0, 2**63 - 1)),
        Param("max_out", 4, "exclusive bound of the out-degree", int, in_range(2, 64)),
        Param("max_states", 12, "states before minimisation, at most", int, in_range(2, 4096)),
        Param("num_letters", 18, "letters available", int, in_range(2, 4096)),
        Param("min_strings", 10, "strings per episode, at least", int, in_range(1, 1 << 16)),
        Param("max_strings", 19, "strings per episode, at most", int, in_range(1, 1 << 16)),
        Param("min_len", 1, "string length, at least", int, in_range(1, 1 << 16)),
        Param("max_len", 49, "string length, at most", int, in_range(1, 1 << 16)),
        Param(
            "length", 1024, "tokens per row T (longer episodes are cut)", int, in_range(1, 1 << 22)
        ),
        Param(
            "labels",
            "targets",
            "comma-separated labels: " + ", ".join(LABEL_NAMES),
            str,
            _labels_check,
            affects_data=False,
        ),
        DTYPE,
    )

    def _check(self) -> None:
        p = self._params
        if p["max_out"] > min(p["max_states"], p["num_letters"]):
            raise ValueError("parameter `max_out` must be <= max_states and <= num_letters")
        if p["min_strings"] > p["max_strings"]:
            raise ValueError("parameter `min_strings` must be <= max_strings")
        if p["min_len"] > p["max_len"]:
            raise ValueError("parameter `min_len` must be <= max_len")

    @property
    def pools(self) -> tuple[Any, Any]:
        """(test, train) pools of the configuration (built once per process)."""
        p = self._params
        return _pools(
            p["max_out"],
            p["max_states"],
            p["num_letters"],
            p["pool_seed"],
            p["num_test_dfas"],
            p["num_train_dfas"],
        )

    @property
    def pool(self) -> Any:
        test, train = self.pools
        return test if self._params["split"] == "test" else train

    def automaton(self, index: int) -> DFA:
        """Automaton ``index`` of this split's pool as a :class:`DFA` over the letters."""
        return DFA(self.pool.get(index), self.letters)

    @property
    def letters(self) -> tuple[str, ...]:
        n = self._params["num_letters"]
        base = string.ascii_lowercase
        return tuple(base[i] if n <= 26 else f"a{i}" for i in range(n))

    @property
    def vocab(self) -> Vocabulary:
        n = self._params["num_letters"]
        joiner = "" if n <= 26 else " "
        return Vocabulary((*self.letters, "|", "."), pad_id=n + 1, sep_id=n, joiner=joiner)

    @functools.cached_property
    def _tables(self) -> np.ndarray:
        return self.pool.tables(self._params["max_states"])

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        p = self._params
        n = p["num_letters"]
        out = self.pool.episodes(
            min_strings=p["min_strings"],
            max_strings=p["max_strings"],
            min_len=p["min_len"],
            max_len=p["max_len"],
            length=p["length"],
            sep=n,
            pad=n + 1,
            seed=seed,
            salt=self.stream_salt,
            start=start,
            count=count,
            dtype=p["dtype"],
            threads=threads,
        )
        wanted = [x for x in p["labels"].split(",") if x]
        labels = {"dfa_index": out["dfa_index"]}
        tokens, states = out["tokens"], out["states"]
        if "targets" in wanted:
            labels["targets"] = _targets(tokens, n)
        if "states" in wanted:
            labels["states"] = states
        if "valid_next" in wanted or "next_probs" in wanted:
            valid = self._valid(out["dfa_index"], states)
            if "valid_next" in wanted:
                labels["valid_next"] = valid
            if "next_probs" in wanted:
                total = valid.sum(-1, keepdims=True, dtype=np.float32)
                labels["next_probs"] = np.divide(
                    valid, total, out=np.zeros(valid.shape, np.float32), where=total > 0
                )
        return self._batch(tokens, start, labels, out["lengths"])

    def _valid(self, dfa_index: np.ndarray, states: np.ndarray) -> np.ndarray:
        n = self._params["num_letters"]
        rows = self._tables[dfa_index[:, None], np.maximum(states, 0)]  # [B, T, n]
        valid = np.zeros((*states.shape, n + 2), dtype=np.uint8)
        valid[..., :n] = (rows >= 0) & (states >= 0)[..., None]
        return valid


def _targets(tokens: np.ndarray, num_letters: int) -> np.ndarray:
    t = tokens.astype(np.int64)
    targets = np.full(t.shape, IGNORE_INDEX, dtype=np.int64)
    nxt = t[:, 1:]
    targets[:, :-1] = np.where(nxt < num_letters, nxt, IGNORE_INDEX)
    return targets


def _eval_mask(batch: Batch, num_letters: int) -> np.ndarray:
    """Positions scored by the paper: the next token exists and is a letter."""
    return _targets(batch.tokens, num_letters) != IGNORE_INDEX


def dfa_accuracy(predictions: Any, batch: Batch, task: Regbench) -> float:
    """The paper's next-token DFA accuracy: the greedy prediction ``predictions [B, T]`` at
    position ``t`` is correct iff the current string's prefix extended by it is accepted,
    i.e. the automaton has that transition; positions whose next token is a separator (or
    padding) are skipped."""
    pred = np.asarray(predictions, dtype=np.int64)
    if pred.shape != batch.tokens.shape:
        raise ValueError(f"`predictions` must have shape {batch.tokens.shape}, got {pred.shape}")
    valid = _valid_of(batch, task)
    n = valid.shape[-1]
    mask = _eval_mask(batch, task.num_letters)
    clipped = np.clip(pred, 0, n - 1)
    ok = np.take_along_axis(valid, clipped[..., None], -1)[..., 0].astype(bool) & (pred == clipped)
    return float(ok[mask].mean()) if mask.any() else float("nan")


def distribution_distance(probs: Any, batch: Batch, task: Regbench) -> dict[str, float]:
    """L1 and total-variation distance between a model's next-token distributions
    ``probs [B, T, V]`` and the true ones (uniform over the current state's outgoing symbols),
    averaged over the scored positions (the paper's ``model_dfa_diff`` is the L1 sum)."""
    p = np.asarray(probs, dtype=np.float64)
    valid = _valid_of(batch, task)
    if p.shape != valid.shape:
        raise ValueError(f"`probs` must have shape {valid.shape}, got {p.shape}")
    truth = valid / np.maximum(valid.sum(-1, keepdims=True), 1)
    l1 = np.abs(p - truth).sum(-1)
    mask = _eval_mask(batch, task.num_letters)
    mean = float(l1[mask].mean()) if mask.any() else float("nan")
    return {"l1": mean, "tv": mean / 2, "l1_sum": float(l1[mask].sum())}


def _valid_of(batch: Batch, task: Regbench) -> np.ndarray:
    if "valid_next" in batch.labels:
        return batch.labels["valid_next"]
    states = batch.labels.get("states")
    if states is None:
        raise ValueError("the batch needs the `states` or `valid_next` label (labels=...)")
    return task._valid(batch.labels["dfa_index"], states)
