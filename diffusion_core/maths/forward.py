"""The forward (noising) process and the conversions between eps, x0 and v: the one place where the
formula of x_t is written. The trainer, the samplers, SDEdit, the eps-MSE curve and the forward tab call
these functions.

Timesteps are the schedule's index t in 0 .. T-1 (see `schedules`), with t = -1 the clean data. Works on
torch tensors (any float dtype, any device) and on numpy arrays; coefficients are computed in float64,
then cast to the input's dtype and broadcast per sample (`_coef`, DiT's `_extract_into_tensor`).

- q(x_t | x_0)     = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)                 Ho et al. 2020, eq. 4
- q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, (1 - alpha_t) I)                       Ho et al. 2020, eq. 2
- q(x_{t-1} | x_t, x_0) = N(mu_tilde, beta_tilde I)                                   Ho et al. 2020, eq. 6-7
- x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)                         Ho et al. 2020, eq. 4 solved
- v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0                               Salimans & Ho 2022, sec. 4
"""
from __future__ import annotations

import numpy as np
import torch

from diffusion_core.maths.schedules import CLEAN, NoiseSchedule


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


def _steps(schedule: NoiseSchedule, t, low: int = CLEAN) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    t = np.asarray(t)
    if t.dtype.kind not in "iu":
        if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
            raise ValueError("Timesteps must be whole numbers.")
        t = t.astype(np.int64)
    if np.any(t < low) or np.any(t > schedule.num_timesteps - 1):
        raise ValueError(f"Timestep t must lie in {low} .. {schedule.num_timesteps - 1}.")
    return t


def alpha_bar_of(schedule: NoiseSchedule, t) -> np.ndarray:
    """alpha_bar at integer timesteps t (-1 .. T-1; alpha_bar = 1 at t = -1, the clean data)."""
    full = np.concatenate([[1.0], schedule.alphas_cumprod])
    return full[_steps(schedule, t) + 1]


def noised(x0, noise, alpha_bar):
    """sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) noise, for alpha_bar a number or one per sample (N,)
    (Ho et al. 2020, eq. 4)."""
    ab = np.asarray(alpha_bar, dtype=np.float64)
    return _coef(np.sqrt(ab), x0) * x0 + _coef(np.sqrt(1 - ab), x0) * noise  # the forward formula


def x0_from_eps(x_t, eps, alpha_bar):
    """(x_t - sqrt(1 - alpha_bar) eps) / sqrt(alpha_bar): eq. 4 solved for x_0, for alpha_bar a number
    or one per sample (N,)."""
    ab = np.asarray(alpha_bar, dtype=np.float64)
    return (x_t - _coef(np.sqrt(1 - ab), x_t) * eps) / _coef(np.sqrt(ab), x_t)  # the same, solved for x_0


def eps_from_x0(x_t, x0, alpha_bar):
    """(x_t - sqrt(alpha_bar) x0) / sqrt(1 - alpha_bar): eq. 4 solved for the noise."""
    ab = np.asarray(alpha_bar, dtype=np.float64)
    return (x_t - _coef(np.sqrt(ab), x_t) * x0) / _coef(np.sqrt(1.0 - ab), x_t)


def q_sample(schedule: NoiseSchedule, x0, t, noise):
    """Sample x_t ~ q(x_t | x_0) given the noise: sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise.
    x0, noise: (N, ...) or any shape when t is a scalar; t: int or (N,) ints in -1 .. T-1."""
    return noised(x0, noise, alpha_bar_of(schedule, t))


def q_step(schedule: NoiseSchedule, x_prev, t, noise):
    """One forward step x_{t-1} -> x_t ~ q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I), t in 0 .. T-1
    (x_{-1} is the clean data)."""
    a = schedule.alphas[_steps(schedule, t, low=0)]
    return _coef(np.sqrt(a), x_prev) * x_prev + _coef(np.sqrt(1.0 - a), x_prev) * noise


def q_step_alpha(x_prev, alpha: float, noise):
    """One step with an arbitrary alpha_t in (0, 1]: sqrt(alpha) x_prev + sqrt(1 - alpha) noise."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha_t must lie in (0, 1], got {alpha}.")
    return alpha**0.5 * x_prev + (1 - alpha) ** 0.5 * noise


def q_posterior(schedule: NoiseSchedule, x0, x_t, t):
    """Mean and variance of q(x_{t-1} | x_t, x_0) for t in 0 .. T-1 (Ho et al. 2020, eq. 6-7).
    Returns (mean like x_t, variance: float64 array of shape (N,) or scalar)."""
    i = _steps(schedule, t, low=0)
    mean = _coef(schedule.posterior_mean_coef1[i], x_t) * x0 + _coef(schedule.posterior_mean_coef2[i], x_t) * x_t
    return mean, schedule.posterior_variance[i]


def predict_x0_from_eps(schedule: NoiseSchedule, x_t, t, eps):
    """x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t). Undefined where alpha_bar_t = 0."""
    ab = alpha_bar_of(schedule, t)
    if np.any(ab <= 0):
        raise ValueError("alpha_bar_t is 0 here (zero terminal SNR): x0 cannot be recovered from eps.")
    return x0_from_eps(x_t, eps, ab)


def predict_eps_from_x0(schedule: NoiseSchedule, x_t, t, x0):
    """eps = (x_t - sqrt(alpha_bar_t) x0) / sqrt(1 - alpha_bar_t), for t >= 0."""
    return eps_from_x0(x_t, x0, alpha_bar_of(schedule, _steps(schedule, t, low=0)))


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
