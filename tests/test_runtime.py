"""Runtime contracts: the extension matches its stubs, thread pools survive fork(), errors."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys

import numpy as np
import pytest

import kleene
from kleene import _core


def test_stubs_match_the_extension(tmp_path):
    """mypy's stubtest: every name, signature, default and class flag of `_core.pyi` agrees
    with the compiled extension (it imports the installed module, not the stub's source)."""
    res = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "kleene._core", "--mypy-config-file", "/dev/null"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def _child_batch(queue):
    task = kleene.tasks.get("markov", length=50)
    queue.put(task.batch(64, seed=3, threads=2).tokens)


def test_thread_pools_survive_fork():
    task = kleene.tasks.get("markov", length=50)
    expected = task.batch(64, seed=3, threads=2).tokens  # parent pool exists before the fork
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_batch, args=(queue,))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    assert np.array_equal(got, expected)


def test_memory_cap_is_configurable(monkeypatch):
    monkeypatch.setenv("KLEENE_MAX_BYTES", "1000")
    with pytest.raises(ValueError, match="KLEENE_MAX_BYTES"):
        kleene.tasks.get("markov", length=100, labels="").batch(10, seed=0)
    monkeypatch.delenv("KLEENE_MAX_BYTES")
    assert kleene.tasks.get("markov", length=100, labels="").batch(10, seed=0).tokens.shape == (
        10,
        100,
    )


def test_default_threads_follow_the_environment(monkeypatch):
    monkeypatch.setenv("KLEENE_NUM_THREADS", "3")
    assert _core.default_threads() == 3


def _child_single_thread(queue):
    queue.put(kleene.tasks.get("markov", length=20).batch(8, seed=1, threads=1).tokens)


def test_single_thread_calls_work_after_fork():
    """The calling thread's one-thread pool must keep working in a forked child."""
    task = kleene.tasks.get("markov", length=20)
    expected = task.batch(8, seed=1, threads=1).tokens
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_single_thread, args=(queue,))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0 and np.array_equal(got, expected)
