"""In-context Boolean functions and the GOTU setting (``rust/core/src/recall/boolean.rs``)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..batch import Batch, Vocabulary
from ..tasks import DTYPE, TARGETS, Param, at_least, in_range, item_label, register
from ._task import RecallTask

BOOLEAN_CLASSES = (
    "conjunction",
    "disjunction",
    "sparse_disjunction",
    "dnf",
    "cnf",
    "sparse_parity",
    "parity",
    "majority",
    "zero_one_threshold",
    "integer_halfspace",
)
_DEFAULT_K = {"sparse_parity": 2, "sparse_disjunction": 4}


@register
class BooleanFunctions(RecallTask):
    """In-context learning of Boolean functions (Bhattamishra et al., ICLR 2024).

    Each row draws a function of ``function_class`` and ``n_points`` uniform points
    ``x in {-1, +1}^n`` (some classes bias points towards the decisive region, as the paper
    does). Classes: ``conjunction`` / ``disjunction`` (literals absent/positive/negated
    0.7/0.15/0.15; points satisfy / falsify every literal w.p. 0.3), ``sparse_disjunction``
    (OR of ``k`` positive variables), ``dnf`` / ``cnf`` (3 terms / clauses, literals
    0.8/0.1/0.1, one per row favoured w.p. 0.35 / 0.3), ``sparse_parity`` (uniform
    ``k``-subset), ``parity`` (uniform subset), ``majority`` (each variable w.p. 0.3; ties and
    the empty set give -1), ``zero_one_threshold`` (``sign(w.x - b)``, ``w`` as conjunctions,
    ``b`` uniform in ``{-2.5, ..., 2.5}``), ``integer_halfspace`` (``sign(w.x - 0.5)``, ``w``
    uniform in ``{-3..3}^n``). ``noise_rate`` flips each shown label.

    Tokens ``[B, m (n + 1)]``: per point its bits (0 for -1, 1 for +1) then its label token
    (2 for -1, 3 for +1). ``labels``: the label token at each point's last bit, ``-100``
    elsewhere. Also ``x [B, m, n]`` and ``y [B, m]`` (int8, +-1, as shown), ``y_clean``
    (before noise), ``spec [B, R, n]`` (int8: the weights / literals / support; ``R`` = 3 for
    dnf and cnf) and ``bias [B]`` (the threshold ``b``). A learner that has identified ``f``
    scores 100 % (``1 - noise_rate`` on noisy labels); the first points are ambiguous, so
    in-context accuracy rises with the number of points seen.
    """

    name = "boolean_functions"
    label_specs = (
        TARGETS,
        item_label("y", "each point's shown label, -1 or +1 [B, n_points]"),
        item_label("y_clean", "each point's noiseless label [B, n_points]"),
        item_label("spec", "the function's specification [B, rows, n_dims]"),
        item_label("bias", "the function's bias"),
        item_label("x", "the points as -1/+1 vectors [B, n_points, n_dims]"),
    )
    _core_name = "boolean_functions"
    params = (
        Param("function_class", "conjunction", "the function class", str, choices=BOOLEAN_CLASSES),
        Param("n_dims", 28, "input dimension n", int, in_range(1, 4096)),
        Param("n_points", 40, "points per episode m", int, in_range(1, 1 << 20)),
        Param("k", None, "support of sparse classes (default 2 parity, 4 or)", int, at_least(1)),
        Param("noise_rate", 0.0, "label flip probability", float, in_range(0.0, 0.5)),
        DTYPE,
    )

    @functools.cached_property
    def _core_params(self) -> dict[str, Any]:
        p = dict(super()._core_params)
        if p["k"] is None:
            p["k"] = _DEFAULT_K.get(p["function_class"], 1)
        return p

    @property
    def vocab(self) -> Vocabulary:
        return Vocabulary(("0", "1", "N", "Y"), joiner="")

    def _labels(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        p = self._core_params
        n, m = p["n_dims"], p["n_points"]
        rows = 3 if p["function_class"] in ("dnf", "cnf") else 1
        # The label of each point's last bit is the label token shown after it.
        shown = out["labels"].reshape(-1, m, n + 1)[:, :, n - 1]
        ints = out["ints"]
        return {
            "targets": out["labels"],
            "y": np.where(shown == 3, 1, -1).astype(np.int8),
            "y_clean": np.ascontiguousarray(ints[:, rows * n :]),
            "spec": np.ascontiguousarray(ints[:, : rows * n]).reshape(-1, rows, n),
            "bias": np.ascontiguousarray(out["reals"][:, 0]),
        }

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        batch = super()._generate(count, seed, start, threads)
        n, m = self._params["n_dims"], self._params["n_points"]
        bits = batch.tokens.reshape(count, m, n + 1)[:, :, :n]
        batch.labels["x"] = (2 * bits - 1).astype(np.int8)
        return batch


@register
class Gotu(RecallTask):
    """Generalization on the Unseen (Abbe et al.; ``aryol/GOTU``): Boolean targets on
    ``{-1, +1}^d`` with a held-out region and the degree curriculum.

    ``x`` is uniform over the points whose first ``frozen`` coordinates are +1 (the seen
    region, e.g. ``frozen=1``: ``x0 = 1``; the unseen region is the rest of the cube) and, when
    ``max_negatives = r >= 0``, with at most ``r`` coordinates equal to -1 (the curriculum's
    Hamming ball ``sum(x) >= d - 2r``). Targets: ``parity`` ``prod_{i<s} x_i`` (``s = support``;
    ``s = d`` is the full parity), ``majority`` ``sign(sum_{i<s} x_i)`` (ties +1), ``cyclic``
    ``sum_i prod_{j<s} x_{(i+j) mod d}``.

    Tokens ``[B, d]``: 0 for -1, 1 for +1. Labels: ``x [B, d]`` (int8, +-1) and ``y [B]``
    (float32, the exact target; a perfect regressor has zero error).
    """

    name = "gotu"
    label_specs = (
        item_label("y", "the function's value at x"),
        item_label("x", "the point as a -1/+1 vector [B, dims]"),
    )
    _core_name = "gotu"
    params = (
        Param("dims", 15, "dimension d", int, in_range(1, 4096)),
        Param("function", "parity", "target", str, choices=("parity", "majority", "cyclic")),
        Param("support", 2, "variables (parity, majority) or degree (cyclic) s", int, at_least(1)),
        Param("frozen", 0, "leading coordinates fixed to +1 (the seen region)", int, at_least(0)),
        Param("max_negatives", -1, "curriculum radius r (-1: none)", int, at_least(-1)),
        DTYPE,
    )

    @property
    def vocab(self) -> Vocabulary:
        return Vocabulary(("0", "1"), joiner="")

    def _labels(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"y": np.ascontiguousarray(out["reals"][:, 0])}

    def target(self, x: np.ndarray) -> np.ndarray:
        """The target function on points ``x [N, d]`` (+-1), ``[N]`` float32."""
        p = self._params
        x = np.asarray(x, dtype=np.float32)
        s = p["support"]
        if p["function"] == "parity":
            return x[:, :s].prod(axis=1)
        if p["function"] == "majority":
            return np.where(x[:, :s].sum(axis=1) >= 0, 1, -1).astype(np.float32)
        rolled = [np.roll(x, -j, axis=1) for j in range(s)]
        return np.prod(rolled, axis=0).sum(axis=1).astype(np.float32)

    def cube(self, region: str = "all") -> tuple[np.ndarray, np.ndarray]:
        """The whole cube (GOTU's test set, ``d <= 24``) or one region of it, enumerated.

        Args:
            region: ``"all"``, ``"seen"`` (the first ``frozen`` coordinates +1) or
                ``"unseen"`` (the rest).

        Returns:
            ``x [N, d]`` (int8, +-1) and ``y [N]`` (float32).
        """
        d, frozen = self._params["dims"], self._params["frozen"]
        if d > 24:
            raise ValueError(f"`dims` = {d} is too large to enumerate the cube (at most 24)")
        if region not in ("all", "seen", "unseen"):
            raise ValueError(f"`region` must be 'all', 'seen' or 'unseen', got {region!r}")
        codes = np.arange(1 << d, dtype=np.int64)[:, None] >> np.arange(d)
        x = np.where(codes & 1, 1, -1).astype(np.int8)
        if region != "all":
            seen = (x[:, :frozen] == 1).all(axis=1)
            x = x[seen if region == "seen" else ~seen]
        return x, self.target(x)

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        batch = super()._generate(count, seed, start, threads)
        batch.labels["x"] = (2 * batch.tokens.astype(np.int8) - 1).astype(np.int8)
        return batch
