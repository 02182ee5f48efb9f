#!/usr/bin/env bash
# Fills bench/gpu/peers/ (gitignored; never commit it) with the peers bench/gpu/run.sh installs
# on a GPU machine without network: pure-Python wheels of einops, accelerated-scan, fla-core
# and mambapy, and mamba_ssm's source release (run.sh builds only its selective_scan kernel).
# Needs network, pip and torch; versions are the ones ../shared/reference/kernels.md was written at.
#
# Usage: bash bench/gpu/fetch_peers.sh [DEST]   (DEST defaults to bench/gpu/peers)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-$here/peers}"
py="${PYTHON:-python3}"
mkdir -p "$dest"

"$py" -m pip download -q --no-deps --only-binary :all: --dest "$dest" \
  einops "accelerated-scan==0.3.1" "fla-core==0.6.0" mambapy

# mamba_ssm's source release. pip reads its metadata by running setup.py, which imports torch:
# hence no build isolation (torch must be installed here) and the CUDA build switched off.
MAMBA_SKIP_CUDA_BUILD=TRUE "$py" -m pip download -q --no-deps --no-binary mamba-ssm \
  --no-build-isolation --dest "$dest" "mamba-ssm==2.3.2.post1"
ls -l "$dest"
