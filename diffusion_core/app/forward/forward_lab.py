"""The forward-process lab: what each control of the app's first tab computes.

A schedule travels between the UI and this module as a small JSON-able *spec*:
    {"name": "cosine", "T": 1000, "rescale": false}          a named schedule
    {"name": "custom", "betas": [...], "label": "my betas"}  a pasted or uploaded one
`schedule_from_spec` turns it into a (cached) `NoiseSchedule`.

Noise is a pure function of (seed, image shape), so scrubbing t shows one fixed noise fading in.
Chaining single steps q(x_t | x_{t-1}) with a constant alpha_t draws step s's noise from
(seed, s): a chain can be extended step by step and still equal one computed from scratch.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from diffusion_core.maths.forward import q_sample
from diffusion_core.maths.schedules import CLEAN, NoiseSchedule, from_betas, make_schedule

DEFAULT_SPEC = {"name": "cosine", "T": 1000, "rescale": False}
MAX_CHAIN_STEPS = 5000
# A chain of t single steps costs t times the pixels: the chain runs on a copy of at most this many
# values (128 x 128 x 3), and one chain at a time, so a 200-byte request cannot buy seconds of CPU.
CHAIN_MAX_VALUES = 128 * 128 * 3
_CHAIN_GATE = threading.BoundedSemaphore(1)


# ---------------------------------------------------------------------------- schedules from specs
@lru_cache(maxsize=64)
def _cached_schedule(key: str) -> NoiseSchedule:
    spec = json.loads(key)
    if spec.get("name") == "custom":
        s = from_betas(spec.get("betas", []), name=spec.get("label", "custom"))
        hint = {"diffusers_beta_schedule": spec["beta_schedule"]} if spec.get("beta_schedule") else {}
        return NoiseSchedule(s.name, s.betas, hint, prediction_type=spec.get("prediction_type", "epsilon"))
    T = spec.get("T", 1000)
    if isinstance(T, float) and T.is_integer():
        T = int(T)
    return make_schedule(str(spec.get("name", "")), T, rescale_zero_snr=bool(spec.get("rescale", False)))


def schedule_from_spec(spec) -> NoiseSchedule:
    """A NoiseSchedule from a spec dict (or its JSON text). Raises ValueError with a clear message."""
    if isinstance(spec, str):
        try:
            spec = json.loads(spec)
        except json.JSONDecodeError:
            raise ValueError("The schedule description is not valid JSON.") from None
    if not isinstance(spec, dict):
        raise ValueError("A schedule is described by a JSON object such as {\"name\": \"cosine\", \"T\": 1000}.")
    return _cached_schedule(json.dumps(spec, sort_keys=True))


def spec_label(spec: dict) -> str:
    if spec.get("name") == "custom":
        predicts = f", {spec['prediction_type']}" if spec.get("prediction_type", "epsilon") != "epsilon" else ""
        return f"{spec.get('label', 'custom')} (T={len(spec.get('betas', []))}{predicts})"
    return f"{spec['name']}{' + zero-SNR' if spec.get('rescale') else ''} (T={spec['T']})"


def spec_for(schedule: NoiseSchedule, base: dict) -> dict:
    """The spec of a schedule made from `base` by a fix (rescale, more steps)."""
    if base.get("name") != "custom" and schedule.name.split("+")[0] == base.get("name"):
        return {"name": base["name"], "T": schedule.num_timesteps, "rescale": bool(schedule.params.get("rescale_zero_snr"))}
    spec = {"name": "custom", "betas": [float(b) for b in schedule.betas], "label": schedule.name}
    for key in ("prediction_type", "beta_schedule"):  # what a pasted config said stays with the fixed schedule
        if base.get(key):
            spec[key] = base[key]
    return spec


# ---------------------------------------------------------------------------- noise and x_t
@lru_cache(maxsize=8)
def _noise(shape: tuple[int, ...], seed: int) -> np.ndarray:
    n = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0]).standard_normal(shape, dtype=np.float32)
    n.setflags(write=False)
    return n


def noise_for(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Standard normal noise (float32, read-only), a pure function of (shape, seed); cached, since
    scrubbing t asks for the same noise again and again."""
    return _noise(tuple(int(v) for v in shape), int(seed))


def step_noise(shape: tuple[int, ...], seed: int, step: int) -> np.ndarray:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, 1, int(step)]).standard_normal(shape, dtype=np.float32)


def closed_form(x0: np.ndarray, schedule: NoiseSchedule, t: int, seed: int) -> np.ndarray:
    """x_t ~ q(x_t | x_0) with the fixed noise of `seed`. x0 float32 (H, W, C) in [-1, 1]."""
    return q_sample(schedule, x0, int(t), noise_for(x0.shape, seed)).astype(np.float32)


