"""The forward (noising) process and the conversions between eps, x0 and v.

Timesteps here are paper steps t in 0 .. T with t = 0 the clean data (Ho et al. 2020 numbering);
a schedule's arrays are indexed by t - 1. Works on torch tensors (any float dtype, any device) and
on numpy arrays; coefficients are computed in float64 then cast to the input's dtype.

- q(x_t | x_0)     = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)                 Ho et al. 2020, eq. 4
- q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, (1 - alpha_t) I)                       Ho et al. 2020, eq. 2
- q(x_{t-1} | x_t, x_0) = N(mu_tilde, beta_tilde I)                                   Ho et al. 2020, eq. 6-7
- x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)                         Ho et al. 2020, eq. 4 solved
- v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0                               Salimans & Ho 2022, sec. 4
"""
from __future__ import annotations

import numpy as np
import torch

from diffusion_core.maths.schedules import NoiseSchedule


def _coef(values: np.ndarray, like):
    """Per-sample coefficients broadcast against `like` (N, ...) or a scalar t."""
    values = np.asarray(values, dtype=np.float64)
    if isinstance(like, torch.Tensor):
        c = torch.as_tensor(values, dtype=like.dtype, device=like.device)
    else:
        c = values.astype(np.asarray(like).dtype if np.asarray(like).dtype.kind == "f" else np.float64)
    if c.ndim == 1:
        c = c.reshape((-1,) + (1,) * (like.ndim - 1))
    return c


def _steps(schedule: NoiseSchedule, t, low: int = 0) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    t = np.asarray(t)
    if t.dtype.kind not in "iu":
        if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
            raise ValueError("Timesteps must be whole numbers.")
        t = t.astype(np.int64)
    if np.any(t < low) or np.any(t > schedule.num_timesteps):
        raise ValueError(f"Timestep t must lie in {low} .. {schedule.num_timesteps}.")
    return t


def alpha_bar_of(schedule: NoiseSchedule, t) -> np.ndarray:
    """alpha_bar at integer paper steps t (alpha_bar_0 = 1)."""
    full = np.concatenate([[1.0], schedule.alphas_cumprod])
    return full[_steps(schedule, t)]


def q_sample(schedule: NoiseSchedule, x0, t, noise):
    """Sample x_t ~ q(x_t | x_0) given the noise: sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise.
    x0, noise: (N, ...) or any shape when t is a scalar; t: int or (N,) ints in 0 .. T."""
    ab = alpha_bar_of(schedule, t)
    return _coef(np.sqrt(ab), x0) * x0 + _coef(np.sqrt(1.0 - ab), x0) * noise


def q_step(schedule: NoiseSchedule, x_prev, t, noise):
    """One forward step x_{t-1} -> x_t ~ q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I), t in 1 .. T."""
    i = _steps(schedule, t, low=1) - 1
    a = schedule.alphas[i]
    return _coef(np.sqrt(a), x_prev) * x_prev + _coef(np.sqrt(1.0 - a), x_prev) * noise


def q_step_alpha(x_prev, alpha: float, noise):
    """One step with an arbitrary alpha_t in (0, 1]: sqrt(alpha) x_prev + sqrt(1 - alpha) noise."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha_t must lie in (0, 1], got {alpha}.")
    return alpha**0.5 * x_prev + (1 - alpha) ** 0.5 * noise


def q_posterior(schedule: NoiseSchedule, x0, x_t, t):
    """Mean and variance of q(x_{t-1} | x_t, x_0) for t in 1 .. T (Ho et al. 2020, eq. 6-7).
    Returns (mean like x_t, variance: float64 array of shape (N,) or scalar)."""
    i = _steps(schedule, t, low=1) - 1
    mean = _coef(schedule.posterior_mean_coef1[i], x_t) * x0 + _coef(schedule.posterior_mean_coef2[i], x_t) * x_t
    return mean, schedule.posterior_variance[i]


def predict_x0_from_eps(schedule: NoiseSchedule, x_t, t, eps):
    """x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t). Undefined where alpha_bar_t = 0."""
    ab = alpha_bar_of(schedule, t)
    if np.any(ab <= 0):
        raise ValueError("alpha_bar_t is 0 here (zero terminal SNR): x0 cannot be recovered from eps.")
    return (x_t - _coef(np.sqrt(1.0 - ab), x_t) * eps) / _coef(np.sqrt(ab), x_t)


def predict_eps_from_x0(schedule: NoiseSchedule, x_t, t, x0):
    """eps = (x_t - sqrt(alpha_bar_t) x0) / sqrt(1 - alpha_bar_t), for t >= 1."""
    ab = alpha_bar_of(schedule, _steps(schedule, t, low=1))
    return (x_t - _coef(np.sqrt(ab), x_t) * x0) / _coef(np.sqrt(1.0 - ab), x_t)


def v_from_eps_x0(schedule: NoiseSchedule, t, eps, x0):
    """v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x0 (Salimans & Ho 2022)."""
    ab = alpha_bar_of(schedule, t)
    return _coef(np.sqrt(ab), eps) * eps - _coef(np.sqrt(1.0 - ab), eps) * x0


def x0_from_v(schedule: NoiseSchedule, x_t, t, v):
    """x_0 = sqrt(alpha_bar_t) x_t - sqrt(1 - alpha_bar_t) v."""
    ab = alpha_bar_of(schedule, t)
    return _coef(np.sqrt(ab), x_t) * x_t - _coef(np.sqrt(1.0 - ab), x_t) * v


def eps_from_v(schedule: NoiseSchedule, x_t, t, v):
    """eps = sqrt(1 - alpha_bar_t) x_t + sqrt(alpha_bar_t) v."""
    ab = alpha_bar_of(schedule, t)
    return _coef(np.sqrt(1.0 - ab), x_t) * x_t + _coef(np.sqrt(ab), x_t) * v
