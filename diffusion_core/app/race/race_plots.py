"""Pictures of the race: the three models' samples over the data (the GAN's discriminator as a heat map
with the generator's gradient arrows, the VAE's decoder manifold), and the measures against steps and time."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

EXTENT = 4.0
COLOURS = {"diffusion": "#d62728", "gan": "#2ca02c", "vae": "#9467bd"}
NAMES = {"diffusion": "Diffusion (MLP, eps-MSE)", "gan": "GAN (MLP, non-saturating)", "vae": "VAE (MLP, 2D latent)"}


def _segments(starts: np.ndarray, ends: np.ndarray) -> tuple[list, list]:
    xs, ys = [], []
    for (a, b), (c, d) in zip(starts, ends):
        xs += [a, c, None]
        ys += [b, d, None]
    return xs, ys


def samples_figure(data: np.ndarray, samples: dict, d_grid: np.ndarray | None, d_logits: np.ndarray | None,
                   g_arrows: tuple | None, manifold: np.ndarray | None, titles: dict, height: int = 420) -> go.Figure:
    """Three panels over the data (grey): diffusion's samples; the GAN's samples over D's output
    (sigmoid of its logit on `d_grid`, a heat map) with the generator's gradient arrows `g_arrows`
    (points, directions); the VAE's samples over its decoder manifold (G x G latents mapped, (G, G, 2))."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=[titles.get(m, NAMES[m]) for m in ("diffusion", "gan", "vae")],
                        horizontal_spacing=0.04)
    if d_logits is not None:
        fig.add_trace(go.Heatmap(x=d_grid, y=d_grid, z=1 / (1 + np.exp(-d_logits)), colorscale="RdBu", zmin=0, zmax=1,
                                 showscale=False, opacity=0.55, name="D(x)", hovertemplate="D = %{z:.2f}<extra></extra>"), 1, 2)
    if manifold is not None:
        xs, ys = [], []
        for line in list(manifold) + list(manifold.transpose(1, 0, 2)):
            xs += list(line[:, 0]) + [None]
            ys += list(line[:, 1]) + [None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="rgba(148,103,189,0.35)", width=1),
                                 name="decoder manifold"), 1, 3)
    for col, name in enumerate(("diffusion", "gan", "vae"), start=1):
        fig.add_trace(go.Scattergl(x=data[:, 0], y=data[:, 1], mode="markers", marker=dict(size=3, color="rgba(120,120,120,0.35)"),
                                   name="data", showlegend=col == 1), 1, col)
        pts = samples.get(name)
        if pts is not None:
            fig.add_trace(go.Scattergl(x=pts[:, 0], y=pts[:, 1], mode="markers", marker=dict(size=3, color=COLOURS[name]),
                                       name=f"{name} samples"), 1, col)
    if g_arrows is not None:
        xs, ys = _segments(g_arrows[0], g_arrows[0] + g_arrows[1])
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="black", width=1), name="G's gradient"), 1, 2)
    for col in (1, 2, 3):
        fig.update_xaxes(range=[-EXTENT, EXTENT], showgrid=False, zeroline=False, constrain="domain", row=1, col=col)
        fig.update_yaxes(range=[-EXTENT, EXTENT], showgrid=False, zeroline=False, scaleanchor=f"x{'' if col == 1 else col}",
                         constrain="domain", row=1, col=col)
    fig.update_layout(height=height, margin=dict(l=20, r=10, t=40, b=20), legend=dict(orientation="h", y=-0.05),
                      plot_bgcolor="white")
    return fig


def measures_figure(history: list, losses: dict, by: str = "step", height: int = 330) -> go.Figure:
    """Left: modes covered; middle: distance to the data (and the floor), both against training steps or
    wall time (`by` = "step" or "wall time"); right: the three training losses against steps."""
    axis = "s" if by == "wall time" else "step"
    fig = make_subplots(rows=1, cols=3, subplot_titles=(f"modes covered (by {by})", f"distance to the data (by {by})",
                                                        "training loss (by step)"), horizontal_spacing=0.08)
    if history:
        xs = [r["wall_s"] if by == "wall time" else r["step"] for r in history]
        for name, colour in COLOURS.items():
            fig.add_trace(go.Scatter(x=xs, y=[r[name]["modes_hit"] for r in history], mode="lines+markers",
                                     line=dict(color=colour), name=name), 1, 1)
            fig.add_trace(go.Scatter(x=xs, y=[r[name]["distance"] for r in history], mode="lines+markers",
                                     line=dict(color=colour), name=name, showlegend=False), 1, 2)
        fig.add_trace(go.Scatter(x=xs, y=[r["floor"] for r in history], mode="lines", line=dict(color="grey", dash="dot"),
                                 name="data vs data (floor)"), 1, 2)
        fig.update_yaxes(range=[0, history[-1]["diffusion"]["modes"] + 0.5], row=1, col=1)
    for name, colour in COLOURS.items():
        if losses.get(name):
            s, v = zip(*losses[name])
            fig.add_trace(go.Scatter(x=s, y=v, mode="lines", line=dict(color=colour, width=1), showlegend=False), 1, 3)
    fig.update_xaxes(title_text=axis, row=1, col=1)
    fig.update_xaxes(title_text=axis, row=1, col=2)
    fig.update_xaxes(title_text="step", row=1, col=3)
    fig.update_yaxes(type="log", row=1, col=3)  # the VAE's ELBO (nats) is far above the other two
    fig.update_layout(height=height, margin=dict(l=40, r=10, t=40, b=40), legend=dict(orientation="h", y=-0.25))
    return fig
