"""Plots of the race: the measures against steps and time (the three models' samples are a picture,
`race_frames`)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from diffusion_core.app import plane_figures as pf

COLOURS = {"diffusion": "#d62728", "gan": "#2ca02c", "vae": "#9467bd"}
NAMES = {"diffusion": "Diffusion (MLP, eps-MSE)", "gan": "GAN (MLP, non-saturating)", "vae": "VAE (MLP, 2D latent)"}


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
