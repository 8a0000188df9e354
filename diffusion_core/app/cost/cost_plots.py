"""The Cost tab's figures, one per panel (they wrap one per row on a phone), drawn from the recorded figures
(`evaluation/cost_report.py`): the quality-for-passes frontier, where a forward pass's operations and time go as
the tokens grow, and a training step's memory against the batch size."""
from __future__ import annotations

import plotly.graph_objects as go

from diffusion_core.app import plane_figures as pf

# Okabe & Ito's colour-blind-safe colours, one per sampler (the score lab's palette)
COLOURS = {"ddpm": "#E69F00", "ddim": "#56B4E9", "dpm++2m": "#009E73", "euler": "#CC79A7", "heun": "#0072B2",
           "gan": "#D55E00", "vae": "#000000"}
PART_COLOURS = {"attention_projections": "#56B4E9", "attention_scores": "#D55E00", "mlp": "#009E73", "other": "#999999"}
PART_NAMES = {"attention_projections": "attention: projections (qkv, output)", "attention_scores": "attention: scores (QK^T, weights x V)",
              "mlp": "MLP", "other": "the rest (embeddings, adaLN, output layer)"}
LAYOUT = dict(height=340, margin=dict(l=55, r=10, t=40, b=45), legend=dict(orientation="h", y=-0.25))

METRICS = {"accuracy": ("classified as the asked digit (%)", lambda r: 100 * r["accuracy"], False),
           "frechet": ("Fréchet distance / real-vs-real floor", lambda r: r["frechet_ratio_to_floor"], True)}


def _title(text: str) -> dict:
    return dict(text=text, font=dict(size=13))


def frontier_figure(frontier: dict, metric: str) -> go.Figure:
    """One quality measure (`METRICS`) against network passes per image (log axis): a line per sampler, the GAN
    and the VAE at one pass, the default and fast presets ringed."""
    label, value, log_y = METRICS[metric]
    traces, xs, ys = [], [], []
    for sampler in dict.fromkeys(r["sampler"] for r in frontier["rows"]):
        rows = sorted((r for r in frontier["rows"] if r["sampler"] == sampler), key=lambda r: r["passes"])
        traces.append(go.Scatter(x=[r["passes"] for r in rows], y=[value(r) for r in rows], mode="lines+markers",
                                 name=sampler, line=dict(color=COLOURS.get(sampler))))
        xs += [r["passes"] for r in rows]
        ys += [value(r) for r in rows]
    for kind, r in frontier["one_pass"].items():
        traces.append(go.Scatter(x=[r["passes"]], y=[value(r)], mode="markers+text", name=kind.upper(), text=[kind.upper()],
                                 textposition="top right" if kind == "gan" else "bottom right",  # apart when they tie
                                 marker=dict(symbol="square", size=10, color=COLOURS[kind])))
        ys.append(value(r))
    for name, r in frontier["presets"].items():
        traces.append(go.Scatter(x=[r["passes"]], y=[value(r)], mode="markers+text", name=f"preset: {name}", text=[name],
                                 textposition="bottom center", showlegend=False,
                                 marker=dict(symbol="circle-open", size=18, line=dict(width=2), color="#000000")))
    yaxis = dict(pf.log_axis(ys) if log_y else {}, title=label)
    return go.Figure(traces, dict(LAYOUT, title=_title(f"{label.split(' (')[0]} for network passes"),
                                  xaxis=dict(pf.log_axis(xs + [1]), title="network passes per image"), yaxis=yaxis))


def parts_figure(compute: dict, what: str) -> go.Figure:
    """Stacked bars per token count: the counted operations per image by part (`what` = "flops"), or the measured
    ms of one forward by part ("ms"; the scores timed alone, the rest of the attention module beside them)."""
    rows = compute["rows"]
    x = [f"{r['tokens']} tokens (patch {r['patch_size']})" for r in rows]

    def split(r):
        if what == "flops":
            return {k: r["flops_per_image"][k] / 1e6 for k in PART_COLOURS}
        ms = r["ms"]
        return {"attention_projections": max(ms["attention"] - ms["attention_scores"], 0.0), "attention_scores": ms["attention_scores"],
                "mlp": ms["mlp"], "other": max(ms["forward"] - ms["attention"] - ms["mlp"], 0.0)}

    parts = [split(r) for r in rows]
    traces = [go.Bar(x=x, y=[p[k] for p in parts], name=PART_NAMES[k], marker_color=PART_COLOURS[k]) for k in PART_COLOURS]
    title = ("operations per image (millions), counted" if what == "flops" else
             f"ms per forward of {rows[0]['rows']} inputs, measured")
    return go.Figure(traces, dict(LAYOUT, barmode="stack", title=_title(title), yaxis=dict(title="MFLOP" if what == "flops" else "ms")))


def memory_figure(memory: dict) -> go.Figure:
    """What one training step adds at its peak, against the batch size: with and without checkpointing, per device."""
    traces = []
    for device in dict.fromkeys(r["device"] for r in memory["rows"]):
        for on in (False, True):
            rows = sorted((r for r in memory["rows"] if r["device"] == device and r["checkpointing"] == on), key=lambda r: r["batch"])
            if rows:
                traces.append(go.Scatter(x=[r["batch"] for r in rows], y=[r["step_mb"] for r in rows], mode="lines+markers",
                                         name=f"{device}, " + ("checkpointing" if on else "all activations kept"),
                                         line=dict(dash="dash" if on else "solid")))
    batches = [r["batch"] for r in memory["rows"]]
    return go.Figure(traces, dict(LAYOUT, title=_title("memory one training step adds (MiB)"),
                                  xaxis=dict(pf.log_axis(batches), title="batch size"), yaxis=dict(title="MiB")))
