#!/usr/bin/env bash
# Train DiT variants side by side on a lent GPU in one command (issue "A stronger DiT"), measure them there,
# and send back their weights. Everything travels in the working tree: the shipped weights in assets/,
# MNIST in data/mnist/ (ignored by git; copy ../shared/data/mnist there first). Results come back through
# $OUT, at most 8 files of 16 MiB:
#   <variant>.tar     its exported EMA weights (export/dit_mnist.{safetensors,json}), loss.csv and train.log
#   report.txt        the measurements (dit_quality.py at N = $QUALITY_N, sampled on the GPU) and gpu_check.py
#   ckpt.pt.part*     the resumable checkpoint of the best variant, in pieces (join_checkpoint joins them)
#
#   device tool:  run(command="OUT=$OUT bash scripts/gpu_train.sh", carry=["data/mnist"], timeout_s=600)
#   back here:    tar xf <variant>.tar -C runs/  (then runs/gpu_<variant>/export is a --weights-dir to measure)
#
# Each variant is NAME:PRESET:WEIGHTING; all start from assets/dit_mnist (a deeper preset is grown from it,
# its new blocks starting as the identity) and train for MINUTES with the cosine decay over that time
# (--lr-by-time), then export. Settings (environment): MINUTES (5.5: the machine's 10-minute limit leaves
# time to compile, export and measure), VARIANTS, LR, BATCH, EMA, DEVICE (cuda; cpu to try the recipe here),
# QUALITY_N (1000), QUALITY_SECONDS (a cap on the measuring, 150), RESUME (a folder of ckpt.pt.part* pieces
# that an earlier lease sent back, carried in the working tree: the first variant resumes from that
# checkpoint, optimiser state included, instead of starting from assets/), COMPILE_MODE (torch.compile's mode,
# default; reduce-overhead replays CUDA graphs). To choose it, first measure each mode's steps per second:
#   run(command="python benchmarks/train_speed.py --steps 100", timeout_s=300)
# (the recipe also runs it last, in the time its call has left: SPEED_SECONDS, 120).
# The measurements use the model's own named settings (--preset default / fast: its JSON's), so they follow
# whatever default the shipped weights recommend.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder that comes back}"
MINUTES=${MINUTES:-5.5}
# 2026-11-27 (stage 10 of the card) ran "small-minsnr:small:min-snr medium-minsnr:medium:min-snr medium-plain:medium:none"
# from the 6-block weights: three processes shared the H200 at ~42 steps/s each; the 8-block min-snr one was shipped.
VARIANTS=${VARIANTS:-"medium-minsnr:medium:min-snr"}
LR=${LR:-2e-4}
BATCH=${BATCH:-512}
EMA=${EMA:-0.9995}
DEVICE=${DEVICE:-cuda}
QUALITY_N=${QUALITY_N:-1000}
QUALITY_SECONDS=${QUALITY_SECONDS:-150}
RESUME=${RESUME:-}
export PYTHONUNBUFFERED=1 MNIST_DIR=${MNIST_DIR:-data/mnist}  # the measurements read the test digits from there too
source scripts/gpu_common.sh
mkdir -p "$OUT" runs
REPORT="$OUT/report.txt"
python -c "import torch; print('torch', torch.__version__, '| cuda:', torch.cuda.is_available() and torch.cuda.get_device_name(0))" | tee "$REPORT"

names=()
for v in $VARIANTS; do
    IFS=: read -r name preset weighting <<< "$v"
    names+=("$name")
    run="runs/gpu_$name"
    if [ -n "$RESUME" ] && [ "${#names[@]}" = 1 ]; then
        mkdir -p "$run" && cp "$RESUME"/ckpt.pt.part* "$run"/ &&
            python -c "from diffusion_core.training.training_utils import join_checkpoint; print('resume from', join_checkpoint('$run'))" \
            | tee -a "$REPORT"
    fi
    echo "train $name: preset $preset, weighting $weighting, lr $LR, batch $BATCH, ema $EMA, $MINUTES min" | tee -a "$REPORT"
    train_stage "$run" "$preset" assets/dit_mnist "$weighting" "$MINUTES" "$LR" "$BATCH" "$EMA" 2
done
wait
for name in "${names[@]}"; do
    run="runs/gpu_$name"
    tr '\r' '\n' < "$run/train.log" | grep -E "started from|compile failed|time limit|exported|Error" | sed "s/^/$name: /" | tee -a "$REPORT"
    tr '\r' '\n' < "$run/train.log" | grep "it/s" | tail -1 >> "$REPORT"
    tar cf "$OUT/$name.tar" -C runs "gpu_$name/export" "gpu_$name/loss.csv" "gpu_$name/train.log" 2>> "$REPORT"
done

quality() {  # quality NAME ROWS_JSON [dit_quality options]: one measurement, printed into the report
    local name=$1 rows=$2; shift 2
    echo "== $name: $*" | tee -a "$REPORT"
    timeout "$QUALITY_SECONDS" python benchmarks/dit_quality.py --weights-dir "runs/gpu_$name/export" --device "$DEVICE" \
        --n "$QUALITY_N" --rows-out "$rows" "$@" 2>&1 | grep -v "^ *$" | tee -a "$REPORT"
}
for name in "${names[@]}"; do  # each at the default its weights' JSON recommends (the shipped one, carried over)
    [ -f "runs/gpu_$name/export/dit_mnist.json" ] && quality "$name" "runs/gpu_$name/default.json" --seeds 0,1 --preset default
done
best=$(python - "${names[@]}" <<'PY'
import json, sys
from pathlib import Path
scores = {}
for name in sys.argv[1:]:
    f = Path(f"runs/gpu_{name}/default.json")
    if f.exists() and (rows := json.loads(f.read_text())):
        acc = min(r["accuracy"] for r in rows)
        fd = max(r["frechet_ratio_to_floor"] for r in rows)
        scores[name] = (acc < 0.99, fd)  # the lowest Frechet distance among those at >= 99%
print(min(scores, key=scores.get) if scores else sys.argv[1])  # unmeasured (timed out): the first variant's checkpoint
PY
)
echo "best: ${best:-none}" | tee -a "$REPORT"
if [ -n "$best" ]; then
    python -c "from diffusion_core.training.training_utils import split_checkpoint; print(split_checkpoint('runs/gpu_$best/ckpt.pt', '$OUT'))" >> "$REPORT" 2>&1
    quality "$best" "runs/gpu_$best/sweep.json" --preset default --seeds 0,1 --guidance 1.4,1.5,1.75
    quality "$best" "runs/gpu_$best/fast.json" --seeds 0,1 --preset fast
fi
echo "== gpu_check" >> "$REPORT"
timeout 45 python benchmarks/gpu_check.py --device "$DEVICE" --quick >> "$REPORT" 2>&1
ls -la "$OUT" | tee -a "$REPORT"
# Last, in whatever time the call has left (everything above is already in $OUT): each compile mode's training
# speed and host waits per step, to choose COMPILE_MODE for the next lease.
echo "== train_speed" >> "$REPORT"
timeout "${SPEED_SECONDS:-120}" python benchmarks/train_speed.py --device "$DEVICE" --batch "$BATCH" --steps 50 >> "$REPORT" 2>&1
