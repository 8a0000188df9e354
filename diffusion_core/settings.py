"""The sampling settings of the DiT: one object (`Sampling`), one table of limits (`LIMITS`), one name for
each setting, one default (the model's recommended setting from its JSON).

Validation (`sampling`), the reverse tab's controls, the share links, the sampling CLI and the lessons
all read `LIMITS`; what a caller leaves out comes from the model's JSON (`presets(meta)["default"]`,
measured for its model card), or `FALLBACK` when a model has none. Old names are read as the new ones
(`ALIASES`: a link's `guide_from` is `guidance_min_t`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from diffusion_core.maths.guidance import NO_UPPER, check_interval
from diffusion_core.maths.samplers import SAMPLERS, SPACINGS

LABELS = ("mixed 0-9",) + tuple(str(d) for d in range(10)) + ("unconditional",)
MAX_RUNNING = 40  # generations running at once (they share each network call); more wait in the queue


@dataclass(frozen=True)
class Limit:
    """What one setting may be: numbers within [low, high] in steps of `step`, or one of `choices`."""

    kind: str  # "int", "float" or "choice"
    low: float = 0.0
    high: float = 0.0
    step: float = 1.0
    choices: tuple = ()
    label: str = ""  # the control's label
    info: str = ""  # the control's hint
    noun: str = ""  # how messages name it, when not the label

    def named(self) -> str:
        return self.noun or self.label


LIMITS: dict[str, Limit] = {
    "label": Limit("choice", choices=LABELS, label="Digit class"),
    "guidance": Limit("float", 0.0, 12.0, 0.5, label="Guidance scale w",
                      info="1 = conditional only · 0 = unconditional, where guided"),
    "guidance_min_t": Limit("int", 0, 1000, 10, label="Guide only where t ≥", info="0 = no lower limit; outside: conditional only",
                             noun="The lowest guided t (guidance_min_t)"),
    "guidance_max_t": Limit("int", 0, NO_UPPER, 10, label="… and t ≤", info=f"{NO_UPPER} = no upper limit",
                             noun="The highest guided t (guidance_max_t)"),
    "sampler": Limit("choice", choices=SAMPLERS, label="Sampler"),
    "eta": Limit("float", 0.0, 1.0, 0.1, label="eta", info="DDIM: 0 deterministic, 1 ≈ DDPM"),
    "steps": Limit("int", 1, 250, 1, label="Steps"),  # the work one request may ask for is bounded
    "spacing": Limit("choice", choices=SPACINGS, label="Timestep spacing", info="leading starts below t = 999 (see below)"),
    "seed": Limit("int", 0, 2**31 - 1, 1, label="Seed (fixes x_T)", noun="The seed"),
    "images": Limit("int", 1, 16, 1, label="Images"),
}
SAMPLING_KEYS = ("sampler", "steps", "guidance", "guidance_min_t", "guidance_max_t", "spacing", "eta")  # what a model's JSON recommends
ALIASES = {"guide_from": "guidance_min_t", "n_images": "images", "min_t": "guidance_min_t"}
FALLBACK = {"sampler": "ddim", "steps": 20, "guidance": 3.0, "guidance_min_t": 0, "guidance_max_t": NO_UPPER, "spacing": "leading",
            "eta": 0.0}


@dataclass(frozen=True)
class Sampling:
    """How to sample (the six SAMPLING_KEYS) and what to draw (label, seed, images)."""

    sampler: str = FALLBACK["sampler"]
    steps: int = FALLBACK["steps"]
    guidance: float = FALLBACK["guidance"]  # classifier-free guidance scale w; 1 = conditional only
    guidance_min_t: int = FALLBACK["guidance_min_t"]  # guide only where t >= this ...
    guidance_max_t: int = FALLBACK["guidance_max_t"]  # ... and t <= this (NO_UPPER: no upper limit); outside, conditional only
    spacing: str = FALLBACK["spacing"]
    eta: float = FALLBACK["eta"]  # DDIM only: 0 deterministic, 1 = DDPM's variance
    label: str = "mixed 0-9"
    seed: int = 0
    images: int = 16

    def __post_init__(self):
        check_interval(self.guidance_min_t, self.guidance_max_t)

    def to_dict(self) -> dict:
        return asdict(self)

    def recipe(self) -> dict:
        """The six sampling settings only (what a preset or a model's JSON holds)."""
        return {k: getattr(self, k) for k in SAMPLING_KEYS}


def check(name: str, value):
    """`value` as setting `name` allows it (a number rounded to its kind), or a ValueError that says why."""
    name = ALIASES.get(name, name)
    lim = LIMITS[name]
    if lim.kind == "choice":
        value = str(value)
        if value not in lim.choices:
            raise ValueError(f"{lim.named()} must be one of: {', '.join(lim.choices)}; got {value[:40]!r}.")
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not math.isfinite(number):
        raise ValueError(f"{lim.named()} must be a number, got {str(value)[:40]!r}.")
    number = int(round(number)) if lim.kind == "int" else number
    if not lim.low <= number <= lim.high:
        raise ValueError(f"{lim.named()} must be between {lim.low} and {lim.high}, got {number}.")
    return number


def presets(meta: dict | None) -> dict[str, dict]:
    """The model's named sampling settings: "default" (its JSON's `sampling`) and any in `sampling_presets`
    (e.g. "fast"), each a dict of SAMPLING_KEYS."""
    meta = meta or {}
    out = {"default": {**FALLBACK, **{k: v for k, v in meta.get("sampling", {}).items() if k in SAMPLING_KEYS}}}
    for name, p in meta.get("sampling_presets", {}).items():
        out[name] = {**out["default"], **{k: v for k, v in p.items() if k in SAMPLING_KEYS}}
    return out


def sampling(meta: dict | None = None, preset: str = "default", **values) -> Sampling:
    """Validated settings: the model's `preset`, with the given values (None: keep the preset's) on top."""
    named = presets(meta)
    if preset not in named:
        raise ValueError(f"Unknown sampling preset {preset!r}; this model has {', '.join(named)}.")
    chosen = dict(named[preset])
    for name, value in values.items():
        if value is not None:
            chosen[ALIASES.get(name, name)] = value
    return Sampling(**{name: check(name, v) for name, v in chosen.items()})


def with_values(s: Sampling, **values) -> Sampling:
    """`s` with some settings changed (validated)."""
    return replace(s, **{ALIASES.get(k, k): check(k, v) for k, v in values.items()})
