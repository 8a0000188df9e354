"""The training objective of the DiT, written once: the trainer and the eps-MSE curve call it.

eps-prediction MSE (Ho et al. 2020, eq. 14, "L_simple"):

    L = E_{x_0, t, eps} || eps - eps_theta(x_t, t, y) ||^2,   x_t = q_sample(x_0, t, eps)  (`forward`),

optionally weighted per timestep by min(SNR_t, gamma) / SNR_t (Hang et al. 2023, "Efficient Diffusion
Training via Min-SNR Weighting Strategy": the weight min(SNR, gamma) in sec. 3.4, its eps-prediction form in
sec. 4.2), which is 1 wherever SNR <= gamma and only down-weights the low-noise steps. As DiT's `GaussianDiffusion.training_losses`, it returns
the per-sample terms; the caller takes the mean.
"""
from __future__ import annotations

from typing import Callable

import torch

from diffusion_core.maths.forward import q_sample
from diffusion_core.maths.schedules import NoiseSchedule

WEIGHTINGS = ("none", "min-snr")


def loss_weights(schedule: NoiseSchedule, kind: str = "none", gamma: float = 5.0) -> torch.Tensor:
    """Per-timestep weights of the eps-MSE, float32 (T,): all ones, or min(SNR, gamma) / SNR."""
    snr = torch.tensor(schedule.snr, dtype=torch.float64)
    if kind == "none":
        return torch.ones_like(snr, dtype=torch.float32)
    if kind == "min-snr":
        return (torch.clamp(snr, max=gamma) / snr).float()
    raise ValueError(f"Unknown loss weighting {kind!r}; choose one of {', '.join(WEIGHTINGS)}.")


def min_snr_full_weight_t(schedule: NoiseSchedule, gamma: float) -> int:
    """The first timestep whose Min-SNR weight min(SNR, gamma) / SNR is 1 (SNR_t <= gamma; SNR falls with t)."""
    return int((schedule.snr <= gamma).argmax())


def training_losses(eps_model: Callable, schedule: NoiseSchedule, x0: torch.Tensor, t: torch.Tensor, y: torch.Tensor,
                    noise: torch.Tensor | None = None, weights: torch.Tensor | None = None) -> dict:
    """The objective on one batch. x0 (N, C, H, W), t (N,) int64 timesteps 0 .. T-1, y (N,) labels;
    `eps_model(x_t, t, y) -> eps` (N, C, H, W); `weights` (T,) from `loss_weights` (None: all ones).
    Returns {"loss": (N,) weighted eps-MSE, "mse": (N,) plain eps-MSE, "x_t", "noise", "eps"}."""
    noise = torch.randn_like(x0) if noise is None else noise
    x_t = q_sample(schedule, x0, t, noise)
    eps = eps_model(x_t, t, y)
    mse = (eps.float() - noise).pow(2).mean(dim=tuple(range(1, x0.ndim)))  # (N,)
    loss = mse if weights is None else weights.to(mse.device)[t] * mse
    return {"loss": loss, "mse": mse, "x_t": x_t, "noise": noise, "eps": eps}
