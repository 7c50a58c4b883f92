#!/usr/bin/env bash
# The GPU check in one command, on a CUDA machine without network (docs/gpu.md):
#   bash tools/gpu_check.sh [OUT_DIR]     (default: $OUT, else work_dirs/gpu_check)
# needs the bundle .gpu_check/ made beforehand with `python tools/gpu_check.py prepare` (or
# `make gpu-bundle`) on a machine with the package index, carried with the working tree.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${GPU_CHECK_PYTHON:-python3}"
if [ ! -f "$ROOT/.gpu_check/manifest.json" ]; then
    echo "gpu_check: no bundle in $ROOT/.gpu_check; run 'python tools/gpu_check.py prepare' where the package index is reachable, then carry .gpu_check/ with the working tree" >&2
    exit 2
fi
exec "$PY" "$ROOT/tools/gpu_check.py" run ${1:+--out "$1"}
