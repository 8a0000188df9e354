"""The denoiser as a Ray Serve deployment: replicas that each run the app's step batcher.

Gradio's queue, its server-sent-event streams and a session's state live in one process, so the app is not
replicated: one thin front end holds the sessions (`python app.py --backend ray`) and sends each generation,
as one call, to this deployment (`ray_backend.RayBackend`). A replica is a `backends.LocalBackend` on its
own CPUs or GPU: every generation it runs shares its network calls through its `StepBatcher`, so the users
that Serve routes to one replica still share each round, and each user's steps are bit-for-bit the local
backend's (the same sampler code, the same x_T from the seed, the same batcher).

`steps` is an async generator that computes each step on a thread of the replica's own pool (one thread per
running generation, so the batcher sees them all at once) and yields it as soon as it is done, the next step already
computing while this one is sent (sending is not on the run's path): the front end
reads one stream per generation (`handle.options(stream=True).steps.remote(...)`). When the front end cancels
the call (Stop, a newer run, a closed page), Serve raises CancelledError at the `await` and the run ends after
its step in flight; a synchronous generator method would run on to its last step.

The settings (`serve_config.ServeConfig`): `ray_actor_options` (num_cpus, num_gpus), `max_ongoing_requests`
and `autoscaling_config`; `deploy` starts Serve without its HTTP proxy (the front end calls through handles).
Ray is imported here and in `ray_backend` only, and only when the Ray backend is chosen.
"""
from __future__ import annotations

import asyncio
import os
import socket
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
from ray import serve
from ray.serve.handle import DeploymentHandle

from diffusion_core.networks.pretrained import Pretrained
from diffusion_core.paths import ROOT
from diffusion_core.pipelines.backends import LocalBackend
from diffusion_core.pipelines.generation import app_batcher
from diffusion_core.pipelines.serve_config import ServeConfig
from diffusion_core.pipelines.step_stream import RunStart
from diffusion_core.settings import Sampling, sampling

_END = object()  # what `next` returns for a run with no steps left
DEPLOYMENT = "Denoiser"


@serve.deployment(name=DEPLOYMENT)
class DenoiserDeployment:
    """One replica: the DiT (`pre`, default the shipped one on the replica's device) behind its own step batcher,
    `threads` torch threads (None: torch's choice), up to `workers` generations stepping at once."""

    def __init__(self, pre: Pretrained | None = None, threads: int | None = None, workers: int = 64):
        if threads:
            torch.set_num_threads(int(threads))
        self.local = LocalBackend(pre)
        self.pool = ThreadPoolExecutor(max_workers=int(workers) + 2, thread_name_prefix="generation")
        self._warm()

    def _warm(self) -> None:
        """One 1-image, 1-step run now: the weights, the bf16 copy and the batcher's call sizes are ready before the
        first student's run (the local backend pays them on its first run)."""
        pre, _ = self.local.where()
        for _ in self.local.steps(sampling(pre.meta, images=1, steps=1, seed=0)):
            pass

    async def steps(self, settings: dict):
        """Streamed: a run's `RunStart`, then a `StepFrame` per step (`backends.LocalBackend.steps`)."""
        stream = self.local.steps(Sampling(**settings))
        step: Future = self.pool.submit(next, stream, _END)
        try:
            while True:
                item = await asyncio.wrap_future(step)
                if item is _END:
                    return
                step = self.pool.submit(next, stream, _END)  # the next step computes while this one is sent
                if isinstance(item, RunStart):
                    item.replica = f"{socket.gethostname()}:{os.getpid()}"
                yield item
        finally:  # ends the run and its part in the batcher: now, or as soon as a step still in flight is done
            if step.done():
                stream.close()
            else:
                step.add_done_callback(lambda _: stream.close())

    def images(self, labels: list, seed: int, settings: dict | None = None, fresh: bool = False) -> tuple[np.ndarray, float]:
        return self.local.images(labels, seed, Sampling(**settings) if settings else None, fresh)

    def interpolate(self, label: int, seed_a: int, seed_b: int, frames: int = 8) -> np.ndarray:
        return self.local.interpolate(label, seed_a, seed_b, frames)

    def sdedit(self, x0: np.ndarray, label: int, t_star: int, steps: int, seed: int, guidance: float, eta: float) -> dict:
        return self.local.sdedit(x0, label, t_star, steps, seed, guidance, eta)

    def replica(self) -> dict:
        """Which process this replica is, what it runs on, and its batcher's counts: generations running now, network
        rounds and rows evaluated so far, the call sizes it settled on (the benchmark stops a replica by its pid; the
        tests read the counts)."""
        pre, device = self.local.where()
        batcher = app_batcher(pre, device)
        return {"pid": os.getpid(), "host": socket.gethostname(), "device": str(device), "threads": torch.get_num_threads(),
                "running": batcher.active(), "rounds": batcher.rounds, "rows_evaluated": batcher.rows_evaluated,
                "call_sizes": batcher.sizes}


def application(config: ServeConfig, pre: Pretrained | None = None, local_testing: bool = False):
    """The Serve application with `config`'s options. On a cluster its replicas import this repository from its path
    here (each machine holds a copy at the same path) and set their torch threads; in local testing mode (this
    process) neither."""
    options = config.deployment_options()
    if local_testing:
        return DenoiserDeployment.options(**options).bind(pre, None, config.max_ongoing_requests)
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    options["ray_actor_options"]["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
    return DenoiserDeployment.options(**options).bind(pre, config.threads(), config.max_ongoing_requests)


def deploy(config: ServeConfig, pre: Pretrained | None = None, local_testing: bool = False) -> DeploymentHandle:
    """Run the deployment as `config.app_name` on the cluster this process joined (`ray.init`), Serve's HTTP proxy
    off, and wait until its replicas run; `local_testing`: in this process instead (Serve's local testing mode: no
    cluster, for the tests). Returns its handle. An application of that name is removed first: Serve would start the
    new replicas before stopping the old, and on a cluster the old ones fill (one machine) never place them."""
    if not local_testing:
        serve.start(proxy_location="Disabled")
        if config.app_name in serve.status().applications:
            remove_app(config.app_name)
    return serve.run(application(config, pre, local_testing), name=config.app_name, route_prefix=None,
                     _local_testing_mode=local_testing)


def app_status(app_name: str) -> str:
    """One line on the application: its status and its replicas by state (or that it is not there)."""
    app = serve.status().applications.get(app_name)
    if app is None:
        return f"No Serve application '{app_name}' on this cluster."
    def plain(v) -> str:
        return str(getattr(v, "value", v)).lower()

    parts = [f"{name} {plain(dep.status)}, replicas " + ", ".join(f"{n} {plain(state)}" for state, n in dep.replica_states.items())
             for name, dep in app.deployments.items()]
    return f"Serve application '{app_name}': {plain(app.status)}; " + "; ".join(parts) + (f" ({app.message})" if app.message else "")


def replicas_line(app_name: str) -> str:
    """'2 replicas running' (or starting, ...): the application's replicas by state, as the controller reports them."""
    app = serve.status().applications[app_name]
    counts: dict[str, int] = {}
    for dep in app.deployments.values():
        for state, n in dep.replica_states.items():
            key = str(getattr(state, "value", state)).lower()
            counts[key] = counts.get(key, 0) + n
    return ", ".join(f"{n} replica{'s' if n != 1 else ''} {state}" for state, n in counts.items()) or "no replicas"


def remove_app(app_name: str) -> None:
    """Delete the application (its replicas stop); the cluster stays up."""
    serve.delete(app_name)
