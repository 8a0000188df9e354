"""Schedules from user text: a diffusers `scheduler_config.json`, a pasted beta list, or a CSV.

User text is parsed (json, float()), never evaluated. Every failure is a ValueError whose message
a student can act on.
"""
from __future__ import annotations

import csv
import io
import json
import math

import numpy as np

from diffusion_core.maths.schedules import (MAX_TIMESTEPS, PREDICTION_TYPES, NoiseSchedule, from_alphas_cumprod, from_betas,
                                            make_schedule)
from diffusion_core.maths.samplers import TIMESTEP_SPACINGS

MAX_TEXT = 5_000_000  # characters; a 100k-step beta list fits easily

# diffusers beta_schedule name -> our maker name
DIFFUSERS_SCHEDULES = {
    "linear": "linear",
    "scaled_linear": "scaled_linear",
    "squaredcos_cap_v2": "cosine",
    "sigmoid": "sigmoid",
}


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number, got {value!r}.")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}.")
    return float(value)


HONOURED_KEYS = ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas",
                 "rescale_betas_zero_snr", "timestep_spacing", "prediction_type")


def ignored_keys(config_text: str) -> list[str]:
    """The keys of a diffusers config (JSON text) that `from_diffusers_config` does not use (`_class_name`,
    `_diffusers_version` and the like left out): what a user should know was not applied."""
    try:
        config = json.loads(config_text)
    except (ValueError, RecursionError):
        return []
    if not isinstance(config, dict):
        return []
    return [str(k) for k in config if k not in HONOURED_KEYS and not str(k).startswith("_")]


def looks_like_json(text) -> bool:
    """Whether pasted text is a JSON object (a scheduler_config.json) rather than a list of numbers."""
    return isinstance(text, str) and text.lstrip().startswith("{")


def from_diffusers_config(config) -> NoiseSchedule:
    """A schedule from a diffusers scheduler config (a dict, or its JSON text). Honours
    num_train_timesteps, beta_start, beta_end, beta_schedule, trained_betas, rescale_betas_zero_snr,
    timestep_spacing and prediction_type (kept on the schedule: the checks judge it against it); other keys
    (clip_sample, ...) are ignored."""
    if isinstance(config, (str, bytes)):
        if len(config) > MAX_TEXT:
            raise ValueError("That config is too large to be a scheduler config.")
        try:
            config = json.loads(config)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f": {exc.msg} at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise ValueError(f"The scheduler config is not valid JSON{where}.") from None
        except RecursionError:
            raise ValueError("The scheduler config is nested too deeply to be a scheduler config.") from None
    if not isinstance(config, dict):
        raise ValueError("A scheduler config must be a JSON object like {\"beta_schedule\": \"linear\", ...}.")
    T = config.get("num_train_timesteps", 1000)
    if isinstance(T, bool) or not isinstance(T, int) or not 1 <= T <= MAX_TIMESTEPS:
        raise ValueError(f"num_train_timesteps must be a whole number from 1 to {MAX_TIMESTEPS}, got {T!r}.")
    spacing = config.get("timestep_spacing", "leading")
    if not isinstance(spacing, str) or spacing not in TIMESTEP_SPACINGS:
        raise ValueError(f"timestep_spacing must be one of {', '.join(TIMESTEP_SPACINGS)}, got {spacing!r}.")
    rescale = config.get("rescale_betas_zero_snr", False)
    if not isinstance(rescale, bool):
        raise ValueError("rescale_betas_zero_snr must be true or false.")
    prediction = config.get("prediction_type", "epsilon")
    if not isinstance(prediction, str) or prediction not in PREDICTION_TYPES:
        raise ValueError(f"prediction_type must be one of {', '.join(PREDICTION_TYPES)}, got {str(prediction)[:40]!r}.")
    trained = config.get("trained_betas")
    if trained is not None:
        if not isinstance(trained, list) or not trained:
            raise ValueError("trained_betas must be a non-empty list of numbers.")
        betas = [_number(b, f"trained_betas[{i}]") for i, b in enumerate(trained)]
        if rescale:
            from diffusion_core.maths.schedule_makers import rescale_zero_terminal_snr

            betas = rescale_zero_terminal_snr(np.asarray(betas))
        base = from_betas(betas, name="trained_betas")
    else:
        kind = config.get("beta_schedule", "linear")
        if not isinstance(kind, str) or kind not in DIFFUSERS_SCHEDULES:
            shown = kind if isinstance(kind, str) else type(kind).__name__
            raise ValueError(f"beta_schedule {str(shown)[:40]!r} is not supported; use one of {', '.join(DIFFUSERS_SCHEDULES)} "
                             "or give trained_betas.")
        params = {}
        if kind != "squaredcos_cap_v2":
            params = {
                "beta_start": _number(config.get("beta_start", 0.0001), "beta_start"),
                "beta_end": _number(config.get("beta_end", 0.02), "beta_end"),
            }
        base = make_schedule(DIFFUSERS_SCHEDULES[kind], T, rescale_zero_snr=rescale, **params)
    return NoiseSchedule(base.name, base.betas, base.params, timestep_spacing=spacing, prediction_type=prediction)


