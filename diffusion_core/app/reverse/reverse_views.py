"""Pictures and plots of a reverse trajectory: image grids of x_t, predicted noise, predicted x0 and
the update; the moments of x_t against the schedule's prediction; the trajectory as a GIF.

Images come out as uint8 arrays, nearest-neighbour upscaled so 28x28 digits stay crisp.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from pathlib import Path

import numpy as np
from PIL import Image

from diffusion_core.data.images import caption_below, digit_grid, rgb
from diffusion_core.app.wording import cache_note, plural
from diffusion_core.pipelines.denoising import Trajectory, predicted_moments
from diffusion_core.pipelines.generation import guidance_interval

if TYPE_CHECKING:  # plotly is imported where a figure is made: the library runs without it
    import plotly.graph_objects as go



def requested(traj: Trajectory):
    """The digit each image was asked to be, as labels under the pictures (only for 'mixed 0-9')."""
    if traj.settings.get("label") != "mixed 0-9":
        return None
    return [f"asked: {y}" for y in traj.labels]


def step_images(traj: Trajectory, k: int) -> dict[str, np.ndarray]:
    """The four views of step k: x_t and x̂₀ in [-1, 1]; ε̂ over [-3, 3]; the update over its own
    largest magnitude (so small late updates are still visible)."""
    k = int(min(max(k, 0), traj.num_steps - 1))
    a = traj.step_arrays(k)
    update = a["x_next"] - a["x_t"]
    m = float(np.abs(update).max()) or 1.0
    span = 3.0 if traj.alpha_bar[k] < 0.5 else 1.0  # noisy inputs over [-3, 3], nearly clean ones over [-1, 1]
    asked = requested(traj)
    return {
        "x_t": digit_grid(a["x_t"].clip(-span, span), -span, span, labels=asked),
        "eps": digit_grid(a["eps"], -3, 3, labels=asked),
        "x0": digit_grid(a["x0"], labels=asked),
        "update": digit_grid(update, -m, m, signed=True, labels=asked),
    }


def live_images(traj: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """What streams while sampling: the current x_t (after the latest step) and the latest x̂₀."""
    asked = requested(traj)
    if not traj.t:
        return (digit_grid(np.asarray(traj.x_T, np.float32).clip(-3, 3), -3, 3, labels=asked),
                digit_grid(np.zeros_like(traj.x_T, dtype=np.float32), labels=asked))
    last = traj.num_steps - 1
    ab = traj.alpha_bar_next[last]
    span = 1.0 if ab >= 0.5 else 3.0
    return (digit_grid(np.asarray(traj.x_next[last], np.float32).clip(-span, span), -span, span, labels=asked),
            digit_grid(traj.x0[last], labels=asked))


def step_caption(traj: Trajectory, k: int) -> str:
    """What step k did, in words; a run that ended early says so at its last recorded step."""
    k = int(min(max(k, 0), traj.num_steps - 1))
    total = int(traj.settings["steps"])
    t_next = traj.t_next[k] if k < len(traj.t_next) else -1
    nxt = "the clean image" if t_next < 0 else f"t = {t_next:g}"
    head = f"**Step {k + 1} of {total}**" if traj.done or k + 1 < traj.num_steps else (
        f"**Step {k + 1} of {total}, where the run was stopped** (not the clean image: {total - k - 1} steps were left)")
    return (f"{head}: t = {traj.t[k]:g} (ᾱ = {traj.alpha_bar[k]:.4g}) → {nxt} "
            f"(ᾱ = {traj.alpha_bar_next[k]:.4g}) · {guidance_note(traj, k)} · {traj.nfe[k]} network passes so far "
            f"· {traj.ms[k]:.1f} ms" + "".join(f"\n\n{n}" for n in run_notes(traj)))


def run_notes(traj: Trajectory) -> list[str]:
    """Plain words for runs whose output is not a digit because of where they start: too late
    (x_T read as an almost clean image) or too early with too few steps (x̂₀ divides by √ᾱ ≈ 0)."""
    if not traj.t:
        return []
    s, t0, ab0 = traj.settings, traj.t[0], traj.alpha_bar[0]
    notes = []
    if ab0 > 0.5:
        notes.append(f"Note: this run starts at t = {t0:g}, where ᾱ = {ab0:.4f}: the sampler treats the pure noise x_T as an "
                     f"almost clean image and removes almost nothing, so the output is still noise. With {s['spacing']} "
                     f"spacing and {s['steps']} step(s) the steps sit at the low-noise end; use trailing spacing or more steps.")
    elif int(s["steps"]) <= 3 and ab0 < 1e-3:
        notes.append(f"Note: {s['steps']} step(s) from t = {t0:g} (ᾱ = {ab0:.2g}) must reach the clean image at once: "
                     f"x̂₀ = (x_t − √(1−ᾱ)·ε̂)/√ᾱ divides by √ᾱ = {ab0 ** 0.5:.1g}, so every error in ε̂ is multiplied by "
                     f"~{1 / ab0 ** 0.5:,.0f} and the pixels saturate at ±1. Diffusion needs many small steps: try 10 or more.")
    return notes


def run_summary(traj: Trajectory, device: bool = True) -> str:
    """A finished run in one line: steps, network passes, time, (the device,) and what it drew."""
    if not traj.t:
        return "no steps yet"
    ms, s = np.asarray(traj.ms), traj.settings
    where = f" · {traj.device}" if device else ""
    return (f"{plural(traj.num_steps, 'step')} · {plural(traj.nfe[-1], 'network pass', 'network passes')} · "
            f"{ms.mean():.1f} ms per step ({ms.sum() / 1000:.2f} s in all){cache_note(traj.reused)}{where} · {s['label']}, seed {s['seed']}, "
            f"{s['sampler']}")


def guidance_note(traj: Trajectory, k: int) -> str:
    """How step k's noise prediction was made: guided, or the conditional one outside the guided interval."""
    s = traj.settings
    w, (low, high) = float(s["guidance"]), guidance_interval(s)
    if s.get("label") == "unconditional":
        return "unconditional prediction"
    if w == 1.0:
        return "conditional prediction (guidance 1)"
    if traj.t[k] < low:
        return f"conditional only (t < {low:g}: not guided)"
    if traj.t[k] > high:
        return f"conditional only (t > {high:g}: not guided)"
    return f"guided, w = {w:g}"


