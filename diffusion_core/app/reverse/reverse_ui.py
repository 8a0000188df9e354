"""One function per control of the reverse-process tab: raw UI values in, what the components show
out. Bad values raise `ValueError` with a message for the user (the app shows it, never a traceback);
a missing or broken DiT raises `WeightsError`, whose message says how to restore it.

The per-user trajectory travels in the app's session state (a `Trajectory`), never in a global.
"""
from __future__ import annotations

import hashlib
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from diffusion_core.app.reverse import attention_view as av
from diffusion_core.pipelines import backends
from diffusion_core.pipelines import denoising as rl
from diffusion_core.app.reverse import reverse_views as rv
from diffusion_core.pipelines import sdedit as sd
from diffusion_core.data.images import digit_grid
from diffusion_core.data.images_io import digit_choices, sample_digits
from diffusion_core.data.mnist import to_model_space
from diffusion_core.paths import export_path
from diffusion_core.app import frame_files
from diffusion_core.networks import runtime
from diffusion_core.networks.loaded import loaded
from diffusion_core.app.wording import article, plural
from diffusion_core.maths.schedules import schedule_from_dict
from diffusion_core.settings import SAMPLING_KEYS, Sampling, presets, sampling

SDEDIT_TARGETS = ["same as the digit"] + [str(d) for d in range(10)]
CENTER_PATCH = 24  # row 4, column 4 of the 7x7 tokens


def progress_bar(done: int, total: int, width: int = 20) -> str:
    filled = int(round(width * done / max(total, 1)))
    return "▰" * filled + "▱" * (width - filled)


def status_text(traj: rl.Trajectory, sharing: int = 0) -> str:
    """The status line while a run streams and when it ends; `sharing`: other generations running now
    (they share each network call)."""
    s = traj.settings
    total = s["steps"]
    head = f"{progress_bar(traj.num_steps, total)} step {traj.num_steps} of {total}"
    if traj.done:
        return f"Done: {rv.run_summary(traj)}" + "".join(f"\n\n{n}" for n in rv.run_notes(traj))
    if traj.num_steps:
        head += f" · {traj.ms[-1]:.0f} ms per step · {traj.device}"
    else:
        head += f" · starting from x_T (seed {s['seed']}) · {traj.device}"
    if sharing:
        head += f" · sharing the network with {sharing} other run{'s' if sharing > 1 else ''}"
    return head


def stopped_status(traj, why: str = "Stopped") -> str:
    """The status line of a run that ended early: where it stopped, and that its end is not the clean image."""
    if traj is None or traj.done:
        return status_text(traj) if traj is not None else "Nothing is running."
    total = traj.settings["steps"]
    return (f"{why} at step {traj.num_steps} of {total}: the scrubber holds the {traj.num_steps} recorded steps; "
            "the last one is not the clean image.")


def _require(traj) -> rl.Trajectory:
    if traj is None or not getattr(traj, "t", None):
        raise ValueError("Press Generate first: there is no trajectory yet.")
    return traj


def _index(value, count: int, default: int) -> int:
    """A 1-based UI number (slider, box) -> an index 0 .. count-1, clamped; odd values read as `default`."""
    try:
        k = int(round(float(value))) - 1
    except (TypeError, ValueError):
        k = default
    return min(max(k, 0), count - 1)


def _step_index(traj: rl.Trajectory, step) -> int:
    """UI step (1 .. K) -> 0 .. K-1; odd values read as the last step."""
    return _index(step, traj.num_steps, traj.num_steps - 1)


# ---------------------------------------------------------------------------- generate and scrub
def _trajectories(settings: Sampling):
    """The growing trajectory at x_T and after every step: numpy only, so it can run inside a ZeroGPU call."""
    yield from rl.denoise(settings)


def runs(**values):
    """(trajectory, note) at x_T and after every step of a run with these settings (by their
    `settings.LIMITS` names). On ZeroGPU the run is one GPU call of a length computed from its settings;
    when ZeroGPU refuses (quota, queue), it runs on the CPU and `note` says so. Pictures are drawn
    separately (`frame`), only for what is sent."""
    settings = sampling(**values)
    try:
        for traj in runtime.zero_gpu(_trajectories, rl.gpu_seconds)(settings):
            yield traj, ""
    except runtime.GPUUnavailable as exc:
        note = f"Note: the GPU is not available right now ({exc}); this run uses the CPU. "
        for traj in _trajectories(settings):
            yield traj, note


def frame(traj: rl.Trajectory, note: str = "", as_files: bool = False) -> tuple:
    """What the page shows of a run now: (x_t image, x̂₀ image, status line); the pictures as fast-encoded
    PNG files with `as_files` (what streams to the page: `frame_files`)."""
    xt, x0 = rv.live_images(traj)
    if as_files:
        xt, x0 = frame_files.write(xt), frame_files.write(x0)
    return xt, x0, note + status_text(traj, rl.active_runs() - 1)


def generate_frames(**values):
    """Every frame of a run: yields (x_t image, x̂₀ image, status, trajectory) at x_T and after every step."""
    for traj, note in runs(**values):
        yield (*frame(traj, note), traj)


