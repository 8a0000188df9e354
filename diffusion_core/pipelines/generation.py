"""Class-conditional generation from any of the shipped models, with one interface:
`generate(kind, labels, seed, ...) -> float tensor (N, 1, 28, 28) in [-1, 1]`.

The DiT samples with a `settings.Sampling`; left out, its recommended setting from its JSON (the one
the model card's figures were measured at).
"""
from __future__ import annotations

import contextlib
from collections.abc import Mapping
import functools

import numpy as np
import torch

from diffusion_core.maths.guidance import NO_UPPER, CFGDenoiser
from diffusion_core.maths.samplers import sample, step_grid
from diffusion_core.maths.schedules import schedule_from_dict
from diffusion_core.networks import runtime
from diffusion_core.networks.pretrained import Pretrained, load_pretrained
from diffusion_core.pipelines.step_batcher import StepBatcher
from diffusion_core.settings import Sampling, sampling


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


def guidance_interval(s: Sampling | Mapping) -> tuple[float, float]:
    """(min_t, max_t) of a DiT setting: a `Sampling` or a setting as a dict (a model's JSON "sampling", a
    preset, a measured row; one recorded before the two-sided interval existed has no max_t: no upper limit)."""
    if isinstance(s, Mapping):
        return float(s.get("guidance_min_t", 0)), float(s.get("guidance_max_t", NO_UPPER))
    return float(s.guidance_min_t), float(s.guidance_max_t)


def guided_range(s: Sampling | Mapping) -> str:
    """Where a DiT setting guides, for captions: ' at every step', ' only where t >= 700', ' only where t <= 600'
    or ' only where 200 <= t <= 600'."""
    low, high = guidance_interval(s)
    if high >= NO_UPPER - 1:  # t never exceeds T - 1 = 999
        return " at every step" if low <= 0 else f" only where t >= {low:g}"
    return f" only where t <= {high:g}" if low <= 0 else f" only where {low:g} <= t <= {high:g}"


def dit_denoiser(pre: Pretrained, guidance: float, model: torch.nn.Module | None = None, min_t: float = 0.0,
                 max_t: float = NO_UPPER):
    """(schedule, guided denoiser) for a loaded DiT: its training schedule and CFG at `guidance` for
    steps with min_t <= t <= max_t (over `model`, a stand-in for `pre.model` such as its bf16 copy, when given)."""
    schedule = schedule_from_dict(pre.meta["schedule"])
    return schedule, CFGDenoiser(model or pre.model, scale=float(guidance), null_label=pre.model.config.num_classes,
                                 min_t=float(min_t), max_t=float(max_t))


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


_BATCHERS: list[StepBatcher] = []  # every batcher made (a handful: one per model, device and precision)


@functools.lru_cache(maxsize=4)
def _batcher(model: torch.nn.Module, device: str, precision: str) -> StepBatcher:
    if precision == "int8":  # the cost lab's int8 copy (`networks/precision.py`): CPU only
        from diffusion_core.networks.precision import precision_net

        net = precision_net(model, "int8")
    else:
        net = app_net(model, device, precision == "bfloat16")
    batcher = StepBatcher(net, null_label=model.config.num_classes, device=device)
    _BATCHERS.append(batcher)
    return batcher


def generating() -> bool:
    """Whether any generation of the app is running now (a member of a shared batcher)."""
    return any(b.active() for b in _BATCHERS)


def app_batcher(pre: Pretrained, device) -> StepBatcher:
    """The one `StepBatcher` of this DiT on `device` at the app's precision (`runtime.serving_precision`): every
    generation of the app shares its network calls."""
    device = torch.device(device)
    return _batcher(pre.model, str(device), runtime.serving_precision(device))


@contextlib.contextmanager
def app_denoiser(pre: Pretrained, guidance: float, device, min_t: float = 0.0, max_t: float = NO_UPPER,
                 fresh: bool = False):
    """(schedule, denoiser) as the app samples: `app_net` through the shared `app_batcher`, with
    classifier-free guidance at `guidance` where min_t <= t <= max_t (`denoiser.passes` counts network
    passes); `fresh`: never answered from the cache of earlier runs (a timing the page quotes is computed).
    A context: leaving it ends this generation's part in the batcher."""
    batcher = app_batcher(pre, device)
    member = batcher.join(fresh)
    try:
        yield schedule_from_dict(pre.meta["schedule"]), batcher.denoiser(member, float(guidance), float(min_t), float(max_t))
    finally:
        batcher.leave(member)


