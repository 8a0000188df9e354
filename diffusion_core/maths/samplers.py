"""Samplers over a denoiser callable, in the manner of k-diffusion's `sampling.py`.

A denoiser is any callable `denoiser(x_t, t, **cond) -> eps` taking x_t (N, C, H, W) in the
variance-preserving space of the schedule and t (N,) float32 network timesteps (array index
0 .. T-1, fractional for the Karras samplers), and returning the predicted noise (N, C, H, W).

Every sampler has a generator form `<name>_steps(...)` yielding one `StepRecord` per step (the UI
streams these and may stop early) and a plain form `<name>_sample(...)` returning the final x_0.
They start from a given x_T (N, C, H, W), standard normal, so several samplers can share it.

- DDPM ancestral: Ho et al. 2020, Algorithm 2, with the posterior of eq. 6-7 between the (possibly
  strided) timesteps, variance beta_tilde ("fixed_small"), as diffusers' DDPMScheduler.
- DDIM: Song et al. 2021, eq. 12 (eta = 0 deterministic; eta = 1 matches DDPM's variance).
- DPM-Solver++(2M): Lu et al. 2022, "DPM-Solver++", Algorithm 2 (multistep, data prediction).
- Euler and Heun on Karras sigmas: Karras et al. 2022, Algorithm 1 (Heun's 2nd order, no churn).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from diffusion_core.maths.forward import eps_from_x0, x0_from_eps
from diffusion_core.maths.schedule_makers import karras_sigmas
from diffusion_core.maths.schedules import NoiseSchedule

Denoiser = Callable[..., torch.Tensor]
SPACINGS = ("leading", "trailing", "linspace")
ALPHA_BAR_FLOOR = 2.0**-24  # stands in for alpha_bar = 0 (zero terminal SNR), as diffusers does


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


def make_timesteps(num_train_timesteps: int, num_steps: int, spacing: str = "leading", steps_offset: int = 0) -> np.ndarray:
    """Network timesteps to visit, descending, with diffusers' DDPM/DDIM meaning of the spacing
    (Lin et al. 2023, Table 2): leading = 0, T//n, 2T//n, ... (+ offset); trailing = round(T - k T/n) - 1;
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
        raise ValueError(f"Unknown timestep spacing {spacing!r}; use one of {', '.join(SPACINGS)}.")
    return np.ascontiguousarray(ts).astype(np.int64)


def _noise_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    dev = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=dev, dtype=x.dtype).to(x.device)


def _call(denoiser: Denoiser, x: torch.Tensor, t: float, cond: dict) -> torch.Tensor:
    tt = torch.full((x.shape[0],), float(t), dtype=torch.float32, device=x.device)
    return denoiser(x, tt, **cond)


def _alpha_bar(schedule: NoiseSchedule, t: int) -> float:
    return 1.0 if t < 0 else max(float(schedule.alphas_cumprod[t]), ALPHA_BAR_FLOOR)


def _x0_from_eps(x, eps, ab: float, clip_x0: float | None):
    x0 = x0_from_eps(x, eps, ab)
    return x0.clamp(-clip_x0, clip_x0) if clip_x0 else x0


def final(steps: Iterator[StepRecord]) -> torch.Tensor:
    """Run a step generator to the end and return the last x_next."""
    rec = None
    for rec in steps:
        pass
    if rec is None:
        raise ValueError("The sampler produced no steps.")
    return rec.x_next


# ---------------------------------------------------------------------------- DDIM / DDPM
def ddim_steps(denoiser: Denoiser, x: torch.Tensor, schedule: NoiseSchedule, timesteps, eta: float = 0.0,
               generator: torch.Generator | None = None, clip_x0: float | None = None, **cond) -> Iterator[StepRecord]:
    """DDIM (Song et al. 2021, eq. 12 and 16):
    x_prev = √ᾱ_prev x̂0 + √(1 − ᾱ_prev − s²) ε̂ + s z,  s = η √((1 − ᾱ_prev)/(1 − ᾱ)) √(1 − ᾱ/ᾱ_prev)."""
    if not 0.0 <= eta <= 10.0:
        raise ValueError(f"eta must be between 0 and 10, got {eta}.")
    ts = [int(t) for t in timesteps]
    for i, t in enumerate(ts):
        t_next = ts[i + 1] if i + 1 < len(ts) else -1
        ab, ab_next = _alpha_bar(schedule, t), _alpha_bar(schedule, t_next)
        eps = _call(denoiser, x, t, cond)
        x0 = _x0_from_eps(x, eps, ab, clip_x0)
        if clip_x0:  # keep eps consistent with the clipped x0, as diffusers does
            eps = eps_from_x0(x, x0, ab)
        var = (1 - ab_next) / (1 - ab) * (1 - ab / ab_next)
        std = eta * var**0.5
        x_next = ab_next**0.5 * x0 + max(1 - ab_next - std**2, 0.0) ** 0.5 * eps
        if eta > 0:
            x_next = x_next + std * _noise_like(x, generator)
        yield StepRecord(i, len(ts), t, t_next, ab, ab_next, x, eps, x0, x_next, i + 1)
        x = x_next


