#!/usr/bin/env bash
# The GPU proof in one command, for a CUDA machine without network or Rust toolchain:
#   1. checks the prebuilt extension (python/kleene/_core.abi3.so, carried from the build
#      machine) imports; only the kernel half of kleene runs here;
#   2. installs the peers from bench/gpu/peers/ (filled beforehand by bench/gpu/fetch_peers.sh)
#      and starts building mamba_ssm's selective_scan CUDA kernel for sm_90 in the background,
#      cached under $KLEENE_GPU_CACHE so it is built once;
#   3. runs every kernel test on CUDA, stopping at the first failure;
#   4. prints one table (bench/gpu/table.py): copy bandwidth, then per implementation the
#      median ms, GB/s, % of copy, peak MiB above the inputs and the ratio to kleene, peers
#      that fail as rows with their error; JSON and Markdown go to $OUT (default out/gpu).
#
# Usage: bash bench/gpu/run.sh [--dry-run]
#   --dry-run  on CPU: Triton's interpreter, tiny shapes, no peer install, tests collected
#              only (tests/test_gpu_run.py runs this so the script cannot rot).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

dry=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry=1 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "kleene: error: unknown argument '$arg' (expected --dry-run)" >&2; exit 2 ;;
  esac
done

py="${PYTHON:-python3}"
out="${OUT:-$root/out/gpu}"
cache="${KLEENE_GPU_CACHE:-${HOME:-/tmp}/.cache/kleene-gpu}"
peers="${KLEENE_PEERS:-$root/bench/gpu/peers}"
mkdir -p "$out"
export PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}"
kernel_tests=(tests/test_linear_recurrence.py tests/test_selective_scan.py tests/test_mamba.py
              tests/test_linrec_layers.py)
say() { echo "== $*"; }

say "kleene extension"
if ! "$py" -c "import kleene" 2>"$out/import.log"; then
  echo "kleene: error: 'import kleene' failed (see $out/import.log); build the extension on a" \
       "machine with Rust (cargo build --release -p kleene-python && cp target/release/lib_core.so" \
       "python/kleene/_core.abi3.so) and carry python/kleene/_core.abi3.so here" >&2
  exit 2
fi

if [[ $dry == 1 ]]; then
  export TRITON_INTERPRET=1 KLEENE_TRITON_CPU=1
  say "peers: not installed in a dry run"
  say "kernel tests (dry run: collected only)"
  "$py" -m pytest -q --collect-only -p no:cacheprovider "${kernel_tests[@]}" >"$out/tests.log"
  tail -n 1 "$out/tests.log"
  say "table (dry run)"
  exec "$py" bench/gpu/table.py --dry-run --reps 1 --out "$out"
fi

if ! "$py" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
  echo "kleene: error: no CUDA device visible to torch (use --dry-run on CPU)" >&2
  exit 2
fi

say "peers from $peers"
build_pid=""
if [[ -d $peers ]]; then
  for pkg in einops accelerated-scan fla-core mambapy; do
    if "$py" -m pip install -q --no-index --no-deps --find-links "$peers" "$pkg" \
        >>"$out/peers.log" 2>&1; then
      echo "installed $pkg"
    else
      echo "could not install $pkg (its rows will show the error; see $out/peers.log)"
    fi
  done
  sdist="$(ls "$peers"/mamba_ssm-*.tar.gz 2>/dev/null | head -n 1 || true)"
  if [[ -n $sdist ]]; then
    src="$cache/$(basename "$sdist" .tar.gz)"
    if [[ ! -d $src ]]; then
      mkdir -p "$cache" && tar -xzf "$sdist" -C "$cache"
    fi
    export MAMBA_SRC="$src" TORCH_EXTENSIONS_DIR="$cache/torch_extensions"
    export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}" MAX_JOBS="${MAX_JOBS:-16}"
    echo "building mamba_ssm selective_scan_cuda in the background (cached in $TORCH_EXTENSIONS_DIR)"
    (cd bench && "$py" -c "import peers_scan, sys; sys.exit(peers_scan.load_mamba_cuda() is None)") \
      >"$out/mamba_build.log" 2>&1 &
    build_pid=$!
  else
    echo "no mamba_ssm source release in $peers: its rows will show the error"
  fi
else
  echo "no $peers folder (run bench/gpu/fetch_peers.sh where there is network): peer rows will show errors"
fi

say "kernel tests on CUDA (stop at the first failure)"
# one autotuning candidate while testing (every candidate has its own test); the table tunes
KLEENE_AUTOTUNE=0 "$py" -m pytest -x -q -p no:cacheprovider "${kernel_tests[@]}" 2>&1 \
  | tee "$out/tests.log"

if [[ -n $build_pid ]]; then
  say "waiting for the mamba_ssm build"
  wait "$build_pid" || echo "the mamba_ssm build failed (see $out/mamba_build.log)"
fi

say "table"
"$py" bench/gpu/table.py --out "$out"
