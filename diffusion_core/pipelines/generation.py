"""Class-conditional generation from any of the shipped models, with one interface:
`generate(kind, labels, seed, ...) -> float tensor (N, 1, 28, 28) in [-1, 1]`.

For the DiT the defaults (sampler, steps, guidance, spacing) come from its JSON (`sampling`), which
records the setting the model card's figures were measured at.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field

import numpy as np
import torch

from diffusion_core.networks import runtime
from diffusion_core.maths.guidance import CFGDenoiser
from diffusion_core.networks.pretrained import Pretrained, load_pretrained
from diffusion_core.maths.samplers import SAMPLERS, sample
from diffusion_core.maths.schedules import schedule_from_dict
from diffusion_core.pipelines.step_batcher import StepBatcher

# Leading spacing starts at t = 950: with the cosine schedule, t = 999 has alpha_bar = 2.4e-9 and the
# x0 recovered from the predicted eps there measured RMS 668 (vs 0.81 at t = 950).
# guidance_min_t: guidance only at steps with t >= this (guidance.CFGDenoiser); 0 guides every step.
DIT_DEFAULTS = {"sampler": "ddim", "steps": 20, "guidance": 3.0, "spacing": "leading", "eta": 0.0, "guidance_min_t": 0}
SETTING_KEYS = ("sampler", "steps", "guidance", "spacing", "eta", "guidance_min_t")


@dataclass
class SamplingOptions:
    sampler: str | None = None  # None: the model's default
    steps: int | None = None
    guidance: float | None = None
    spacing: str | None = None
    eta: float | None = None
    batch_size: int = 250
    extra: dict = field(default_factory=dict)
    guidance_min_t: float | None = None


def parse_labels(spec, n: int) -> np.ndarray:
    """'balanced' -> 0..9 repeated (n values); '7' -> all sevens; '0,1,2' -> cycled; int -> that digit."""
    if n < 1:
        raise ValueError("n must be at least 1.")
    if isinstance(spec, (int, np.integer)):
        spec = str(int(spec))
    spec = str(spec).strip().lower()
    if spec in ("balanced", "all"):
        digits = list(range(10))
    else:
        try:
            digits = [int(tok) for tok in spec.replace(" ", "").split(",") if tok]
        except ValueError:
            raise ValueError(f"Labels must be 'balanced' or digits 0-9 separated by commas, got {spec!r}.") from None
        if not digits or any(d < 0 or d > 9 for d in digits):
            raise ValueError("Labels must be digits from 0 to 9.")
    return np.resize(np.asarray(digits, dtype=np.int64), n)


def presets(meta: dict) -> dict[str, dict]:
    """The model's named sampling settings: "default" (its JSON's `sampling`) and any in
    `sampling_presets` (e.g. "fast"), each a dict of SETTING_KEYS."""
    out = {"default": {**DIT_DEFAULTS, **{k: v for k, v in meta.get("sampling", {}).items() if k in SETTING_KEYS}}}
    for name, p in meta.get("sampling_presets", {}).items():
        out[name] = {**out["default"], **{k: v for k, v in p.items() if k in SETTING_KEYS}}
    return out


def dit_settings(meta: dict, opts: SamplingOptions, preset: str = "default") -> dict:
    """The sampling setting: the model's `preset` (its default unless named), with `opts` overriding."""
    named = presets(meta)
    if preset not in named:
        raise ValueError(f"Unknown sampling preset {preset!r}; this model has {', '.join(named)}.")
    d = dict(named[preset])
    for k in SETTING_KEYS:
        v = getattr(opts, k)
        if v is not None:
            d[k] = v
    if d["sampler"] not in SAMPLERS:
        raise ValueError(f"Unknown sampler {d['sampler']!r}; choose one of {', '.join(SAMPLERS)}.")
    return d


def guided_range(settings: dict) -> str:
    """Where a DiT setting guides, for captions: ' at every step' or ' only where t >= 700'."""
    min_t = float(settings.get("guidance_min_t", 0))
    return " at every step" if min_t <= 0 else f" only where t >= {min_t:g}"


def dit_denoiser(pre: Pretrained, guidance: float, model: torch.nn.Module | None = None, min_t: float = 0.0):
    """(schedule, guided denoiser) for a loaded DiT: its training schedule and CFG at `guidance` for
    steps with t >= `min_t` (over `model`, a stand-in for `pre.model` such as its bf16 copy, when given)."""
    schedule = schedule_from_dict(pre.meta["schedule"])
    return schedule, CFGDenoiser(model or pre.model, scale=float(guidance), null_label=pre.model.config.num_classes,
                                 min_t=float(min_t))


