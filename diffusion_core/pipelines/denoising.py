"""The reverse process, step by step: settings in, a recorded `Trajectory` out.

`denoise(settings)` is a generator that yields the growing trajectory after every sampler step
(what the app streams); `run(settings)` is its plain form. The starting noise x_T depends only on
the seed (the first n of 16 draws), so changing the sampler, the step count or the number of images
keeps the same x_T: A/B comparisons are fair.

Everything is recorded in the VP space of the model's schedule (Ho et al. 2020):
x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, images (N, 28, 28) in [-1, 1] at t = 0.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from diffusion_core.networks import runtime
from diffusion_core.pipelines.generation import app_batcher, app_denoiser
from diffusion_core.networks.loaded import loaded
from diffusion_core.networks.pretrained import Pretrained
from diffusion_core.maths.samplers import sampler_steps, step_grid
from diffusion_core.settings import LIMITS, Sampling

MAX_IMAGES = LIMITS["images"].high  # x_T is the first n of this many draws per seed
# MNIST pixel statistics (the usual normalisation constants 0.1307 / 0.3081 of [0, 1] pixels),
# mapped to [-1, 1]: what the schedule's moments of x_t are predicted from.
MNIST_MEAN, MNIST_STD = 2 * 0.1307 - 1, 2 * 0.3081


def gpu_seconds(settings: Sampling) -> int:
    """The ZeroGPU time one run asks for: ~30 ms per network evaluation on a shared GPU (Heun makes two a
    step, guidance runs both halves in one batched call) plus 5 s to start, at most 120 s."""
    evaluations = settings.steps * (2 if settings.sampler == "heun" else 1)
    return int(min(120, 5 + np.ceil(0.03 * evaluations)))


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


@dataclass
class Trajectory:
    """What a reverse run did, step k = 0 .. K-1. Arrays are float16 (K, N, 28, 28), model space."""

    settings: dict
    labels: list
    device: str
    t: list = field(default_factory=list)  # network timestep of step k (fractional for Euler/Heun)
    t_next: list = field(default_factory=list)  # where step k lands; -1 is the clean image
    alpha_bar: list = field(default_factory=list)  # alpha_bar at t
    alpha_bar_next: list = field(default_factory=list)
    nfe: list = field(default_factory=list)  # network passes so far (a guided evaluation costs two)
    ms: list = field(default_factory=list)  # wall time of step k
    x_t: list = field(default_factory=list)  # each (N, 28, 28): the step's input
    eps: list = field(default_factory=list)  # predicted noise
    x0: list = field(default_factory=list)  # predicted clean image
    x_next: list = field(default_factory=list)  # the step's output
    x_T: np.ndarray | None = None  # (N, 28, 28) the starting noise
    done: bool = False
    reused: float = 0.0  # share of its network rows so far answered from the batcher's cache (an identical recent run)

    @property
    def num_steps(self) -> int:
        return len(self.t)

    def record(self, rec, ms: float, passes: int, reused: float = 0.0) -> None:
        """Append one sampler `StepRecord` (network passes so far: `passes`; `reused`: the share of the
        run's network rows so far that the batcher's cache answered)."""
        self.ms.append(ms)
        self.reused = float(reused)
        self.t.append(float(rec.t))
        self.t_next.append(float(rec.t_next))
        self.alpha_bar.append(float(rec.alpha_bar))
        self.alpha_bar_next.append(float(rec.alpha_bar_next))
        self.nfe.append(passes)
        for name in ("x_t", "eps", "x0", "x_next"):
            getattr(self, name).append(_np16(getattr(rec, name)))
        self.done = rec.step == rec.num_steps - 1

    @property
    def nbytes(self) -> int:
        """Memory held by the recorded arrays."""
        return sum(a.nbytes for name in ("x_t", "eps", "x0", "x_next") for a in getattr(self, name))

    def final(self) -> np.ndarray:
        """(N, 28, 28) float32: the last output (x_T when no step ran)."""
        return np.asarray(self.x_next[-1] if self.x_next else self.x_T, dtype=np.float32)

    def step_arrays(self, k: int) -> dict:
        """float32 (N, 28, 28) arrays of step k (clamped into range)."""
        k = int(min(max(k, 0), self.num_steps - 1))
        return {name: np.asarray(getattr(self, name)[k], dtype=np.float32) for name in ("x_t", "eps", "x0", "x_next")}


def _np16(x: torch.Tensor) -> np.ndarray:
    return x[:, 0].detach().to("cpu", torch.float16).numpy()  # (N, 28, 28); torch converts faster than numpy


# Generations running now, for the tests and the benchmarks (not per-user state: a number).
_active = {"runs": 0}
_lock = threading.Lock()


def active_runs() -> int:
    return _active["runs"]


def denoise(settings: Sampling, pre: Pretrained | None = None, device: torch.device | None = None):
    """Generator: yields the Trajectory first with x_T only, then after every step. Stopping the
    iteration (closing the generator) stops the computation."""
    device = torch.device(device or runtime.pick_device())
    pre = pre or loaded("dit", device)
    labels = labels_for(settings, pre.model.config.num_classes)
    x = start_noise(settings.seed, settings.images).to(device)
    y = torch.as_tensor(labels, device=device)
    traj = Trajectory(settings.to_dict(), labels.tolist(), runtime.device_name(device), x_T=_np16(x))
    g = torch.Generator().manual_seed(int(settings.seed) + 1)  # DDPM / DDIM eta > 0 noise

    with _lock:
        _active["runs"] += 1
    try:
        with app_batcher(pre, device).priority():  # the others wait until this run's first frame is out
            yield traj
        with app_denoiser(pre, settings.guidance, device, settings.guidance_min_t, settings.guidance_max_t) as (schedule, guided):
            grid = step_grid(settings.sampler, schedule, settings.steps, settings.spacing)
            steps = sampler_steps(settings.sampler, guided, x, grid, {"y": y}, generator=g, eta=settings.eta, clip_x0=1.0)
            while True:
                start = time.perf_counter()
                with torch.no_grad():  # per step: the caller may resume this generator on another thread
                    rec = next(steps, None)
                if rec is None:
                    break
                runtime.synchronize(device)
                traj.record(rec, (time.perf_counter() - start) * 1000, guided.passes, guided.reused_share)
                yield traj
    finally:
        with _lock:
            _active["runs"] -= 1


def run_trajectory(settings: Sampling, pre: Pretrained | None = None, device: torch.device | None = None) -> Trajectory:
    """Plain form of `denoise`: the finished trajectory."""
    traj = None
    for traj in denoise(settings, pre, device):
        pass
    return traj


def predicted_moments(alpha_bar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of x_t over pixels that the forward process predicts for MNIST-like data:
    E[x_t] = sqrt(ab) E[x_0], Var[x_t] = ab Var[x_0] + (1 - ab) (Ho et al. 2020, eq. 4)."""
    ab = np.asarray(alpha_bar, dtype=np.float64)
    return np.sqrt(ab) * MNIST_MEAN, np.sqrt(ab * MNIST_STD**2 + 1 - ab)
