"""Digits from a variant of the shipped DiT (the same network at another precision, a pruned copy), drawn
exactly as `generation.generate("dit", labels, seed, s)` draws them in float32: the same x_T and the same
sampler noise for a seed, so the variants' digits can be held side by side and judged on equal terms.

    images = generate_variant(precision_net(pre.model, "int8"), pre, labels, seed=0, s=sampling(pre.meta))
    runs = compare_precisions(pre, labels, seed=0, s=sampling(pre.meta))   # [(precision, images, seconds)]
"""
from __future__ import annotations

import time

import numpy as np
import torch

from diffusion_core.networks.precision import PRECISIONS, precision_net
from diffusion_core.networks.pretrained import Pretrained
from diffusion_core.pipelines.generation import dit_denoiser, guidance_interval, sample_batches
from diffusion_core.settings import Sampling


@torch.no_grad()
def generate_variant(net, pre: Pretrained, labels, seed: int, s: Sampling, batch_size: int = 250) -> torch.Tensor:
    """Images (N, 1, 28, 28) in [-1, 1] for `labels` (N,) from `net(x, t, y) -> eps`, a stand-in for `pre.model`
    on the CPU, sampled at `s` on the shipped model's schedule with guidance as `s` says; x_T and the sampler's
    noise come from `seed` in the order `generation.generate_dit` draws them."""
    low, high = guidance_interval(s)
    schedule, den = dit_denoiser(pre, s.guidance, model=net, min_t=low, max_t=high)
    return sample_batches(schedule, den, np.asarray(labels, dtype=np.int64), seed, s, batch_size=batch_size)


def compare_precisions(pre: Pretrained, labels, seed: int, s: Sampling,
                       precisions: tuple[str, ...] = PRECISIONS) -> list[tuple[str, torch.Tensor, float]]:
    """The same digits from the same x_T at each precision: [(precision, images (N, 1, 28, 28), seconds it took)].
    A precision this torch lacks (int8 where torch.ao is gone) raises a ValueError that says so, before any work."""
    nets = [(name, precision_net(pre.model, name)) for name in precisions]
    runs = []
    for name, net in nets:
        start = time.perf_counter()
        images = generate_variant(net, pre, labels, seed, s)
        runs.append((name, images, time.perf_counter() - start))
    return runs
