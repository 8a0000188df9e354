"""The one owner of the loaded networks: each shipped model (`dit`, `gan`, `vae`, the judge `classifier`) is loaded once per
process and device, and every tab, the tutor tools and the benchmarks share that copy (and, for the DiT,
its `StepBatcher`, which is keyed by the model object). A missing or broken model raises `WeightsError`
with what to do; the failure is remembered by `load_pretrained`, so a page load does not retry it."""
from __future__ import annotations

from functools import lru_cache

import torch

from diffusion_core.networks import runtime
from diffusion_core.networks.pretrained import Pretrained, load_pretrained


@lru_cache(maxsize=6)
def _load(kind: str, device: str) -> Pretrained:
    return load_pretrained(kind, device=device)


def loaded(kind: str = "dit", device: torch.device | str | None = None) -> Pretrained:
    """The shipped model `kind` on `device` (the DiT: the app's device, `runtime.pick_device`; the GAN and
    the VAE: the CPU, where one call of theirs is cheaper than a transfer)."""
    if device is None:
        device = runtime.pick_device() if kind == "dit" else "cpu"
    return _load(kind, str(torch.device(device)))
