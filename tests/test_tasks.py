"""The task protocol and registry, checked on every registered task."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

import kleene
from kleene import tasks

SMALL = {"markov": {"length": 32}}
SMALL["parity"] = {"max_length": 12}
SMALL["even_pairs"] = {"max_length": 12}
SMALL["cycle_navigation"] = {"max_length": 12}
SMALL["modular_arithmetic"] = {"max_length": 11}
SMALL["word_problem"] = {"max_length": 12, "group": "A5"}
SMALL["tomita"] = {"index": 3, "max_length": 12, "mode": "classify"}
SMALL["flip_flop"] = {"length": 16}
SMALL["dyck_bounded"] = {"k": 2, "m": 3, "max_length": 24}
SMALL["regbench"] = {
    "num_train_dfas": 50,
    "num_test_dfas": 10,
    "length": 128,
    "labels": "targets,valid_next",
}
SMALL["mqar"] = {"vocab_size": 128, "length": 64, "num_kv_pairs": 8}
SMALL["in_context_recall"] = {"length": 32}
SMALL["noisy_in_context_recall"] = {"length": 32}
SMALL["selective_copying"] = {"length": 40, "num_tokens_to_copy": 8}
SMALL["copying"] = {"length": 40, "num_tokens_to_copy": 8}
SMALL["compression"] = {"length": 16}
SMALL["memorization"] = {"vocab_size": 64, "length": 16}
SMALL["induction_heads"] = {"length": 20}
SMALL["boolean_functions"] = {"function_class": "dnf", "n_dims": 6, "n_points": 5}
SMALL["gotu"] = {"dims": 8, "frozen": 1, "max_negatives": 3}
SMALL["binary_sequences"] = {"kind": "periodic", "patterns": ["001", "10"], "random_phase": True}
SMALL["eca"] = {"width": 64, "seq_length": 8, "sample_width": 16, "horizon": 20}
SMALL["life"] = {"size": 8}
SMALL["cfg3"] = {"grammar": "cfg3b"}
SMALL["cfg3_random"] = {"grammar": "cfg3b"}
SMALL["dyck"] = {"length": 16}
for _name in (
    "reverse_string",
    "duplicate_string",
    "odds_first",
    "bucket_sort",
    "compute_sqrt",
    "missing_duplicate",
    "binary_addition",
    "binary_multiplication",
    "stack_manipulation",
    "modular_arithmetic_brackets",
    "solve_equation",
):
    SMALL[_name] = {"length": 9, "min_length": 3}


def small(name: str) -> kleene.tasks.Task:
    return tasks.get(name, **SMALL.get(name, {}))


@pytest.mark.parametrize("name", tasks.names())
def test_item_is_a_pure_function_of_seed_and_index(name):
    task = small(name)
    whole = task.batch(12, seed=5)
    parts = [task.batch(5, seed=5), task.batch(7, seed=5, start=5)]
    for key, arr in whole.arrays().items():
        joined = np.concatenate([p[key] for p in parts])
        assert np.array_equal(arr, joined, equal_nan=arr.dtype.kind == "f"), key


@pytest.mark.parametrize("name", tasks.names())
def test_thread_count_does_not_change_data(name):
    task = small(name)
    one = task.batch(40, seed=9, start=3, threads=1).arrays()
    two = task.batch(40, seed=9, start=3, threads=2).arrays()
    assert one.keys() == two.keys()
    for key in one:
        assert np.array_equal(one[key], two[key]), key


@pytest.mark.parametrize("name", tasks.names())
def test_seeds_give_different_streams(name):
    task = small(name)
    assert not np.array_equal(task.batch(8, seed=1).tokens, task.batch(8, seed=2).tokens)


@pytest.mark.parametrize("name", tasks.names())
def test_config_is_json_with_stable_hash_and_pickles(name):
    task = small(name)
    config = json.loads(task.config_json)
    assert config["task"] == name
    again = tasks.get(name, **{k: v for k, v in config.items() if k != "task"})
    assert again.config_hash == task.config_hash
    clone = pickle.loads(pickle.dumps(task))
    assert clone == task
    assert np.array_equal(clone.batch(3, seed=4).tokens, task.batch(3, seed=4).tokens)


@pytest.mark.parametrize("name", tasks.names())
def test_batch_shapes_vocab_and_decode(name):
    task = small(name)
    batch = task.batch(6, seed=0, start=10)
    assert batch.tokens.ndim == 2 and len(batch) == 6
    assert batch.lengths.shape == (6,) and batch.indices.tolist() == list(range(10, 16))
    assert 0 <= batch.tokens.min() and batch.tokens.max() < len(task.vocab)
    for key, arr in batch.labels.items():
        assert arr.shape[0] == 6, key
    assert isinstance(batch.decode(0), str)


def test_unknown_task_lists_valid_names():
    with pytest.raises(ValueError, match="valid tasks: .*markov"):
        tasks.get("nope")


def test_unknown_parameter_lists_valid_parameters():
    with pytest.raises(ValueError, match="valid parameters: vocab_size, order"):
        tasks.get("markov", vocab=3)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (dict(n=-1, seed=0), ValueError),
        (dict(n=2, seed=-1), ValueError),
        (dict(n=2, seed=2**64), ValueError),
        (dict(n=2, seed=0, start=-3), ValueError),
        (dict(n=2.5, seed=0), TypeError),
        (dict(n=2, seed=0, threads=0), ValueError),
    ],
)
def test_batch_arguments_are_validated(args, error):
    with pytest.raises(error):
        tasks.get("markov").batch(**args)


def test_labels_and_dtype_do_not_change_the_stream():
    full = tasks.get("markov", length=20).batch(5, seed=3)
    lean = tasks.get("markov", length=20, labels="", dtype="uint8").batch(5, seed=3)
    assert lean.labels == {} and lean.tokens.dtype == np.uint8
    assert np.array_equal(full.tokens, lean.tokens)


def test_version_matches_installed_metadata():
    from importlib.metadata import version

    assert kleene.__version__ == version("kleene")


def test_to_torch_shares_memory():
    torch = pytest.importorskip("torch")
    batch = tasks.get("markov", length=8).batch(2, seed=0)
    tensors = batch.to_torch()
    assert tensors["tokens"].dtype == torch.int32
    tensors["tokens"][0, 0] = 7
    assert batch.tokens[0, 0] == 7


SMALL["fuzzy_in_context_recall"] = {"length": 40, "multi_query": False}
SMALL["associative_recall"] = {"vocab_size": 10, "length": 20}


def test_batch_prints_a_summary_not_the_arrays():
    batch = tasks.get("markov", length=512).batch(64, seed=0)
    text = repr(batch)
    assert len(text) < 200 and "64 items" in text and "float32 [64, 512, 2]" in text
    assert "indices 0..63" in text and "lengths 512..512" in text
