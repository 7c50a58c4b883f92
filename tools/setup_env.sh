#!/usr/bin/env bash
# Create or update the Python environment mmkem runs in. Idempotent: when everything is already in
# place it checks the imports and returns in a few seconds.
#
#   bash tools/setup_env.sh            # environment in $MMKEM_VENV (default ~/.venvs/mmkem)
#   MMKEM_VENV=/path/to/venv bash tools/setup_env.sh
#   MMKEM_VENV=system bash tools/setup_env.sh   # install into the current python instead
#   MMKEM_TORCH=system bash tools/setup_env.sh  # keep the installed torch (>= 2.1, < 2.14), e.g.
#                                               # a GPU machine's CUDA build, instead of the pin
#
# Order matters (see requirements.txt): torch + torchvision + setuptools in one pip call (torch >= 2.13
# needs setuptools >= 77.0.3 and an older pin silently downgrades torch), then mmcv 2.1.0 built from
# source with CPU ops against that torch (mmseg 1.2.2 imports mmcv.ops; mmcv-lite is not enough; no
# prebuilt CPU wheel of mmcv 2.1.0 exists for recent torch), then mmengine, mmsegmentation, timm and
# mmkem itself in editable mode.
#
# The mmcv wheel is kept in $MMKEM_CACHE/wheels/torch-<version>/ so that a rebuilt environment reuses
# it, and only a wheel built against the installed torch is ever installed: pip's own cache keys wheels
# by name only, so it is bypassed (--no-cache-dir). mmcv is built with the GPU hidden
# (CUDA_VISIBLE_DEVICES=): its setup compiles CUDA kernels whenever it sees a GPU, FORCE_CUDA=0 does
# not stop it, and mmkem needs only the CPU ops. A GPU machine without network: tools/gpu_check.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TORCH_VERSION=2.12.1
TORCHVISION_VERSION=0.27.1
MMCV_VERSION=2.1.0
SETUPTOOLS_SPEC='setuptools>=77.0.3,<81'
VENV="${MMKEM_VENV:-$HOME/.venvs/mmkem}"
CACHE="${MMKEM_CACHE:-$HOME/.cache/mmkem}"

say() { printf '[setup_env] %s\n' "$*"; }

if [ "$VENV" = system ]; then
    PY="$(command -v python3)"
else
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating virtual environment $VENV"
        python3 -m venv "$VENV"
    fi
    PY="$VENV/bin/python"
fi
PIP=("$PY" -m pip --disable-pip-version-check)

have_torch="$("$PY" -c 'import torch, torchvision; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
if [ "${MMKEM_TORCH:-pinned}" = system ]; then
    # The tested range: mmcv 2.1.0 compiles against torch <= 2.13 (2.14 headers need C++20).
    if ! "$PY" -c "import sys, torch; v = tuple(int(p) for p in torch.__version__.split('+')[0].split('.')[:2]); sys.exit(not (2, 1) <= v < (2, 14))" 2>/dev/null; then
        say "MMKEM_TORCH=system needs an installed torch >= 2.1, < 2.14 with torchvision (found: ${have_torch:-none})"
        exit 1
    fi
    TORCH_VERSION="$have_torch"
    TORCHVISION_VERSION="$("$PY" -c 'import torchvision; print(torchvision.__version__.split("+")[0])')"
    say "keeping the installed torch $TORCH_VERSION (MMKEM_TORCH=system)"
fi

# The fingerprint of what this script installs: when it matches the stamp and the imports work, done.
FINGERPRINT="$(cat "$ROOT/tools/setup_env.sh" "$ROOT/requirements/runtime.txt" "$ROOT/requirements/tests.txt" \
    "$ROOT/setup.py" | sha1sum | cut -c1-16)"
STAMP="$("$PY" -c 'import sys; print(sys.prefix)')/.mmkem-env-$FINGERPRINT"

check_imports() {
    (cd /tmp && "$PY" - "$TORCH_VERSION" "$MMCV_VERSION" "$ROOT" <<'EOF'
import os.path as osp
import sys
import torch, torchvision  # noqa: F401
import mmcv
from mmcv.ops import nms  # loads mmcv._ext: fails if it was built against another torch
import mmseg, mmengine, timm, mmkem  # noqa: F401
want_torch, want_mmcv = sys.argv[1], sys.argv[2]
assert torch.__version__.split('+')[0] == want_torch, f'torch {torch.__version__} != {want_torch}'
assert mmcv.__version__ == want_mmcv, f'mmcv {mmcv.__version__} != {want_mmcv}'
# The environment's mmkem must be this checkout (an editable install of another clone is not).
assert osp.dirname(osp.dirname(osp.realpath(mmkem.__file__))) == osp.realpath(sys.argv[3])
boxes = torch.tensor([[0., 0., 1., 1.], [0., 0., 1., 1.]])
assert nms(boxes, torch.tensor([1., .5]), .5)[1].tolist() == [0]
EOF
    ) >/dev/null 2>&1
}

