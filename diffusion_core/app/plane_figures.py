"""Fast plotly figures of the 2D plane, for the views that stream (the score lab and the race redraw
several times a second).

Plotly's helpers (`make_subplots`, `update_layout`, `update_xaxes`) and Python lists with `None` breaks
cost tens of milliseconds per figure; a figure built in one go from plain dicts, with numpy arrays whose
NaN rows break the lines, costs a few. Every function here returns plain data for `go.Figure(data=...,
layout=...)`: `panels` lays out equal square panels side by side (what `make_subplots` would), `segments`
and `polylines` give line traces' coordinates.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def segments(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Line segments starts[i] -> ends[i] (n, 2) as one trace's (x, y): (3n,) each, NaN between segments."""
    seg = np.full((len(starts), 3, 2), np.nan)
    seg[:, 0], seg[:, 1] = starts, ends
    seg = seg.reshape(-1, 2)
    return seg[:, 0], seg[:, 1]


def arrows(starts: np.ndarray, vectors: np.ndarray, colour: str, width: float, name: str, **axes) -> list[go.Scatter]:
    """Arrows starts[i] -> starts[i] + vectors[i] (n, 2): the shafts as one line trace, the heads as triangles at
    the tips turned along each vector (plotly's marker angle counts clockwise from up; the panels are square),
    sharing one legend entry; `axes`: a panel's axes (`on(k)`)."""
    tips = starts + vectors
    xs, ys = segments(starts, tips)
    angle = np.degrees(np.arctan2(vectors[:, 0], vectors[:, 1]))
    return [go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=width), name=name, legendgroup=name, **axes),
            go.Scatter(x=tips[:, 0], y=tips[:, 1], mode="markers", legendgroup=name, showlegend=False, hoverinfo="skip",
                       marker=dict(symbol="triangle-up", size=4 + 2 * width, angle=angle, color=colour, line=dict(width=0)), **axes)]


def polylines(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polylines (L, P, 2) (L lines of P points) as one trace's (x, y): (L (P + 1),) each, NaN between lines."""
    lines = np.asarray(lines, np.float64)
    out = np.full((lines.shape[0], lines.shape[1] + 1, 2), np.nan)
    out[:, :-1] = lines
    out = out.reshape(-1, 2)
    return out[:, 0], out[:, 1]


def _axis_name(kind: str, k: int) -> str:
    """'xaxis', 'xaxis2', ... for layout keys (k from 1)."""
    return f"{kind}axis" + ("" if k == 1 else str(k))


def panels(titles: list[str], extent: float | None = None, gap: float = 0.04, square: bool = True,
           x_titles: list[str] | None = None, y_titles: list[str] | None = None) -> dict:
    """Layout entries for len(titles) panels side by side, each with its title above it (none for ""): axes
    (xaxis, yaxis), (xaxis2, yaxis2), ...; with `extent`, each shows [-extent, extent]^2 without grid,
    and `square` keeps its aspect 1:1. Traces go to panel k with xaxis="x{k}", yaxis="y{k}" (see `on`)."""
    n = len(titles)
    width = (1 - gap * (n - 1)) / n
    layout, notes = {}, []
    for k in range(1, n + 1):
        lo = (k - 1) * (width + gap)
        x = dict(domain=[lo, lo + width], anchor=f"y{'' if k == 1 else k}")
        y = dict(anchor=f"x{'' if k == 1 else k}")
        if extent is not None:
            common = dict(range=[-extent, extent], showgrid=False, zeroline=False, constrain="domain")
            x.update(common)
            y.update(common)
            if square:
                y["scaleanchor"] = f"x{'' if k == 1 else k}"
        if x_titles:
            x["title"] = dict(text=x_titles[k - 1])
        if y_titles:
            y["title"] = dict(text=y_titles[k - 1])
        layout[_axis_name("x", k)], layout[_axis_name("y", k)] = x, y
        if titles[k - 1]:
            notes.append(dict(text=titles[k - 1], x=lo + width / 2, y=1.0, xref="paper", yref="paper", xanchor="center",
                              yanchor="bottom", showarrow=False, font=dict(size=13)))
    if notes:
        layout["annotations"] = notes
    return layout


def log_axis(values) -> dict:
    """A log axis whose every tick reads as a whole number (0.02, 0.05, 0.1, 0.2, ...): ticks at 1, 2 and 5 times
    each power of ten within the values' range (plotly's own minor labels read "5, 2, 0.1, 5, 2")."""
    v = np.asarray([x for x in np.ravel(values) if np.isfinite(x) and x > 0], np.float64)
    if not len(v):
        return dict(type="log")
    lo, hi = np.floor(np.log10(v.min())), np.ceil(np.log10(v.max()))
    ticks = [m * 10.0**e for e in np.arange(lo, hi + 1) for m in (1, 2, 5) if v.min() / 2 <= m * 10.0**e <= v.max() * 2]
    return dict(type="log", tickmode="array", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])


def on(k: int) -> dict:
    """A trace's axes for panel k (from 1)."""
    return {"xaxis": f"x{'' if k == 1 else k}", "yaxis": f"y{'' if k == 1 else k}"}


def figure(traces: list, layout: dict) -> go.Figure:
    """The figure in one go (traces: dicts with a "type" or plotly trace objects)."""
    return go.Figure(data=traces, layout=layout)
