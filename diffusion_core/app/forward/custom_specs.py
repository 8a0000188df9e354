"""Custom schedules on the forward tab: pasted or uploaded (betas, alpha_bar, a CSV or a diffusers
`scheduler_config.json`), and the forward tab's part of a share link.

A custom schedule is a spec (JSON text, see `forward_lab`):
    {"name": "custom", "betas": [...], "label": "config: scaled_linear",
     "beta_schedule": "scaled_linear", "prediction_type": "v_prediction"}
where `beta_schedule` (diffusers' name of the curve a pasted config named) and `prediction_type` are kept
from a pasted config, so the diffusers export writes them back and the checks judge the schedule against
what the model predicts. In a link, the betas travel packed (`view_state.pack_betas`: exact when short,
otherwise rounded to fit under 2 KB), with the legend's name and the prediction type.
"""
from __future__ import annotations

import json
from pathlib import Path

from diffusion_core.app import view_state as vs
from diffusion_core.app.forward import forward_lab as lab
from diffusion_core.app.forward.forward_ui import named_spec
from diffusion_core.maths.schedule_io import DIFFUSERS_SCHEDULES, ignored_keys, looks_like_json, schedule_from_text
from diffusion_core.maths.schedules import MAX_TIMESTEPS

KINDS = {"betas (one per step)": "betas", "alpha_bar (one per step)": "alphas_cumprod",
         "CSV with a beta column": "csv", "diffusers scheduler_config.json": "config"}
DIFFUSERS_NAME = {ours: theirs for theirs, ours in DIFFUSERS_SCHEDULES.items()}


def custom_spec(betas, label: str = "custom", prediction_type: str = "epsilon", beta_schedule: str | None = None) -> str:
    """The spec (JSON text) of a custom schedule from its betas; validates it."""
    spec = {"name": "custom", "betas": [float(b) for b in betas], "label": str(label)[:40]}
    if prediction_type != "epsilon":
        spec["prediction_type"] = prediction_type
    if beta_schedule:
        spec["beta_schedule"] = beta_schedule
    lab.schedule_from_spec(spec)
    return json.dumps(spec)


def read_upload(upload) -> tuple[str, str, str]:
    """(text, kind, label) of an uploaded schedule file (at most 5 MB of UTF-8 text)."""
    p = Path(str(upload))
    if p.stat().st_size > 5 * 2**20:
        raise ValueError("That file is larger than 5 MB; a schedule file is much smaller.")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError("That file is not text; upload a CSV of betas or a scheduler_config.json.") from None
    kind = "config" if p.suffix.lower() == ".json" or text.lstrip().startswith("{") else "csv"
    return text, kind, p.stem[:40]


def custom_schedule(text, kind, upload):
    """A spec from pasted text or an uploaded CSV / JSON. Returns (spec JSON, message)."""
    label = "custom"
    if upload:
        text, kind, label = read_upload(upload)
    kind = KINDS.get(kind, kind)
    as_config = kind == "config" or looks_like_json(text)
    schedule = schedule_from_text(text or "", kind)
    named = DIFFUSERS_NAME.get(schedule.name) if as_config else None
    if as_config and label == "custom":
        label = f"config: {schedule.name}"[:40]
    spec = custom_spec(schedule.betas, label, schedule.prediction_type, named)
    msg = f"Loaded a custom schedule with T = {schedule.num_timesteps} steps (ᾱ_T = {schedule.alphas_cumprod[-1]:.3g})"
    if as_config:
        msg += (f", read as a diffusers scheduler config ({schedule.name}, prediction_type {schedule.prediction_type}: the "
                "checks below judge the schedule for a model that predicts that)")
        skipped = ignored_keys(text)
        if skipped:
            shown = ", ".join(f"`{k[:30]}`" for k in skipped[:8]) + (" ..." if len(skipped) > 8 else "")
            msg += f". Not used here (they concern sampling or the model, not the noise schedule): {shown}"
    return spec, msg + "."


def link_view(spec: dict, **controls) -> dict:
    """The link fields of the forward tab from its schedule spec and its other controls. A custom schedule
    travels as its packed betas (left out, with the rest kept, when they do not fit in a link), its name in
    the legend when that is plain text, and its prediction type."""
    view = {"tab": "forward", **{k: v for k, v in controls.items() if v is not None}}
    if spec.get("name") == "custom":
        betas = spec.get("betas", [])
        if len(betas) <= vs.MAX_LINK_BETAS and vs.pack_betas(betas):
            view["betas"] = betas
            if vs.SAFE_TEXT.fullmatch(str(spec.get("label", ""))):
                view["custom_name"] = spec["label"]
            if spec.get("prediction_type", "epsilon") != "epsilon":
                view["prediction"] = spec["prediction_type"]
    else:
        view.update(schedule=spec.get("name"), T=int(spec.get("T", 1000)), rescale=bool(spec.get("rescale")))
    return view


def resolve_view(view: dict) -> dict:
    """The control values a view sets: its own fields, plus the forward tab's schedule spec (JSON) when
    it names a schedule, T or custom betas, and t clamped into that schedule."""
    out = dict(view)
    if "betas" in view:
        out["spec"] = custom_spec(view["betas"], view.get("custom_name", "from a link"), view.get("prediction", "epsilon"))
        T = len(view["betas"])
    elif {"schedule", "T", "rescale"} & set(view):
        T = int(view.get("T", 1000))
        out["spec"] = named_spec(view.get("schedule", "cosine"), T, bool(view.get("rescale", False)))
        out["T"] = T
    else:
        return out
    if "t" in out:
        out["t"] = min(int(out["t"]), T - 1, MAX_TIMESTEPS - 1)
    return out
