"""The score of noised data, exactly, for data that is a finite set of points (or a Gaussian mixture).

Noising M data points x_i with the forward process (Ho et al. 2020, eq. 4) gives a Gaussian mixture

    p_t(x) = (1/M) sum_i N(x; sqrt(ᾱ_t) x_i, (1 − ᾱ_t) I),

whose score, the gradient of log p_t, is closed form: a softmax-weighted mixture of the Gaussians' scores

    ∇_x log p_t(x) = sum_i w_i(x) (sqrt(ᾱ_t) x_i − x) / (1 − ᾱ_t),   w_i ∝ exp(−|x − sqrt(ᾱ_t) x_i|² / (2(1 − ᾱ_t))).

A noise-predicting network learns the same field (Song et al. 2021, "Score-Based Generative Modeling
through SDEs", eq. 7 and app. B; Vincent 2011): ε_θ(x_t, t) ≈ −sqrt(1 − ᾱ_t) ∇ log p_t(x_t), so
`score_from_eps` and `eps_from_score` convert between the two and `ExactDenoiser` is the ideal
ε-network of a point set, which the samplers of `maths.samplers` run like any other denoiser.
Shapes: x (N, D) queries, centres (M, D) data points; float64 inside (log-sum-exp for the weights).
"""
from __future__ import annotations

import numpy as np
import torch

from diffusion_core.maths.schedules import NoiseSchedule


def _sq_dist(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    """|x_n − c_m|² (N, M)."""
    return (x * x).sum(1)[:, None] - 2 * x @ c.T + (c * c).sum(1)[None, :]


def _log_weights(x: np.ndarray, centres: np.ndarray, alpha_bar: float) -> tuple[np.ndarray, np.ndarray]:
    """(log of the unnormalised mixture terms (N, M), their log-sum-exp (N,))."""
    var = 1.0 - alpha_bar
    logits = -np.maximum(_sq_dist(x, np.sqrt(alpha_bar) * centres), 0.0) / (2 * var)
    top = logits.max(1, keepdims=True)
    return logits, top[:, 0] + np.log(np.exp(logits - top).sum(1))


def mixture_log_density(x, centres, alpha_bar: float) -> np.ndarray:
    """log p_t(x) (N,) of the noised point set, in 2D or any D (0 < ᾱ < 1)."""
    x, c = np.asarray(x, np.float64), np.asarray(centres, np.float64)
    _check(alpha_bar)
    _, lse = _log_weights(x, c, alpha_bar)
    return _log_density(lse, len(c), x.shape[1], alpha_bar)


def _log_density(lse: np.ndarray, m: int, d: int, alpha_bar: float) -> np.ndarray:
    """log p_t from the log-sum-exp of the mixture's terms: the 1/M weights and the Gaussians' normaliser."""
    return lse - np.log(m) - 0.5 * d * np.log(2 * np.pi * (1 - alpha_bar))


def mixture_score(x, centres, alpha_bar: float) -> np.ndarray:
    """∇_x log p_t(x) (N, D): the exact score of the noised point set at ᾱ = alpha_bar."""
    return mixture_score_and_log_density(x, centres, alpha_bar)[0]


def mixture_score_and_log_density(x, centres, alpha_bar: float) -> tuple[np.ndarray, np.ndarray]:
    """(∇_x log p_t(x) (N, D), log p_t(x) (N,)) from one pass over the mixture's weights."""
    x, c = np.asarray(x, np.float64), np.asarray(centres, np.float64)
    _check(alpha_bar)
    logits, lse = _log_weights(x, c, alpha_bar)
    w = np.exp(logits - lse[:, None])  # (N, M), rows sum to 1
    score = (np.sqrt(alpha_bar) * (w @ c) - x) / (1 - alpha_bar)
    return score, _log_density(lse, len(c), x.shape[1], alpha_bar)


def _check(alpha_bar: float) -> None:
    if not 0.0 < float(alpha_bar) < 1.0:
        raise ValueError(f"The score is defined for 0 < alpha_bar < 1, got {alpha_bar}.")


def score_from_eps(eps, alpha_bar):
    """The score a noise prediction stands for: −ε / sqrt(1 − ᾱ) (Song et al. 2021, eq. 7)."""
    return -eps / np.sqrt(1.0 - alpha_bar)


def eps_from_score(score, alpha_bar):
    """The noise prediction a score stands for: −sqrt(1 − ᾱ) ∇ log p."""
    return -np.sqrt(1.0 - alpha_bar) * score


class ExactDenoiser:
    """The ideal ε-network of a labelled point set: `denoiser(x_t, t, y=None) -> eps` with
    eps = −sqrt(1 − ᾱ_t) ∇ log p_t(x_t), over all points (y is None or `null_label`) or over the points
    of class y (per row). x_t (N, D) float32, t (N,) float network timesteps (fractional: interpolated)."""

    def __init__(self, schedule: NoiseSchedule, points: np.ndarray, labels: np.ndarray | None = None,
                 null_label: int = 10, alpha_bar_floor: float = 1e-6):
        self.schedule = schedule
        self.points = np.asarray(points, np.float64)
        self.labels = np.zeros(len(self.points), np.int64) if labels is None else np.asarray(labels, np.int64)
        self.null_label = int(null_label)
        self.floor = alpha_bar_floor

    def _alpha_bar(self, t: float) -> float:
        ab = float(self.schedule.alpha_bar(min(max(float(t), -1.0), self.schedule.num_timesteps - 1)))
        return min(max(ab, self.floor), 1.0 - 1e-12)

    def __call__(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None, **_) -> torch.Tensor:
        xs = x.detach().cpu().double().numpy()
        ts = torch.as_tensor(t).reshape(-1).cpu().numpy()
        ts = np.broadcast_to(ts, (len(xs),))
        ys = np.full(len(xs), self.null_label) if y is None else torch.as_tensor(y).reshape(-1).cpu().numpy()
        out = np.empty_like(xs)
        for key in {(float(a), int(b)) for a, b in zip(ts, ys)}:  # one group per (t, label): usually one
            rows = (ts == key[0]) & (ys == key[1])
            centres = self.points if key[1] == self.null_label else self.points[self.labels == key[1]]
            if not len(centres):
                centres = self.points
            ab = self._alpha_bar(key[0])
            out[rows] = eps_from_score(mixture_score(xs[rows], centres, ab), ab)
        return torch.from_numpy(out).to(x.dtype).to(x.device)
