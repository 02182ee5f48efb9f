"""Fork safety: DataLoader fork workers started while parent threads are inside every sampler
family (multi-threaded generation), many epochs; a deadlock fails by timeout, never hangs.

Issue 18 item 2: the pool registry's lock used to be inherited locked by a forked child.
The raw `os.fork()` loop below reproduces that deadlock with the old registry (6 children
of 3000 hung on a loaded 2-core machine); the DataLoader test is the user-facing shape.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("torch")

EPOCHS = 50
TIMEOUT_S = 150

# One task of every family, built inside each subprocess script.
FAMILIES = """FAMILIES = [
    tasks.get("markov", length=16),
    tasks.get("parity", max_length=12),
    tasks.get("cfg3", grammar="cfg3b"),
    tasks.get("life", size=12, horizon=2),
    tasks.get("eca", width=64, sample_width=16, seq_length=8, horizon=64),
    tasks.get("mqar", vocab_size=64, length=32),
    tasks.get("dyck", length=16),
]"""

SCRIPT = textwrap.dedent(
    """
    import sys, threading
    import numpy as np
    import torch
    from torch.utils.data import DataLoader, Dataset
    from kleene import tasks
    from kleene.data import TaskDataset

    {families}
    EPOCHS = int(sys.argv[1])

    class Mixed(Dataset):
        # Item i comes from family i % F; odd epochs ask workers for 2 threads explicitly
        # (exercising the pool registry in the child), even ones use the 1-thread default.
        def __init__(self, threads):
            self.parts = [TaskDataset(t, seed=3, num=64, threads=threads) for t in FAMILIES]
        def __len__(self):
            return 4 * len(FAMILIES)
        def __getitem__(self, i):
            f = i % len(FAMILIES)
            return f, i // len(FAMILIES), self.parts[f][i // len(FAMILIES)]

    stop = threading.Event()
    def hammer(task):
        while not stop.is_set():
            task.batch(8, seed=1, threads=2)
    threads = [threading.Thread(target=hammer, args=(t,), daemon=True) for t in FAMILIES]
    for t in threads:
        t.start()
    truth = [t.batch(4, seed=3).tokens for t in FAMILIES]
    for epoch in range(EPOCHS):
        loader = DataLoader(Mixed(2 if epoch % 2 else None), batch_size=7, num_workers=2,
                            multiprocessing_context="fork", collate_fn=list)
        seen = 0
        for batch in loader:
            for f, j, item in batch:
                row = item["tokens"].numpy()
                assert np.array_equal(row, truth[f][j][: len(row)]), (epoch, f, j)
                seen += 1
        assert seen == 4 * len(FAMILIES), seen
    stop.set()
    print("epochs", EPOCHS, "families", len(FAMILIES))
    """
).replace("{families}", FAMILIES)


def test_fork_workers_while_parent_threads_generate():
    env = dict(os.environ)
    env.setdefault("KLEENE_NUM_THREADS", "2")
    try:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(EPOCHS)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env=env,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"deadlock: {EPOCHS} fork epochs did not finish in {TIMEOUT_S} s ({e})")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"epochs {EPOCHS}" in done.stdout


FORKS = 1000

FORK_LOOP = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from kleene import tasks

    {families}
    stop = threading.Event()
    def hammer(task):
        while not stop.is_set():
            task.batch(1, seed=1, threads=2)  # tiny batches: the pool registry is hit often
    for t in FAMILIES:
        threading.Thread(target=hammer, args=(t,), daemon=True).start()
    hung = 0
    for i in range(int(sys.argv[1])):
        pid = os.fork()
        if pid == 0:
            FAMILIES[i % len(FAMILIES)].batch(2, seed=0, threads=2)
            os._exit(0)
        deadline = time.monotonic() + 10
        while not os.waitpid(pid, os.WNOHANG)[0]:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                hung += 1
                break
            time.sleep(0.001)
    stop.set()
    print("hung", hung)
    """
).replace("{families}", FAMILIES)


def test_raw_forks_while_parent_threads_generate():
    env = {**os.environ, "KLEENE_NUM_THREADS": "2"}
    try:
        done = subprocess.run(
            [sys.executable, "-W", "ignore", "-c", FORK_LOOP, str(FORKS)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            env=env,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the fork loop itself hung ({e})")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["hung", "0"], done.stdout
