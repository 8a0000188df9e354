"""Samplers over a denoiser callable, with k-diffusion's one signature:

    <name>_steps(denoiser, x, grid, cond=None, generator=None, eta=0.0, clip_x0=None) -> Iterator[StepRecord]

- `denoiser(x_t, t, **cond) -> eps`: x_t (N, C, H, W) in the variance-preserving space of the schedule,
  t (N,) float32 network timesteps (index 0 .. T-1, fractional on a Karras grid), the predicted noise out.
- `x`: x_T (N, C, H, W), standard normal, so several samplers can start from the same noise.
- `grid`: the noise levels to visit, built outside the sampler by one function, `step_grid` (K steps
  visit K + 1 levels, the last the clean image); `cond`: the conditioning (e.g. {"y": labels}).
- `generator` and `eta` serve the stochastic samplers (DDPM; DDIM with eta > 0); `clip_x0` clips the
  VP samplers' x̂0 to [-clip_x0, clip_x0] as diffusers' `clip_sample` does.
Each yields one `StepRecord` per step (what the reverse tab streams; closing it stops the work);
`sample(name, ...)` is the plain form, returning the final x_0. `STEPPERS` maps each name to its function.

- DDPM ancestral: Ho et al. 2020, Algorithm 2, with the posterior of eq. 6-7 between the (possibly
  strided) timesteps, variance beta_tilde ("fixed_small"), as diffusers' DDPMScheduler.
- DDIM: Song, Meng & Ermon 2021, eq. 12 (eta = 0 deterministic; eta = 1 matches DDPM's variance).
- DPM-Solver++(2M): Lu et al. 2022, "DPM-Solver++", Algorithm 2 (multistep, data prediction).
- Euler and Heun on Karras sigmas: Karras et al. 2022, Algorithm 1 (Heun's 2nd order, no churn).

Notation (variable -> paper -> what the reverse tab shows), in diffusers' manner:
- x           -> x_t                                -> "x_t", the step's input
- eps         -> ε_θ(x_t, t)                        -> "predicted noise ε̂"
- x0          -> x̂_0 = (x_t − √(1−ᾱ_t) ε̂) / √ᾱ_t    -> "predicted x̂₀" (DDIM eq. 9: f_θ(x_t))
- x_next      -> x_{t−1}, the next level's x         -> the next step's x_t; x_next − x is "update"
- ab, ab_next -> ᾱ_t, ᾱ_{t−1} (`alphas_cumprod`)
- std         -> σ_t(η) (DDIM eq. 16)
- sigma       -> σ = √((1 − ᾱ)/ᾱ), the VE noise level (Karras et al.; x_ve = x_t / √ᾱ)
- lam         -> λ = log(α/σ_vp) = log √(ᾱ/(1 − ᾱ)) (DPM-Solver's half log-SNR)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from diffusion_core.maths.forward import eps_from_x0, x0_from_eps
from diffusion_core.maths.schedule_makers import karras_sigmas
from diffusion_core.maths.schedules import CLEAN, NoiseSchedule

Denoiser = Callable[..., torch.Tensor]
TIMESTEP_SPACINGS = ("leading", "trailing", "linspace")  # diffusers' `timestep_spacing`
SPACINGS = TIMESTEP_SPACINGS + ("karras",)
KARRAS_ONLY = ("euler", "heun")  # ODE solvers in sigma: always on a Karras grid
ALPHA_BAR_FLOOR = 2.0**-24  # stands in for alpha_bar = 0 (zero terminal SNR), as diffusers does
KARRAS_SIGMA_MAX = 80.0  # EDM's sigma_max: caps schedules such as cosine (sigma_T ~ 2e4) whose top steps are all noise


@dataclass(frozen=True)
class StepGrid:
    """The noise levels a sampler visits, from x_T's down to the clean image: K steps, K + 1 levels."""

    t: np.ndarray  # (K + 1,) float64 network timesteps, descending; t[K] = CLEAN (-1), the clean image
    alpha_bar: np.ndarray  # (K + 1,) ᾱ at each level (at least ALPHA_BAR_FLOOR); ᾱ[K] = 1
    sigma: np.ndarray  # (K + 1,) VE noise level √((1 − ᾱ)/ᾱ); σ[K] = 0

    @property
    def num_steps(self) -> int:
        return len(self.t) - 1


