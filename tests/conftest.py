"""Shared fixtures and markers for the kleene test suite."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI") == "true"
"""Under CI nothing the test extra or ../shared/data provides may be missing: a missing
module or data file fails instead of skipping (only the GPU-only tests skip)."""

if IN_CI:

    def _import_or_fail(modname: str, *args: object, **kwargs: object) -> object:
        return importlib.import_module(modname)

    pytest.importorskip = _import_or_fail  # type: ignore[assignment]

# Without a GPU, Triton kernels run in the interpreter. Triton reads this when it is first
# imported, so it must be set before any test module imports triton.
if not Path("/dev/nvidia0").exists():
    os.environ.setdefault("TRITON_INTERPRET", "1")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A file under ../shared/data; when it is absent, a skip (with the reason), or a failure
    under CI."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        reason = f"test data {path} is absent (it lives outside the project, in ../shared/data)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def pytest_collection_modifyitems(config, items):
    """Skip tests marked `gpu` when no CUDA device is present."""
    gpu_tests = [item for item in items if "gpu" in item.keywords]
    if not gpu_tests:
        return
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in gpu_tests:
        item.add_marker(skip)
