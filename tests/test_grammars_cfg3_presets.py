"""The paper's nine cfg3 grammars ship with kleene (``Grammar.cfg3``, task ``cfg3``): checked
against the official JSON files in ../shared/data/cfg3 (never copied into the project) and
against the exact length ranges of the reference; the random family is ``cfg3_random``."""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_data

from kleene import Grammar, tasks
from kleene.grammars import CFG3_PRESETS

ROOT = Path(__file__).resolve().parent.parent

# Exact (min, max) string lengths from the reference's table (bottom-up DP over the levels).
LENGTHS = {
    "cfg3b": (138, 432),
    "cfg3i": (114, 564),
    "cfg3h": (97, 459),
    "cfg3g": (80, 729),
    "cfg3f": (64, 729),
    "cfg3e1": (66, 557),
    "cfg3e2": (82, 645),
    "cfg3j": (128, 2052),
    "cfg3k": (132, 1458),
}


def _script():
    spec = importlib.util.spec_from_file_location("cfg3_presets", ROOT / "scripts/cfg3_presets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def official(name: str) -> dict:
    return json.loads(shared_data("cfg3", f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", CFG3_PRESETS)
def test_shipped_text_is_the_rendering_of_the_official_file(name):
    shipped = importlib.resources.files("kleene.grammars").joinpath("cfg3", f"{name}.cfg")
    assert shipped.read_text("utf-8") == _script().render(name, official(name))


@pytest.mark.parametrize("name", CFG3_PRESETS)
def test_preset_equals_the_official_grammar(name):
    data = official(name)
    ours, theirs = Grammar.cfg3(name), Grammar.from_cfg3_json(data)
    assert ours.rules == theirs.rules
    assert ours.terminals == theirs.terminals and ours.nonterminals == theirs.nonterminals
    assert ours.cfg3_meta == theirs.cfg3_meta
    assert ours.sample_python_compatible(seed=7, n=4) == theirs.sample_python_compatible(7, 4)
    # Independently of kleene: every official rule, in order, with uniform probability.
    levels = data["all"]
    expected = []
    for depth, level in enumerate(levels[:-1]):
        below = levels[depth + 1]
        for node in level:
            for rule in node["children"]:
                rhs = [
                    str(below[k]["id"]) if depth + 2 == len(levels) else below[k]["name"]
                    for k in rule
                ]
                expected.append((node["name"], rhs, 1 / len(node["children"])))
    assert sorted(ours.rules, key=repr) == sorted(expected, key=repr)


@pytest.mark.parametrize("name", CFG3_PRESETS)
def test_task_uses_the_exact_grammar_without_a_path(name):
    task = tasks.get("cfg3", grammar=name)
    assert task.grammar.length_range() == LENGTHS[name]
    batch = task.batch(2, seed=0)
    assert batch.tokens.shape == (2, LENGTHS[name][1])
    lo, hi = LENGTHS[name]
    assert all(lo <= n <= hi for n in batch.lengths)
    word = (batch.tokens[0, : batch.lengths[0]] - 1).tolist()
    assert task.grammar.accepts(word)
    clone = pickle.loads(pickle.dumps(Grammar.cfg3(name)))
    assert clone.rules == task.grammar.rules and clone.cfg3_meta == task.grammar.cfg3_meta


def test_cfg3b_and_cfg3i_differ():
    b, i = Grammar.cfg3("cfg3b"), Grammar.cfg3("cfg3i")
    assert b.rules != i.rules
    assert not np.array_equal(
        tasks.get("cfg3", grammar="cfg3b").batch(4, seed=0).tokens[:, :100],
        tasks.get("cfg3", grammar="cfg3i").batch(4, seed=0).tokens[:, :100],
    )


def test_random_family_honours_disallow_duplicate_sym():
    for seed in range(5):
        rules = Grammar.cfg3_family("cfg3b", seed=seed).rules
        assert all(len(set(rhs)) == len(rhs) for _, rhs, _ in rules)
    # cfg3i's family allows repeats (the official cfg3i has them), so some seed shows one.
    assert any(
        len(set(rhs)) < len(rhs)
        for seed in range(5)
        for _, rhs, _ in Grammar.cfg3_family("cfg3i", seed=seed).rules
    )
    assert Grammar.cfg3_family("cfg3b", seed=1).rules != Grammar.cfg3_family("cfg3i", seed=1).rules
    with pytest.raises(ValueError, match="disallow_duplicate_sym"):
        Grammar.cfg3_family("cfg3b", sizes=[1, 2, 2])


def test_cfg3_random_task_draws_the_family_grammar():
    task = tasks.get("cfg3_random", grammar="cfg3f", grammar_seed=3)
    assert task.grammar.rules == Grammar.cfg3_family("cfg3f", seed=3).rules
    batch = task.batch(2, seed=0)
    assert task.grammar.accepts((batch.tokens[0, : batch.lengths[0]] - 1).tolist())
    with pytest.raises(ValueError, match="grammar_seed"):
        tasks.get("cfg3", grammar_seed=3)
    with pytest.raises(ValueError, match="cfg3z"):
        Grammar.cfg3("cfg3z")
