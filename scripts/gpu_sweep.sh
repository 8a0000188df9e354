#!/usr/bin/env bash
# Measure several DiT weight folders over a grid of sampling settings on a lent GPU, and optionally train
# one of them on beside the measurements (issue "A stronger DiT"). Sampling runs on the GPU in float32 with
# the noise drawn on the CPU, so each row is what `python benchmarks/dit_quality.py` prints here, up to
# float rounding. Everything travels in the working tree: MNIST in data/mnist/, the weight folders named in
# `carry` (runs/ is ignored by git). Back through $OUT (at most 8 files):
#   sweep_<folder>.txt   one line per setting, as dit_quality.py prints it (written as it goes)
#   continued.tar        the continued run: export/dit_mnist.{safetensors,json}, loss.csv, train.log
#
#   device tool:  run(command="OUT=$OUT WEIGHTS='assets runs/gpu_a/export' CONTINUE=runs/gpu_a/export bash scripts/gpu_sweep.sh",
#                     carry=["data/mnist", "runs/gpu_a/export"], timeout_s=330)
#
# Settings (environment): WEIGHTS (folders with dit_mnist.*), GRID (dit_quality.py options), QUALITY_N
# (1000), SEEDS (0), DEVICE (cuda); CONTINUE (a weight folder to train on, its stem dit_mnist), PRESET
# (medium), WEIGHTING (none), LR (1e-4), BATCH (512), EMA (0.9995), MINUTES (3).
set -uo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder that comes back}"
WEIGHTS=${WEIGHTS:-assets}
GRID=${GRID:-"--sampler ddim,dpm++2m --steps 20 --spacing karras,leading --guidance 1.5,2,3 --guidance-min-t 0,700"}
QUALITY_N=${QUALITY_N:-1000}
SEEDS=${SEEDS:-0}
DEVICE=${DEVICE:-cuda}
CONTINUE=${CONTINUE:-}
MINUTES=${MINUTES:-3}
export PYTHONUNBUFFERED=1 MNIST_DIR=${MNIST_DIR:-data/mnist}
source scripts/gpu_common.sh
mkdir -p "$OUT" runs

sweep() {  # sweep FOLDER: the grid at FOLDER's weights, into $OUT/sweep_<folder>.txt
    local name
    name=$(echo "$1" | tr '/' '_')
    # shellcheck disable=SC2086
    python benchmarks/dit_quality.py --weights-dir "$1" --device "$DEVICE" --n "$QUALITY_N" --seeds "$SEEDS" $GRID \
        > "$OUT/sweep_$name.txt" 2>&1
}

if [ -n "$CONTINUE" ]; then
    run=runs/gpu_continued
    train_stage "$run" "${PRESET:-medium}" "$CONTINUE/dit_mnist" "${WEIGHTING:-none}" "$MINUTES" "${LR:-1e-4}" "${BATCH:-512}" \
        "${EMA:-0.9995}" 10
    trainer=$!
fi
for w in $WEIGHTS; do
    sweep "$w" &
done
if [ -n "$CONTINUE" ]; then
    wait "$trainer"
    tar cf "$OUT/continued.tar" -C runs gpu_continued/export gpu_continued/loss.csv gpu_continued/train.log
    sweep runs/gpu_continued/export &
fi
wait
ls -la "$OUT"
