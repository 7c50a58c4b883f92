#!/usr/bin/env bash
# Start tools/train.py in several processes through torchrun (mmengine's 'pytorch' launcher).
#   bash tools/dist_train.sh CONFIG NPROC [extra train.py arguments]
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR and PORT as for torchrun. Without a GPU the processes talk
# through gloo (tools/train.py switches the backend); PYTHON selects the interpreter (default: python).
set -e
CONFIG=$1
NPROC=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

PYTHONPATH="$ROOT":$PYTHONPATH \
${PYTHON:-python} -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$NPROC \
    --master_port=$PORT \
    "$ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "$@"
