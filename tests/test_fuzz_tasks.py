"""Hypothesis sweep over every task's parameters: each case either works or raises
ValueError/TypeError (OSError for a file path that cannot be opened); never a panic
(PanicException is a BaseException), crash or hang.

A hang is caught by a per-case watchdog (faulthandler exits the process, failing the run).
Sizes are kept small with ``KLEENE_MAX_BYTES`` so that every accepted case is quick.
"""

from __future__ import annotations

import faulthandler
import math
import os

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kleene import tasks  # noqa: E402

CASE_TIMEOUT_S = 20
EXAMPLES = int(os.environ.get("KLEENE_FUZZ_EXAMPLES", "60"))

EXTREME_INTS = [0, 1, 2, -1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, -(2**63), 10**30]
EXTREME_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, 1e300, math.inf, -math.inf, math.nan]


def _value(param: tasks.Param) -> st.SearchStrategy:
    """Values near and beyond a parameter's range, plus the wrong type now and then."""
    kinds = param.kind if isinstance(param.kind, tuple) else (param.kind,)
    options: list[st.SearchStrategy] = [st.just(param.default)]
    if param.choices:
        options.append(st.sampled_from(list(param.choices)))
        options.append(st.text(max_size=8))
    elif str in kinds:
        options.append(st.text(max_size=12))
    if int in kinds and bool not in kinds:
        base = param.default if isinstance(param.default, int) else 4
        options += [
            st.integers(base - 4, base + 4),
            st.integers(-(2**70), 2**70),
            st.sampled_from(EXTREME_INTS),
        ]
    if float in kinds:
        options += [st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(EXTREME_FLOATS)]
    if bool in kinds:
        options.append(st.booleans())
    if list in kinds or tuple in kinds:
        options.append(st.lists(st.one_of(st.integers(-3, 5), st.floats(-1, 2)), max_size=6))
        options.append(st.lists(st.lists(st.floats(-1, 2), max_size=4), max_size=4))
    options.append(st.one_of(st.none(), st.text(max_size=3), st.floats(), st.booleans()))
    return st.one_of(*options)


def _params(name: str) -> st.SearchStrategy:
    spec = tasks.get(name).params
    return st.fixed_dictionaries({}, optional={p.name: _value(p) for p in spec})


@pytest.fixture(autouse=True)
def _small_and_watched(monkeypatch):
    monkeypatch.setenv("KLEENE_MAX_BYTES", str(64 << 20))
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.mark.parametrize("name", tasks.names())
def test_task_parameters_work_or_raise_value_or_type_error(name):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(
        params=_params(name),
        count=st.sampled_from([0, 1, 3]),
        seed=st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([-1, 2**64, 2**70])),
        start=st.one_of(st.integers(0, 100), st.sampled_from([-1, 2**62, 2**63, 2**64 - 1, 2**64])),
    )
    def case(params, count, seed, start):
        faulthandler.dump_traceback_later(CASE_TIMEOUT_S, exit=True)
        try:
            task = tasks.get(name, **params)
            task.batch(count, seed=seed, start=start, threads=2)
        except (ValueError, TypeError):
            pass
        except OSError:
            # Only a file parameter (cfg3's `path`) may fail to open.
            assert "path" in params, params
        finally:
            faulthandler.cancel_dump_traceback_later()

    case()