def moments_figure(traj: Trajectory, current: int | None = None) -> go.Figure:
    """Pixel mean and std of x_t at every step (measured over all images) against the forward
    process's prediction for MNIST-like data at the same alpha_bar."""
    import plotly.graph_objects as go  # here, not at the top: the library runs without plotly (the GPU check)
    fig = go.Figure()
    if not traj.t:
        return fig
    x_in = np.stack([np.asarray(x, np.float32) for x in traj.x_t] + [np.asarray(traj.x_next[-1], np.float32)])
    ab = np.asarray(traj.alpha_bar + [traj.alpha_bar_next[-1]])
    steps = np.arange(len(ab))
    mean_pred, std_pred = predicted_moments(ab)
    fig.add_scatter(x=steps, y=x_in.std(axis=(1, 2, 3)), mode="lines+markers", name="std of x_t (measured)", line=dict(color="#d62728"))
    fig.add_scatter(x=steps, y=std_pred, mode="lines", name="std predicted by the schedule", line=dict(color="#d62728", dash="dash"))
    fig.add_scatter(x=steps, y=x_in.mean(axis=(1, 2, 3)), mode="lines+markers", name="mean of x_t (measured)", line=dict(color="#1f77b4"))
    fig.add_scatter(x=steps, y=mean_pred, mode="lines", name="mean predicted by the schedule", line=dict(color="#1f77b4", dash="dash"))
    if current is not None:
        fig.add_vline(x=int(current), line=dict(color="grey", dash="dot"))
    fig.update_layout(height=300, margin=dict(l=40, r=10, t=30, b=40), xaxis_title="step (0 = x_T, last = output)",
                      yaxis_title="pixel value", legend=dict(orientation="h", y=-0.3), title="x_t's moments against the schedule")
    return fig


def trajectory_gif(traj: Trajectory, path: Path, ms_per_frame: int = 150) -> Path:
    """An animated GIF: x_t (left) and predicted x̂₀ (right) at every step, holding the last frame."""
    if not traj.t:
        raise ValueError("Generate first: there is no trajectory to export yet.")
    def pair(left, right, text):
        left, right = rgb(left), rgb(right)
        return Image.fromarray(caption_below(np.concatenate([left, np.full((left.shape[0], 8, 3), 255, np.uint8), right], axis=1),
                                             text))

    total = traj.settings["steps"]
    frames = [pair(*(lambda v: (v["x_t"], v["x0"]))(step_images(traj, k)),
                   f"step {k + 1} of {total}: x_t at t = {traj.t[k]:g} (left), predicted x0 (right)")
              for k in range(traj.num_steps)]
    out = digit_grid(traj.final(), labels=requested(traj))
    end = "the output" if traj.done else f"stopped after step {traj.num_steps} of {total} (not the clean image)"
    frames.append(pair(out, out, end))
    durations = [ms_per_frame] * (len(frames) - 1) + [1500]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return Path(path)