if [ -f "$STAMP" ] && check_imports; then
    say "environment $VENV is ready (python: $PY)"
    exit 0
fi

start=$(date +%s)

# 1. torch, torchvision, setuptools: one call, so that pip resolves them together.
have_torch="$("$PY" -c 'import torch, torchvision; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
if [ "$have_torch" != "$TORCH_VERSION" ]; then
    say "installing torch $TORCH_VERSION + torchvision $TORCHVISION_VERSION (a few GB on first install)"
    "${PIP[@]}" install --progress-bar off "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION" \
        "$SETUPTOOLS_SPEC" wheel
else
    "${PIP[@]}" install -q "$SETUPTOOLS_SPEC" wheel
fi

# From here on a constraint keeps pip from replacing torch (or mmcv) while it resolves.
constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
printf 'torch==%s\ntorchvision==%s\nmmcv==%s\n' "$TORCH_VERSION" "$TORCHVISION_VERSION" "$MMCV_VERSION" >"$constraints"

# 2. mmcv with CPU ops, built against exactly this torch.
mmcv_ok() {
    (cd /tmp && "$PY" -c "
import mmcv, torch
from mmcv.ops import nms
assert mmcv.__version__ == '$MMCV_VERSION'
nms(torch.zeros(1, 4), torch.ones(1), .5)
") >/dev/null 2>&1
}
if ! mmcv_ok; then
    wheel_dir="$CACHE/wheels/torch-$TORCH_VERSION-$("$PY" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')"
    mkdir -p "$wheel_dir"
    if ! ls "$wheel_dir"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
        say "building mmcv $MMCV_VERSION from source with CPU ops against torch $TORCH_VERSION."
        say "This takes about 15 minutes on 2 cores: PyPI has no CPU wheel of mmcv $MMCV_VERSION for this"
        say "torch, and mmsegmentation needs its compiled ops. It is done once; the wheel is kept in $wheel_dir."
        log="$wheel_dir/build.log"
        (cd /tmp && CUDA_VISIBLE_DEVICES= MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "${PIP[@]}" wheel -v \
            --no-build-isolation --no-cache-dir --no-deps "mmcv==$MMCV_VERSION" -w "$wheel_dir" >"$log" 2>&1) &
        build_pid=$!
        t0=$(date +%s)
        while kill -0 "$build_pid" 2>/dev/null; do
            sleep 60
            step=$(grep -o '\[[0-9]*/[0-9]*\]' "$log" 2>/dev/null | tail -n 1 || true)
            say "  mmcv build running for $(( ($(date +%s) - t0) / 60 )) min (compile step ${step:-[preparing]}; log: $log)"
        done
        if ! wait "$build_pid"; then
            tail -n 40 "$log"
            say "mmcv build failed; full log in $log"
            exit 1
        fi
    fi
    "${PIP[@]}" install --no-deps --no-index --force-reinstall "$wheel_dir"/mmcv-"$MMCV_VERSION"-*.whl
    # mmcv imports mmengine; mmengine brings mmcv's other requirements (addict, yapf, opencv, ...).
    # yapf 0.40.2 dropped the `verify` argument that mmengine's config dump passes.
    "${PIP[@]}" install -q -c "$constraints" "$(grep '^mmengine' "$ROOT/requirements/runtime.txt")" \
        'yapf<0.40.2'
    if ! mmcv_ok; then
        (cd /tmp && "$PY" -c 'import mmcv; from mmcv.ops import nms') || true
        say "mmcv $MMCV_VERSION from $wheel_dir does not load its ops with torch $TORCH_VERSION (error"
        say "above); if it was built against another torch, delete that folder and run this again"
        exit 1
    fi
fi

# 3. The OpenMMLab stack, timm, test tools, and mmkem itself (editable).
say "installing mmengine, mmsegmentation, timm and test tools"
"${PIP[@]}" install -q -c "$constraints" -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"
"${PIP[@]}" install -q -c "$constraints" --no-deps --no-build-isolation -e "$ROOT"

if ! check_imports; then
    say "installed, but the import check failed:"
    (cd /tmp && "$PY" -c 'import torch, torchvision, mmcv, mmcv.ops, mmseg, mmengine, timm, mmkem') || true
    exit 1
fi
rm -f "$("$PY" -c 'import sys; print(sys.prefix)')"/.mmkem-env-*
touch "$STAMP"
say "environment $VENV is ready in $(( $(date +%s) - start )) s (python: $PY)"