@torch.no_grad()
def generate_dit(pre: Pretrained, labels: np.ndarray, seed: int, s: Sampling, device="cpu", app_precision: bool = False,
                 batch_size: int = 250, stats: dict | None = None, fresh: bool = False) -> torch.Tensor:
    """`app_precision`: sample as the reverse tab does (`app_denoiser`, `fresh` as there) instead of in float32.
    `stats`, when given, receives "reused_share": the share of this generation's network rows that the shared
    batcher's cache of an identical recent run answered (0 .. 1; 0 in float32, which has no cache)."""
    low, high = guidance_interval(s)
    plain = contextlib.nullcontext(dit_denoiser(pre, s.guidance, min_t=low, max_t=high))
    with app_denoiser(pre, s.guidance, device, low, high, fresh) if app_precision else plain as (schedule, den):
        images = sample_batches(schedule, den, labels, seed, s, device, batch_size)
        if stats is not None:
            stats["reused_share"] = float(getattr(den, "reused_share", 0.0))
    return images


@torch.no_grad()
def sample_batches(schedule, den, labels, seed: int, s: Sampling, device="cpu", batch_size: int = 250) -> torch.Tensor:
    """Images (N, 1, 28, 28) in [-1, 1] on the CPU for `labels` (N,) from `den(x, t, y) -> eps` on `schedule` at
    setting `s`, batch after batch: x_T and the sampler's noise drawn from `seed` in the order every DiT generation
    draws them (so a variant of the network gets the same x_T as `generate_dit`)."""
    g = torch.Generator().manual_seed(int(seed))
    grid = step_grid(s.sampler, schedule, s.steps, s.spacing)
    out = []
    for k in range(0, len(labels), batch_size):
        y = torch.as_tensor(labels[k:k + batch_size], device=device)      # (B,)
        x = torch.randn(len(y), 1, 28, 28, generator=g).to(device)         # x_T (B, 1, 28, 28)
        out.append(sample(s.sampler, den, x, grid, {"y": y}, generator=g, eta=s.eta, clip_x0=1.0).float().cpu())
    return torch.cat(out).clamp(-1, 1)


@torch.no_grad()
def generate_rival(pre: Pretrained, labels: np.ndarray, seed: int, device="cpu", batch_size: int = 250) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(seed))
    out = []
    for k in range(0, len(labels), batch_size):
        y = torch.as_tensor(labels[k:k + batch_size], device=device)
        out.append(pre.model.sample(len(y), y, generator=g).float().cpu())
    return torch.cat(out).clamp(-1, 1)


def generate(kind: str, labels, seed: int = 0, s: Sampling | None = None, device="cpu",
             pretrained: Pretrained | None = None, app_precision: bool = False, batch_size: int = 250,
             stats: dict | None = None, fresh: bool = False) -> torch.Tensor:
    """Images (N, 1, 28, 28) in [-1, 1] for the given labels (N,) from model `kind`; the DiT samples with
    `s` (its recommended setting when None) and reports into `stats` as `generate_dit` says."""
    pre = pretrained or load_pretrained(kind, device=device)
    labels = np.asarray(labels, dtype=np.int64)
    if kind == "dit":
        return generate_dit(pre, labels, seed, s or sampling(pre.meta), device, app_precision, batch_size, stats, fresh)
    return generate_rival(pre, labels, seed, device, batch_size)


def nfe_per_sample(kind: str, meta: dict, s: Sampling | None = None) -> int:
    """Network passes per image, counted by running the sampler over a stand-in network that returns
    zeros (a guided evaluation is one batched call but two passes; steps outside the guided interval one)."""
    if kind != "dit":
        return 1
    s = s or sampling(meta)
    low, high = guidance_interval(s)
    den = CFGDenoiser(lambda x, t, y: torch.zeros_like(x), float(s.guidance), min_t=low, max_t=high)
    grid = step_grid(s.sampler, schedule_from_dict(meta["schedule"]), s.steps, s.spacing)
    sample(s.sampler, den, torch.zeros(1, 1, 28, 28), grid, {"y": torch.zeros(1, dtype=torch.long)}, eta=s.eta,
           generator=torch.Generator().manual_seed(0))
    return den.passes
