"""The forward (noising) process and the conversions between eps, x0 and v: the one place where the
formula of x_t is written. The trainer, the samplers, SDEdit, the eps-MSE curve and the forward tab call
these functions.

Timesteps are the schedule's index t in 0 .. T-1 (see `schedules`), with t = -1 the clean data. Works on
torch tensors (any float dtype, any device) and on numpy arrays; coefficients are computed in float64,
then cast to the input's dtype and broadcast per sample (`_coef`, DiT's `_extract_into_tensor`).

`alpha_bar_of` looks a tensor t up on t's own device (a table cached per schedule and device), so
`q_sample`, the trainer's noising, copies nothing to or from the host: on a GPU such a copy waits for every
kernel queued before it and holds the GPU to the pace of Python (before, each training step waited three
times here: t copied to numpy, two coefficients copied back). Its checks are made on the host for CPU
tensors; on CUDA they are device-side asserts (`torch._assert_async`); elsewhere (e.g. MPS) on the host.
The other lookups (`q_step`, `q_posterior`, `predict_eps_from_x0`, the zero-SNR check of
`predict_x0_from_eps`) still read t on the host: sampling and the app call them, not the training step.

- q(x_t | x_0)     = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)                 Ho et al. 2020, eq. 4
- q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, (1 - alpha_t) I)                       Ho et al. 2020, eq. 2
- q(x_{t-1} | x_t, x_0) = N(mu_tilde, beta_tilde I)                                   Ho et al. 2020, eq. 6-7
- x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)                         Ho et al. 2020, eq. 4 solved
- v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0                               Salimans & Ho 2022, sec. 4
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from diffusion_core.maths.schedules import CLEAN, NoiseSchedule


def _f64(values):
    """A number, array or tensor of coefficients in float64: a tensor stays a tensor on its device (float32
    on a device without float64, such as Apple's MPS); anything else becomes a numpy array."""
    if isinstance(values, torch.Tensor):
        return values.to(torch.float32 if values.device.type == "mps" else torch.float64)
    return np.asarray(values, dtype=np.float64)


def _sqrt(values):
    return torch.sqrt(values) if isinstance(values, torch.Tensor) else np.sqrt(values)


def _coef(values, like):
    """Per-sample coefficients (float64, from `_f64`) broadcast against `like` (N, ...) or a scalar t."""
    if isinstance(like, torch.Tensor):
        c = torch.as_tensor(values, dtype=like.dtype, device=like.device)
    else:
        values = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else values
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


def _device_steps(schedule: NoiseSchedule, t: torch.Tensor, low: int = CLEAN) -> torch.Tensor:
    """`_steps` for a tensor: int64 on its device. Checked with `_steps`'s messages on the host, except on
    CUDA (and the data-less meta device), where a device-side assert reads nothing back."""
    if t.device.type not in ("cuda", "meta"):  # where `_assert_async` exists; the host check elsewhere
        _steps(schedule, t, low)  # raises with the message that says what is wrong
    else:
        ok = (t >= low) & (t <= schedule.num_timesteps - 1)
        if t.is_floating_point():
            ok &= t == t.round()  # NaN fails every comparison
        torch._assert_async(ok.all())
    return t.long()


@functools.lru_cache(maxsize=16)
def _alpha_bar_table(schedule: NoiseSchedule, device: torch.device) -> torch.Tensor:
    """(T + 1,) alpha_bar at t = -1 .. T-1 (position t + 1) on `device`, copied there once per schedule
    (schedules are immutable and compare by identity)."""
    table = torch.from_numpy(np.concatenate([[1.0], schedule.alphas_cumprod]))
    return table.to(torch.float32 if device.type == "mps" else torch.float64).to(device)


def alpha_bar_of(schedule: NoiseSchedule, t):
    """alpha_bar at integer timesteps t (-1 .. T-1; alpha_bar = 1 at t = -1, the clean data): a float64 numpy
    array, or for a tensor t a tensor on t's device (float64; float32 on MPS), looked up there (see the module
    docstring)."""
    if isinstance(t, torch.Tensor):
        return _alpha_bar_table(schedule, t.device)[_device_steps(schedule, t) + 1]
    full = np.concatenate([[1.0], schedule.alphas_cumprod])
    return full[_steps(schedule, t) + 1]


def noised(x0, noise, alpha_bar):
    """sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) noise, for alpha_bar a number or one per sample (N,)
    (Ho et al. 2020, eq. 4)."""
    ab = _f64(alpha_bar)
    return _coef(_sqrt(ab), x0) * x0 + _coef(_sqrt(1 - ab), x0) * noise  # the forward formula


def x0_from_eps(x_t, eps, alpha_bar):
    """(x_t - sqrt(1 - alpha_bar) eps) / sqrt(alpha_bar): eq. 4 solved for x_0, for alpha_bar a number
    or one per sample (N,)."""
    ab = _f64(alpha_bar)
    return (x_t - _coef(_sqrt(1 - ab), x_t) * eps) / _coef(_sqrt(ab), x_t)  # the same, solved for x_0


def eps_from_x0(x_t, x0, alpha_bar):
    """(x_t - sqrt(alpha_bar) x0) / sqrt(1 - alpha_bar): eq. 4 solved for the noise."""
    ab = _f64(alpha_bar)
    return (x_t - _coef(_sqrt(ab), x_t) * x0) / _coef(_sqrt(1.0 - ab), x_t)


def q_sample(schedule: NoiseSchedule, x0, t, noise):
    """Sample x_t ~ q(x_t | x_0) given the noise: sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise.
    x0, noise: (N, ...) or any shape when t is a scalar; t: int or (N,) ints in -1 .. T-1."""
    return noised(x0, noise, alpha_bar_of(schedule, t))


def q_step(schedule: NoiseSchedule, x_prev, t, noise):
    """One forward step x_{t-1} -> x_t ~ q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I), t in 0 .. T-1
    (x_{-1} is the clean data)."""
    a = schedule.alphas[_steps(schedule, t, low=0)]
    return _coef(_sqrt(a), x_prev) * x_prev + _coef(_sqrt(1.0 - a), x_prev) * noise


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
    if bool((ab <= 0).any()):
        raise ValueError("alpha_bar_t is 0 here (zero terminal SNR): x0 cannot be recovered from eps.")
    return x0_from_eps(x_t, eps, ab)


def predict_eps_from_x0(schedule: NoiseSchedule, x_t, t, x0):
    """eps = (x_t - sqrt(alpha_bar_t) x0) / sqrt(1 - alpha_bar_t), for t >= 0."""
    return eps_from_x0(x_t, x0, alpha_bar_of(schedule, _steps(schedule, t, low=0)))


def v_from_eps_x0(schedule: NoiseSchedule, t, eps, x0):
    """v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x0 (Salimans & Ho 2022)."""
    ab = alpha_bar_of(schedule, t)
    return _coef(_sqrt(ab), eps) * eps - _coef(_sqrt(1.0 - ab), eps) * x0


def x0_from_v(schedule: NoiseSchedule, x_t, t, v):
    """x_0 = sqrt(alpha_bar_t) x_t - sqrt(1 - alpha_bar_t) v."""
    ab = alpha_bar_of(schedule, t)
    return _coef(_sqrt(ab), x_t) * x_t - _coef(_sqrt(1.0 - ab), x_t) * v


def eps_from_v(schedule: NoiseSchedule, x_t, t, v):
    """eps = sqrt(1 - alpha_bar_t) x_t + sqrt(alpha_bar_t) v."""
    ab = alpha_bar_of(schedule, t)
    return _coef(_sqrt(1.0 - ab), x_t) * x_t + _coef(_sqrt(ab), x_t) * v
