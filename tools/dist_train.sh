#!/usr/bin/env bash
# Start tools/train.py in several processes through torchrun (mmengine's 'pytorch' launcher).
#   bash tools/dist_train.sh CONFIG NPROC [extra train.py arguments]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for torchrun. Without a GPU the processes talk
# through gloo (tools/train.py switches the backend).
# The interpreter: $PYTHON if set; else the active virtual or conda environment's python; else
# mmkem's environment ($MMKEM_VENV, default ~/.venvs/mmkem, made by tools/setup_env.sh) if it exists;
# else python from PATH.
set -e
CONFIG=$1
NPROC=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${MMKEM_VENV:-$HOME/.venvs/mmkem}"
if [ -z "${PYTHON:-}" ]; then
    if [ -n "${VIRTUAL_ENV:-}${CONDA_PREFIX:-}" ] || [ ! -x "$VENV/bin/python" ]; then
        PYTHON=python
    else
        PYTHON="$VENV/bin/python"
    fi
fi

PYTHONPATH="$ROOT":$PYTHONPATH \
"$PYTHON" -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$NPROC \
    --master_port=$PORT \
    "$ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "$@"
