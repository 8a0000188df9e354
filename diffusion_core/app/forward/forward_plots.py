"""Plotly figures and image strips for the forward-process lab."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from diffusion_core.data.images import labelled_grid
from diffusion_core.data.images_io import display_image
from diffusion_core.maths.schedules import NoiseSchedule

COLOURS = ("#1f77b4", "#d62728", "#2ca02c")
MAX_POINTS = 1000  # per curve: T = 100000 would otherwise send 28 MB of plot to the browser


def curve_steps(T: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices 0 .. T-1 of the steps a curve is drawn at: every step up to `max_points`, else evenly
    spaced ones, always with the first and the last (where cosine's beta jumps to 0.999)."""
    if T <= max_points:
        return np.arange(T)
    return np.unique(np.linspace(0, T - 1, max_points).round().astype(int))


SCHEDULE_PANELS = ("β_t: noise added at step t", "ᾱ_t: signal variance left",
                   "√ᾱ_t signal (solid), √(1−ᾱ_t) noise (dotted)", "log-SNR = log(ᾱ/(1−ᾱ))")


def schedule_figures(schedules: list[tuple[str, NoiseSchedule]], t: int | None = None, log_beta: bool = False,
                     height: int = 230) -> tuple[go.Figure, ...]:
    """Four figures against the step t, each its own panel (two per row on a wide screen, one per row on a phone):
    beta_t (on a log axis with `log_beta`: cosine's last beta of 0.999 otherwise flattens the rest); alpha_bar_t;
    sqrt(alpha_bar_t) (solid) and sqrt(1 - alpha_bar_t) (dotted), the signal and noise amplitudes; log-SNR. A dashed
    line marks the current t; the first carries the legend (one colour per schedule)."""
    figs = [go.Figure() for _ in SCHEDULE_PANELS]
    for k, (label, s) in enumerate(schedules):
        c = COLOURS[k % len(COLOURS)]
        idx = curve_steps(s.num_timesteps)  # the timestep t is the arrays' index
        with np.errstate(divide="ignore"):
            lsnr = np.where(np.isfinite(s.log_snr[idx]), s.log_snr[idx], np.nan)
        kw = dict(mode="lines", line=dict(color=c), legendgroup=label, name=label)
        figs[0].add_trace(go.Scatter(x=idx, y=s.betas[idx], showlegend=True, **kw))
        figs[1].add_trace(go.Scatter(x=idx, y=s.alphas_cumprod[idx], showlegend=False, **kw))
        figs[2].add_trace(go.Scatter(x=idx, y=s.sqrt_alphas_cumprod.take(idx), showlegend=False, **{**kw, "name": f"{label} √ᾱ"}))
        figs[2].add_trace(go.Scatter(x=idx, y=s.sqrt_one_minus_alphas_cumprod.take(idx), showlegend=False, mode="lines",
                                     line=dict(color=c, dash="dot"), legendgroup=label, name=f"{label} √(1-ᾱ)"))
        figs[3].add_trace(go.Scatter(x=idx, y=lsnr, showlegend=False, **kw))
    for fig, title in zip(figs, SCHEDULE_PANELS):
        if t is not None and schedules:
            fig.add_vline(x=t, line=dict(color="black", dash="dash", width=1))
        fig.update_layout(title=dict(text=title + (" (log axis)" if log_beta and fig is figs[0] else ""), font=dict(size=12)),
                          height=height, margin=dict(l=40, r=15, t=35, b=30), template="plotly_white",
                          legend=dict(orientation="h", y=-0.25), xaxis=dict(title=dict(text="t", standoff=2)))
    if log_beta:
        figs[0].update_yaxes(type="log")
    figs[0].update_layout(height=height + 30)  # its legend below
    return tuple(figs)


def histogram_figure(x_t: np.ndarray, bins: int = 60) -> go.Figure:
    """Histogram (density) of x_t's values against the N(0, 1) density the process ends at."""
    v = np.asarray(x_t, dtype=np.float64).ravel()
    lo, hi = min(-4.0, float(v.min())), max(4.0, float(v.max()))
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi), density=True)
    centres = (edges[:-1] + edges[1:]) / 2
    grid_x = np.linspace(lo, hi, 200)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=centres, y=counts, width=edges[1] - edges[0], name="x_t values", marker_color="#7f7f7f"))
    fig.add_trace(go.Scatter(x=grid_x, y=np.exp(-grid_x**2 / 2) / np.sqrt(2 * np.pi), name="N(0, 1)",
                             mode="lines", line=dict(color="#d62728")))
    fig.update_layout(height=260, margin=dict(l=30, r=10, t=30, b=30), template="plotly_white", bargap=0,
                      title=dict(text=f"x_t: mean {v.mean():+.3f}, std {v.std():.3f}", font=dict(size=13)),
                      legend=dict(orientation="h", y=-0.2), yaxis=dict(range=[0, max(0.6, float(counts.max()) * 1.05)]))
    return fig


def strip_image(rows: list[list[np.ndarray]], cell: int = 112, row_labels: list[str] | None = None,
                cell_labels: list[list[str]] | None = None) -> np.ndarray:
    """A grid (one row per schedule, its name on the left) of float (H, W, C) images in [-1, 1] as uint8,
    each cell upscaled (nearest) or downscaled to about `cell` px, with its label (t) under it."""
    cells = []
    for row in rows:
        for x in row:
            u8 = display_image(x, min_side=cell)
            if max(u8.shape[:2]) > cell:
                step = int(np.ceil(max(u8.shape[:2]) / cell))
                u8 = u8[::step, ::step]
            cells.append(u8)
    h = max(c.shape[0] for c in cells)
    w = max(c.shape[1] for c in cells)
    padded = []
    for c in cells:
        canvas = np.full((h, w) + c.shape[2:], 255, dtype=np.uint8)
        canvas[: c.shape[0], : c.shape[1]] = c
        padded.append(canvas)
    n = len(rows[0])
    return labelled_grid([padded[k:k + n] for k in range(0, len(padded), n)], cell_labels, row_labels)
