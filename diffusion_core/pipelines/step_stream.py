"""One generation as a stream of steps: what a backend sends and the front end records.

A run of the reverse process is a `RunStart` (the device, the labels, the starting noise x_T) followed by one
`StepFrame` per sampler step. That stream is the seam between the app and whatever runs the DiT: this
process (`local_steps`, through the shared `StepBatcher`) or a Ray Serve replica, which runs the very same
`local_steps` and sends the same frames (`backends`, `ray_backend`). A frame holds only what the page shows
of a step: the `StepRecord`'s arrays as float16 (N, 28, 28), t, alpha_bar, the network passes so far, the
step's milliseconds and the share of rows the batcher's cache answered, so `denoising.Trajectory.add`
records it the same way wherever it was computed.

x_T depends only on the seed (the first n of 16 draws of a CPU generator), so it is the same on every device,
every backend and every image count: A/B comparisons are fair.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from diffusion_core.maths.samplers import StepRecord, sampler_steps, step_grid
from diffusion_core.networks import runtime
from diffusion_core.networks.pretrained import Pretrained
from diffusion_core.pipelines.generation import app_batcher, app_denoiser
from diffusion_core.settings import LIMITS, Sampling

MAX_IMAGES = LIMITS["images"].high  # x_T is the first n of this many draws per seed
ARRAYS = ("x_t", "eps", "x0", "x_next")  # the four pictures of a step, in the order the page shows them


@dataclass
class RunStart:
    """The head of a run's stream: where it runs, the class of each image, and x_T (N, 28, 28) float16."""

    device: str
    labels: list
    x_T: np.ndarray
    replica: str = ""  # which server process runs it ("host:pid" on a Ray Serve replica; "" in this process)


@dataclass
class StepFrame:
    """One sampler step as the page records it. Arrays float16 (N, 28, 28), model space."""

    step: int  # 0 .. num_steps - 1
    num_steps: int
    t: float  # network timestep (fractional for Euler / Heun)
    t_next: float  # where the step lands; -1 is the clean image
    alpha_bar: float
    alpha_bar_next: float
    x_t: np.ndarray  # the step's input
    eps: np.ndarray  # predicted noise
    x0: np.ndarray  # predicted clean image
    x_next: np.ndarray  # the step's output
    passes: int  # network passes so far (a guided evaluation costs two)
    ms: float  # wall time of the step where it ran
    reused: float  # share of the run's network rows so far answered from the batcher's cache

    @classmethod
    def of(cls, rec: StepRecord, ms: float, passes: int, reused: float) -> "StepFrame":
        return cls(int(rec.step), int(rec.num_steps), float(rec.t), float(rec.t_next), float(rec.alpha_bar),
                   float(rec.alpha_bar_next), *(half(getattr(rec, name)) for name in ARRAYS), int(passes), float(ms),
                   float(reused))

    @property
    def done(self) -> bool:
        return self.step == self.num_steps - 1


def half(x: torch.Tensor) -> np.ndarray:
    """(N, 1, 28, 28) tensor -> (N, 28, 28) float16 numpy on the CPU (torch converts faster than numpy)."""
    return x[:, 0].detach().to("cpu", torch.float16).numpy()


def labels_for(settings: Sampling, null_label: int = 10) -> np.ndarray:
    """int64 (n,): the class of each image; `null_label` for unconditional."""
    n = settings.images
    if settings.label == "mixed 0-9":
        return np.arange(n, dtype=np.int64) % 10
    if settings.label == "unconditional":
        return np.full(n, null_label, dtype=np.int64)
    return np.full(n, int(settings.label), dtype=np.int64)


def start_noise(seed: int, n: int) -> torch.Tensor:
    """x_T (n, 1, 28, 28): the first n of 16 standard-normal draws for this seed (CPU generator, so
    the same on every device)."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(MAX_IMAGES, 1, 28, 28, generator=g)[:n]


def local_steps(settings: Sampling, pre: Pretrained, device: torch.device):
    """Generator: a `RunStart`, then a `StepFrame` after every sampler step of a run with `settings`, the DiT `pre`
    on `device` sampling through the shared `app_batcher` (its network calls shared with every other run of this
    process). The head is yielded while the batcher holds its rounds (`StepBatcher.priority`): the other runs wait
    until this run's first frame is out. Closing the generator ends the run and its part in the batcher."""
    device = torch.device(device)
    labels = labels_for(settings, pre.model.config.num_classes)
    x = start_noise(settings.seed, settings.images).to(device)
    y = torch.as_tensor(labels, device=device)
    g = torch.Generator().manual_seed(int(settings.seed) + 1)  # DDPM / DDIM eta > 0 noise
    with app_batcher(pre, device).priority():
        yield RunStart(runtime.device_name(device), labels.tolist(), half(x))
    with app_denoiser(pre, settings.guidance, device, settings.guidance_min_t, settings.guidance_max_t) as (schedule, guided):
        grid = step_grid(settings.sampler, schedule, settings.steps, settings.spacing)
        steps = sampler_steps(settings.sampler, guided, x, grid, {"y": y}, generator=g, eta=settings.eta, clip_x0=1.0)
        while True:
            start = time.perf_counter()
            with torch.no_grad():  # per step: the caller may resume this generator on another thread
                rec = next(steps, None)
            if rec is None:
                return
            runtime.synchronize(device)
            yield StepFrame.of(rec, (time.perf_counter() - start) * 1000, guided.passes, guided.reused_share)
