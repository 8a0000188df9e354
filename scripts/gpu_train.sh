#!/usr/bin/env bash
# Train the DiT on a lent GPU in one command (issue "A stronger DiT"). Everything it needs travels in the
# working tree: the weights in assets/, MNIST in data/mnist/ (ignored by git; copy ../shared/data/mnist
# there first), the run to resume in runs/dit_gpu/ (ignored). Results come back through $OUT, at most
# 8 files of 16 MiB: the exported weights and JSON, the loss log, and the checkpoint in parts.
#
#   device tool:  run(command="OUT=$OUT bash scripts/gpu_train.sh", carry=["data/mnist", "runs/dit_gpu"])
#   back here:    copy $OUT/ckpt.part*.pt and loss.csv into runs/dit_gpu/ (the next run joins the parts);
#                 dit_mnist.{safetensors,json} are the new weights (compare them before replacing assets/)
#
# Settings (environment): MINUTES of training (7: the machine's 10-minute limit leaves time to start and
# export), STEPS of the cosine schedule, LR, BATCH, DEVICE (cuda; cpu to try the recipe here).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder that comes back}"
MINUTES=${MINUTES:-7}
STEPS=${STEPS:-60000}
LR=${LR:-1e-4}
BATCH=${BATCH:-256}
DEVICE=${DEVICE:-cuda}
RUN=runs/dit_gpu
DATA=${MNIST_DIR:-data/mnist}
mkdir -p "$RUN" "$OUT"
python -c "import torch; print('torch', torch.__version__, '| cuda:', torch.cuda.is_available() and torch.cuda.get_device_name(0))"
python -c "from diffusion_core.training.training_utils import join_checkpoint; print('resume from', join_checkpoint('$RUN'))"
python -m diffusion_core.train dit --out "$RUN" --init-from assets/dit_mnist --data-dir "$DATA" --device "$DEVICE" \
    --steps "$STEPS" --lr "$LR" --batch-size "$BATCH" --warmup 200 --ema-decay 0.9995 --loss-weighting min-snr \
    --time-limit "$MINUTES" --ckpt-minutes 2 --sample-every 0
python -m diffusion_core.train dit --out "$RUN" --data-dir "$DATA" --export-only --export "$OUT/dit_mnist"
python -c "from diffusion_core.training.training_utils import split_checkpoint; print(split_checkpoint('$RUN/ckpt.pt', '$OUT'))"
cp "$RUN/loss.csv" "$OUT/loss.csv"
ls -la "$OUT"
