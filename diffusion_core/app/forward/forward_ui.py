"""One function per control of the forward-process tab: raw UI values in, what the components show
out. Bad values are clamped where a sensible reading exists (a slider), and otherwise raise
`ValueError` with a message for the user (the app shows it; it never shows a traceback).

Images go out as uint8 arrays (nearest-neighbour upscaled when small), figures as plotly Figures,
files as paths in a temporary folder.
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from diffusion_core.app.forward import forward_lab as lab
from diffusion_core.app.forward.forward_plots import histogram_figure, schedule_figures, strip_image
from diffusion_core.data.images import caption_below
from diffusion_core.data.images_io import ImageError, image_choices, load_choice, load_upload, display_image
from diffusion_core.app import frame_files
from diffusion_core.paths import export_path
from diffusion_core.maths.schedule_checks import check_schedule, fix_schedule, wants_more_steps
from diffusion_core.maths.schedule_makers import MAKERS
from diffusion_core.maths.schedules import CLEAN, MAX_TIMESTEPS
from diffusion_core.maths.schedule_checks import finding_line

SCHEDULE_NAMES = sorted(MAKERS)
CUSTOM = "custom (pasted or uploaded)"  # what the schedule menu shows while a custom schedule is in use
MODES = ("closed form q(x_t | x_0)", "chain of single steps q(x_t | x_{t-1})")
WIDE = 3.0  # the one display range of "one scale for all": [-3, 3] holds 99.7% of the noise


# ---------------------------------------------------------------------------- inputs
@lru_cache(maxsize=32)
def _bundled(choice: str) -> np.ndarray:
    return load_choice(choice)


@lru_cache(maxsize=8)
def _uploaded(path: str, mtime: float) -> np.ndarray:
    return load_upload(path)


def _upload_key(upload) -> str:
    """What identifies an upload's content cheaply: its size and time, not its (per-upload) path."""
    try:
        st = os.stat(str(upload))
        return f"{st.st_size}-{st.st_mtime_ns}"
    except (OSError, TypeError):
        return ""


def get_image(choice: str | None, upload: str | None) -> np.ndarray:
    """The upload when there is one, else the chosen bundled image: float32 (H, W, C) in [-1, 1]."""
    if upload:
        p = str(upload)
        try:
            mtime = os.path.getmtime(p)
        except OSError:
            raise ImageError("The uploaded file could not be found; please upload it again.") from None
        return _uploaded(p, mtime)
    if not choice:
        choice = image_choices()[0]
    return _bundled(choice)


def named_spec(name: str, T, rescale: bool) -> str:
    """The spec (JSON text) of a named schedule; validates it so errors show at once."""
    try:
        T = float(T)
        if not T.is_integer():
            raise ValueError
        T = int(T)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"T must be a whole number of steps from 1 to {MAX_TIMESTEPS}.") from None
    if not 1 <= T <= MAX_TIMESTEPS:
        raise ValueError(f"T must be a whole number of steps from 1 to {MAX_TIMESTEPS}, got {T}.")
    spec = {"name": name, "T": T, "rescale": bool(rescale)}
    lab.schedule_from_spec(spec)
    return json.dumps(spec)


def schedule_controls(name, T, rescale, spec) -> tuple[str, str]:
    """What the schedule menu, the T box and the rescale box ask for: (the spec to use, a message).
    A bad T keeps the current spec and says why in one message; the custom entry keeps the custom spec."""
    if name == CUSTOM:
        return spec, ""
    try:
        return named_spec(name, T, rescale), ""
    except ValueError as exc:
        kept = lab.schedule_from_spec(spec).num_timesteps
        return spec, f"**Not applied**: {exc} Kept T = {kept}."


def controls_of(spec) -> dict:
    """The schedule menu, T and rescale values that show `spec` (a custom one shows as CUSTOM)."""
    d = json.loads(spec) if isinstance(spec, str) else spec
    schedule = lab.schedule_from_spec(d)
    if d.get("name") == "custom":
        return {"name": CUSTOM, "T": schedule.num_timesteps, "rescale": bool(schedule.params.get("rescale_zero_snr")),
                "custom": True}
    return {"name": d["name"], "T": schedule.num_timesteps, "rescale": bool(d.get("rescale")), "custom": False}


def seed_value(seed) -> int:
    try:
        s = int(float(seed))
    except (TypeError, ValueError):
        return 0
    return s % (2**31)


# ---------------------------------------------------------------------------- the main view
def panel_labels(same_scale) -> tuple[str, str, str]:
    """The three pictures' labels, each saying the range its grey scale spans."""
    if same_scale:
        return (f"x₀ (clean) · one scale, [−{WIDE:g}, {WIDE:g}]", f"ε (noise, fixed per seed) · [−{WIDE:g}, {WIDE:g}]",
                f"x_t · [−{WIDE:g}, {WIDE:g}]")
    return ("x₀ (clean) · shown over [−1, 1]", "ε (noise, fixed per seed) · shown over [−3, 3]",
            "x_t · shown over [−1, 1], beyond it clipped")


