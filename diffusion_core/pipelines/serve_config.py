"""How the denoiser is served: which backend runs the app's generations, and the Ray Serve deployment's settings.

One setting chooses the backend: `DIFFUSION_CLASSROOM_BACKEND=local` (the default: this process, through the
shared step batcher) or `ray` (a Ray Serve deployment of replicas, each running the same batcher); `python app.py
--backend ray` sets it too. The Ray settings below have one default each, written beside it, and one environment
variable each (`ENV`); `python -m diffusion_core.serve_denoiser` takes them as flags as well. Nothing here
imports ray: the defaults can be read, checked and shown without it.

Why these defaults:
- `max_ongoing_requests` 64: Serve's default of 5 would let a replica run only 5 generations at once and queue
  the rest of a class behind them, unseen; a replica's batcher shares each network call among all it runs, so it
  should take a whole front end's generations (the app runs at most `settings.MAX_RUNNING` = 40 at once).
- `num_cpus` 2: a replica's share of a machine and its torch threads; one replica on this project's 2-core CPU.
- autoscaling from `min_replicas` to `max_replicas` (1 and 1: a fixed single replica) at `target_ongoing_requests`
  16 generations per replica (at ~870 rows/s on 2 cores, 16 default runs of 640 rows take ~12 s: about what a
  student waits in a class). Serve adds replicas only after its `upscale_delay_s` (30 s), slower than a class
  that presses Generate at once: set `min_replicas` to what `benchmarks/scale_out.py`'s capacity model says.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, fields, replace

BACKEND_ENV = "DIFFUSION_CLASSROOM_BACKEND"
BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class ServeConfig:
    """The Ray Serve backend's settings (defaults as above)."""

    address: str = "auto"  # the Ray cluster: "auto" = the one this machine has joined (`ray start`), or host:port
    app_name: str = "diffusion-classroom"  # the Serve application that holds the deployment
    fallback: bool = False  # no cluster at start: run on this machine instead (only when this says so)
    connect_timeout_s: float = 10.0  # connecting to the cluster: longer is "not there"
    start_timeout_s: float = 120.0  # a generation's first answer (it may wait behind a class on busy replicas)
    step_timeout_s: float = 20.0  # each later step: a longer silence is a server that stopped
    num_cpus: float = 2.0  # CPUs per replica (its torch threads)
    num_gpus: float = 0.0  # GPUs per replica (1: the replica runs the DiT on CUDA)
    max_ongoing_requests: int = 64  # generations one replica runs at once (Serve's default, 5, would cap a class)
    min_replicas: int = 1  # autoscaling: never fewer replicas ...
    max_replicas: int = 1  # ... nor more
    target_ongoing_requests: float = 16.0  # autoscaling: generations per replica at which Serve adds one

    def __post_init__(self):
        checks = (
            (self.num_cpus >= 0 and self.num_gpus >= 0, "CPUs and GPUs per replica must be 0 or more"),
            (self.num_cpus > 0 or self.num_gpus > 0, "a replica needs a CPU or a GPU"),
            (1 <= self.max_ongoing_requests <= 10_000, "max_ongoing_requests must be between 1 and 10000"),
            (1 <= self.min_replicas <= self.max_replicas, "replicas: 1 <= min_replicas <= max_replicas"),
            (self.target_ongoing_requests > 0, "target_ongoing_requests must be above 0"),
            (min(self.connect_timeout_s, self.start_timeout_s, self.step_timeout_s) > 0, "timeouts must be above 0"),
            (bool(self.app_name.strip()) and bool(self.address.strip()), "the address and the app name must not be empty"),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(f"Ray Serve setting: {message}.")

    def deployment_options(self) -> dict:
        """The options of the Serve deployment (`Deployment.options(**...)`)."""
        actor = {"num_cpus": self.num_cpus, **({"num_gpus": self.num_gpus} if self.num_gpus else {})}
        return {
            "ray_actor_options": actor,
            "max_ongoing_requests": self.max_ongoing_requests,
            "autoscaling_config": {"min_replicas": self.min_replicas, "initial_replicas": self.min_replicas,
                                   "max_replicas": self.max_replicas,
                                   "target_ongoing_requests": self.target_ongoing_requests},
        }

    def threads(self) -> int | None:
        """Torch threads a replica uses: its whole CPUs (None: leave torch's choice, e.g. a GPU replica with no CPU)."""
        return int(self.num_cpus) if self.num_cpus >= 1 else None

    def summary(self) -> str:
        replicas = (f"{self.min_replicas} replica{'s' if self.min_replicas > 1 else ''}" if self.min_replicas == self.max_replicas
                    else f"{self.min_replicas} to {self.max_replicas} replicas")
        gpus = f", {self.num_gpus:g} GPU" if self.num_gpus else ""
        return (f"Ray Serve app '{self.app_name}' at {self.address}: {replicas} of {self.num_cpus:g} CPU{gpus}, "
                f"up to {self.max_ongoing_requests} generations each")


ENV = {f.name: "DIFFUSION_CLASSROOM_RAY_" + f.name.upper().removesuffix("_REQUESTS") for f in fields(ServeConfig)}


def _parsed(name: str, text: str, default):
    text = text.strip()
    if isinstance(default, bool):
        if text.lower() not in ("0", "1", "true", "false", "yes", "no"):
            raise ValueError(f"{ENV[name]} must be 0 or 1, got {text[:40]!r}.")
        return text.lower() in ("1", "true", "yes")
    if isinstance(default, str):
        return text
    try:
        return type(default)(float(text)) if isinstance(default, float) else int(text)
    except ValueError:
        raise ValueError(f"{ENV[name]} must be a number, got {text[:40]!r}.") from None


def serve_config(environ=None, **values) -> ServeConfig:
    """The settings from the environment (`ENV`), with `values` (None: keep) on top; a bad value raises ValueError."""
    environ = os.environ if environ is None else environ
    base = ServeConfig()
    found = {n: _parsed(n, environ[e], getattr(base, n)) for n, e in ENV.items() if environ.get(e, "").strip()}
    found.update({k: v for k, v in values.items() if v is not None})
    return replace(base, **found)


def backend_name(environ=None) -> str:
    """The chosen backend: `DIFFUSION_CLASSROOM_BACKEND` (local when unset); anything else raises ValueError."""
    environ = os.environ if environ is None else environ
    name = environ.get(BACKEND_ENV, "").strip().lower() or "local"
    if name not in BACKENDS:
        raise ValueError(f"{BACKEND_ENV} must be one of {', '.join(BACKENDS)}, got {name[:40]!r}.")
    return name


def backend_flag(argv: list[str]) -> str | None:
    """The `--backend local|ray` of a command line (`python app.py --backend ray`; other arguments ignored), or None."""
    parser = argparse.ArgumentParser(prog="app.py", add_help=False)
    parser.add_argument("--backend", choices=BACKENDS, type=str.lower)
    return parser.parse_known_args(argv)[0].backend
