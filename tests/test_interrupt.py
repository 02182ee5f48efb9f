"""Ctrl-C stops long calls: a SIGINT sent while a long core loop runs (a cellular run, chart
parsing, prefix probabilities) raises KeyboardInterrupt within a second or two, and kleene
keeps working afterwards. Each case is a real subprocess and a real signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

SETUP = "import numpy as np, kleene\n"
CASES = {
    # each would run for minutes, under every limit (KLEENE_MAX_WORK included)
    "eca": "kleene.ECA(110).run('single', 10, width=10**4, t0=10**9)",
    "life": "kleene.Life('B3/S23').run(np.ones((256, 256), np.uint8), 1, stride=10**8)",
    "parse": "kleene.Grammar.from_text('S -> S S | S S S | \\'a\\'').count_parses('a' * 1500)",
    "prefix": "kleene.Grammar.from_text('S -> S S | \\'a\\'').prefix_probability('a' * 2500)",
}

SCRIPT = """
import sys, time
{setup}
print("ready", flush=True)
began = time.monotonic()
try:
    {call}
    print("finished", flush=True)
except KeyboardInterrupt:
    print(f"interrupted after {{time.monotonic() - began:.2f}} s", flush=True)
print("after:", kleene.ECA(30).run("single", 3, width=8).shape, flush=True)
"""


@pytest.mark.parametrize("name", sorted(CASES))
def test_ctrl_c_interrupts_a_long_call(name):
    code = textwrap.dedent(SCRIPT).format(setup=SETUP, call=CASES[name])
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "KLEENE_NUM_THREADS": "2"},
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.5)  # well inside the call
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        stopped = time.monotonic() - sent
    finally:
        proc.kill()
    assert "interrupted after" in out, (out, err)
    assert "after: (4, 8)" in out, (out, err)
    assert stopped < 5.0, f"took {stopped:.1f} s to stop"
