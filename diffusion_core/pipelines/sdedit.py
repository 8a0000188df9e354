"""From a real digit: noise it to t* and denoise it back (SDEdit, Meng et al. 2022), and how well
the model predicts the noise at each timestep on held-out digits.

Forward: x_t* = q_sample(x_0, t*, eps) (Ho et al. 2020, eq. 4), with eps fixed by the seed.
Back: DDIM (Song, Meng & Ermon 2021, eq. 12) from t* to 0, eta chosen by the user (eta = 1 is the
stochastic, DDPM-like path of the SDEdit paper). A different class than the digit's own turns, say,
a 3 into an 8 when t* is large enough.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from diffusion_core.pipelines.generation import dit_denoiser
from diffusion_core.networks.pretrained import Pretrained
from diffusion_core.maths.forward import predict_x0_from_eps, q_sample
from diffusion_core.maths.objective import loss_weights, training_losses
from diffusion_core.maths.schedules import schedule_from_dict
from diffusion_core.maths.samplers import ddim_steps, timestep_grid

if TYPE_CHECKING:  # plotly is imported where a figure is made: the library runs without it
    import plotly.graph_objects as go


def sdedit_timesteps(t_star: int, steps: int) -> np.ndarray:
    """Descending network timesteps from t* to 0, about `steps` of them, evenly spaced."""
    t_star, steps = int(t_star), int(steps)
    if t_star < 0 or steps < 1:
        raise ValueError("t* must be at least 0 and the steps at least 1.")
    n = min(steps, t_star + 1)
    return np.unique(np.linspace(0, t_star, n).round().astype(np.int64))[::-1].copy()


@torch.no_grad()
def sdedit(pre: Pretrained, x0: np.ndarray, label: int, t_star: int, steps: int = 20, seed: int = 0,
           guidance: float = 3.0, eta: float = 0.0) -> dict:
    """Noise one digit x0 (28, 28) in [-1, 1] to t*, then denoise with class `label`.
    Returns float32 (28, 28) arrays `x0`, `noise`, `x_t`, `eps_pred` (the guided prediction at t*),
    `x0_pred` (one-step estimate at t*), `result`; `frames` (K, 28, 28) of x after each step; and
    the scalars `eps_mse` (prediction vs the true noise) and `eps_corr`."""
    schedule, den = dit_denoiser(pre, guidance)
    T = schedule.num_timesteps
    if not 0 <= int(t_star) < T:
        raise ValueError(f"t* must be between 0 and {T - 1}, got {t_star}.")
    device = next(pre.model.parameters()).device
    g = torch.Generator().manual_seed(int(seed))
    x = torch.as_tensor(np.asarray(x0, np.float32)).view(1, 1, 28, 28)
    noise = torch.randn(x.shape, generator=g)
    ab = float(schedule.alpha_bar(int(t_star)))
    x_t = q_sample(schedule, x, int(t_star), noise).to(device)
    y = torch.tensor([int(label)], device=device)
    t = torch.full((1,), float(t_star), device=device)
    eps_pred = den(x_t, t, y=y).float().cpu()
    x0_pred = predict_x0_from_eps(schedule, x_t.cpu(), int(t_star), eps_pred).clamp(-1, 1)
    grid = timestep_grid(schedule, sdedit_timesteps(t_star, steps))
    frames = [rec.x_next.float().cpu()[0, 0].numpy()
              for rec in ddim_steps(den, x_t, grid, {"y": y}, generator=g, eta=float(eta), clip_x0=1.0)]
    e, n = eps_pred.flatten().numpy(), noise.flatten().numpy()
    return {
        "x0": x[0, 0].numpy(), "noise": noise[0, 0].numpy(), "x_t": x_t.cpu()[0, 0].numpy(),
        "eps_pred": eps_pred[0, 0].numpy(), "x0_pred": x0_pred[0, 0].numpy(), "result": frames[-1].clip(-1, 1),
        "frames": np.stack(frames), "eps_mse": float(np.mean((e - n) ** 2)), "eps_corr": float(np.corrcoef(e, n)[0, 1]),
        "alpha_bar": ab,
    }


@torch.no_grad()
def eps_mse_curve(pre: Pretrained, images: np.ndarray, labels: np.ndarray, ts, draws: int = 4, seed: int = 0) -> np.ndarray:
    """The training loss per timestep on held-out digits: mean over images, draws and pixels of
    ||eps - eps_theta(x_t, t, y)||^2 (Ho et al. 2020, eq. 14), conditional model without guidance.
    images float32 (M, 28, 28) in [-1, 1], labels int (M,); returns float64 (len(ts),)."""
    model = pre.model
    device = next(model.parameters()).device
    schedule = dit_denoiser(pre, 1.0)[0]
    g = torch.Generator().manual_seed(int(seed))
    x = torch.as_tensor(np.asarray(images, np.float32))[:, None].repeat(draws, 1, 1, 1).to(device)  # (M*draws, 1, 28, 28)
    y = torch.as_tensor(np.asarray(labels, np.int64)).repeat(draws).to(device)
    out = []
    for t in ts:
        noise = torch.randn(x.shape, generator=g).to(device)
        steps = torch.full((len(x),), int(t), dtype=torch.long, device=device)
        out.append(float(training_losses(model, schedule, x, steps, y, noise)["mse"].mean()))
    return np.asarray(out)


def training_weights(pre: Pretrained) -> np.ndarray:
    """float64 (T,): the weight this DiT's training objective put on each timestep's eps-MSE (its JSON's
    `loss_weighting` and `snr_gamma`: min(SNR_t, gamma) / SNR_t for Min-SNR, else ones; `objective.loss_weights`)."""
    training = pre.meta.get("training", {})
    schedule = schedule_from_dict(pre.meta["schedule"])
    return loss_weights(schedule, training.get("loss_weighting", "none"), float(training.get("snr_gamma") or 5.0)).double().numpy()


def eps_mse_figure(ts, mse, t_star: int | None = None, this_mse: float | None = None, snr=None, weights=None) -> go.Figure:
    """The eps-MSE by timestep; with `snr` (at ts) also the same error in x0 terms, eps-MSE / SNR_t (since
    x̂0 - x0 = -(ε̂ - ε) / sqrt(SNR_t), Ho et al. 2020, eq. 4 solved for x0), and with `weights` (at ts) the
    training weight of each t on a second axis."""
    import plotly.graph_objects as go  # here, not at the top: the library runs without plotly (the GPU check)
    fig = go.Figure()
    fig.add_scatter(x=list(ts), y=list(mse), mode="lines+markers", name="eps-MSE, held-out digits (mean)")
    if snr is not None:
        fig.add_scatter(x=list(ts), y=list(np.asarray(mse) / np.asarray(snr)), mode="lines+markers", line=dict(dash="dot"),
                        name="the same error as x0-MSE = eps-MSE / SNR")
    if t_star is not None and this_mse is not None:
        fig.add_scatter(x=[t_star], y=[this_mse], mode="markers", marker=dict(size=12, color="#d62728", symbol="x"),
                        name="this digit at t*")
    if weights is not None:
        fig.add_scatter(x=list(ts), y=list(weights), mode="lines", yaxis="y2", line=dict(color="#7f7f7f", shape="hv"),
                        name="its training weight (right axis)")
        fig.update_layout(yaxis2=dict(title="training weight", overlaying="y", side="right", range=[0, 1.05], showgrid=False))
    fig.update_layout(height=320, margin=dict(l=50, r=50, t=40, b=40), xaxis_title="timestep t", yaxis_type="log",
                      yaxis_title="mean squared error (per pixel)", title="How well this model predicts the noise, by timestep",
                      legend=dict(orientation="h", y=-0.3))
    return fig
