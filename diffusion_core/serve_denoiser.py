"""Serve the denoiser on a Ray cluster: deploy, inspect or remove the Ray Serve application that `python app.py
--backend ray` sends its generations to (`pipelines/ray_deployment.py`).

    ray start --head                                         # a cluster (this machine); see README for several
    python -m diffusion_core.serve_denoiser up [--replicas 2 --num-cpus 1] [--num-gpus 1]
    python -m diffusion_core.serve_denoiser status
    python -m diffusion_core.serve_denoiser down             # the replicas stop; the cluster stays

Every flag left out comes from its environment variable (`DIFFUSION_CLASSROOM_RAY_*`), else its default
(`pipelines/serve_config.py` says why each is what it is). `up` replaces an application of the same name (the runs
on it end with a message) and returns once the new replicas run; the application lives on in the cluster after this
command ends. Needs ray (`pip install -r requirements-ray.txt`).
"""
from __future__ import annotations

import argparse
import sys
import time

from diffusion_core.pipelines.backends import ServingError
from diffusion_core.pipelines.serve_config import ENV, ServeConfig, serve_config


def command_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m diffusion_core.serve_denoiser", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["up", "status", "down"])
    base = ServeConfig()
    flags = {"address": str, "app_name": str, "num_cpus": float, "num_gpus": float, "max_ongoing_requests": int,
             "min_replicas": int, "max_replicas": int, "target_ongoing_requests": float}
    for name, kind in flags.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                       help=f"{ENV[name]}; default {getattr(base, name)}")
    p.add_argument("--replicas", type=int, default=None, help="a fixed number of replicas (min = max = this)")
    return p


def config_from(args: argparse.Namespace) -> ServeConfig:
    values = {k: v for k, v in vars(args).items() if k not in ("action", "replicas")}
    if args.replicas is not None:
        values.update(min_replicas=args.replicas, max_replicas=args.replicas)
    return serve_config(**values)


def main(argv: list[str] | None = None) -> int:
    args = command_parser().parse_args(argv)
    try:
        config = config_from(args)
        from diffusion_core.pipelines import ray_backend, ray_deployment  # needs ray: only now
    except (ValueError, ImportError) as exc:
        print(f"error: {exc}" + (" (pip install -r requirements-ray.txt)" if isinstance(exc, ImportError) else ""),
              file=sys.stderr)
        return 2
    try:
        ray_backend.join_cluster(config)
    except ServingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.action == "up":
        start = time.perf_counter()
        ray_deployment.deploy(config)
        print(f"Deployed in {time.perf_counter() - start:.1f} s: {config.summary()}.")
    elif args.action == "down":
        ray_deployment.remove_app(config.app_name)
        print(f"Removed the Serve application '{config.app_name}'.")
    print(ray_deployment.app_status(config.app_name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