def app_net(model: torch.nn.Module, device, bf16: bool):
    """The network as the app runs it: with `bf16` (`runtime.uses_bf16`), `runtime.inference_model`
    (the bf16 copy on a CPU) under bf16 autocast, float32 out; plain float32 otherwise."""
    device = torch.device(device)
    fast = runtime.inference_model(model, device.type) if bf16 else model
    cast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)

    def net(x, t, y):
        with cast:
            return fast(x, t, y).float()

    return net


@functools.lru_cache(maxsize=4)
def _batcher(model: torch.nn.Module, device: str, bf16: bool) -> StepBatcher:
    return StepBatcher(app_net(model, device, bf16), null_label=model.config.num_classes, device=device)


def app_batcher(pre: Pretrained, device) -> StepBatcher:
    """The one `StepBatcher` of this DiT on `device` at the app's precision: every generation of the
    app shares its network calls."""
    device = torch.device(device)
    return _batcher(pre.model, str(device), runtime.uses_bf16(device))


@contextlib.contextmanager
def app_denoiser(pre: Pretrained, guidance: float, device, min_t: float = 0.0):
    """(schedule, denoiser) as the app samples: `app_net` through the shared `app_batcher`, with
    classifier-free guidance at `guidance` where t >= `min_t` (`denoiser.passes` counts network passes).
    A context: leaving it ends this generation's part in the batcher."""
    batcher = app_batcher(pre, device)
    member = batcher.join()
    try:
        yield schedule_from_dict(pre.meta["schedule"]), batcher.denoiser(member, float(guidance), float(min_t))
    finally:
        batcher.leave(member)


@torch.no_grad()
def generate_dit(pre: Pretrained, labels: np.ndarray, seed: int, opts: SamplingOptions, device="cpu",
                 app_precision: bool = False) -> torch.Tensor:
    """`app_precision`: sample as the reverse tab does (`app_denoiser`) instead of in float32."""
    cfg = dit_settings(pre.meta, opts)
    w, min_t = cfg["guidance"], cfg["guidance_min_t"]
    plain = contextlib.nullcontext(dit_denoiser(pre, w, min_t=min_t))
    with app_denoiser(pre, w, device, min_t) if app_precision else plain as (schedule, den):
        g = torch.Generator().manual_seed(int(seed))
        out = []
        for k in range(0, len(labels), opts.batch_size):
            y = torch.as_tensor(labels[k:k + opts.batch_size], device=device)
            x = torch.randn(len(y), 1, 28, 28, generator=g).to(device)
            out.append(sample(cfg["sampler"], den, x, schedule, int(cfg["steps"]), spacing=cfg["spacing"],
                              eta=float(cfg["eta"]), generator=g, clip_x0=1.0, y=y).float().cpu())
    return torch.cat(out).clamp(-1, 1)


@torch.no_grad()
def generate_rival(pre: Pretrained, labels: np.ndarray, seed: int, opts: SamplingOptions, device="cpu") -> torch.Tensor:
    g = torch.Generator().manual_seed(int(seed))
    out = []
    for k in range(0, len(labels), opts.batch_size):
        y = torch.as_tensor(labels[k:k + opts.batch_size], device=device)
        out.append(pre.model.sample(len(y), y, generator=g).float().cpu())
    return torch.cat(out).clamp(-1, 1)


def generate(kind: str, labels, seed: int = 0, opts: SamplingOptions | None = None, device="cpu",
             pretrained: Pretrained | None = None, app_precision: bool = False) -> torch.Tensor:
    """Images (N, 1, 28, 28) in [-1, 1] for the given labels (N,) from model `kind`."""
    opts = opts or SamplingOptions()
    pre = pretrained or load_pretrained(kind, device=device)
    labels = np.asarray(labels, dtype=np.int64)
    if kind == "dit":
        return generate_dit(pre, labels, seed, opts, device, app_precision)
    return generate_rival(pre, labels, seed, opts, device)


def nfe_per_sample(kind: str, meta: dict, opts: SamplingOptions | None = None) -> int:
    """Network passes per image, counted by running the sampler over a stand-in network that returns
    zeros (a guided evaluation is one batched call but two passes; steps below `guidance_min_t` one)."""
    if kind != "dit":
        return 1
    cfg = dit_settings(meta, opts or SamplingOptions())
    den = CFGDenoiser(lambda x, t, y: torch.zeros_like(x), float(cfg["guidance"]), min_t=float(cfg["guidance_min_t"]))
    sample(cfg["sampler"], den, torch.zeros(1, 1, 28, 28), schedule_from_dict(meta["schedule"]), int(cfg["steps"]),
           spacing=cfg["spacing"], eta=float(cfg["eta"]), generator=torch.Generator().manual_seed(0),
           y=torch.zeros(1, dtype=torch.long))
    return den.passes
