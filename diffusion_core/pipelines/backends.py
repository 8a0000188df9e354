"""What runs the app's DiT generations: one interface, two backends, one setting to choose.

Every tab that runs the DiT (the reverse tab's generations and SDEdit, the compare tab's samples and DDIM
interpolation, the tutor tools that call them) asks `active()`, the process's backend, for a whole generation:

- `steps(settings)`: a run's stream, a `step_stream.RunStart` then a `StepFrame` per step (the reverse tab);
- `images(labels, seed, settings, fresh)`: finished digits at the app's precision (the compare tab);
- `interpolate(label, seed_a, seed_b, frames)`: the DiT's DDIM decodes along a slerp of x_T (the compare tab);
- `sdedit(x0, label, t_star, steps, seed, guidance, eta)`: SDEdit from a real digit (the reverse tab).

`LocalBackend` (the default) runs them in this process, every generation's network calls shared by the
`StepBatcher`; it never imports ray. `ray_backend.RayBackend` sends each to a Ray Serve deployment whose replicas
each run a `LocalBackend` (`ray_deployment`): one call per generation, the steps streamed back. The per-click views
of one step (attention maps, adaLN, the held-out eps-MSE curve computed once) stay in the front end: one forward
pass each, not generations.

`DIFFUSION_CLASSROOM_BACKEND=local|ray` (or `python app.py --backend ray`) chooses; `serve_config` holds the Ray
settings. A backend that cannot serve raises `ServingError`, a ValueError whose message the page shows.
"""
from __future__ import annotations

import threading
from typing import Iterator, Protocol

import numpy as np
import torch

from diffusion_core.networks import runtime
from diffusion_core.networks.loaded import loaded
from diffusion_core.networks.pretrained import Pretrained
from diffusion_core.pipelines.generation import generate_dit
from diffusion_core.pipelines.interpolation import interpolate
from diffusion_core.pipelines.sdedit import sdedit
from diffusion_core.pipelines.serve_config import BACKENDS, ServeConfig, backend_name, serve_config
from diffusion_core.pipelines.step_stream import RunStart, StepFrame, local_steps
from diffusion_core.settings import Sampling, sampling


class ServingError(ValueError):
    """The backend cannot run this generation now (no cluster, a replica that stopped, no answer in time):
    the message says what happened and what to do, for the page."""


class GenerationBackend(Protocol):
    name: str

    def steps(self, settings: Sampling) -> Iterator[RunStart | StepFrame]: ...

    def images(self, labels, seed: int, settings: Sampling | None = None, fresh: bool = False) -> tuple[np.ndarray, float]: ...

    def interpolate(self, label: int, seed_a: int, seed_b: int, frames: int = 8) -> np.ndarray: ...

    def sdedit(self, x0: np.ndarray, label: int, t_star: int, steps: int, seed: int, guidance: float, eta: float) -> dict: ...

    def describe(self) -> str: ...


class LocalBackend:
    """This process runs the DiT: `pre` on `device` (default: the shipped DiT on the app's device, `loaded`)."""

    name = "local"

    def __init__(self, pre: Pretrained | None = None, device: torch.device | str | None = None):
        self._pre, self._device = pre, device

    def where(self) -> tuple[Pretrained, torch.device]:
        device = torch.device(self._device or (next(self._pre.model.parameters()).device if self._pre else runtime.pick_device()))
        return self._pre or loaded("dit", device), device

    def steps(self, settings: Sampling) -> Iterator[RunStart | StepFrame]:
        pre, device = self.where()
        return local_steps(settings, pre, device)

    def images(self, labels, seed: int, settings: Sampling | None = None, fresh: bool = False) -> tuple[np.ndarray, float]:
        """(float32 (N, 28, 28) in [-1, 1], the share of rows answered by the batcher's cache): `labels` (N,) drawn as
        the reverse tab samples (`app_denoiser`), at `settings` (default: the DiT's recommended one); `fresh`: every
        row computed (a timing the page quotes)."""
        pre, device = self.where()
        stats: dict = {}
        x = generate_dit(pre, np.asarray(labels, dtype=np.int64), int(seed), settings or sampling(pre.meta), device,
                         app_precision=True, stats=stats, fresh=fresh)
        return x[:, 0].numpy(), float(stats.get("reused_share", 0.0))

    def interpolate(self, label: int, seed_a: int, seed_b: int, frames: int = 8) -> np.ndarray:
        """float32 (frames, 28, 28): the DiT's DDIM decodes (eta 0) along the slerp between the seeds' x_T."""
        pre, _ = self.where()
        return interpolate("dit", pre, label, seed_a, seed_b, frames=frames)[:, 0].numpy()

    def sdedit(self, x0: np.ndarray, label: int, t_star: int, steps: int, seed: int, guidance: float, eta: float) -> dict:
        pre, _ = self.where()
        return sdedit(pre, x0, label, t_star, steps, seed, guidance, eta)

    def describe(self) -> str:
        return "this machine (the local step batcher)"


class Unavailable:
    """A chosen backend that cannot start at all (e.g. ray not installed): every generation says why."""

    name = "unavailable"

    def __init__(self, reason: str):
        self.reason = reason

    def _refuse(self, *_, **__):
        raise ServingError(self.reason)

    steps = images = interpolate = sdedit = _refuse

    def describe(self) -> str:
        return f"nothing: {self.reason}"


# The process's one backend: a setting of the whole process (like its device), never a user's state.
_ACTIVE: dict[str, GenerationBackend] = {}
_LOCK = threading.Lock()


def active() -> GenerationBackend:
    """The backend the process uses: the one `use` chose, else the environment's (`DIFFUSION_CLASSROOM_BACKEND`)."""
    with _LOCK:
        if "backend" not in _ACTIVE:
            _ACTIVE["backend"], _ = _chosen(backend_name(), None)
        return _ACTIVE["backend"]


def use(name: str | None = None, config: ServeConfig | None = None) -> str:
    """Choose the process's backend by name (None: the environment's) and return a line that says what runs the
    generations; with "ray", a cluster that is not there gives that line (generations then say so, and try again
    to connect), or with `config.fallback` the local backend."""
    name = (name or backend_name()).strip().lower()
    if name not in BACKENDS:
        raise ValueError(f"The backend must be one of {', '.join(BACKENDS)}, got {name[:40]!r}.")
    with _LOCK:
        _ACTIVE["backend"], line = _chosen(name, config)
    return line


def _chosen(name: str, config: ServeConfig | None) -> tuple[GenerationBackend, str]:
    if name == "local":
        return LocalBackend(), f"Generations run on {LocalBackend().describe()}."
    config = config or serve_config()
    try:
        from diffusion_core.pipelines.ray_backend import RayBackend  # only here: the local app never imports ray
    except ImportError as exc:
        reason = (f"The Ray Serve backend needs ray ({exc.name or exc}); install it with "
                  "`pip install -r requirements-ray.txt`.")
        return _fallback(config, reason, Unavailable(reason))
    backend = RayBackend(config)
    try:
        backend.connect()
    except ServingError as exc:
        return _fallback(config, str(exc), backend)
    return backend, f"Generations run on {backend.describe()}."


def _fallback(config: ServeConfig, reason: str, refusing: GenerationBackend) -> tuple[GenerationBackend, str]:
    if config.fallback:
        return LocalBackend(), f"{reason} Generations run on this machine instead (DIFFUSION_CLASSROOM_RAY_FALLBACK=1)."
    return refusing, f"{reason} The app serves anyway; each generation says so until the model server is reachable."