@dataclass
class StepRecord:
    """What one sampling step saw and did. Tensors are (N, C, H, W) in the VP space."""

    step: int  # 0-based position in the loop
    num_steps: int
    t: float  # network timestep of this step (index, 0 .. T-1)
    t_next: float  # the next one; -1 means the clean image
    alpha_bar: float  # alpha_bar at t
    alpha_bar_next: float  # alpha_bar at t_next (1 for the clean image)
    x_t: torch.Tensor  # input of the step
    eps: torch.Tensor  # predicted noise
    x0: torch.Tensor  # predicted clean image
    x_next: torch.Tensor  # output of the step
    nfe: int  # network evaluations so far


# ---------------------------------------------------------------------------- step grids
def make_timesteps(num_train_timesteps: int, num_steps: int, spacing: str = "leading", steps_offset: int = 0) -> np.ndarray:
    """Network timesteps to visit, descending, with diffusers' DDPM/DDIM meaning of the spacing
    (Lin et al. 2024, Table 2): leading = 0, T//n, 2T//n, ... (+ offset); trailing = round(T - k T/n) - 1;
    linspace = round(linspace(0, T-1, n))."""
    T, n = int(num_train_timesteps), int(num_steps)
    if not 1 <= n <= T:
        raise ValueError(f"The number of sampling steps must be between 1 and T = {T}, got {num_steps}.")
    if spacing == "linspace":
        ts = np.linspace(0, T - 1, n).round()[::-1]
    elif spacing == "leading":
        ts = (np.arange(0, n) * (T // n)).round()[::-1] + steps_offset
    elif spacing == "trailing":
        ts = np.round(np.arange(T, 0, -T / n)) - 1
    else:
        raise ValueError(f"Unknown timestep spacing {spacing!r}; use one of {', '.join(TIMESTEP_SPACINGS)}.")
    return np.ascontiguousarray(ts).astype(np.int64)


def timestep_grid(schedule: NoiseSchedule, timesteps) -> StepGrid:
    """The grid of given integer timesteps (descending), then the clean image."""
    ts = np.asarray(timesteps, dtype=np.int64)
    if ts.ndim != 1 or not len(ts) or np.any(ts < 0) or np.any(ts >= schedule.num_timesteps) or np.any(np.diff(ts) >= 0):
        raise ValueError(f"Timesteps must be distinct, descending and within 0 .. {schedule.num_timesteps - 1}.")
    ab = np.append(np.maximum(schedule.alphas_cumprod[ts], ALPHA_BAR_FLOOR), 1.0)
    return StepGrid(np.append(ts.astype(np.float64), float(CLEAN)), ab, np.sqrt((1.0 - ab) / ab))


def karras_grid(schedule: NoiseSchedule, num_steps: int, rho: float = 7.0) -> StepGrid:
    """EDM's sigmas (Karras et al. 2022, eq. 5) from the schedule's largest finite sigma (at most
    KARRAS_SIGMA_MAX) down to its smallest, then 0; each at its fractional network timestep."""
    finite = schedule.sigmas[np.isfinite(schedule.sigmas)]  # zero-terminal-SNR ends at sigma = inf
    hi = min(float(finite[-1]), KARRAS_SIGMA_MAX)
    sigma = np.append(karras_sigmas(int(num_steps), float(schedule.sigmas[0]), hi, rho), 0.0)
    t = np.append(schedule.index_for_sigma(sigma[:-1]), float(CLEAN))
    return StepGrid(t, 1.0 / (1.0 + sigma**2), sigma)


def step_grid(sampler: str, schedule: NoiseSchedule, num_steps: int, spacing: str = "trailing") -> StepGrid:
    """The one place a sampler's noise levels are chosen: Euler and Heun (and `spacing="karras"`) on
    Karras sigmas, the others on the timesteps of `spacing`."""
    if sampler not in STEPPERS:
        raise ValueError(f"Unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}.")
    if spacing not in SPACINGS:
        raise ValueError(f"Unknown timestep spacing {spacing!r}; use one of {', '.join(SPACINGS)}.")
    if not 1 <= int(num_steps) <= schedule.num_timesteps:
        raise ValueError(f"The number of sampling steps must be between 1 and {schedule.num_timesteps}, got {num_steps}.")
    if sampler in KARRAS_ONLY or spacing == "karras":
        return karras_grid(schedule, int(num_steps))
    return timestep_grid(schedule, make_timesteps(schedule.num_timesteps, num_steps, spacing))


# ---------------------------------------------------------------------------- shared pieces
def _noise_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    dev = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=dev, dtype=x.dtype).to(x.device)


def _call(denoiser: Denoiser, x: torch.Tensor, t: float, cond: dict | None) -> torch.Tensor:
    tt = torch.full((x.shape[0],), float(t), dtype=torch.float32, device=x.device)
    return denoiser(x, tt, **(cond or {}))


def _record(grid: StepGrid, i: int, x, eps, x0, x_next, nfe: int) -> StepRecord:
    return StepRecord(i, grid.num_steps, float(grid.t[i]), float(grid.t[i + 1]), float(grid.alpha_bar[i]),
                      float(grid.alpha_bar[i + 1]), x, eps, x0, x_next, nfe)


def final(steps: Iterator[StepRecord]) -> torch.Tensor:
    """Run a step generator to the end and return the last x_next."""
    rec = None
    for rec in steps:
        pass
    if rec is None:
        raise ValueError("The sampler produced no steps.")
    return rec.x_next


# ---------------------------------------------------------------------------- the samplers
def ddim_steps(denoiser: Denoiser, x: torch.Tensor, grid: StepGrid, cond: dict | None = None,
               generator: torch.Generator | None = None, eta: float = 0.0, clip_x0: float | None = None) -> Iterator[StepRecord]:
    """DDIM (Song, Meng & Ermon 2021, eq. 12 and 16):
    x_prev = √ᾱ_prev x̂0 + √(1 − ᾱ_prev − s²) ε̂ + s z,  s = η √((1 − ᾱ_prev)/(1 − ᾱ)) √(1 − ᾱ/ᾱ_prev)."""
    if not 0.0 <= eta <= 10.0:
        raise ValueError(f"eta must be between 0 and 10, got {eta}.")
    for i in range(grid.num_steps):
        ab, ab_next = float(grid.alpha_bar[i]), float(grid.alpha_bar[i + 1])
        # 1. x_t: this step's input, at t = grid.t[i]
        # 2. predicted noise ε̂ = ε_θ(x_t, t)
        eps = _call(denoiser, x, grid.t[i], cond)
        # 3. predicted x̂0 (eq. 12's "predicted x_0"); when clipped, ε̂ is made consistent with it, as diffusers does
        x0 = x0_from_eps(x, eps, ab)
        if clip_x0:
            x0 = x0.clamp(-clip_x0, clip_x0)
            eps = eps_from_x0(x, x0, ab)
        # 4. update: x_next = √ᾱ_next x̂0 + "direction pointing to x_t" + σ_t(η) z (eq. 12, 16)
        std = eta * ((1 - ab_next) / (1 - ab) * (1 - ab / ab_next)) ** 0.5
        x_next = ab_next**0.5 * x0 + max(1 - ab_next - std**2, 0.0) ** 0.5 * eps
        if eta > 0:
            x_next = x_next + std * _noise_like(x, generator)
        yield _record(grid, i, x, eps, x0, x_next, i + 1)
        x = x_next


def ddpm_steps(denoiser: Denoiser, x: torch.Tensor, grid: StepGrid, cond: dict | None = None,
               generator: torch.Generator | None = None, eta: float = 0.0, clip_x0: float | None = None) -> Iterator[StepRecord]:
    """Ancestral sampling from the posterior q(x_prev | x_t, x̂0) (Ho et al. 2020, eq. 6-7, Alg. 2) between
    consecutive levels of the grid: mean = c1 x̂0 + c2 x_t, variance beta_tilde. (`eta` is DDIM's; unused.)"""
    for i in range(grid.num_steps):
        ab, ab_next = float(grid.alpha_bar[i]), float(grid.alpha_bar[i + 1])
        alpha, beta = ab / ab_next, 1 - ab / ab_next  # the effective one-step alpha_t, beta_t
        # 1. x_t: this step's input; 2. predicted noise ε̂ = ε_θ(x_t, t)
        eps = _call(denoiser, x, grid.t[i], cond)
        # 3. predicted x̂0
        x0 = x0_from_eps(x, eps, ab)
        if clip_x0:
            x0 = x0.clamp(-clip_x0, clip_x0)
        # 4. update: the posterior mean (eq. 7), plus beta_tilde noise except on the step from t = 0
        x_next = (ab_next**0.5 * beta / (1 - ab)) * x0 + (alpha**0.5 * (1 - ab_next) / (1 - ab)) * x
        if grid.t[i] > 0:
            x_next = x_next + max((1 - ab_next) / (1 - ab) * beta, 1e-20) ** 0.5 * _noise_like(x, generator)
        yield _record(grid, i, x, eps, x0, x_next, i + 1)
        x = x_next


def dpmpp_2m_steps(denoiser: Denoiser, x: torch.Tensor, grid: StepGrid, cond: dict | None = None,
                   generator: torch.Generator | None = None, eta: float = 0.0, clip_x0: float | None = None) -> Iterator[StepRecord]:
    """DPM-Solver++(2M) (Lu et al. 2022, Alg. 2) in lambda = log(alpha/sigma) with the data prediction x̂0;
    first order on the first step and on the last (which lands on sigma = 0). Deterministic."""
    alpha, sigma_vp = np.sqrt(grid.alpha_bar), np.sqrt(1.0 - grid.alpha_bar)  # VP: x_t = alpha x0 + sigma_vp eps
    with np.errstate(divide="ignore"):
        lam = np.log(alpha) - np.log(sigma_vp)  # +inf at the clean end
    prev_x0 = None
    for i in range(grid.num_steps):
        # 1. x_t: this step's input; 2. predicted noise ε̂ = ε_θ(x_t, t)
        eps = _call(denoiser, x, grid.t[i], cond)
        # 3. predicted x̂0 = (x_t − σ ε̂) / α: the data prediction the solver steps with
        x0 = (x - sigma_vp[i] * eps) / alpha[i]
        if clip_x0:
            x0 = x0.clamp(-clip_x0, clip_x0)
        # 4. update: x_next = (σ_next/σ) x_t − α_next (e^{−h} − 1) D, D = x̂0 + (x̂0 − x̂0_prev)/(2r) (second order)
        if i == grid.num_steps - 1:
            x_next = x0  # sigma_next = 0: the first-order update lands exactly on x̂0
        else:
            h = lam[i + 1] - lam[i]
            d = x0 if prev_x0 is None else x0 + (x0 - prev_x0) / (2 * (lam[i] - lam[i - 1]) / h)
            x_next = (sigma_vp[i + 1] / sigma_vp[i]) * x - alpha[i + 1] * np.expm1(-h) * d
        yield _record(grid, i, x, eps, x0, x_next, i + 1)
        prev_x0, x = x0, x_next


def _karras_steps(denoiser, x, grid: StepGrid, cond, heun: bool) -> Iterator[StepRecord]:
    """Euler / Heun on the probability-flow ODE dx/dσ = (x − D(x; σ)) / σ in VE space, where
    x_ve = x_t √(1 + σ²) and D = x_ve − σ ε̂ (Karras et al. 2022, Alg. 1)."""
    sigma, scale = grid.sigma, np.sqrt(grid.alpha_bar)  # x_t = x_ve · √ᾱ
    x_ve = x / scale[0]  # the same x_T as the VP samplers, in VE scaling
    nfe = 0

    def slope(xv, k):  # ε̂ at level k: the ODE's slope (x − D) / σ
        nonlocal nfe
        nfe += 1
        return _call(denoiser, xv * scale[k], grid.t[k], cond)

    for i in range(grid.num_steps):
        s, s_next = float(sigma[i]), float(sigma[i + 1])
        # 1. x_t = x_ve √ᾱ; 2. predicted noise ε̂
        eps = slope(x_ve, i)
        # 3. predicted x̂0 = D(x; σ) = x_ve − σ ε̂
        x0 = x_ve - s * eps
        # 4. update: an Euler step in σ; Heun averages the slope with the one at σ_next (not onto σ = 0)
        x_next_ve = x_ve + eps * (s_next - s)
        if heun and s_next > 0:
            x_next_ve = x_ve + 0.5 * (eps + slope(x_next_ve, i + 1)) * (s_next - s)
        yield _record(grid, i, x_ve * scale[i], eps, x0, x_next_ve * scale[i + 1], nfe)
        x_ve = x_next_ve


def euler_steps(denoiser: Denoiser, x: torch.Tensor, grid: StepGrid, cond: dict | None = None,
                generator: torch.Generator | None = None, eta: float = 0.0, clip_x0: float | None = None) -> Iterator[StepRecord]:
    """Euler's method on the probability-flow ODE: one network evaluation per step. Deterministic; x̂0
    is not clipped (the ODE's slope is the network's own)."""
    return _karras_steps(denoiser, x, grid, cond, heun=False)


def heun_steps(denoiser: Denoiser, x: torch.Tensor, grid: StepGrid, cond: dict | None = None,
               generator: torch.Generator | None = None, eta: float = 0.0, clip_x0: float | None = None) -> Iterator[StepRecord]:
    """Heun's 2nd-order method on the probability-flow ODE: two evaluations per step, one on the last."""
    return _karras_steps(denoiser, x, grid, cond, heun=True)


# ---------------------------------------------------------------------------- one entry point
STEPPERS = {"ddpm": ddpm_steps, "ddim": ddim_steps, "dpm++2m": dpmpp_2m_steps, "euler": euler_steps, "heun": heun_steps}
SAMPLERS = tuple(STEPPERS)


def sampler_steps(name: str, denoiser: Denoiser, x: torch.Tensor, grid: StepGrid, cond: dict | None = None,
                  generator: torch.Generator | None = None, eta: float = 0.0, clip_x0: float | None = None) -> Iterator[StepRecord]:
    """The step generator of sampler `name` over `grid` (from `step_grid`)."""
    if name not in STEPPERS:
        raise ValueError(f"Unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}.")
    return STEPPERS[name](denoiser, x, grid, cond, generator=generator, eta=eta, clip_x0=clip_x0)


def sample(name: str, denoiser: Denoiser, x: torch.Tensor, grid: StepGrid, cond: dict | None = None,
           generator: torch.Generator | None = None, eta: float = 0.0, clip_x0: float | None = None) -> torch.Tensor:
    """Plain form of `sampler_steps`: the final x_0 (N, C, H, W)."""
    return final(sampler_steps(name, denoiser, x, grid, cond, generator, eta, clip_x0))