def ddim_sample(*args, **kwargs) -> torch.Tensor:
    return final(ddim_steps(*args, **kwargs))


def ddpm_steps(denoiser: Denoiser, x: torch.Tensor, schedule: NoiseSchedule, timesteps,
               generator: torch.Generator | None = None, clip_x0: float | None = None, **cond) -> Iterator[StepRecord]:
    """Ancestral sampling from the posterior q(x_prev | x_t, x0_hat) (Ho et al. 2020, eq. 6-7, Alg. 2),
    between consecutive visited timesteps: mean = c1 x0 + c2 x_t, variance = beta_tilde."""
    ts = [int(t) for t in timesteps]
    for i, t in enumerate(ts):
        t_next = ts[i + 1] if i + 1 < len(ts) else -1
        ab, ab_next = _alpha_bar(schedule, t), _alpha_bar(schedule, t_next)
        alpha, beta = ab / ab_next, 1 - ab / ab_next  # the effective one-step alpha_t, beta_t
        eps = _call(denoiser, x, t, cond)
        x0 = _x0_from_eps(x, eps, ab, clip_x0)
        mean = (ab_next**0.5 * beta / (1 - ab)) * x0 + (alpha**0.5 * (1 - ab_next) / (1 - ab)) * x
        x_next = mean
        if t > 0:
            var = max((1 - ab_next) / (1 - ab) * beta, 1e-20)
            x_next = mean + var**0.5 * _noise_like(x, generator)
        yield StepRecord(i, len(ts), t, t_next, ab, ab_next, x, eps, x0, x_next, i + 1)
        x = x_next


def ddpm_sample(*args, **kwargs) -> torch.Tensor:
    return final(ddpm_steps(*args, **kwargs))


# ---------------------------------------------------------------------------- DPM-Solver++(2M)
def dpmpp_2m_steps(denoiser: Denoiser, x: torch.Tensor, schedule: NoiseSchedule, timesteps,
                   clip_x0: float | None = None, **cond) -> Iterator[StepRecord]:
    """DPM-Solver++(2M) (Lu et al. 2022, Alg. 2) in lambda = log(alpha/sigma), with the data
    prediction x0; first order on the first and the last step (which lands on sigma = 0)."""
    ts = [int(t) for t in timesteps]
    ac = schedule.alphas_cumprod
    sig = [float(np.sqrt((1 - ac[t]) / ac[t])) for t in ts] + [0.0]  # VE sigmas, then 0
    alpha = [1.0 / (s * s + 1) ** 0.5 for s in sig]  # VP alpha_t = sqrt(alpha_bar)
    sigma_vp = [s * a for s, a in zip(sig, alpha)]
    lam = [np.log(a) - np.log(s) if s > 0 else np.inf for a, s in zip(alpha, sigma_vp)]
    prev_x0 = None
    for i, t in enumerate(ts):
        eps = _call(denoiser, x, t, cond)
        x0 = (x - sigma_vp[i] * eps) / alpha[i]
        if clip_x0:
            x0 = x0.clamp(-clip_x0, clip_x0)
        last = i == len(ts) - 1
        if last:
            x_next = x0  # sigma_next = 0: the first-order update lands exactly on x0
        else:
            h = lam[i + 1] - lam[i]
            phi = np.expm1(-h)  # exp(-h) - 1
            d = x0
            if prev_x0 is not None:
                r = (lam[i] - lam[i - 1]) / h
                d = x0 + (x0 - prev_x0) / (2 * r)  # D0 + D1/2, midpoint form
            x_next = (sigma_vp[i + 1] / sigma_vp[i]) * x - alpha[i + 1] * phi * d
        t_next = ts[i + 1] if not last else -1
        ab_next = alpha[i + 1] ** 2
        yield StepRecord(i, len(ts), t, t_next, alpha[i] ** 2, ab_next, x, eps, x0, x_next, i + 1)
        prev_x0, x = x0, x_next


def dpmpp_2m_sample(*args, **kwargs) -> torch.Tensor:
    return final(dpmpp_2m_steps(*args, **kwargs))


# ---------------------------------------------------------------------------- Euler / Heun (Karras)
def karras_schedule_sigmas(schedule: NoiseSchedule, num_steps: int, rho: float = 7.0,
                           sigma_min: float | None = None, sigma_max: float | None = None) -> np.ndarray:
    """EDM sigmas from sigma_max (the schedule's largest, at most 80) down to the schedule's
    smallest, then a final 0: shape (num_steps + 1,)."""
    lo = float(schedule.sigmas[0]) if sigma_min is None else sigma_min
    finite = schedule.sigmas[np.isfinite(schedule.sigmas)]  # zero-terminal-SNR ends at sigma = inf
    # EDM's sigma_max = 80 caps schedules such as cosine (sigma_T ~ 2e4) whose top steps are all noise.
    hi = min(float(finite[-1]), 80.0) if sigma_max is None else sigma_max
    return np.concatenate([karras_sigmas(num_steps, lo, hi, rho), [0.0]])


