"""Plots of the race: the measures against steps and time (the three models' samples are a picture,
`race_frames`)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from diffusion_core.app import plane_figures as pf

COLOURS = {"diffusion": "#d62728", "gan": "#2ca02c", "vae": "#9467bd"}
NAMES = {"diffusion": "Diffusion (MLP, eps-MSE)", "gan": "GAN (MLP, non-saturating)", "vae": "VAE (MLP, 2D latent)"}


def measures_figures(history: list, losses: dict, by: str = "step", height: int = 300) -> tuple[go.Figure, go.Figure, go.Figure]:
    """Three figures, each its own panel (side by side on a wide screen, one per row on a phone): modes covered and
    the distance to the data (with its floor), against training steps or wall time (`by` = "step" or "wall
    time"); the three training losses against steps (log axis)."""
    axis = "s" if by == "wall time" else "step"
    margin = dict(l=45, r=10, t=40, b=40)
    modes, distance, loss = [], [], []
    if history:
        xs = np.array([r["wall_s"] if by == "wall time" else r["step"] for r in history], np.float64)
        for name, colour in COLOURS.items():
            line = dict(mode="lines+markers", line=dict(color=colour), name=name)
            modes.append(go.Scatter(x=xs, y=np.array([r[name]["modes_hit"] for r in history]), **line))
            distance.append(go.Scatter(x=xs, y=np.array([r[name]["distance"] for r in history]), showlegend=False, **line))
        distance.append(go.Scatter(x=xs, y=np.array([r["floor"] for r in history]), mode="lines", line=dict(color="grey", dash="dot"),
                                   name="data vs data (floor)"))
    values = []
    for name, colour in COLOURS.items():
        if losses.get(name):
            s, v = np.asarray(losses[name], np.float64).T
            loss.append(go.Scatter(x=s, y=v, mode="lines", line=dict(color=colour, width=1), name=name))
            values.append(v)
    top = history[-1]["diffusion"]["modes"] + 0.5 if history else 8.5
    legend = dict(orientation="h", y=-0.3)
    return (pf.figure(modes, dict(title=f"modes covered (by {by})", height=height, margin=margin, legend=legend,
                                  xaxis=dict(title=axis), yaxis=dict(range=[0, top]))),
            pf.figure(distance, dict(title=f"distance to the data (by {by})", height=height, margin=margin, legend=legend,
                                     xaxis=dict(title=axis))),
            pf.figure(loss, dict(title="training loss (by step)", height=height, margin=margin, legend=legend,
                                 xaxis=dict(title="step"), yaxis=pf.log_axis(np.concatenate(values) if values else []))))