def scrub(traj, step):
    """The four views of one recorded step and its caption."""
    traj = _require(traj)
    k = _step_index(traj, step)
    imgs = rv.step_images(traj, k)
    return imgs["x_t"], imgs["eps"], imgs["x0"], imgs["update"], rv.step_caption(traj, k)


def scrubber(traj):
    """The step slider sized to the trajectory, at its last step. A one-step run keeps a range of
    1..2 (a slider needs minimum < maximum) and is not draggable."""
    traj = _require(traj)
    k = traj.num_steps
    return {"minimum": 1, "maximum": max(k, 2), "value": k, "interactive": k > 1}


def play(traj, step=None, fps=5.0):
    """Generator for the Play button: the step numbers from `step` (from the start when at the end)
    to the last, `fps` a second. Every step change redraws every view (`step_views`)."""
    traj = _require(traj)
    try:
        fps = min(max(float(fps), 0.5), 30.0)
    except (TypeError, ValueError):
        fps = 5.0
    k = _step_index(traj, step) if step is not None else 0
    if k >= traj.num_steps - 1:
        k = 0
    for j in range(k, traj.num_steps):
        yield j + 1
        time.sleep(1.0 / fps)


def play_frames(traj, step=None, fps=5.0, image=1, layer=1, head=1, patch=None):
    """Generator for the Play button: every step in turn with everything that shows it, (step, *step_views), so
    none is skipped however long a step takes to draw (a redraw left to the slider's change event dropped the
    steps that came while the last one was drawing)."""
    for k in play(traj, step, fps):
        yield (k, *step_views(traj, k, image, layer, head, patch))


def play_views(traj):
    """Play as the API gives it: (step, four views, caption) for every step in turn."""
    for k in play(traj):
        yield (k, *scrub(traj, k))


def step_views(traj, step, image=1, layer=1, head=1, patch=None):
    """Everything that shows one step: the four pictures and caption (`scrub`), the moments plot's
    marker, the attention maps and text, the adaLN plot. Every step change calls this once."""
    return (*scrub(traj, step), moments(traj, step), *attention(traj, step, image, layer, head, patch),
            modulation(traj, step, image))


def moments(traj, step):
    traj = _require(traj)
    return rv.moments_figure(traj, _step_index(traj, step))


def export_trajectory_gif(traj) -> str:
    """The run as a GIF; the file is named after the run's settings and length, so exporting the same
    run again overwrites it instead of adding a file."""
    traj = _require(traj)
    key = hashlib.sha1(repr((sorted(traj.settings.items()), traj.num_steps)).encode()).hexdigest()[:12]
    return str(rv.trajectory_gif(traj, export_path(f"reverse_{key}.gif")))


# ---------------------------------------------------------------------------- inside the Transformer
def _image_index(traj: rl.Trajectory, image) -> int:
    """UI image (1 .. N) -> 0 .. N-1; odd values read as the first image."""
    return _index(image, len(traj.labels), 0)


def attention(traj, step, image, layer, head, patch):
    """(overlay of the chosen layer/head for the chosen patch, every layer x head for that patch, text)."""
    traj = _require(traj)
    k, i = _step_index(traj, step), _image_index(traj, image)
    pre = loaded("dit")
    cfg = pre.model.config
    layer = min(max(int(layer) - 1, 0), cfg.depth - 1)
    head = min(max(int(head) - 1, 0), cfg.num_heads - 1)
    patch = CENTER_PATCH if patch is None else min(max(int(patch), 0), cfg.num_tokens - 1)
    x_t = np.asarray(traj.x_t[k][i], np.float32)
    inner = av.internals(pre.model, x_t, traj.t[k], traj.labels[i])
    big = av.overlay(np.asarray(traj.x0[k][i], np.float32), inner["attention"][layer, head, patch], patch)
    text = (av.attention_summary(inner["attention"], layer, head, patch)
            + f" Shown over the predicted x̂₀ of image {i + 1} at step {k + 1} (t = {traj.t[k]:.0f}).")
    return big, av.head_grid(inner["attention"], patch), text


def patch_from_click(x, y) -> int:
    """A click on the overlay (pixel x, y) -> the token index under it."""
    return av.patch_at(float(x), float(y))


def modulation(traj, step, image):
    traj = _require(traj)
    k, i = _step_index(traj, step), _image_index(traj, image)
    pre = loaded("dit")
    T = int(pre.meta["schedule"]["num_timesteps"])
    return av.modulation_figure(pre.model, traj.labels[i], traj.t[k], num_timesteps=T)


# ---------------------------------------------------------------------------- from a real digit
@lru_cache(maxsize=1)
def heldout_curve() -> tuple[np.ndarray, np.ndarray]:
    """eps-MSE by timestep on the bundled held-out test digits (computed once per process)."""
    imgs, labels = sample_digits()
    ts = np.linspace(0, 999, 20).round().astype(int)
    return ts, sd.eps_mse_curve(loaded("dit"), to_model_space(imgs)[:, 0], labels, ts, draws=2)


