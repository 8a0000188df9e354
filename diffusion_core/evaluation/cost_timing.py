"""What one step of the DiT costs in time on this machine, measured: a guided sampling step at a precision,
the same step unguided, and one forward pass split into its attention and its MLP as the token count grows
(patch 7, 4, 2 on a 28x28 digit), beside the counted operations of `networks/dit_flops.py`.

Each time is the median of several runs after warm-up runs (the first calls of a kernel are slower), in
milliseconds; nothing here is asserted, the cost lab records it (`benchmarks/cost_lab.py`).
"""
from __future__ import annotations

import statistics
import time
from dataclasses import replace

import torch
import torch.nn.functional as F

from diffusion_core.maths.guidance import CFGDenoiser
from diffusion_core.networks.dit import DiT, DiTConfig
from diffusion_core.networks.dit_flops import forward_flops

PATCH_SIZES = (7, 4, 2)  # 16, 49 and 196 tokens on a 28x28 image


def median_ms(fn, repeats: int = 7, warmup: int = 2) -> float:
    """The median wall time of `fn()` in ms over `repeats` runs, after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def interleaved_ms(fns: dict, repeats: int = 7, warmup: int = 2) -> dict[str, float]:
    """The median wall time in ms of each of `fns` (name -> callable), timed in turn within each round, so a change
    in the machine's speed during the measurement hits them all alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def step_inputs(images: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_t (B, 1, 28, 28), t (B,), labels (B,)) for a timing: noise at mid-schedule timesteps, digits 0-9."""
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(images, 1, 28, 28, generator=g), torch.randint(100, 900, (images,), generator=g),
            torch.arange(images) % 10)


@torch.no_grad()
def step_ms(denoisers: dict, images: int = 16, repeats: int = 7) -> dict[str, float]:
    """ms of one sampling step for `images` digits through each of `denoisers` (name -> `CFGDenoiser` or any
    den(x, t, y)), timed in turn (`interleaved_ms`): a guided one makes one batched call over 2 x images rows
    (conditional and unconditional), an unguided one a call over `images` rows."""
    x, t, y = step_inputs(images)
    return interleaved_ms({name: (lambda den=den: den(x, t, y)) for name, den in denoisers.items()}, repeats)


def guided(net, guidance: float) -> CFGDenoiser:
    """`net` (x, t, y) -> eps under classifier-free guidance at `guidance` (1: the plain conditional call)."""
    return CFGDenoiser(net, scale=guidance)


@torch.no_grad()
def part_ms(model: DiT, rows: int, repeats: int = 7) -> dict[str, float]:
    """ms of one forward over `rows` inputs, whole and by part: every block's attention module (its projections
    and its scores), the scores alone (`scaled_dot_product_attention`) and every block's MLP."""
    cfg = model.config
    n, d, heads = cfg.num_tokens, cfg.hidden_size, cfg.num_heads
    x, t, y = step_inputs(rows)
    h = torch.randn(rows, n, d)                                           # tokens (B, N, D)
    q, k, v = (torch.randn(rows, heads, n, d // heads) for _ in range(3))  # (B, H, N, D/H)
    block = model.blocks[0]
    ms = interleaved_ms({"forward": lambda: model(x, t, y), "attention": lambda: block.attn(h),
                         "attention_scores": lambda: F.scaled_dot_product_attention(q, k, v),
                         "mlp": lambda: block.mlp(h)}, repeats)
    return {name: v if name == "forward" else cfg.depth * v for name, v in ms.items()}  # every block's, for the parts


def compute_split(config: DiTConfig, rows: int = 32, patch_sizes=PATCH_SIZES, repeats: int = 7) -> list[dict]:
    """For each patch size: the token count, the counted operations per image by part (`forward_flops`) and the
    measured ms of one forward over `rows` inputs by part (`part_ms`), on a freshly initialised DiT of `config`'s
    size (the time of a dense kernel does not depend on the weights' values)."""
    out = []
    for p in patch_sizes:
        cfg = replace(config, patch_size=p)
        out.append({"patch_size": p, "tokens": cfg.num_tokens, "flops_per_image": forward_flops(cfg),
                    "rows": rows, "ms": {k: round(v, 3) for k, v in part_ms(DiT(cfg).eval(), rows, repeats).items()}})
    return out