def chain_input(x0: np.ndarray, max_values: int = CHAIN_MAX_VALUES) -> np.ndarray:
    """x0 (H, W, C) box-averaged by a whole factor until it holds at most `max_values` values
    (MNIST digits pass unchanged; a 512 px photo becomes 128 px)."""
    h, w, c = x0.shape
    k = 1
    while (h // k) * (w // k) * c > max_values:
        k += 1
    if k == 1:
        return x0
    h2, w2 = h // k, w // k
    return x0[: h2 * k, : w2 * k].reshape(h2, k, w2, k, c).mean(axis=(1, 3), dtype=np.float32)


def chain(x0: np.ndarray, alpha: float, t: int, seed: int, cache: dict | None = None) -> tuple[np.ndarray, dict]:
    """x_t after t + 1 single steps x_s = sqrt(alpha) x_{s-1} + sqrt(1 - alpha) eps_s (eps_s from (seed, s)).
    `cache` {"key", "t" (steps done), "x"} from an earlier call on the same image, alpha and seed lets a
    forward scrub continue from where it was. Returns (x_t, new cache). Callers with large images pass
    `chain_input(x0)`; at most one chain is computed at a time."""
    if not 0 < alpha < 1:
        raise ValueError("alpha_t must lie strictly between 0 and 1.")
    if not CLEAN <= t < MAX_CHAIN_STEPS:
        raise ValueError(f"Chaining is limited to {MAX_CHAIN_STEPS} steps.")
    key = f"{x0.shape}|{float(x0.sum()):.6f}|{alpha!r}|{seed}"
    if cache and cache.get("key") == key and cache.get("t", 1 << 30) <= chain_steps(t):
        s, x = cache["t"], cache["x"]
    else:
        s, x = 0, x0.astype(np.float32)
    a, b = np.float32(np.sqrt(alpha)), np.float32(np.sqrt(1 - alpha))
    with _CHAIN_GATE:
        while s < chain_steps(t):  # s single steps done so far
            s += 1
            x = a * x + b * step_noise(x0.shape, seed, s)
    return x, {"key": key, "t": chain_steps(t), "x": x}


# ---------------------------------------------------------------------------- readouts
@dataclass
class Readout:
    t: int
    alpha_bar: float
    alpha_t: float
    beta_t: float
    log_snr: float
    signal: float  # sqrt(alpha_bar)
    noise: float  # sqrt(1 - alpha_bar)

    def markdown(self) -> str:
        lsnr = "+inf" if np.isposinf(self.log_snr) else ("-inf" if np.isneginf(self.log_snr) else f"{self.log_snr:+.3f}")
        return (f"**t = {self.t}** · ᾱ_t = **{self.alpha_bar:.4f}** · log-SNR = **{lsnr}** · "
                f"α_t = {self.alpha_t:.5f} · β_t = {self.beta_t:.5f} · "
                f"x_t = **{self.signal:.3f}**·x₀ + **{self.noise:.3f}**·ε")


def readout(schedule: NoiseSchedule, t: int) -> Readout:
    t = int(np.clip(t, CLEAN, schedule.num_timesteps - 1))
    ab = float(schedule.alpha_bar(t))
    a = 1.0 if t == CLEAN else float(schedule.alphas[t])
    with np.errstate(divide="ignore"):
        lsnr = float(schedule.log_snr_at(t))
    return Readout(t, ab, a, 1.0 - a, lsnr, ab**0.5, max(1.0 - ab, 0.0) ** 0.5)


def chain_steps(t: int) -> int:
    """How many single steps make x_t: t + 1 (t = 0 is the first noisy step)."""
    return int(t) + 1


def chain_readout(alpha: float, t: int) -> Readout:
    ab = float(alpha) ** chain_steps(t)
    with np.errstate(divide="ignore"):
        lsnr = float(np.log(ab) - np.log1p(-ab)) if chain_steps(t) > 0 else float("inf")
    return Readout(int(t), ab, float(alpha), 1 - float(alpha), lsnr, ab**0.5, (1 - ab) ** 0.5)


def clamp_t(t, schedule: NoiseSchedule) -> int:
    """A slider value as a valid timestep 0 .. T-1, whatever arrives (None, NaN, out of range, a float)."""
    try:
        t = float(t)
    except (TypeError, ValueError):
        return 0
    if not np.isfinite(t):
        return 0
    return int(np.clip(round(t), 0, schedule.num_timesteps - 1))


def t_for_alpha_bar(schedule: NoiseSchedule, alpha_bar) -> int:
    try:
        ab = float(alpha_bar)
    except (TypeError, ValueError):
        raise ValueError("alpha_bar must be a number between 0 and 1.") from None
    return max(0, int(schedule.t_for_alpha_bar(float(np.clip(ab, 0.0, 1.0)))))


def strip_timesteps(schedules: list[NoiseSchedule], frames: int, spacing: str) -> list[list[int]]:
    """Per schedule, the timesteps to show: the clean image (CLEAN), then evenly spaced t up to T-1, or
    the same log-SNR values for all (from the highest to the lowest log-SNR any of them reaches,
    clipped to [-10, 10])."""
    if not 2 <= frames <= 16:
        raise ValueError("Show between 2 and 16 frames.")
    if spacing == "t":
        return [[CLEAN] + [int(round(v)) for v in np.linspace(0, s.num_timesteps - 1, frames - 1)] for s in schedules]
    if spacing != "log_snr":
        raise ValueError("Spacing must be 't' or 'log_snr'.")
    finite = [s.log_snr[np.isfinite(s.log_snr)] for s in schedules]
    hi = min(10.0, max(f.max() for f in finite))
    lo = max(-10.0, min(f.min() for f in finite))
    targets = np.linspace(hi, lo, frames - 1)
    return [[CLEAN] + [max(0, int(s.t_for_log_snr(lam))) for lam in targets] for s in schedules]