def parse_numbers(text: str, what: str = "value") -> np.ndarray:
    """Numbers from pasted text: separated by commas, spaces, semicolons or new lines; brackets
    (a pasted Python or JSON list) are ignored. A CSV with a header picks the column named `beta`/`betas` (or `alpha_bar`...)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"No numbers found: paste one {what} per step, separated by commas or new lines.")
    if len(text) > MAX_TEXT:
        raise ValueError("That text is too long for a schedule (at most 5 MB).")
    body = text
    for sep in "[]();\n\t\r ":
        body = body.replace(sep, ",")
    tokens = [tok for tok in body.split(",") if tok.strip()]
    values = []
    for k, tok in enumerate(tokens):
        try:
            values.append(float(tok))
        except ValueError:
            raise ValueError(f"Entry {k + 1} ({tok.strip()[:30]!r}) is not a number.") from None
    if len(values) > MAX_TIMESTEPS:
        raise ValueError(f"{len(values)} values is more than this tool handles ({MAX_TIMESTEPS} steps).")
    arr = np.asarray(values, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"Entry {bad[0] + 1} is {arr[bad[0]]}: every {what} must be a finite number.")
    return arr


def parse_csv_schedule(text: str) -> NoiseSchedule:
    """A schedule from CSV text with a header: a `beta`/`betas` column, else an `alpha_bar` /
    `alphas_cumprod` column. A header-less single column is read as betas."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("The CSV file is empty.")
    if len(text) > MAX_TEXT:
        raise ValueError("That CSV is too large for a schedule (at most 5 MB).")
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    header = [c.strip().lower() for c in rows[0]]
    try:
        float(header[0])
        return from_betas(parse_numbers(text, "beta"), name="custom")
    except ValueError:
        pass
    for names, build in ((("beta", "betas"), from_betas), (("alpha_bar", "alphas_cumprod", "alpha_cumprod"), from_alphas_cumprod)):
        col = next((header.index(n) for n in names if n in header), None)
        if col is not None:
            try:
                vals = [r[col] for r in rows[1:]]
            except IndexError:
                raise ValueError("Some CSV rows have fewer columns than the header.") from None
            return build(parse_numbers("\n".join(vals), names[0]), name="custom")
    raise ValueError("The CSV needs a column named 'beta' (or 'alpha_bar') with one value per step.")


def schedule_from_text(text: str, kind: str = "betas") -> NoiseSchedule:
    """What the UI's custom-schedule box calls: kind is 'betas', 'alphas_cumprod', 'csv' or 'config'."""
    if kind in ("betas", "alphas_cumprod", "csv") and looks_like_json(text):
        kind = "config"  # a pasted scheduler_config.json, whatever the chosen format says
    if kind == "betas":
        return from_betas(parse_numbers(text, "beta"), name="custom")
    if kind == "alphas_cumprod":
        return from_alphas_cumprod(parse_numbers(text, "alpha_bar"), name="custom")
    if kind == "csv":
        return parse_csv_schedule(text)
    if kind == "config":
        return from_diffusers_config(text)
    raise ValueError(f"Unknown custom schedule format {kind!r}.")
