"""The named beta schedules, each a function (T, **params) -> betas (float64, shape (T,)).

Each cites where it comes from; the defaults are the values those sources use.
"""
from __future__ import annotations

import math

import numpy as np


def linear_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
    """Ho et al. 2020, sec. 4: betas rise linearly from 1e-4 to 0.02 (T = 1000).
    As in diffusers, the endpoints do not scale with T (so T = 50 leaves much signal at the end)."""
    return np.linspace(beta_start, beta_end, T, dtype=np.float64)


def scaled_linear_betas(T: int, beta_start: float = 0.00085, beta_end: float = 0.012) -> np.ndarray:
    """Stable Diffusion (Rombach et al. 2022): sqrt(beta) linear from sqrt(0.00085) to sqrt(0.012)."""
    return np.linspace(beta_start**0.5, beta_end**0.5, T, dtype=np.float64) ** 2


def quadratic_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
    """The "quadratic" schedule of the DDPM codebases: sqrt(beta) linear between the DDPM endpoints."""
    return np.linspace(beta_start**0.5, beta_end**0.5, T, dtype=np.float64) ** 2


def cosine_betas(T: int, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Nichol & Dhariwal 2021, eq. 17: alpha_bar(t) = f(t)/f(0), f(t) = cos((t/T + s)/(1 + s) * pi/2)^2,
    betas_t = 1 - alpha_bar(t)/alpha_bar(t-1), clipped at 0.999 to avoid a singularity at t = T."""
    f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    return np.array([min(1 - f((i + 1) / T) / f(i / T), max_beta) for i in range(T)], dtype=np.float64)


def sigmoid_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02, lo: float = -6.0, hi: float = 6.0) -> np.ndarray:
    """GeoDiff (Xu et al. 2022) / diffusers "sigmoid": betas follow a logistic curve over
    linspace(-6, 6, T), scaled into [beta_start, beta_end]."""
    x = np.linspace(lo, hi, T, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-x)) * (beta_end - beta_start) + beta_start


def constant_betas(T: int, alpha: float = 0.99) -> np.ndarray:
    """A fixed alpha_t per step: every step is q(x_t | x_{t-1}) = N(sqrt(alpha) x_{t-1}, (1 - alpha) I),
    so alpha_bar_t = alpha^t (Ho et al. 2020, eq. 2 and 4 with a constant beta)."""
    if not 0 < alpha < 1:
        raise ValueError(f"The constant alpha_t must lie strictly between 0 and 1, got {alpha}.")
    return np.full(T, 1.0 - alpha, dtype=np.float64)


def karras_sigmas(n: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> np.ndarray:
    """Karras et al. 2022 (EDM), eq. 5: sigma_i = (sigma_max^(1/rho) + i/(n-1) (sigma_min^(1/rho) -
    sigma_max^(1/rho)))^rho for i = 0 .. n-1, decreasing from sigma_max to sigma_min."""
    if not (0 < sigma_min < sigma_max) or not math.isfinite(sigma_max):
        raise ValueError("Karras sigmas need 0 < sigma_min < sigma_max < infinity.")
    if rho <= 0:
        raise ValueError("rho must be positive (EDM uses 7).")
    if n == 1:
        return np.array([sigma_max], dtype=np.float64)
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float64)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return (hi + ramp * (lo - hi)) ** rho


def karras_betas(T: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> np.ndarray:
    """A variance-preserving schedule whose noise levels sigma_t = sqrt((1 - alpha_bar_t)/alpha_bar_t)
    are the EDM sigmas (Karras et al. 2022, eq. 5) in increasing order: alpha_bar_t = 1/(1 + sigma_t^2)."""
    sig = karras_sigmas(T, sigma_min, sigma_max, rho)[::-1]  # increasing with t
    ac = 1.0 / (1.0 + sig**2)
    prev = np.concatenate([[1.0], ac[:-1]])
    return 1.0 - ac / prev


def rescale_zero_terminal_snr(betas: np.ndarray) -> np.ndarray:
    """Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed", Algorithm 1:
    shift and scale sqrt(alpha_bar) so that it keeps its first value and ends exactly at 0."""
    ab_sqrt = np.sqrt(np.cumprod(1.0 - np.asarray(betas, dtype=np.float64)))
    first, last = ab_sqrt[0], ab_sqrt[-1]
    if first - last <= 0:
        raise ValueError("Cannot rescale to zero terminal SNR: alpha_bar does not decrease.")
    ab_sqrt = (ab_sqrt - last) * first / (first - last)
    ab = ab_sqrt**2
    alphas = np.concatenate([ab[:1], ab[1:] / ab[:-1]])
    return 1.0 - alphas


# name -> (maker, default parameters)
MAKERS = {
    "linear": (linear_betas, {"beta_start": 1e-4, "beta_end": 0.02}),
    "scaled_linear": (scaled_linear_betas, {"beta_start": 0.00085, "beta_end": 0.012}),
    "quadratic": (quadratic_betas, {"beta_start": 1e-4, "beta_end": 0.02}),
    "cosine": (cosine_betas, {"s": 0.008, "max_beta": 0.999}),
    "sigmoid": (sigmoid_betas, {"beta_start": 1e-4, "beta_end": 0.02}),
    "constant": (constant_betas, {"alpha": 0.99}),
    "karras": (karras_betas, {"sigma_min": 0.002, "sigma_max": 80.0, "rho": 7.0}),
}
