"""The reverse process, step by step: settings in, a recorded `Trajectory` out.

`denoise(settings)` is a generator that yields the growing trajectory after every sampler step
(what the app streams); `run_trajectory(settings)` is its plain form. The steps come from the process's
generation backend (`backends.active()`: this process, or a Ray Serve replica) as a stream of
`step_stream.StepFrame`s, recorded here the same way wherever they were computed. The starting noise x_T
depends only on the seed (`step_stream.start_noise`: the first n of 16 draws), so changing the sampler, the
step count or the number of images keeps the same x_T: A/B comparisons are fair.

Everything is recorded in the VP space of the model's schedule (Ho et al. 2020):
x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, images (N, 28, 28) in [-1, 1] at t = 0.
"""
from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field

import numpy as np
import torch

from diffusion_core.networks.pretrained import Pretrained
from diffusion_core.pipelines import backends
from diffusion_core.pipelines.step_stream import ARRAYS, StepFrame, labels_for, start_noise  # noqa: F401 - read here too
from diffusion_core.settings import Sampling

# MNIST pixel statistics (the usual normalisation constants 0.1307 / 0.3081 of [0, 1] pixels),
# mapped to [-1, 1]: what the schedule's moments of x_t are predicted from.
MNIST_MEAN, MNIST_STD = 2 * 0.1307 - 1, 2 * 0.3081


def gpu_seconds(settings: Sampling) -> int:
    """The ZeroGPU time one run asks for: ~30 ms per network evaluation on a shared GPU (Heun makes two a
    step, guidance runs both halves in one batched call) plus 5 s to start, at most 120 s."""
    evaluations = settings.steps * (2 if settings.sampler == "heun" else 1)
    return int(min(120, 5 + np.ceil(0.03 * evaluations)))


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

    def add(self, frame: StepFrame) -> None:
        """Append one step as a backend sent it (`step_stream.StepFrame`)."""
        self.ms.append(frame.ms)
        self.reused = frame.reused
        self.t.append(frame.t)
        self.t_next.append(frame.t_next)
        self.alpha_bar.append(frame.alpha_bar)
        self.alpha_bar_next.append(frame.alpha_bar_next)
        self.nfe.append(frame.passes)
        for name in ARRAYS:
            getattr(self, name).append(getattr(frame, name))
        self.done = frame.done

    @property
    def nbytes(self) -> int:
        """Memory held by the recorded arrays."""
        return sum(a.nbytes for name in ARRAYS for a in getattr(self, name))

    def final(self) -> np.ndarray:
        """(N, 28, 28) float32: the last output (x_T when no step ran)."""
        return np.asarray(self.x_next[-1] if self.x_next else self.x_T, dtype=np.float32)

    def step_arrays(self, k: int) -> dict:
        """float32 (N, 28, 28) arrays of step k (clamped into range)."""
        k = int(min(max(k, 0), self.num_steps - 1))
        return {name: np.asarray(getattr(self, name)[k], dtype=np.float32) for name in ARRAYS}


# Generations running now, for the tests and the benchmarks (not per-user state: a number).
_active = {"runs": 0}
_lock = threading.Lock()


def active_runs() -> int:
    return _active["runs"]


def denoise(settings: Sampling, pre: Pretrained | None = None, device: torch.device | None = None):
    """Generator: yields the Trajectory first with x_T only, then after every step. The steps come from
    `pre` on `device` in this process when either is given, else from the process's backend (`backends.active()`).
    Stopping the iteration (closing the generator) stops the computation, wherever it runs."""
    source = backends.LocalBackend(pre, device) if pre is not None or device is not None else backends.active()
    stream = source.steps(settings)
    with contextlib.closing(stream), _counted():
        head = next(stream)
        traj = Trajectory(settings.to_dict(), list(head.labels), head.device, x_T=head.x_T)
        yield traj  # the run's first frame (x_T) goes out before the shared batcher serves its next round
        for frame in stream:
            traj.add(frame)
            yield traj


@contextlib.contextmanager
def _counted():
    with _lock:
        _active["runs"] += 1
    try:
        yield
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
