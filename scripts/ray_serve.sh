#!/usr/bin/env bash
# Diffusion Classroom past one machine, on one machine: a local Ray cluster (`ray start --head`), the denoiser
# deployed on it (`python -m diffusion_core.serve_denoiser up`), then `python app.py` against it, a thin front end
# that holds the sessions. Ctrl-C stops the app, removes the deployment and stops the cluster (`ray stop`, which
# ends every Ray process of this user on this machine). For several machines see the README, "Past one machine".
#
# Usage: bash scripts/ray_serve.sh                       # 1 replica of 2 CPUs
#        REPLICAS=2 REPLICA_CPUS=1 bash scripts/ray_serve.sh
#        REPLICA_GPUS=1 bash scripts/ray_serve.sh        # on a GPU machine: the replica runs the DiT on CUDA
# Other settings: DIFFUSION_CLASSROOM_RAY_* (README); GRADIO_SERVER_NAME=0.0.0.0 serves the class's network.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import ray.serve" 2>/dev/null || python -m pip install -q -r requirements-ray.txt
REPLICAS="${REPLICAS:-1}"
REPLICA_CPUS="${REPLICA_CPUS:-2}"
REPLICA_GPUS="${REPLICA_GPUS:-0}"
CLUSTER_CPUS="${CLUSTER_CPUS:-$(nproc)}"
ray start --head --num-cpus "$CLUSTER_CPUS" --num-gpus "$REPLICA_GPUS" --include-dashboard=false --disable-usage-stats
trap 'python -m diffusion_core.serve_denoiser down || true; ray stop' EXIT
python -m diffusion_core.serve_denoiser up --replicas "$REPLICAS" --num-cpus "$REPLICA_CPUS" --num-gpus "$REPLICA_GPUS"
DIFFUSION_CLASSROOM_BACKEND=ray python app.py
