"""The floating-point operations of one DiT forward pass, counted by hand from its layers (a multiply-add is 2
operations), split where the compute goes. For one image with N tokens of width D, per block:

    attention projections  qkv (D -> 3D) and output (D -> D) on every token      8 N D^2
    attention scores       Q K^T and the weighted sum of V, over all heads      4 N^2 D
    MLP                    D -> H -> D on every token (H = mlp_ratio * D)        4 N D H
    adaLN                  c -> 6D once per image                                12 D^2

plus the patch embedding, the timestep embedder and the output layer ("other"). The N^2 term is
self-attention's quadratic cost in the sequence length (Vaswani et al. 2017, table 1): on a 28x28 image,
patch 7 gives 16 tokens, patch 4 gives 49, patch 2 gives 196, and the scores grow 16x when the tokens grow 4x.
Softmax, LayerNorm, GELU and the additions are left out (a few operations per value, not per product).
`tests/networks/test_dit_flops.py` checks these counts against torch's `FlopCounterMode`.
"""
from __future__ import annotations

from diffusion_core.networks.dit import DiTConfig

PARTS = ("attention_projections", "attention_scores", "mlp", "other")


def block_flops(config: DiTConfig) -> dict[str, int]:
    """One block's operations per image, by part (adaLN counted in "other")."""
    n, d = config.num_tokens, config.hidden_size
    hidden = int(d * config.mlp_ratio)
    return {"attention_projections": 2 * n * d * 3 * d + 2 * n * d * d,
            "attention_scores": 2 * n * n * d + 2 * n * n * d,
            "mlp": 2 * n * d * hidden + 2 * n * hidden * d,
            "other": 2 * d * 6 * d}


def outside_blocks_flops(config: DiTConfig, freq_dim: int = 256) -> int:
    """The patch embedding, the timestep embedder (the label embedding is a lookup) and the final layer, per image."""
    n, d = config.num_tokens, config.hidden_size
    patch = config.patch_size ** 2 * config.in_channels
    embed = 2 * n * patch * d                              # the patchifying convolution
    timestep = 2 * freq_dim * d + 2 * d * d                # two Linear layers on the sinusoidal features
    final = 2 * d * 2 * d + 2 * n * d * patch              # adaLN (shift, scale) and the per-token output Linear
    return embed + timestep + final


def forward_flops(config: DiTConfig, images: int = 1) -> dict[str, int]:
    """Operations of one forward pass over `images` images, by part (`PARTS`) and in all ("total")."""
    one = block_flops(config)
    parts = {name: config.depth * one[name] * images for name in PARTS}
    parts["other"] += outside_blocks_flops(config) * images
    parts["total"] = sum(parts[name] for name in PARTS)
    return parts
