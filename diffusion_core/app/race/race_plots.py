"""Pictures of the race: the three models' samples over the data (the GAN's discriminator as a heat map
with the generator's gradient arrows, the VAE's decoder manifold), and the measures against steps and time."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from diffusion_core.app import plane_figures as pf
from diffusion_core.training.race_2d import MODELS

EXTENT = 4.0
COLOURS = {"diffusion": "#d62728", "gan": "#2ca02c", "vae": "#9467bd"}
NAMES = {"diffusion": "Diffusion (MLP, eps-MSE)", "gan": "GAN (MLP, non-saturating)", "vae": "VAE (MLP, 2D latent)"}


def samples_figure(data: np.ndarray, samples: dict, d_grid: np.ndarray | None, d_logits: np.ndarray | None,
                   g_arrows: tuple | None, manifold: np.ndarray | None, titles: dict, height: int = 420) -> go.Figure:
    """Three panels over the data (grey): diffusion's samples; the GAN's samples over D's output
    (sigmoid of its logit on `d_grid`, a heat map) with the generator's gradient arrows `g_arrows`
    (points, directions); the VAE's samples over its decoder manifold (G x G latents mapped, (G, G, 2))."""
    layout = pf.panels([titles.get(m, NAMES[m]) for m in MODELS], extent=EXTENT)
    traces = []
    if d_logits is not None:
        traces.append(go.Heatmap(x=d_grid, y=d_grid, z=1 / (1 + np.exp(-d_logits)), colorscale="RdBu", zmin=0, zmax=1,
                                 showscale=False, opacity=0.55, name="D(x)", hovertemplate="D = %{z:.2f}<extra></extra>", **pf.on(2)))
    if manifold is not None:
        xs, ys = pf.polylines(np.concatenate([manifold, manifold.transpose(1, 0, 2)]))
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="rgba(148,103,189,0.35)", width=1),
                                 name="decoder manifold", **pf.on(3)))
    for col, name in enumerate(MODELS, start=1):
        traces.append(go.Scattergl(x=data[:, 0], y=data[:, 1], mode="markers", marker=dict(size=3, color="rgba(120,120,120,0.35)"),
                                   name="data", showlegend=col == 1, **pf.on(col)))
        pts = samples.get(name)
        if pts is not None:
            traces.append(go.Scattergl(x=pts[:, 0], y=pts[:, 1], mode="markers", marker=dict(size=3, color=COLOURS[name]),
                                       name=f"{name} samples", **pf.on(col)))
    if g_arrows is not None:
        xs, ys = pf.segments(g_arrows[0], g_arrows[0] + g_arrows[1])
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="black", width=1), name="G's gradient", **pf.on(2)))
    return pf.figure(traces, dict(layout, height=height, margin=dict(l=20, r=10, t=40, b=20),
                                  legend=dict(orientation="h", y=-0.05), plot_bgcolor="white"))


def measures_figure(history: list, losses: dict, by: str = "step", height: int = 330) -> go.Figure:
    """Left: modes covered; middle: distance to the data (and the floor), both against training steps or
    wall time (`by` = "step" or "wall time"); right: the three training losses against steps."""
    axis = "s" if by == "wall time" else "step"
    layout = pf.panels([f"modes covered (by {by})", f"distance to the data (by {by})", "training loss (by step)"],
                       gap=0.08, x_titles=[axis, axis, "step"])
    layout["yaxis3"]["type"] = "log"  # the VAE's ELBO (nats) is far above the other two
    traces = []
    if history:
        xs = np.array([r["wall_s"] if by == "wall time" else r["step"] for r in history], np.float64)
        for name, colour in COLOURS.items():
            traces.append(go.Scatter(x=xs, y=np.array([r[name]["modes_hit"] for r in history]), mode="lines+markers",
                                     line=dict(color=colour), name=name, **pf.on(1)))
            traces.append(go.Scatter(x=xs, y=np.array([r[name]["distance"] for r in history]), mode="lines+markers",
                                     line=dict(color=colour), name=name, showlegend=False, **pf.on(2)))
        traces.append(go.Scatter(x=xs, y=np.array([r["floor"] for r in history]), mode="lines", line=dict(color="grey", dash="dot"),
                                 name="data vs data (floor)", **pf.on(2)))
        layout["yaxis"]["range"] = [0, history[-1]["diffusion"]["modes"] + 0.5]
    for name, colour in COLOURS.items():
        if losses.get(name):
            s, v = np.asarray(losses[name], np.float64).T
            traces.append(go.Scatter(x=s, y=v, mode="lines", line=dict(color=colour, width=1), showlegend=False, **pf.on(3)))
    return pf.figure(traces, dict(layout, height=height, margin=dict(l=40, r=10, t=40, b=40), legend=dict(orientation="h", y=-0.25)))