def _span(same_scale) -> float:
    return WIDE if same_scale else 1.0


def source_images(choice, upload, seed, same_scale=False):
    """x_0 and the fixed noise eps for this seed, for display. Returns (x0 uint8, noise uint8, message).
    Each picture over its own range (x0 [-1, 1], noise [-3, 3]), or all over [-3, 3] with `same_scale`."""
    try:
        x0 = get_image(choice, upload)
    except ImageError as exc:
        return None, None, f"**Not loaded**: {exc}"
    h, w, c = x0.shape
    msg = f"Image: {w} x {h} px, {'colour' if c == 3 else 'grey'}" + (" (your upload)" if upload else "")
    span = _span(same_scale)
    noise = lab.noise_for(x0.shape, seed_value(seed))
    return display_image(x0 / span), display_image(np.clip(noise / WIDE, -1, 1)), msg


def chain_alpha(alpha) -> float:
    """The chain mode's per-step alpha_t from its slider, kept inside (0.5, 0.99999)."""
    return float(np.clip(float(alpha if alpha is not None else 0.99), 0.5, 0.99999))


def _x_t(choice, upload, spec, t, mode, alpha, seed, chain_state):
    """(x_t, readout markdown, chain state)."""
    schedule = lab.schedule_from_spec(spec)
    x0 = get_image(choice, upload)
    t = lab.clamp_t(t, schedule)
    s = seed_value(seed)
    if mode == MODES[1]:
        a = chain_alpha(alpha)
        small = lab.chain_input(x0)
        x_t, chain_state = lab.chain(small, a, t, s, chain_state)
        note = "" if small is x0 else (f" · chain computed on a {small.shape[1]} x {small.shape[0]} copy: {t} single steps "
                                         f"cost {t} times the pixels")
        return x_t, lab.chain_readout(a, t).markdown() + note, chain_state
    return lab.closed_form(x0, schedule, t, s), lab.readout(schedule, t).markdown(), chain_state


def image_out(x: np.ndarray, span: float = 1.0):
    """What a gr.Image shows: x over [-span, span]; small or grey images as uint8 arrays (lossless PNG,
    crisp pixels); large colour images as a JPEG file (`frame_files`)."""
    u8 = display_image(np.clip(x / span, -1, 1))
    if u8.ndim == 2 or max(u8.shape[:2]) < 256:
        return u8
    return frame_files.write(u8, "jpg")


def forward_view(choice, upload, spec, t, mode, alpha, seed, chain_state=None, same_scale=False):
    """x_t at step t: the fast path a slider move takes. Returns (x_t image, readout markdown,
    alpha_bar, chain state). `chain_state` is the session's last chain (a gr.State), so scrubbing
    forward in chain mode only computes the new steps."""
    x_t, md, chain_state = _x_t(choice, upload, spec, t, mode, alpha, seed, chain_state)
    ab = _alpha_bar_of(spec, t, mode, alpha)
    return image_out(x_t, _span(same_scale)), md, round(ab, 6), chain_state


def _alpha_bar_of(spec, t, mode, alpha) -> float:
    schedule = lab.schedule_from_spec(spec)
    t = lab.clamp_t(t, schedule)
    return float(chain_alpha(alpha) ** lab.chain_steps(t)) if mode == MODES[1] else float(schedule.alpha_bar(t))


def forward_histogram(choice, upload, spec, t, mode, alpha, seed, chain_state=None, same_scale=False):
    """Histogram of x_t's values against N(0, 1) (drawn when the slider is released)."""
    x_t, _, _ = _x_t(choice, upload, spec, t, mode, alpha, seed, chain_state)
    return histogram_figure(x_t)


def forward_from_alpha_bar(choice, upload, spec, alpha_bar, mode, alpha, seed, chain_state=None, same_scale=False):
    """The same view reached from the alpha_bar slider. Returns (x_t image, readout, t, chain state)."""
    schedule = lab.schedule_from_spec(spec)
    if mode == MODES[1]:  # chain: alpha_bar = alpha^(t + 1)
        a = chain_alpha(alpha)
        ab = float(np.clip(float(alpha_bar), 1e-12, 1.0))
        t = int(np.clip(round(np.log(ab) / np.log(a)) - 1, 0, schedule.num_timesteps - 1))
    else:
        t = lab.t_for_alpha_bar(schedule, alpha_bar)
    img, md, _, chain_state = forward_view(choice, upload, spec, t, mode, alpha, seed, chain_state, same_scale)
    return img, md, t, chain_state


