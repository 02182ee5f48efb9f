"""Recall, copying and in-context function tasks.

Zoology's multi-query associative recall (``mqar``), MAD's synthetic suite
(``in_context_recall``, ``noisy_in_context_recall``, ``fuzzy_in_context_recall``,
``selective_copying``, ``copying``, ``compression``, ``memorization``), H3's
``induction_heads`` and ``associative_recall``, in-context learning of Boolean functions
(``boolean_functions``), the GOTU setting (``gotu``) and random binary sequences
(``binary_sequences``). Every random choice of item ``i`` comes from item ``i``'s own
generator, so data never depends on threads, batch size or workers.

Label convention (every kleene task): ``targets[b, t]`` is the token a model should emit after
reading ``tokens[b, : t + 1]``, or ``-100`` (:data:`kleene.IGNORE_INDEX`) where nothing is
scored, so ``F.cross_entropy(logits.flatten(0, 1), targets.flatten())`` is the loss as is.
See ``docs/recall.md`` for the layouts in one place.

Example:
    >>> import kleene
    >>> task = kleene.tasks.get("mqar", vocab_size=256, length=64, num_kv_pairs=4)
    >>> batch = task.batch(2, seed=0)
    >>> batch.tokens.shape, batch.labels["targets"].shape
    ((2, 64), (2, 64))
    >>> int((batch.labels["targets"] != kleene.IGNORE_INDEX).sum(axis=1)[0])
    4
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from . import _core
from .batch import Batch, Vocabulary
from .tasks import (
    ANSWERS,
    DTYPE,
    TARGETS,
    Label,
    Param,
    Task,
    at_least,
    in_range,
    item_label,
    register,
)

MAX_LENGTH = 1 << 24
"""Longest sequence the samplers accept."""

MAX_VOCAB = 1 << 20
"""Largest vocabulary of the token tasks (every id has a string for decoding)."""

DTYPE_MAX = {"uint8": 255, "uint16": 65535, "int16": 32767, "int32": 2**31 - 1, "int64": 2**63 - 1}


def _length(default: int, doc: str, former: str | None = None) -> Param:
    return Param("length", default, doc, int, in_range(1, MAX_LENGTH), former=former)


def _frac_noise(default: float) -> Param:
    return Param(
        "frac_noise",
        default,
        "probability that a slot holds noise tokens",
        float,
        lambda v: None if 0 <= v < 1 else "must be in [0, 1)",
    )


def _noise_vocab(default: int) -> Param:
    return Param("noise_vocab_size", default, "number of noise tokens", int, at_least(0))


def _numbered(v: int, **special: int) -> Vocabulary:
    names = {i: name for name, i in special.items()}
    tokens = tuple(f"<{names[i]}>" if i in names else str(i) for i in range(v))
    return Vocabulary(tokens, pad_id=special.get("pad"), joiner=" ")


class _RecallTask(Task):
    """Shared plumbing: parameters go to ``_core.RecallSampler`` under ``_core_name``."""

    _core_name = ""

    @functools.cached_property
    def _core_params(self) -> dict[str, Any]:
        return {k: v for k, v in self._params.items() if k != "dtype"}

    @functools.cached_property
    def _sampler(self) -> _core.RecallSampler:
        return _core.RecallSampler(self._core_name, self._core_params)

    def _check(self) -> None:
        vocab_size = self._sampler.vocab_size
        dtype = self._params["dtype"]
        if vocab_size - 1 > DTYPE_MAX[dtype]:
            raise ValueError(
                f"parameter `dtype` {dtype!r} cannot hold token ids up to {vocab_size - 1}"
            )

    def _labels(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"targets": out["labels"]}

    def _generate(self, count: int, seed: int, start: int, threads: int | None) -> Batch:
        out = self._rows(self._sampler, count, seed, start, threads)
        tokens = out.pop("tokens")
        return self._batch(tokens, start, self._labels(out))


@register
class Mqar(_RecallTask):
    """Multi-query associative recall, exactly as Zoology's ``multiquery_ar``.

    Vocabulary ``[0, V)``: keys come from ``[1, V/2)``, values from ``[V/2, V)``; filler is
    uniform over all of ``[0, V)`` (so it may repeat keys or values; it is never labelled) or
    0 when ``random_non_queries`` is False.

    Layout of ``tokens [B, L]`` (``K`` pairs, ``P`` passes): the context ``k1 v1 ... kK vK``
    (distinct keys, distinct values) repeated ``P`` times, then the query region of
    ``space = (L - 2KP) / 2`` slot pairs; key ``i`` reappears at ``2KP + 2 g_i`` where the gaps
    ``g_i`` are drawn without replacement from ``[0, space)`` with weight ``(g + 1)^(a - 1)``
    (``a = power_a``), so early slots are favoured.

    Labels ``labels [B, L]`` (int64): the value of key ``i`` at its query position, ``-100``
    elsewhere (Zoology's labels after its shift). A perfect model scores 100 % on the ``K``
    labelled positions per row (every query is answerable from the context).

    Constraints (refused up front, naming the failed one): ``L`` even; ``K <= V/2 - 1``;
    ``2KP + 2K <= L``; ``V > L`` (Zoology's own assertion).
    """

    name = "mqar"
    label_specs = (ANSWERS,)
    _core_name = "mqar"
    params = (
        Param("vocab_size", 8192, "vocabulary size V", int, in_range(4, MAX_VOCAB)),
        _length(64, "sequence length L (even)", former="input_seq_len"),
        Param("num_kv_pairs", 4, "key-value pairs K", int, at_least(1)),
        Param("num_passes", 1, "times the context is repeated", int, at_least(1)),
        Param("power_a", 0.01, "power-law exponent a of the query gaps", float, in_range(1e-9, 16)),
        Param("random_non_queries", True, "uniform filler (else 0)", bool),
        DTYPE,
    )

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        return _numbered(self._params["vocab_size"])


class _MadRecall(_RecallTask):
    _core_name = "in_context_recall"
    label_specs = (TARGETS,)

    @property
    def n_ordinary(self) -> int:
        """Key and value tokens ``N``: keys ``[0, N/2)``, values ``[N/2, N)``."""
        p = self._params
        return p["vocab_size"] - (0 if p["multi_query"] else 1) - p["noise_vocab_size"]

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        return _numbered(v) if self._params["multi_query"] else _numbered(v, copy=v - 1)


def _recall_params(vocab: int, noise: int, frac: float) -> tuple[Param, ...]:
    return (
        Param("vocab_size", vocab, "vocabulary size V", int, in_range(2, MAX_VOCAB)),
        Param(
            "length",
            128,
            "MAD's sequence length L (even)",
            int,
            in_range(4, MAX_LENGTH),
            former="seq_len",
        ),
        Param("multi_query", True, "label every repeated key (MAD's benchmark setting)", bool),
        _noise_vocab(noise),
        _frac_noise(frac),
        Param(
            "targets",
            "next_token",
            "next_token (MAD's training targets) or recall (MAD's test targets)",
            str,
            choices=("next_token", "recall"),
            affects_data=False,
        ),
        DTYPE,
    )


@register
class InContextRecall(_MadRecall):
    """MAD's in-context recall (``generate_in_context_recall_instance``).

    Vocabulary: ``N = V - noise`` ordinary tokens (``V - 1 - noise`` single-query, where
    ``V - 1`` is the copy prefix); keys ``[0, N/2)``, values ``[N/2, N)``, noise
    ``[N, N + noise)``. A row is ``L/2 - 1`` slots, each (w.p. ``frac_noise``, one slot exempt)
    two uniform noise tokens or a uniform key followed by its value (bound on first sight to a
    uniform value; keys may share values), then (single-query: the copy prefix) a probe key
    drawn uniformly from the keys shown, and its value. The raw sequence is shifted: tokens
    ``[B, T]`` with ``T = L`` single-query, ``T = L - 1`` multi-query (MAD's layout).

    Labels: ``targets="next_token"``: the next token everywhere (MAD's training targets; first
    occurrences are unpredictable, so a perfect model stays below 100 %);
    ``targets="recall"``: ``-100`` except the value after a key seen before (multi-query) and
    the probe's value (MAD's test targets), where a perfect model scores 100 %.

    Deviation: MAD draws the noise-exempt slot from ``[0, L/2)``, which misses the loop when it
    is ``L/2 - 1`` and can leave no key to probe; it is drawn from ``[0, L/2 - 1)`` here.
    """

    name = "in_context_recall"
    params = _recall_params(16, 0, 0.0)


@register
class NoisyInContextRecall(_MadRecall):
    """MAD's noisy in-context recall: :class:`InContextRecall` with MAD's noisy defaults
    (``V = 32``, 16 noise tokens, ``frac_noise = 0.2``: keys 0-7, values 8-15, noise 16-31)."""

    name = "noisy_in_context_recall"
    params = _recall_params(32, 16, 0.2)


@register
class FuzzyInContextRecall(_RecallTask):
    """MAD's fuzzy in-context recall: keys and values are ordered tuples of distinct tokens.

    Vocabulary: ``N`` ordinary tokens (``V - 1 - noise`` multi-query, ``V - 2 - noise``
    single-query), keys ``[0, N/2)``, values ``[N/2, N)``, noise ``[N, N + noise)``; the pad
    is ``V - 1`` (multi-query) or ``V - 2`` with the copy prefix ``V - 1`` (single-query).
    Key sizes are uniform in ``1..k_motif_size`` (always ``k_motif_size`` for
    ``split="test"``), value sizes uniform in ``1..v_motif_size``. A probe pair is inserted at
    the first pair boundary past a uniform offset in ``[0, L - 2|probe|)``; pairs (a tuple key
    bound on first sight to a uniform tuple value) or noise runs fill the row while it is
    shorter than ``L - |probe| - k_motif_size - v_motif_size``; then (single-query: the copy
    prefix) the probe key and value end the row, left-padded to ``L + 1`` and shifted, so
    tokens and labels are ``[B, L]``. Key and value alphabets are disjoint, so the stream
    parses unambiguously.

    Labels: ``split="train"``: every next token (pads included, as MAD); ``split="test"``:
    ``-100`` except the value tokens of repeated keys (multi-query) and the final probe's
    value. As in MAD, when the offset lies past the last pair boundary the probe is shown only
    at the end (its value is then not recallable), so a perfect model scores slightly below
    100 % on test targets.
    """

    name = "fuzzy_in_context_recall"
    label_specs = (TARGETS,)
    _core_name = "fuzzy_in_context_recall"
    params = (
        Param("vocab_size", 16, "vocabulary size V", int, in_range(3, 1 << 15)),
        Param("length", 128, "sequence length L", int, in_range(6, 1 << 20), former="seq_len"),
        Param("k_motif_size", 3, "largest key tuple", int, in_range(1, 4)),
        Param("v_motif_size", 3, "largest value tuple", int, in_range(1, 4)),
        Param("multi_query", True, "label every repeated key (MAD's benchmark setting)", bool),
        _noise_vocab(0),
        _frac_noise(0.0),
        Param("split", "train", "MAD's is_training", str, choices=("train", "test")),
        DTYPE,
    )

    @property
    def n_ordinary(self) -> int:
        """Key and value tokens ``N``: keys ``[0, N/2)``, values ``[N/2, N)``."""
        p = self._params
        return p["vocab_size"] - (1 if p["multi_query"] else 2) - p["noise_vocab_size"]

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        if self._params["multi_query"]:
            return _numbered(v, pad=v - 1)
        return _numbered(v, pad=v - 2, copy=v - 1)


def _copy_params() -> tuple[Param, ...]:
    return (
        Param("vocab_size", 16, "vocabulary size V", int, in_range(3, MAX_VOCAB)),
        _length(256, "sequence length L", former="seq_len"),
        Param("num_tokens_to_copy", 16, "data tokens n", int, at_least(1)),
        DTYPE,
    )


class _Copying(_RecallTask):
    _core_name = "copying"
    selective = False
    label_specs = (ANSWERS,)

    @functools.cached_property
    def _core_params(self) -> dict[str, Any]:
        return {**super()._core_params, "selective": self.selective}

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        return _numbered(v, blank=v - 2, copy=v - 1)


@register
class SelectiveCopying(_Copying):
    """MAD's selective copying (``generate_selective_copying_instance``).

    Vocabulary: data ``[0, V - 2)``, blank ``V - 2``, copy token ``V - 1``. A row of length
    ``L``: ``n`` uniform data tokens with ``L - 2n - 1`` blanks inserted each before a uniformly
    chosen data token (so the last data token precedes the copy token), the copy token, then
    ``n`` blanks. Labels (no shift): ``-100`` except the last ``n`` positions, which hold the
    data in order; a perfect model scores 100 % there. Requires ``L > 2n + 1``.
    """

    name = "selective_copying"
    selective = True
    params = _copy_params()


@register
class Copying(_Copying):
    """Plain copying (MAD's ``generate_copying_instance``): the ``n`` data tokens first, then
    the ``L - 2n - 1`` blanks, the copy token and ``n`` blanks; labels as for
    :class:`SelectiveCopying`."""

    name = "copying"
    params = _copy_params()


@register
class Compression(_RecallTask):
    """MAD's compression: ``L - 1`` uniform tokens from ``[0, V - 1 - noise)`` (each replaced
    by a uniform noise token ``[V - 1 - noise, V - 1)`` w.p. ``frac_noise``), then the
    compression token ``V - 1``. Label ``reconstruction [B, L]`` = the tokens themselves: MAD's
    autoencoding target, a per-item sequence decoded from the last position's encoding (not a
    per-position target); a perfect model reconstructs all ``L``."""

    name = "compression"
    label_specs = (
        item_label("reconstruction", "the whole sequence, decoded from the last position"),
    )
    _core_name = "compression"
    params = (
        Param("vocab_size", 16, "vocabulary size V", int, in_range(3, MAX_VOCAB)),
        Param("length", 32, "sequence length L", int, in_range(2, MAX_LENGTH), former="seq_len"),
        _noise_vocab(0),
        _frac_noise(0.0),
        DTYPE,
    )

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        return _numbered(v, compress=v - 1)

    def _labels(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"reconstruction": out["labels"]}


@register
class Memorization(_RecallTask):
    """MAD's memorization: a fixed map (seeded by ``map_seed`` only, shared by every stream and
    split) from keys ``[0, N/2)`` to distinct values in ``[N/2, N)``, ``N = V - 1 - noise``.

    A row of length ``L`` is ``L/2`` slots: a uniform key and the insert token ``V - 1``
    (label: the key's value; the key's label is ``-100``), or w.p. ``frac_noise`` two noise
    tokens ``[N, N + noise)`` (unlabelled). No shift. A model that has memorised the map scores
    100 %; :meth:`kv_map` returns it.
    """

    name = "memorization"
    label_specs = (ANSWERS,)
    _core_name = "memorization"
    params = (
        Param("vocab_size", 256, "vocabulary size V", int, in_range(3, MAX_VOCAB)),
        Param(
            "length", 32, "sequence length L (even)", int, in_range(2, MAX_LENGTH), former="seq_len"
        ),
        _noise_vocab(0),
        _frac_noise(0.0),
        Param("map_seed", 12345, "seed of the fixed key-value map", int, in_range(0, 2**64 - 1)),
        DTYPE,
    )

    def kv_map(self) -> np.ndarray:
        """The value of each key, ``[N/2]`` (int64)."""
        return _core.recall_memorization_map(self._core_params)

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        return _numbered(v, insert=v - 1)


@register
class InductionHeads(_RecallTask):
    """Induction heads as in H3 (safari's ``synthetics.py``) and Mamba's evaluation.

    Vocabulary: 0 is H3's no-op ``.`` (unused), ordinary tokens ``1 .. V - 2``, ``V - 1`` the
    copy prefix ``=>``. A row: ``L`` uniform ordinary tokens, one position uniform in
    ``[0, L - 2)`` turned into ``=>``, then ``=>`` and the answer (the token after the first
    ``=>``); shifted, so tokens and labels are ``[B, L + 1]``. ``targets="answer"``: ``-100``
    except the last position (the answer; a perfect model scores 100 %); ``"next_token"``:
    every next token (H3's training targets; only the answer is predictable beyond chance).
    """

    name = "induction_heads"
    label_specs = (ANSWERS,)
    _core_name = "induction_heads"
    params = (
        Param("vocab_size", 20, "vocabulary V (H3: 20; Mamba: 16)", int, in_range(3, MAX_VOCAB)),
        Param(
            "length",
            30,
            "prefix length L (H3: 30; Mamba: 256)",
            int,
            in_range(3, MAX_LENGTH),
            former="seq_len",
        ),
        Param(
            "targets",
            "answer",
            "answer (test targets) or next_token (training targets)",
            str,
            choices=("answer", "next_token"),
            affects_data=False,
        ),
        DTYPE,
    )

    @functools.cached_property
    def _core_params(self) -> dict[str, Any]:
        p = self._params
        return {
            "vocab_size": p["vocab_size"],
            "length": p["length"],
            "all_targets": p["targets"] == "next_token",
        }

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        tokens = (".",) + tuple(str(i) for i in range(v - 2)) + ("=>",)
        return Vocabulary(tokens, joiner=" ")


@register
class AssociativeRecall(_RecallTask):
    """H3's associative recall (safari's ``generate_assoc_recall``, one-token keys).

    Ids as :class:`InductionHeads`: ``.`` = 0, ordinary ``1 .. V - 2`` (keys the lower half,
    values the upper half), ``=>`` = ``V - 1``. Each row binds every key to a uniform value
    (keys may share values), shows ``L // 2`` pairs with uniform keys, then ``=>``, a query key
    (uniform over the keys shown; with ``allow_dot`` over all keys) and its value (``.`` for a
    key not shown). Shifted: tokens and labels ``[B, 2 (L // 2) + 2]``. ``targets="answer"``:
    only the last position (H3's test targets; a perfect model scores 100 %);
    ``"next_token"``: every next token (H3's training targets).
    """

    name = "associative_recall"
    label_specs = (ANSWERS,)
    _core_name = "associative_recall"
    params = (
        Param("vocab_size", 20, "vocabulary V (H3: 20 or 10)", int, in_range(4, MAX_VOCAB)),
        Param(
            "length",
            40,
            "context length L (H3: 40 or 20)",
            int,
            in_range(2, MAX_LENGTH),
            former="seq_len",
        ),
        Param("allow_dot", False, "query keys that were not shown (answer '.')", bool),
        Param(
            "targets",
            "answer",
            "answer (test targets) or next_token (training targets)",
            str,
            choices=("answer", "next_token"),
            affects_data=False,
        ),
        DTYPE,
    )

    @functools.cached_property
    def _core_params(self) -> dict[str, Any]:
        p = self._params
        return {
            "vocab_size": p["vocab_size"],
            "length": p["length"],
            "allow_dot": p["allow_dot"],
            "all_targets": p["targets"] == "next_token",
        }

    @functools.cached_property
    def vocab(self) -> Vocabulary:
        v = self._params["vocab_size"]
        tokens = (".",) + tuple(str(i) for i in range(v - 2)) + ("=>",)
        return Vocabulary(tokens, joiner=" ")


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
class BooleanFunctions(_RecallTask):
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
class Gotu(_RecallTask):
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


def _patterns_check(value: Any) -> str | None:
    ok = all(isinstance(s, str) and s and set(s) <= {"0", "1"} for s in value)
    return None if ok else "must be a list of non-empty strings of 0 and 1"


@register
class BinarySequences(_RecallTask):
    """Random binary sequences (Bigelow et al., "In-Context Learning Dynamics with Random
    Binary Sequences"): Bernoulli coin flips or repeats of a periodic concept.

    ``kind="bernoulli"``: i.i.d. flips with ``P(1) = p`` (``random_p``: ``p ~ U(0, 1)`` per
    sequence). ``kind="periodic"``: a concept drawn uniformly from ``patterns`` (e.g.
    ``["001", "101", "100", "110"]``; with ``random_phase`` a uniform phase), or, when
    ``patterns`` is None, a uniform pattern of length ``period``; repeated over ``length``.

    Tokens ``[B, T]`` (0/1). Label ``p_one [B, T]`` (float32, output-aligned): the
    Bayes-optimal probability that token ``t + 1`` is 1 given tokens ``..=t`` (fixed ``p``:
    ``p``; random ``p``: Laplace's rule; periodic: the share of consistent concepts and phases
    continuing with 1); the last position predicts the token after the sequence.
    :func:`bayes_accuracy` gives the expected next-token accuracy of a perfect model.
    """

    name = "binary_sequences"
    label_specs = (
        Label("p_one", "next", "probability", "Bayes-optimal P(tokens[:, t+1] = 1 | ..t)"),
    )
    _core_name = "binary_sequences"
    params = (
        Param("kind", "bernoulli", "bernoulli or periodic", str, choices=("bernoulli", "periodic")),
        _length(40, "sequence length T"),
        Param("p", 0.5, "P(1) of the Bernoulli flips", float, in_range(0.0, 1.0)),
        Param("random_p", False, "draw p ~ U(0, 1) per sequence", bool),
        Param("patterns", None, "periodic concepts as 0/1 strings", (list, tuple), _patterns_check),
        Param("period", 3, "length of a uniformly random pattern (when patterns is None)", int),
        Param("random_phase", False, "start each periodic sequence at a uniform phase", bool),
        DTYPE,
    )

    def _check(self) -> None:
        if self._params["patterns"] is not None:
            self._params["patterns"] = list(self._params["patterns"])
        super()._check()

    @functools.cached_property
    def _core_params(self) -> dict[str, Any]:
        p = dict(self._params)
        p.pop("dtype")
        p["p"] = -1.0 if p.pop("random_p") else p["p"]
        p["patterns"] = list(p["patterns"] or [])
        return p

    @property
    def vocab(self) -> Vocabulary:
        return Vocabulary(("0", "1"), joiner="")

    def _labels(self, out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"p_one": out["reals"]}


def bayes_accuracy(batch: Batch) -> float:
    """Expected next-token accuracy of the Bayes-optimal predictor on a ``binary_sequences``
    batch: the mean of ``max(p_one, 1 - p_one)`` over positions ``0 .. T - 2`` (those whose
    next token is in the batch)."""
    p = batch.labels["p_one"][:, :-1].astype(np.float64)
    return float(np.maximum(p, 1 - p).mean())
