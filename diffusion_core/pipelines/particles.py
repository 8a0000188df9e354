"""The score lab's reverse process: 2D particles moved from N(0, I) to the data by the image model's
samplers, and the learned score held against the exact one.

The samplers are `maths.samplers`' (the same functions as the DiT's): DDPM is a discretisation of the
reverse SDE, DDIM with eta = 0 of the probability-flow ODE (Song et al. 2021, "Score-Based Generative
Modeling through SDEs", eq. 6 and 13), eta in between mixes the two; DPM-Solver++(2M), Euler and Heun
solve the ODE. Every particle starts from the seed's x_T, so switching the sampler compares paths from
the same start points.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import torch

from diffusion_core.maths.guidance import CFGDenoiser
from diffusion_core.maths.samplers import sampler_steps, step_grid
from diffusion_core.maths.schedules import NoiseSchedule
from diffusion_core.maths.score import mixture_score, score_from_eps
from diffusion_core.networks.threads import on_one_thread, one_thread_steps

MAX_PARTICLES = 4000


def start_points(n: int, seed: int) -> torch.Tensor:
    """x_T ~ N(0, I): (n, 2) float32, fixed by the seed."""
    if not 1 <= int(n) <= MAX_PARTICLES:
        raise ValueError(f"The number of particles must be between 1 and {MAX_PARTICLES}, got {n}.")
    return torch.randn(int(n), 2, generator=torch.Generator().manual_seed(int(seed)))


def particle_path_steps(model: Callable, schedule: NoiseSchedule, sampler: str = "ddim", steps: int = 50, eta: float = 0.0,
                        n: int = 500, seed: int = 0, label: int | None = None, guidance: float = 1.0,
                        null_label: int = 8, clip_x0: float | None = 4.0) -> Iterator[dict]:
    """The step-by-step form of `particle_paths` (what the score lab streams; each step on one thread, see
    `networks.threads`): after each step, the run so far, {"paths": (k + 1, n, 2), "t": the whole grid
    (K + 1,), "x0_hat": (k, n, 2)}; the last is the whole run. The arrays are views of one buffer filled
    as it goes: copy what must outlive the next step."""
    return one_thread_steps(_paths_as_they_go(model, schedule, sampler, steps, eta, n, seed, label, guidance, null_label, clip_x0))


@torch.no_grad()  # (torch's decorator sets the mode around each step: a server may run each on another thread)
def _paths_as_they_go(model, schedule, sampler, steps, eta, n, seed, label, guidance, null_label, clip_x0) -> Iterator[dict]:
    x = start_points(n, seed)
    grid = step_grid(sampler, schedule, int(steps), "trailing")
    y = torch.full((len(x),), null_label if label is None else int(label), dtype=torch.long)
    den = CFGDenoiser(model, guidance if label is not None else 1.0, null_label=null_label)
    K = len(grid.t) - 1
    paths, x0s = np.empty((K + 1, len(x), 2), np.float32), np.empty((K, len(x), 2), np.float32)
    paths[0] = x.numpy()
    gen = torch.Generator().manual_seed(int(seed) + 1)
    for k, rec in enumerate(sampler_steps(sampler, den, x, grid, {"y": y}, generator=gen, eta=float(eta),
                                          clip_x0=clip_x0), start=1):
        paths[k], x0s[k - 1] = rec.x_next.numpy(), rec.x0.numpy()
        yield {"paths": paths[: k + 1], "t": grid.t, "x0_hat": x0s[:k]}


def particle_paths(model: Callable, schedule: NoiseSchedule, sampler: str = "ddim", steps: int = 50, eta: float = 0.0,
                   n: int = 500, seed: int = 0, label: int | None = None, guidance: float = 1.0,
                   null_label: int = 8, clip_x0: float | None = 4.0) -> dict:
    """Run a sampler on n particles. `model(x, t, y) -> eps`; `label` None draws from the unconditional
    model, else from class `label` with classifier-free guidance `guidance`. `clip_x0` bounds each step's x̂0
to the plane (as diffusers' `clip_sample`): where ᾱ_T is ~0 the first steps' x̂0 = (x − sqrt(1 − ᾱ) ε̂) / sqrt(ᾱ)
multiplies a learned ε̂'s small error by up to 1 / sqrt(ᾱ_T).
    Returns {"paths": (K + 1, n, 2) float32 positions (x_T first), "t": (K + 1,) the grid's timesteps
    (-1 last: the clean data), "x0_hat": (K, n, 2) each step's predicted x̂0}."""
    run = None
    for run in particle_path_steps(model, schedule, sampler, steps, eta, n, seed, label, guidance, null_label, clip_x0):
        pass
    return run


@on_one_thread
def learned_score(model: Callable, x: np.ndarray, schedule: NoiseSchedule, t: int, label: int | None = None,
                  guidance: float = 1.0, null_label: int = 8) -> np.ndarray:
    """The score the network stands for at timestep t: −ε_θ(x, t) / sqrt(1 − ᾱ_t), (N, 2) float64,
    unconditional (label None) or for class `label` with guidance `guidance`."""
    ab = float(schedule.alpha_bar(int(t)))
    xt = torch.as_tensor(np.asarray(x, np.float32))
    y = torch.full((len(xt),), null_label if label is None else int(label), dtype=torch.long)
    den = CFGDenoiser(model, guidance if label is not None else 1.0, null_label=null_label)
    with torch.no_grad():
        eps = den(xt, torch.full((len(xt),), float(t)), y=y).double().numpy()
    return score_from_eps(eps, ab)


def score_error(model: Callable, points: np.ndarray, schedule: NoiseSchedule, t: int, n: int = 512, seed: int = 0) -> float:
    """Relative error of the learned score at t where the noised data lives: E|s_θ − s|² / E|s|², over
    n points of p_t (data points noised to t)."""
    rng = np.random.default_rng(seed)
    ab = float(schedule.alpha_bar(int(t)))
    x0 = np.asarray(points, np.float64)[rng.integers(0, len(points), n)]
    xt = np.sqrt(ab) * x0 + np.sqrt(1 - ab) * rng.standard_normal(x0.shape)
    exact = mixture_score(xt, points, ab)
    learned = learned_score(model, xt, schedule, t)
    return float(((learned - exact) ** 2).sum(1).mean() / max((exact ** 2).sum(1).mean(), 1e-12))


@on_one_thread
def score_error_curve(model: Callable, points: np.ndarray, schedule: NoiseSchedule, count: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """(timesteps (count,), relative score error at each): how well the network learned the score across t."""
    ts = np.unique(np.linspace(0, schedule.num_timesteps - 1, count).round().astype(int))
    return ts, np.array([score_error(model, points, schedule, int(t), n=256, seed=int(t)) for t in ts])
