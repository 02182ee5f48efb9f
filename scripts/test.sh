#!/usr/bin/env bash
# The full test suite from nothing: Rust core tests, then the Python package built into a
# virtual environment (.venv, or $KLEENE_VENV) with its test extras, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "kleene tests need a Rust toolchain (cargo); install it from https://rustup.rs" >&2
  exit 1
fi

venv="${KLEENE_VENV:-.venv}"
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install -q --disable-pip-version-check -U pip "maturin>=1.7,<2"

echo "== cargo test (kleene-core)"
cargo test -q

echo "== build kleene into $venv"
VIRTUAL_ENV="$(cd "$venv" && pwd)" "$venv/bin/maturin" develop -q --release -E test

echo "== wheel: manylinux abi3, installed into a fresh venv without Rust"
KLEENE_PYTHON="$py" bash scripts/check_wheel.sh

echo "== pytest"
exec "$py" -m pytest -q "$@"
