# Sourced by gpu_train.sh and gpu_sweep.sh: the one training command of a lent-GPU stage.
# Needs MNIST_DIR and DEVICE set by the caller; COMPILE_MODE (default: torch.compile's default) is optional.

# train_stage RUN PRESET INIT WEIGHTING MINUTES LR BATCH EMA CKPT_MINUTES: starts one DiT training in the
# background, logging to RUN/train.log and exporting its EMA weights to RUN/export/dit_mnist. It resumes from
# RUN/ckpt.pt when there is one; otherwise it starts from the exported weights INIT (a stem such as
# assets/dit_mnist; a deeper PRESET grows from them, its new blocks the identity). The cosine decay follows
# the MINUTES spent (--lr-by-time).
train_stage() {
    local run=$1 preset=$2 init=$3 weighting=$4 minutes=$5 lr=$6 batch=$7 ema=$8 ckpt=$9
    mkdir -p "$run"
    python -m diffusion_core.train dit --out "$run" --preset "$preset" --init-from "$init" --data-dir "$MNIST_DIR" \
        --device "$DEVICE" --steps 1000000 --lr "$lr" --batch-size "$batch" --warmup 300 --ema-decay "$ema" \
        --loss-weighting "$weighting" --time-limit "$minutes" --lr-by-time --ckpt-minutes "$ckpt" --sample-every 0 \
        --compile --compile-mode "${COMPILE_MODE:-default}" --export "$run/export/dit_mnist" > "$run/train.log" 2>&1 &
}
