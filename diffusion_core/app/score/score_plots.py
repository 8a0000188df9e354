"""Pictures of the score lab: the drawing canvas (an image the user clicks on), the field at t (density,
noised cloud, exact and learned score arrows), particle paths, and the training curves."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from diffusion_core.app import plane_figures as pf

EXTENT = 4.0  # the plane shown: [-EXTENT, EXTENT]^2
CANVAS = 360  # pixels of the drawing canvas
CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
# The learned arrows' colours by relative error: Okabe & Ito's colour-blind-safe blue, orange and vermillion.
ERROR_BINS = ((0.0, 0.1, "#0072B2", "learned score, error < 10%"), (0.1, 0.3, "#E69F00", "learned, 10-30%"),
              (0.3, np.inf, "#D55E00", "learned, error > 30%"))
SHOWN_LOG_DENSITY = 8.0  # the heat map spans the top 8 nats of log p_t at each t (a fixed width: p_t's spread shows)


# ---------------------------------------------------------------------------- the canvas
def pixel_to_plane(px: float, py: float) -> tuple[float, float]:
    """A click on the canvas (pixels from its top left) -> plane coordinates."""
    return (px / CANVAS * 2 - 1) * EXTENT, (1 - py / CANVAS * 2) * EXTENT


def canvas_image(points: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The data as a uint8 RGB image (CANVAS, CANVAS, 3): a grid every unit, axes darker, points coloured
    by class. Drawn with numpy (a few ms), so a click answers at once."""
    img = np.full((CANVAS, CANVAS, 3), 255, np.uint8)
    for v in range(-int(EXTENT), int(EXTENT) + 1):
        p = int(round((v / EXTENT + 1) / 2 * (CANVAS - 1)))
        shade = 170 if v == 0 else 228
        img[:, p] = shade
        img[p, :] = shade
    if len(points):
        px = np.clip(((points[:, 0] / EXTENT + 1) / 2 * (CANVAS - 1)).round().astype(int), 1, CANVAS - 2)
        py = np.clip(((1 - (points[:, 1] / EXTENT + 1) / 2) * (CANVAS - 1)).round().astype(int), 1, CANVAS - 2)
        rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in CLASS_COLOURS], np.uint8)[labels % 8]
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                img[py + dy, px + dx] = rgb
    return img


# ---------------------------------------------------------------------------- the field at t
def arrow_scale(*fields: np.ndarray, spacing: float) -> float:
    """One length scale for every field drawn, so exact and learned arrows compare: the longest arrow
    (95th percentile) is 0.9 grid spacings."""
    norms = np.concatenate([np.linalg.norm(f, axis=1) for f in fields])
    top = float(np.percentile(norms, 95)) if len(norms) else 1.0
    return 0.9 * spacing / max(top, 1e-9)


def field_figure(grid: np.ndarray, log_density: np.ndarray, cloud: np.ndarray, arrows_at: np.ndarray,
                 exact: np.ndarray, learned: np.ndarray | None, errors: np.ndarray | None, title: str,
                 height: int = 520) -> go.Figure:
    """Heat map of log p_t on `grid` (G,) x (G,), the noised cloud x_t (n, 2), the exact score at
    `arrows_at` (A, 2) in black and the learned one coloured by its relative error (A,)."""
    top = float(log_density.max())
    traces = [go.Heatmap(x=grid, y=grid, z=log_density, colorscale="Blues", showscale=False, zmin=top - SHOWN_LOG_DENSITY,
                         zmax=top, hovertemplate="log p_t = %{z:.2f}<extra></extra>", name="log p_t"),
              go.Scattergl(x=cloud[:, 0], y=cloud[:, 1], mode="markers", name="x_t (noised data)",
                           marker=dict(size=3, color="rgba(90,90,90,0.45)"))]
    spacing = float(arrows_at[1, 0] - arrows_at[0, 0]) if len(arrows_at) > 1 and arrows_at[1, 0] != arrows_at[0, 0] else 0.5
    fields = [exact] + ([learned] if learned is not None else [])
    scale = arrow_scale(*fields, spacing=abs(spacing) or 0.5)
    traces += pf.arrows(arrows_at, exact * scale, "rgba(0,0,0,0.75)", 3.5, "exact score ∇log p_t")
    if learned is not None:
        for lo, hi, colour, name in ERROR_BINS:
            rows = (errors >= lo) & (errors < hi)
            if rows.any():
                traces += pf.arrows(arrows_at[rows], learned[rows] * scale, colour, 1.5, name)
    return pf.figure(traces, _plane(title, height))


def _plane(title: str, height: int) -> dict:
    """The layout of one square view of the plane, axes x₁ and x₂."""
    return dict(pf.panels([""], extent=EXTENT, x_titles=["x₁"], y_titles=["x₂"]), title=dict(text=title, font=dict(size=14)), height=height, margin=dict(l=40, r=10, t=50, b=40),
                legend=dict(orientation="h", y=-0.08), plot_bgcolor="white")


# ---------------------------------------------------------------------------- the reverse process
def paths_figure(paths: np.ndarray, k: int, data: np.ndarray, title: str, shown_paths: int = 40,
                 height: int = 520) -> go.Figure:
    """Particles at step k of a run (paths (K + 1, n, 2), x_T first) over the data, with the first
    `shown_paths` particles' trails from x_T to step k."""
    shown = min(shown_paths, paths.shape[1])
    xs, ys = pf.polylines(np.asarray(paths[: k + 1, :shown]).transpose(1, 0, 2))
    traces = [go.Scattergl(x=data[:, 0], y=data[:, 1], mode="markers", name="data",
                           marker=dict(size=3, color="rgba(31,119,180,0.35)")),
              go.Scatter(x=xs, y=ys, mode="lines", line=dict(color="rgba(214,39,40,0.3)", width=0.8), name=f"paths of {shown} particles"),
              go.Scattergl(x=paths[k, :, 0], y=paths[k, :, 1], mode="markers", name=f"particles at step {k}",
                           marker=dict(size=3, color="#d62728"))]
    return pf.figure(traces, _plane(title, height))


# ---------------------------------------------------------------------------- training
def training_figure(losses: list, error_t: np.ndarray | None = None, error: np.ndarray | None = None,
                    height: int = 300) -> go.Figure:
    """Left: the eps-MSE loss against the training step; right: the learned score's relative error
    against t (after training)."""
    layout = pf.panels(["training loss (eps-MSE)", "score error E|s_θ−s|²/E|s|² by t"], gap=0.12, x_titles=["step", "t"])
    layout["yaxis2"]["type"] = "log"
    traces = []
    if losses:
        steps, values = np.asarray(losses, np.float64).T
        traces.append(go.Scatter(x=steps, y=values, mode="lines", name="loss", line=dict(color="#1f77b4"), **pf.on(1)))
    if error_t is not None and len(error_t):
        traces.append(go.Scatter(x=error_t, y=error, mode="lines+markers", name="score error", line=dict(color="#d62728"), **pf.on(2)))
    return pf.figure(traces, dict(layout, height=height, margin=dict(l=40, r=10, t=40, b=40), showlegend=False))
