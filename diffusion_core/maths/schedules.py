"""Noise schedules: immutable float64 tables of betas, alphas, alphas_cumprod and what follows.

One timestep convention everywhere (the network, the samplers, the trainer, SDEdit, every control
the user sees), the one of DiT's code and diffusers' schedulers, so configs and weights carry over:
- the arrays have one entry per noising step, `num_timesteps` = T entries, and t is their index,
  0 .. T-1: x_t = sqrt(alphas_cumprod[t]) x_0 + sqrt(1 - alphas_cumprod[t]) eps;
- t = -1 (`CLEAN`) stands for the clean data x_0, where `alpha_bar(-1) = 1`. Ho et al. (2020) number
  the same steps from 1 (their t = 0 is the clean image): their t is our t + 1, a conversion made only
  where a page speaks of the paper.

Formulas:
- alpha_t = 1 - beta_t, alpha_bar_t = prod_{s<=t} alpha_s              (Ho et al. 2020, eq. 4)
- posterior q(x_{t-1} | x_t, x_0) mean coefficients and variance        (Ho et al. 2020, eq. 6-7)
- SNR(t) = alpha_bar_t / (1 - alpha_bar_t)                              (Kingma et al. 2021, eq. 2)
- sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t): the equivalent variance-exploding noise level
  (Karras et al. 2022, "EDM", sec. 2 / Song et al. 2021, eq. 31), i.e. 1 / sqrt(SNR).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from diffusion_core.maths.schedule_makers import MAKERS, rescale_zero_terminal_snr

MAX_TIMESTEPS = 100_000
CLEAN = -1  # the timestep of the clean data x_0 (the paper's t = 0)


PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")  # diffusers' names of what the network predicts


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


def validate_betas(betas) -> np.ndarray:
    """Checks a beta sequence and returns it as float64. Betas must be finite and in (0, 1);
    1 is allowed at the final step only (a zero-terminal-SNR schedule ends there)."""
    b = np.asarray(betas, dtype=np.float64)
    if b.ndim != 1:
        raise ValueError(f"Betas must be a flat list of numbers, got an array of shape {b.shape}.")
    if b.size < 1:
        raise ValueError("A schedule needs at least one step (T >= 1); the beta list is empty.")
    if b.size > MAX_TIMESTEPS:
        raise ValueError(f"T = {b.size} steps is more than this tool handles ({MAX_TIMESTEPS}).")
    bad = np.flatnonzero(~np.isfinite(b))
    if bad.size:
        raise ValueError(f"Beta at step {bad[0] + 1} is {b[bad[0]]}: every beta must be a finite number.")
    low = np.flatnonzero(b <= 0)
    if low.size:
        raise ValueError(
            f"Beta at step {low[0] + 1} is {b[low[0]]:g}, but betas must be > 0: "
            "each step has to add some noise (beta_t is the variance added at step t)."
        )
    high = np.flatnonzero(b >= 1)
    if high.size and not (high.size == 1 and high[0] == b.size - 1 and b[-1] == 1.0):
        raise ValueError(
            f"Beta at step {high[0] + 1} is {b[high[0]]:g}, but betas must be < 1: a beta of 1 or more "
            "wipes out the signal completely (only the very last step of a zero-terminal-SNR schedule may be 1)."
        )
    return b


@dataclass(frozen=True, eq=False)
class NoiseSchedule:
    """A discrete noise schedule. Build one with `make_schedule`, `from_betas`,
    `from_alphas_cumprod` or `from_diffusers_config` rather than directly.

    All arrays are read-only float64 of shape (T,), indexed by i = t - 1 (see module docstring).
    """

    name: str
    betas: np.ndarray
    params: dict = field(default_factory=dict)
    timestep_spacing: str = "leading"
    prediction_type: str = "epsilon"  # what a model on this schedule predicts (diffusers' name): the checks read it

    def __post_init__(self):
        if self.prediction_type not in PREDICTION_TYPES:
            raise ValueError(f"prediction_type must be one of {', '.join(PREDICTION_TYPES)}, got {str(self.prediction_type)[:40]!r}.")
        b = _readonly(validate_betas(self.betas))
        set_ = lambda k, v: object.__setattr__(self, k, _readonly(v) if isinstance(v, np.ndarray) else v)
        set_("betas", b)
        set_("params", dict(self.params))
        alphas = 1.0 - b
        ac = np.cumprod(alphas)
        ac_prev = np.concatenate([[1.0], ac[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            set_("alphas", alphas)
            set_("alphas_cumprod", ac)
            set_("alphas_cumprod_prev", ac_prev)
            set_("sqrt_alphas_cumprod", np.sqrt(ac))
            set_("sqrt_one_minus_alphas_cumprod", np.sqrt(1.0 - ac))
            set_("log_one_minus_alphas_cumprod", np.log(1.0 - ac))
            set_("sqrt_recip_alphas_cumprod", 1.0 / np.sqrt(ac))
            set_("sqrt_recipm1_alphas_cumprod", np.sqrt(1.0 / ac - 1.0))
            # Kingma et al. 2021, eq. 2: SNR = alpha_bar / (1 - alpha_bar).
            set_("snr", ac / (1.0 - ac))
            set_("log_snr", np.log(ac) - np.log1p(-ac))
            set_("sigmas", np.sqrt((1.0 - ac) / ac))
            # Ho et al. 2020, eq. 7: beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t.
            post_var = b * (1.0 - ac_prev) / (1.0 - ac)
            set_("posterior_variance", post_var)
            # Clipped log: the first posterior variance is 0, so reuse the second (as DDPM does).
            clip = np.concatenate([post_var[1:2], post_var[1:]]) if b.size > 1 else post_var
            set_("posterior_log_variance_clipped", np.log(clip))
            # Ho et al. 2020, eq. 7: mu_tilde = c1 x_0 + c2 x_t.
            set_("posterior_mean_coef1", b * np.sqrt(ac_prev) / (1.0 - ac))
            set_("posterior_mean_coef2", (1.0 - ac_prev) * np.sqrt(alphas) / (1.0 - ac))

    # ------------------------------------------------------------------ basic facts
    @property
    def num_timesteps(self) -> int:
        return int(self.betas.size)

    def __repr__(self) -> str:
        return (
            f"NoiseSchedule(name={self.name!r}, T={self.num_timesteps}, "
            f"alpha_bar_T={self.alphas_cumprod[-1]:.3g}, params={self.params})"
        )

    def _checked_t(self, t) -> np.ndarray:
        t = np.asarray(t)
        if not np.all(np.isfinite(t)):
            raise ValueError("The timestep must be a finite number.")
        if np.any(t < CLEAN) or np.any(t > self.num_timesteps - 1):
            raise ValueError(f"Timestep t must lie in 0 .. {self.num_timesteps - 1} for this schedule (-1: the clean image).")
        return t

    # ------------------------------------------------------------------ lookups (t: 0 .. T-1; -1 the clean image)
    def alpha_bar(self, t):
        """alpha_bar at timestep t (0 .. T-1, the index of the arrays, as DiT and diffusers count; may be
        fractional: interpolated). alpha_bar(-1) = 1: the clean data (the paper's t = 0)."""
        t = self._checked_t(np.asarray(t, dtype=np.float64))
        full = np.concatenate([[1.0], self.alphas_cumprod])  # position t + 1
        return np.interp(t + 1.0, np.arange(full.size), full)

    def log_snr_at(self, t):
        """log SNR at timestep t (+inf at t = -1, the clean image)."""
        ab = self.alpha_bar(t)
        with np.errstate(divide="ignore"):
            return np.log(ab) - np.log1p(-ab)

    def sigma_at(self, t):
        """The VE noise level sigma = sqrt((1 - alpha_bar) / alpha_bar) at timestep t."""
        ab = self.alpha_bar(t)
        with np.errstate(divide="ignore"):
            return np.sqrt((1.0 - ab) / ab)

    def t_for_alpha_bar(self, alpha_bar, integer: bool = True):
        """Inverse of `alpha_bar`: the timestep (-1 .. T-1) whose alpha_bar is closest to the given value,
        or (integer=False) the fractional one found by linear interpolation in log-SNR."""
        ab = np.asarray(alpha_bar, dtype=np.float64)
        if not np.all(np.isfinite(ab)) or np.any(ab < 0) or np.any(ab > 1):
            raise ValueError("alpha_bar must be a number between 0 and 1.")
        with np.errstate(divide="ignore"):
            return self.t_for_log_snr(np.log(ab) - np.log1p(-ab), integer=integer)

    def t_for_log_snr(self, log_snr, integer: bool = True):
        """The timestep t (-1 .. T-1) at which the log-SNR equals the value given (clamped to range)."""
        lam = np.asarray(log_snr, dtype=np.float64)
        if np.any(np.isnan(lam)):
            raise ValueError("log-SNR must be a number.")
        with np.errstate(divide="ignore"):
            full = np.concatenate([[np.inf], self.log_snr])  # decreasing in t
        # np.interp needs increasing x: reverse the table. Infinite ends are replaced by finite
        # stand-ins just beyond the finite range so that interpolation stays defined.
        xs, ys = full[::-1].copy(), (np.arange(full.size, dtype=np.float64) + CLEAN)[::-1].copy()
        finite = np.isfinite(xs)
        lo, hi = xs[finite].min(), xs[finite].max()
        xs[~finite & (xs < 0)] = lo - 1e6
        xs[~finite & (xs > 0)] = hi + 1e6
        xs = np.maximum.accumulate(xs)  # guard against ties in non-strict schedules
        t = np.interp(np.clip(lam, xs[0], xs[-1]), xs, ys)
        return np.rint(t).astype(np.int64) if integer else t

    def t_for_sigma(self, sigma, integer: bool = False):
        """The timestep with VE noise level sigma (sigma = 0 is t = -1, the clean image)."""
        s = np.asarray(sigma, dtype=np.float64)
        if np.any(~np.isfinite(s) & ~np.isposinf(s)) or np.any(s < 0):
            raise ValueError("sigma must be a non-negative number.")
        with np.errstate(divide="ignore"):
            return self.t_for_log_snr(-2.0 * np.log(s), integer=integer)

    def index_for_sigma(self, sigma):
        """Fractional network timestep (array index, 0 .. T-1) for a sigma, interpolating in log
        sigma as k-diffusion's `DiscreteSchedule.sigma_to_t` does."""
        return np.clip(self.t_for_sigma(sigma, integer=False), 0.0, self.num_timesteps - 1.0)

    # ------------------------------------------------------------------ export
    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "num_timesteps": self.num_timesteps,
            "params": self.params,
            "timestep_spacing": self.timestep_spacing,
            "prediction_type": self.prediction_type,
        }

    def to_diffusers_config(self) -> dict:
        """A diffusers `scheduler_config.json` that rebuilds this schedule exactly (trained_betas
        carries the betas, so any schedule, custom ones included, survives the round trip)."""
        diffusers_name = self.params.get("diffusers_beta_schedule") or {
            "linear": "linear", "scaled_linear": "scaled_linear", "cosine": "squaredcos_cap_v2", "sigmoid": "sigmoid"}.get(
            self.name.split("+")[0])
        what = (f"the {self.name} schedule" + (f" (diffusers' '{diffusers_name}')" if diffusers_name else
                                               ", which diffusers has no beta_schedule name for"))
        return {
            "_class_name": "DDPMScheduler",
            "_comment": (f"Written by Diffusion Classroom: {what}, T = {self.num_timesteps}. trained_betas holds "
                         "every beta; diffusers uses them and ignores beta_schedule, beta_start and beta_end."),
            "num_train_timesteps": self.num_timesteps,
            "beta_start": float(self.betas[0]),
            "beta_end": float(self.betas[-1]),
            "beta_schedule": diffusers_name or "linear",
            "trained_betas": [float(b) for b in self.betas],
            "prediction_type": self.prediction_type,
            "timestep_spacing": self.timestep_spacing,
            "rescale_betas_zero_snr": False,
            "clip_sample": False,
        }

    def to_csv(self) -> str:
        """Per-step table: t (0 .. T-1, the app's timestep), beta, alpha, alpha_bar, sqrt(alpha_bar), sqrt(1-alpha_bar), log_snr."""
        rows = ["t,beta,alpha,alpha_bar,sqrt_alpha_bar,sqrt_one_minus_alpha_bar,log_snr"]
        for i in range(self.num_timesteps):
            cols = (self.betas, self.alphas, self.alphas_cumprod, self.sqrt_alphas_cumprod,
                    self.sqrt_one_minus_alphas_cumprod, self.log_snr)
            rows.append(",".join([str(i)] + [repr(float(c[i])) for c in cols]))  # repr: exact round trip
        return "\n".join(rows) + "\n"


