"""Masked (absorbing-state) diffusion for text: the forward process and its training objective.

Forward process (D3PM's absorbing state, Austin et al. 2021; MDLM, Sahoo et al. 2024, sec. 3.2.1): each
character of x_0 is kept with probability alpha_t and otherwise replaced by MASK, independently,

    q(z_t | x_0) = Cat(z_t; alpha_t x_0 + (1 - alpha_t) m),     alpha_0 = 1 (clean), alpha_1 = 0 (all MASK),

with t in [0, 1] continuous. `MaskingSchedule` is the schedule's immutable object (float64), the text
twin of `NoiseSchedule`: alpha_t plays alpha_bar_t's part (the share of signal kept).

Objective (MDLM eq. 10-11, the continuous-time negative ELBO with the carry-over of unmasked tokens):

    L = E_{t ~ U(0,1)} E_q [ (-alpha'_t / (1 - alpha_t)) sum_{l masked in z_t} -log p_theta(x_0^l | z_t) ],

for the linear schedule alpha_t = 1 - t the weight is 1 / t. Averaged over a held-out set and divided by
the number of characters and ln 2, it is a bound in bits per character (the autoregressive twin's NLL is
exact); `masked_diffusion_losses` computes it per sequence.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

T_MIN = 1e-3  # t is drawn from [T_MIN, 1]: the weight 1 / t is finite


@dataclass(frozen=True)
class MaskingSchedule:
    """alpha(t): the share of characters kept at t in [0, 1]; "linear" (MDLM's default, alpha = 1 - t)
    or "cosine" (alpha = cos(pi t / 2))."""

    name: str = "linear"

    def __post_init__(self):
        if self.name not in ("linear", "cosine"):
            raise ValueError(f"Unknown masking schedule {self.name!r}; use 'linear' or 'cosine'.")

    def alpha(self, t):
        t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
        return 1.0 - t if self.name == "linear" else np.cos(0.5 * np.pi * t)

    def dalpha(self, t):
        t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
        return -np.ones_like(t) if self.name == "linear" else -0.5 * np.pi * np.sin(0.5 * np.pi * t)

    def weight(self, t):
        """-alpha'(t) / (1 - alpha(t)): the NELBO's weight at t (1 / t for linear)."""
        return -self.dalpha(t) / np.maximum(1.0 - self.alpha(t), 1e-12)

    def t_for_alpha(self, alpha):
        a = np.clip(np.asarray(alpha, dtype=np.float64), 0.0, 1.0)
        return 1.0 - a if self.name == "linear" else (2.0 / np.pi) * np.arccos(a)


def mask_tokens(x0: torch.Tensor, alpha, mask_id: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """z_t ~ q(z_t | x_0): each token kept with probability alpha (a number or (N,)), else mask_id.
    x0 (N, L) int64."""
    a = torch.as_tensor(alpha, dtype=torch.float32).reshape(-1, 1)
    keep = torch.rand(x0.shape, generator=generator) < a
    return torch.where(keep, x0, torch.full_like(x0, mask_id))


def mask_order(length: int, seed: int) -> np.ndarray:
    """A fixed random rank per position (0 .. length-1) for the seed: at mask rate r the positions with
    rank < round(r * length) are masked, so dragging the rate masks one more character at a time."""
    return np.random.default_rng(int(seed)).permutation(int(length))


def masked_at(length: int, rate: float, seed: int) -> np.ndarray:
    """bool (length,): the positions masked at mask rate `rate` (= 1 - alpha_t) for the seed's order."""
    return mask_order(length, seed) < round(float(np.clip(rate, 0.0, 1.0)) * length)


def masked_diffusion_losses(model, schedule: MaskingSchedule, x0: torch.Tensor, mask_id: int,
                            t: torch.Tensor | None = None, generator: torch.Generator | None = None) -> dict:
    """The MDLM objective on a batch. x0 (N, L) int64; `model(z_t, t) -> logits` (N, L, V) over the V
    real tokens. Returns {"loss": (N,) the weighted NELBO per sequence in nats, "t", "z_t", "masked"}."""
    n = x0.shape[0]
    if t is None:
        t = T_MIN + (1 - T_MIN) * torch.rand(n, generator=generator)
    alpha = torch.from_numpy(schedule.alpha(t.double().numpy())).float()
    z = mask_tokens(x0, alpha, mask_id, generator)
    masked = z == mask_id
    logits = model(z, t)
    nll = F.cross_entropy(logits.transpose(1, 2), x0, reduction="none")  # (N, L)
    w = torch.from_numpy(schedule.weight(t.double().numpy())).float()
    loss = w * (nll * masked).sum(1)
    return {"loss": loss, "t": t, "z_t": z, "masked": masked}


def bits_per_char(nats_per_sequence: float, chars: float) -> float:
    return nats_per_sequence / chars / math.log(2)