def _karras_steps(denoiser, x, schedule, num_steps, heun: bool, rho: float, **cond):
    """Euler / Heun on the probability-flow ODE dx/dsigma = (x - D(x; sigma)) / sigma in VE space,
    where x_ve = x_vp sqrt(1 + sigma^2) and D = x_ve - sigma eps (Karras et al. 2022, Alg. 1)."""
    sigmas = karras_schedule_sigmas(schedule, num_steps, rho)
    x_ve = x * (1 + sigmas[0] ** 2) ** 0.5  # the same x_T as the VP samplers, in VE scaling
    nfe = 0

    def eps_at(xv, s):
        nonlocal nfe
        nfe += 1
        c_in = 1.0 / (1 + s * s) ** 0.5
        return _call(denoiser, xv * c_in, float(schedule.index_for_sigma(s)), cond)

    for i in range(num_steps):
        s, s_next = float(sigmas[i]), float(sigmas[i + 1])
        eps = eps_at(x_ve, s)  # = (x - D) / sigma: the ODE's slope
        x0 = x_ve - s * eps
        x_next_ve = x_ve + eps * (s_next - s)
        if heun and s_next > 0:
            eps2 = eps_at(x_next_ve, s_next)
            x_next_ve = x_ve + 0.5 * (eps + eps2) * (s_next - s)
        c, c_next = 1 / (1 + s * s) ** 0.5, 1 / (1 + s_next * s_next) ** 0.5
        t = float(schedule.index_for_sigma(s))
        t_next = float(schedule.index_for_sigma(s_next)) if s_next > 0 else -1.0
        yield StepRecord(i, num_steps, t, t_next, c * c, c_next * c_next, x_ve * c, eps, x0, x_next_ve * c_next, nfe)
        x_ve = x_next_ve


def euler_steps(denoiser: Denoiser, x: torch.Tensor, schedule: NoiseSchedule, num_steps: int, rho: float = 7.0, **cond):
    """Euler's method on Karras sigmas: one network evaluation per step."""
    return _karras_steps(denoiser, x, schedule, num_steps, heun=False, rho=rho, **cond)


def heun_steps(denoiser: Denoiser, x: torch.Tensor, schedule: NoiseSchedule, num_steps: int, rho: float = 7.0, **cond):
    """Heun's 2nd-order method on Karras sigmas: two evaluations per step, one on the last."""
    return _karras_steps(denoiser, x, schedule, num_steps, heun=True, rho=rho, **cond)


def euler_sample(*args, **kwargs) -> torch.Tensor:
    return final(euler_steps(*args, **kwargs))


def heun_sample(*args, **kwargs) -> torch.Tensor:
    return final(heun_steps(*args, **kwargs))


# ---------------------------------------------------------------------------- one entry point
SAMPLERS = ("ddpm", "ddim", "dpm++2m", "euler", "heun")


def sampler_steps(name: str, denoiser: Denoiser, x: torch.Tensor, schedule: NoiseSchedule, num_steps: int,
                  spacing: str = "trailing", eta: float = 0.0, generator: torch.Generator | None = None,
                  clip_x0: float | None = None, **cond) -> Iterator[StepRecord]:
    """The step generator of sampler `name` with `num_steps` steps (what the UI and CLI call)."""
    if name not in SAMPLERS:
        raise ValueError(f"Unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}.")
    if name in ("euler", "heun"):
        if not 1 <= int(num_steps) <= schedule.num_timesteps:
            raise ValueError(f"The number of sampling steps must be between 1 and {schedule.num_timesteps}.")
        fn = euler_steps if name == "euler" else heun_steps
        return fn(denoiser, x, schedule, int(num_steps), **cond)
    ts = make_timesteps(schedule.num_timesteps, num_steps, spacing)
    if name == "ddim":
        return ddim_steps(denoiser, x, schedule, ts, eta=eta, generator=generator, clip_x0=clip_x0, **cond)
    if name == "ddpm":
        return ddpm_steps(denoiser, x, schedule, ts, generator=generator, clip_x0=clip_x0, **cond)
    return dpmpp_2m_steps(denoiser, x, schedule, ts, clip_x0=clip_x0, **cond)


def sample(name: str, *args, **kwargs) -> torch.Tensor:
    """Plain form of `sampler_steps`: the final x_0 (N, C, H, W)."""
    return final(sampler_steps(name, *args, **kwargs))