# ---------------------------------------------------------------------- constructors
def make_schedule(name: str, num_timesteps: int = 1000, rescale_zero_snr: bool = False, **params) -> NoiseSchedule:
    """A named schedule: linear, scaled_linear, cosine, sigmoid, quadratic, constant, karras.
    `params` override the maker's defaults (see `schedule_makers.py`). With `rescale_zero_snr`,
    Lin et al. (2024)'s Algorithm 1 rescales it to end at alpha_bar_T = 0."""
    if not isinstance(name, str) or name.strip().lower() not in MAKERS:
        raise ValueError(f"Unknown schedule {name!r}. Choose one of: {', '.join(sorted(MAKERS))}.")
    key = name.strip().lower()
    if isinstance(num_timesteps, bool) or not isinstance(num_timesteps, (int, np.integer)):
        raise ValueError(f"The number of steps T must be a whole number, got {num_timesteps!r}.")
    if num_timesteps < 1:
        raise ValueError(f"The number of steps T must be at least 1, got {num_timesteps}.")
    if num_timesteps > MAX_TIMESTEPS:
        raise ValueError(f"T = {num_timesteps} is more than this tool handles ({MAX_TIMESTEPS}).")
    for k, v in params.items():
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"Schedule parameter {k} must be a finite number, got {v}.")
    maker, defaults = MAKERS[key]
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(
            f"Schedule {key!r} has no parameter {sorted(unknown)[0]!r}; it takes: {', '.join(defaults) or 'none'}."
        )
    full = {**defaults, **params}
    betas = maker(int(num_timesteps), **full)
    if rescale_zero_snr:
        betas = rescale_zero_terminal_snr(betas)
        full["rescale_zero_snr"] = True
    return NoiseSchedule(key, betas, full)