def compare_specs(spec, compare) -> list[tuple[str, object]]:
    """The active schedule plus up to two named schedules to compare (same T)."""
    main = lab.schedule_from_spec(spec)
    main_spec = json.loads(spec) if isinstance(spec, str) else spec
    out = [(lab.spec_label(main_spec), main)]
    for name in (compare or [])[:2]:
        if name in MAKERS:
            other = {"name": name, "T": main.num_timesteps, "rescale": False}
            if other != main_spec:
                out.append((lab.spec_label(other), lab.schedule_from_spec(other)))
    return out


def schedule_plots(spec, compare, t, log_beta=False):
    """The four plotly figures of beta (log axis with `log_beta`), alpha_bar, signal / noise amplitude and
    log-SNR, marker at t."""
    pairs = compare_specs(spec, compare)
    return schedule_figures(pairs, lab.clamp_t(t, pairs[0][1]), log_beta=bool(log_beta))


def frame_label(t: int) -> str:
    """A frame's caption: its timestep, or the clean image (the paper's t = 0)."""
    return "x0 (clean)" if t == CLEAN else f"t = {t}"


def schedule_strip(choice, upload, spec, compare, spacing, frames, seed):
    """x_t at evenly spaced t (or equal log-SNR) for up to three schedules on the same image and noise."""
    pairs = compare_specs(spec, compare)
    x0 = get_image(choice, upload)
    s = seed_value(seed)
    try:
        frames = int(frames)
    except (TypeError, ValueError):
        frames = 8
    steps = lab.strip_timesteps([p[1] for p in pairs], frames, "log_snr" if "SNR" in str(spacing) else "t")
    rows = [[lab.closed_form(x0, sch, t, s) for t in ts] for (_, sch), ts in zip(pairs, steps)]
    caption = "\n".join(f"- **{label}**: x₀, then t = {', '.join(map(str, ts[1:]))}" for (label, _), ts in zip(pairs, steps))
    labels = [[frame_label(t) for t in ts] for ts in steps]
    return strip_image(rows, row_labels=[label for label, _ in pairs], cell_labels=labels), caption


def checks(spec):
    """Markdown findings, and which one-click fixes apply: (markdown, show rescale fix, show more-steps fix)."""
    schedule = lab.schedule_from_spec(spec)
    found = check_schedule(schedule)
    lines = [finding_line(f) for f in found]
    actions = {f.fix_action for f in found}
    more = wants_more_steps(found) and schedule.num_timesteps < MAX_TIMESTEPS
    return "\n".join(lines), "rescale_zero_snr" in actions, more


def more_steps_target(spec) -> int | None:
    """The T that the more-steps fix would give (for its button's label), or None when it does not apply."""
    schedule = lab.schedule_from_spec(spec)
    if not checks(spec)[2]:
        return None
    return fix_schedule(schedule, "more_steps").num_timesteps


def apply_fix(spec, action):
    """The spec after a one-click fix."""
    base = json.loads(spec) if isinstance(spec, str) else spec
    fixed = fix_schedule(lab.schedule_from_spec(base), action)
    return json.dumps(lab.spec_for(fixed, base))


# ---------------------------------------------------------------------------- exports
def _export_file(name: str, *key) -> Path:
    """Where an export goes: its name plus a digest of what it shows, so exporting the same thing again
    overwrites one file instead of adding another."""
    stem, dot, suffix = name.rpartition(".")
    digest = hashlib.sha1(repr(key).encode()).hexdigest()[:12]
    return export_path(f"{stem}_{digest}{dot}{suffix}")


def _spec_key(spec) -> str:
    return json.dumps(json.loads(spec) if isinstance(spec, str) else spec, sort_keys=True)


def export_csv(spec) -> str:
    path = _export_file("schedule.csv", _spec_key(spec))
    path.write_text(lab.schedule_from_spec(spec).to_csv())
    return str(path)


def export_config(spec) -> str:
    path = _export_file("scheduler_config.json", _spec_key(spec))
    path.write_text(json.dumps(lab.schedule_from_spec(spec).to_diffusers_config(), indent=2))
    return str(path)


def export_forward_gif(choice, upload, spec, seed, frames=24) -> str:
    """An animated GIF of the forward process, t = 0 .. T in `frames` steps, then a pause."""
    schedule = lab.schedule_from_spec(spec)
    x0 = get_image(choice, upload)
    s = seed_value(seed)
    ts = [CLEAN] + list(np.linspace(0, schedule.num_timesteps - 1, int(np.clip(frames, 2, 60)) - 1).round().astype(int))
    images = [Image.fromarray(caption_below(display_image(lab.closed_form(x0, schedule, t, s), min_side=224),
                                            f"{frame_label(t)} of 0..{schedule.num_timesteps - 1}, alpha_bar = {schedule.alpha_bar(t):.3f}"))
              for t in ts]
    path = _export_file("forward_process.gif", _spec_key(spec), choice, _upload_key(upload), s, len(ts))
    images[0].save(path, save_all=True, append_images=images[1:] + [images[-1]] * 4, duration=120, loop=0)
    return str(path)
