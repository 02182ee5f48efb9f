#!/usr/bin/env bash
# Builds the release wheel with maturin (manylinux-tagged abi3, checked by auditwheel), installs
# it into a fresh virtual environment with no Rust toolchain on PATH, and runs what a user of
# `pip install kleene-*.whl` runs first. Reuses cargo's release build in target/.
set -euo pipefail
cd "$(dirname "$0")/.."
py="${KLEENE_PYTHON:-.venv/bin/python}"
bin="$(cd "$(dirname "$py")" && pwd)"
py="$bin/$(basename "$py")"  # absolute, as `maturin develop` sees it
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$py" -m pip install -q --disable-pip-version-check "auditwheel>=6"
# The same interpreter as `maturin develop`, so cargo reuses its release build.
"$bin/maturin" build -q --release -i "$py" --out "$work/dist"
wheel="$(ls "$work"/dist/kleene-*.whl)"
echo "built $(basename "$wheel")"
case "$(basename "$wheel")" in
  *-cp310-abi3-manylinux*) ;;
  *) echo "the wheel is not a manylinux abi3 wheel: $(basename "$wheel")" >&2; exit 1 ;;
esac
"$bin/auditwheel" show "$wheel" | tr '\n' ' ' | grep -q "consistent with the following platform tag" \
  || { echo "auditwheel does not accept $(basename "$wheel")" >&2; exit 1; }

# A fresh venv from the system Python (or python3 on PATH), with cargo/rustc off PATH.
python3 -m venv "$work/venv"
clean_path="$work/venv/bin:/usr/local/bin:/usr/bin:/bin"
env -i HOME="$HOME" PATH="$clean_path" bash -c '
  set -euo pipefail
  if command -v cargo >/dev/null || command -v rustc >/dev/null; then
    echo "a Rust toolchain is still on PATH" >&2; exit 1
  fi
  cd "$1"
  pip install -q --disable-pip-version-check "$2"
  kleene generate markov --num 1000 --out smoke.npz
  python - <<PY
import importlib
import kleene
batch = kleene.load("smoke.npz")
assert len(batch) == 1000 and batch.tokens.shape == (1000, 256), batch.tokens.shape
# Optional parts either import or say which extra to install; nothing else may go wrong.
for name, extra in [("kleene.hf", "hf"), ("kleene.ray", "ray"), ("kleene.data", "torch"),
                    ("kleene.layers", "torch"), ("kleene.triton_kernels", "torch")]:
    try:
        importlib.import_module(name)
        print(f"{name}: available")
    except ImportError as e:
        print(f"{name}: not installed ({e})")
PY
' _ "$work" "$wheel"