def from_betas(betas, name: str = "custom") -> NoiseSchedule:
    """A schedule from an explicit list of betas (one per step)."""
    return NoiseSchedule(name, validate_betas(betas))


def from_alphas_cumprod(alphas_cumprod, name: str = "custom") -> NoiseSchedule:
    """A schedule from alpha_bar_1 .. alpha_bar_T, which must be strictly decreasing in (0, 1]."""
    ac = np.asarray(alphas_cumprod, dtype=np.float64)
    if ac.ndim != 1 or ac.size < 1:
        raise ValueError("alphas_cumprod must be a non-empty flat list of numbers.")
    if not np.all(np.isfinite(ac)):
        raise ValueError("Every alpha_bar must be a finite number.")
    if np.any(ac > 1) or np.any(ac < 0):
        raise ValueError("Every alpha_bar must lie between 0 and 1 (it is the share of signal variance left).")
    prev = np.concatenate([[1.0], ac[:-1]])
    if np.any(ac >= prev):
        i = int(np.flatnonzero(ac >= prev)[0])
        raise ValueError(
            f"alpha_bar must strictly decrease: step {i + 1} ({ac[i]:g}) is not below the step before "
            f"({prev[i]:g}); every step has to remove some signal."
        )
    return from_betas(1.0 - ac / prev, name=name)


def schedule_from_dict(d: dict) -> NoiseSchedule:
    """Rebuild a named schedule from `NoiseSchedule.to_dict()` (as stored beside model weights)."""
    if not isinstance(d, dict) or "name" not in d or "num_timesteps" not in d:
        raise ValueError("A stored schedule needs 'name' and 'num_timesteps'.")
    params = dict(d.get("params", {}))
    rescale = bool(params.pop("rescale_zero_snr", False))
    s = make_schedule(d["name"], int(d["num_timesteps"]), rescale_zero_snr=rescale, **params)
    return NoiseSchedule(s.name, s.betas, s.params, d.get("timestep_spacing", s.timestep_spacing), d.get("prediction_type", "epsilon"))
