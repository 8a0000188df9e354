"""Latent interpolation for the three models, with one interface.

- GAN and VAE: spherical interpolation (slerp, Shoemake 1985; White 2016 for generative models)
  between two Gaussian latents z_a, z_b, decoded for a fixed digit class.
- Diffusion: slerp between two starting noises x_T, each decoded with DDIM at eta = 0, which is a
  deterministic map from noise to image (Song, Meng & Ermon 2021, sec. 5.3 interpolate this way).
Slerp keeps the interpolants at the norm a Gaussian sample has, where linear interpolation would
pass through low-norm points the models never saw.
"""
from __future__ import annotations

import numpy as np
import torch

from diffusion_core.pipelines.generation import dit_denoiser
from diffusion_core.networks.pretrained import Pretrained
from diffusion_core.maths.samplers import sample, step_grid
from diffusion_core.settings import Sampling, sampling, with_values


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between a and b (same shape), flattened per row; t in [0, 1]."""
    fa, fb = a.flatten(1).double(), b.flatten(1).double()
    cos = (fa * fb).sum(1) / (fa.norm(dim=1) * fb.norm(dim=1))
    omega = torch.arccos(cos.clamp(-1, 1))
    so = torch.sin(omega)
    wa = torch.where(so > 1e-6, torch.sin((1 - t) * omega) / so, torch.full_like(so, 1 - t))
    wb = torch.where(so > 1e-6, torch.sin(t * omega) / so, torch.full_like(so, t))
    return (wa[:, None] * fa + wb[:, None] * fb).view_as(a).to(a.dtype)


def latent_shape(kind: str, pre: Pretrained) -> tuple[int, ...]:
    if kind == "dit":
        return (1, 28, 28)
    if kind == "gan":
        return (pre.model.config.z_dim,)
    return (pre.model.config.latent_dim,)


@torch.no_grad()
def interpolate(kind: str, pre: Pretrained, label: int, seed_a: int, seed_b: int, frames: int = 8,
                s: Sampling | None = None) -> torch.Tensor:
    """`frames` images (frames, 1, 28, 28) in [-1, 1] along the slerp path from seed_a's latent to seed_b's.
    The DiT decodes with DDIM at eta 0 and the steps, spacing and guidance of `s` (default: its JSON's)."""
    if not 2 <= frames <= 32:
        raise ValueError("Use between 2 and 32 interpolation frames.")
    if not 0 <= int(label) <= 9:
        raise ValueError("The digit must be between 0 and 9.")
    for name, seed in (("Seed A", seed_a), ("Seed B", seed_b)):
        if not 0 <= int(seed) < 2**31:
            raise ValueError(f"{name} must be between 0 and 2^31 - 1, got {str(seed)[:20]}.")
    shape = latent_shape(kind, pre)
    za = torch.randn((1, *shape), generator=torch.Generator().manual_seed(int(seed_a)))
    zb = torch.randn((1, *shape), generator=torch.Generator().manual_seed(int(seed_b)))
    z = torch.cat([slerp(za, zb, float(t)) for t in np.linspace(0, 1, frames)])  # (frames, *shape)
    y = torch.full((frames,), int(label), dtype=torch.long)
    if kind == "gan":
        return pre.model(z, y).clamp(-1, 1)
    if kind == "vae":
        return pre.model.decode(z, y)
    s = with_values(s or sampling(pre.meta), sampler="ddim", eta=0.0)
    schedule, den = dit_denoiser(pre, s.guidance, min_t=s.guidance_min_t, max_t=s.guidance_max_t)
    grid = step_grid(s.sampler, schedule, s.steps, s.spacing)
    return sample(s.sampler, den, z, grid, {"y": y}, eta=s.eta, clip_x0=1.0).clamp(-1, 1)