def sdedit_views(choice, target, t_star, steps, seed, guidance, eta):
    """(x0 | x_t* | result, true vs predicted noise, the path, caption, eps-MSE figure)."""
    choices = digit_choices()
    if choice not in choices:
        raise ValueError("Choose one of the bundled MNIST digits.")
    imgs, labels = sample_digits()
    idx = choices.index(choice)
    x0 = to_model_space(imgs[idx:idx + 1])[0, 0]
    own = int(labels[idx])
    label = own if target in (None, "", SDEDIT_TARGETS[0]) else int(target)
    try:
        t_star, steps, seed = int(float(t_star)), int(float(steps)), int(float(seed))
        guidance, eta = float(guidance), float(eta)
    except (TypeError, ValueError):
        raise ValueError("t*, steps, seed, guidance and eta must be numbers.") from None
    if not 1 <= steps <= 1000:
        raise ValueError(f"Steps must be between 1 and 1000, got {steps}.")
    if not 0 <= guidance <= 20 or not 0 <= eta <= 1:
        raise ValueError("Guidance must be between 0 and 20 and eta between 0 and 1.")
    r = backends.active().sdedit(x0, label, t_star, steps, seed, guidance, eta)
    row = digit_grid(np.stack([r["x0"], r["x_t"].clip(-1, 1), r["x0_pred"], r["result"]]), -1, 1,
                     labels=["x0", f"x_t at t* = {t_star}", "one-step x0 guess", "result"])
    noise = digit_grid(np.stack([r["noise"], r["eps_pred"], r["eps_pred"] - r["noise"]]), -3, 3, signed=True,
                       labels=["true noise", "predicted noise", "difference"])
    path = digit_grid(r["frames"][np.linspace(0, len(r["frames"]) - 1, min(8, len(r["frames"]))).round().astype(int)])
    caption = (f"Digit {own} noised to t* = {t_star} (ᾱ = {r['alpha_bar']:.3g}, so {100 * r['alpha_bar']:.1f}% of the signal "
               f"variance is left), then denoised as {article(label)} **{label}** in {plural(len(r['frames']), 'DDIM step')} (eta {eta:g}). "
               f"Predicted vs true noise at t*: MSE **{r['eps_mse']:.3f}**, correlation **{r['eps_corr']:.3f}**.")
    ts, mse = heldout_curve()
    pre = loaded("dit")
    snr = schedule_from_dict(pre.meta["schedule"]).snr[ts]
    return row, noise, path, caption, sd.eps_mse_figure(ts, mse, t_star, r["eps_mse"], snr, sd.training_weights(pre)[ts])


def default_settings() -> dict:
    """The DiT's recommended sampling setting (its JSON's `sampling`, measured for the model card):
    the reverse tab starts there. The generic defaults when the DiT cannot load."""
    return preset_settings()["default"]


def preset_settings() -> dict[str, dict]:
    """The DiT's named sampling settings ("default", and "fast" when its JSON has one), each measured for
    its model card; the generic default alone when the DiT cannot load."""
    try:
        return presets(loaded("dit").meta)
    except Exception:  # noqa: BLE001 - model_status() explains the failure
        return presets(None)


def preset_label(name: str, s: dict) -> str:
    """How a preset is offered: its name and what it runs."""
    from diffusion_core.pipelines.generation import guided_range

    return f"{name}: {s['sampler']}, {s['steps']} steps, w = {s['guidance']:g}{guided_range(s)}"


def preset_of(**values) -> str | None:
    """The name of the preset the sampling controls (by name) hold now, or None (a setting of the user's own)."""
    for name, preset in preset_settings().items():
        if all(_same(values[k], preset[k]) for k in SAMPLING_KEYS):
            return name
    return None


def _same(control, preset) -> bool:
    if isinstance(preset, str):
        return control == preset
    try:
        return float(control) == float(preset)
    except (TypeError, ValueError):
        return False


def model_shape() -> tuple[int, int]:
    """(depth, heads) of the DiT for the layer and head sliders; the small preset's when it cannot load."""
    try:
        cfg = loaded("dit").model.config
    except Exception:  # noqa: BLE001 - model_status() explains the failure
        return 6, 4
    return cfg.depth, cfg.num_heads


def model_status() -> str:
    """A line on the DiT: where its weights came from, or why it is unavailable."""
    try:
        pre = loaded("dit")
    except Exception as exc:  # noqa: BLE001 - shown to the user as the reason
        return f"The DiT could not be loaded: {exc} The forward-process tab still works."
    tr, sch = pre.meta.get("training", {}), pre.meta.get("schedule", {})
    weighting = " (Min-SNR weighted)" if tr.get("loss_weighting") == "min-snr" else ""
    return (f"DiT: {pre.model.num_params() / 1e6:.2f} M parameters, {tr.get('steps', '?')} training steps on the "
            f"{sch.get('name', '?')} schedule (T = {sch.get('num_timesteps', '?')}), predicting the noise ε "
            f"(eps-MSE{weighting}); weights from `{Path(pre.source).name if '/' in pre.source else pre.source}`. "
            f"Generations run on {backends.active().describe()}.")
