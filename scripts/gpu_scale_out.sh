#!/usr/bin/env bash
# The Ray Serve deployment on a lent GPU machine (issue 34, "GPU"): the same benchmark as on the CPU, with each
# replica holding the GPU (num_gpus=1), in one prepared command. Such a machine may lack ray and have no network:
# then it runs the local backend's GPU check instead (benchmarks/gpu_check.py) and says so in the first line of
# its log. Everything it prints goes to $OUT/scale_out_gpu.txt (or gpu_check.txt), written as it goes.
#
#   device tool:  run(command="OUT=$OUT bash scripts/gpu_scale_out.sh", timeout_s=540)
#
# Settings (environment): USERS (30), ALONE (5), CORES (the machine's CPUs for the Ray cluster).
set -uo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder that comes back}"
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "no nvidia-smi"
if python -c "import ray.serve, gradio" 2>/dev/null; then
    echo "ray $(python -c 'import ray; print(ray.__version__)') present: Ray Serve with num_gpus=1 per replica" | tee "$OUT/scale_out_gpu.txt"
    timeout 520 python benchmarks/scale_out.py --num-gpus 1 --users "${USERS:-30}" --alone "${ALONE:-5}" \
        --cores "${CORES:-$(nproc)}" 2>&1 | grep -v "INFO\|WARNING" | tee -a "$OUT/scale_out_gpu.txt"
else
    echo "ray (or gradio) missing: the local backend's GPU check instead (benchmarks/gpu_check.py)" | tee "$OUT/gpu_check.txt"
    timeout 520 python benchmarks/gpu_check.py --out "$OUT" 2>&1 | tee -a "$OUT/gpu_check.txt"
fi
