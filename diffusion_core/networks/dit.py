"""A small DiT: the Diffusion Transformer of Peebles & Xie (2023), "Scalable Diffusion Models with
Transformers", sized for 28x28 MNIST digits.

Written after facebookresearch/DiT `models.py`: patchify -> (+ 2D sin-cos position embedding) ->
N DiT blocks with adaLN-Zero conditioning on (timestep embedding + class embedding) -> final layer ->
unpatchify. The network predicts the noise eps (the objective of Ho et al. 2020, eq. 14).

Classifier-free guidance (Ho & Salimans 2022) uses one extra "null" class, index `num_classes`,
that training substitutes for the real label with probability `class_dropout_prob`.

`forward(x, t, y, return_internals=True)` also returns every layer's attention maps
(N, heads, T, T) and the adaLN modulation vectors, for the app to show. With the default
`return_internals=False` attention runs through `scaled_dot_product_attention` and nothing is kept.

`model.checkpointing = True` (off by default) recomputes each block's activations in the backward pass
instead of keeping them (activation checkpointing, Chen et al. 2016): less training memory for one more
forward pass of the blocks; the losses and gradients are the same (`benchmarks/cost_lab.py` measures the memory).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


@dataclass(frozen=True)
class DiTConfig:
    """Architecture of a DiT. `image_size` must be divisible by `patch_size`."""

    image_size: int = 28
    in_channels: int = 1
    patch_size: int = 4
    hidden_size: int = 128
    depth: int = 6
    num_heads: int = 4
    mlp_ratio: float = 4.0
    num_classes: int = 10
    class_dropout_prob: float = 0.1

    @property
    def grid_size(self) -> int:
        return self.image_size // self.patch_size

    @property
    def num_tokens(self) -> int:
        return self.grid_size**2

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DiTConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"Unknown DiT config keys: {sorted(unknown)}")
        return cls(**d)


PRESETS = {
    # For unit tests: runs in milliseconds, learns nothing useful.
    "test": DiTConfig(hidden_size=32, depth=2, num_heads=2),
    # 49 tokens of 4x4 patches, width 128, 6 blocks: trained from scratch on the CPU (stages 1-8 of the card).
    "small": DiTConfig(hidden_size=128, depth=6, num_heads=4),
    # The shipped model: the small one two blocks deeper, grown from its weights by `load_grown` and trained
    # on a GPU (what each size costs: `benchmarks/dit_sizes.py`, quoted in the model card).
    "medium": DiTConfig(hidden_size=128, depth=8, num_heads=4),
    # Wider, for a GPU.
    "base": DiTConfig(hidden_size=192, depth=8, num_heads=6),
}


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: x * (1 + scale) + shift, broadcast over tokens. x (N, T, D), shift/scale (N, D)."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def sincos_pos_embed_2d(dim: int, grid: int) -> np.ndarray:
    """Fixed 2D sin-cos position embedding (MAE / DiT), shape (grid*grid, dim)."""
    assert dim % 4 == 0, "hidden_size must be divisible by 4 for the 2D sin-cos embedding"
    coords = np.arange(grid, dtype=np.float64)
    gw, gh = np.meshgrid(coords, coords)  # w varies fastest, as in DiT

    def one_axis(pos: np.ndarray) -> np.ndarray:
        omega = 1.0 / 10000 ** (np.arange(dim // 4, dtype=np.float64) / (dim / 4.0))
        out = np.einsum("m,d->md", pos.reshape(-1), omega)  # (M, dim/4)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)  # (M, dim/2)

    return np.concatenate([one_axis(gh), one_axis(gw)], axis=1)  # (T, dim)


class TimestepEmbedder(nn.Module):
    """Scalar timesteps -> vectors: sinusoidal features (Vaswani et al. 2017) then a 2-layer MLP."""

    def __init__(self, hidden_size: int, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(
            nn.Linear(freq_dim, hidden_size), nn.SiLU(), nn.Linear(hidden_size, hidden_size)
        )

    @staticmethod
    def timestep_features(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
        """t (N,) float, possibly fractional -> (N, dim)."""
        half = dim // 2
        freqs = torch.exp(
            -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half
        )
        args = t[:, None].float() * freqs[None]
        return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        feats = self.timestep_features(t, self.freq_dim).to(self.mlp[0].weight.dtype)
        return self.mlp(feats)  # (N, D)


class LabelEmbedder(nn.Module):
    """Class labels -> vectors; index `num_classes` is the null (unconditional) class."""

    def __init__(self, num_classes: int, hidden_size: int, dropout_prob: float):
        super().__init__()
        self.num_classes = num_classes
        self.dropout_prob = dropout_prob
        self.table = nn.Embedding(num_classes + 1, hidden_size)

    def drop(self, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Replace each label by the null class with probability `dropout_prob` (training)."""
        u = torch.rand(y.shape, device=y.device, generator=generator)
        return torch.where(u < self.dropout_prob, torch.full_like(y, self.num_classes), y)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.table(y)  # (N, D)


class Attention(nn.Module):
    """Multi-head self-attention that can hand back its attention probabilities."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        assert dim % num_heads == 0, "hidden_size must be divisible by num_heads"
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, return_attn: bool = False, causal: bool = False):
        """`causal`: each token attends only to itself and earlier ones (the text model's autoregressive twin)."""
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (N, H, T, Dh)
        attn = None
        if return_attn:
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)  # (N, H, T, T)
            if causal:
                scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
            attn = scores.float().softmax(dim=-1).to(q.dtype)
            out = attn @ v  # (N, H, T, Dh)
        else:
            out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        out = out.transpose(1, 2).reshape(n, t, d)  # (N, T, D)
        return self.proj(out), attn


class DiTBlock(nn.Module):
    """Transformer block with adaLN-Zero: the conditioning vector c regresses shift, scale and a
    gate for both the attention and the MLP branch; gates start at zero, so a new block is the
    identity (Peebles & Xie 2023, sec. 3.2)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(
            nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim)
        )
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor, return_internals: bool = False, causal: bool = False):
        mod = self.adaLN_modulation(c)  # (N, 6D)
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = mod.chunk(6, dim=1)
        h, attn = self.attn(modulate(self.norm1(x), shift_msa, scale_msa), return_internals, causal)
        x = x + gate_msa.unsqueeze(1) * h
        x = x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))
        return x, attn, (mod.view(mod.shape[0], 6, -1) if return_internals else None)


class FinalLayer(nn.Module):
    """adaLN (shift, scale) then a linear map from each token to its patch of pixels."""

    def __init__(self, dim: int, patch_size: int, out_channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(dim, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm(x), shift, scale))  # (N, T, p*p*C)


# Names of the six adaLN-Zero vectors of a block, in the order they are produced.
MODULATION_NAMES = ("shift_msa", "scale_msa", "gate_msa", "shift_mlp", "scale_mlp", "gate_mlp")


class DiT(nn.Module):
    """eps-prediction DiT. Inputs: x (N, C, H, W) in the model's space (MNIST scaled to [-1, 1] plus
    noise), t (N,) timesteps in [0, T-1] (float allowed), y (N,) int64 labels in [0, num_classes]
    where `num_classes` means unconditional. Output: eps (N, C, H, W)."""

    def __init__(self, config: DiTConfig):
        super().__init__()
        if config.image_size % config.patch_size:
            raise ValueError("image_size must be divisible by patch_size")
        self.config = config
        d, p = config.hidden_size, config.patch_size
        self.x_embedder = nn.Conv2d(config.in_channels, d, kernel_size=p, stride=p)
        self.t_embedder = TimestepEmbedder(d)
        self.y_embedder = LabelEmbedder(config.num_classes, d, config.class_dropout_prob)
        pos = sincos_pos_embed_2d(d, config.grid_size)
        self.register_buffer("pos_embed", torch.from_numpy(pos).float().unsqueeze(0), persistent=False)
        self.blocks = nn.ModuleList(
            DiTBlock(d, config.num_heads, config.mlp_ratio) for _ in range(config.depth)
        )
        self.final_layer = FinalLayer(d, p, config.in_channels)
        self.checkpointing = False  # recompute each block's activations in the backward pass (training only)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        """DiT's initialisation: xavier linears, and zeros for every adaLN modulation and the output
        layer, so a fresh model predicts eps = 0 everywhere (adaLN-Zero)."""

        def _basic_init(m: nn.Module) -> None:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

        self.apply(_basic_init)
        w = self.x_embedder.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        nn.init.zeros_(self.x_embedder.bias)
        nn.init.normal_(self.y_embedder.table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for block in self.blocks:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        for layer in (self.final_layer.adaLN_modulation[-1], self.final_layer.linear):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T, p*p*C) -> (N, C, H, W)."""
        c, p, g = self.config.in_channels, self.config.patch_size, self.config.grid_size
        x = x.reshape(x.shape[0], g, g, p, p, c)
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(x.shape[0], c, g * p, g * p)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor, return_internals: bool = False):
        """Returns eps (N, C, H, W); with `return_internals`, (eps, internals) where internals has
        `attention`: list over layers of (N, heads, T, T) and `modulation`: (N, depth, 6, D)."""
        h = self.x_embedder(x).flatten(2).transpose(1, 2) + self.pos_embed  # (N, T, D)
        c = self.t_embedder(t) + self.y_embedder(y)  # (N, D)
        attentions, modulations = [], []
        recompute = self.checkpointing and self.training and torch.is_grad_enabled() and not return_internals
        for block in self.blocks:
            if recompute:  # keep only h and c per block; the backward recomputes the block
                h, attn, mod = checkpoint(block, h, c, use_reentrant=False)
            else:
                h, attn, mod = block(h, c, return_internals)
            if return_internals:
                attentions.append(attn)
                modulations.append(mod)
        eps = self.unpatchify(self.final_layer(h, c))  # (N, C, H, W)
        if not return_internals:
            return eps
        return eps, {"attention": attentions, "modulation": torch.stack(modulations, dim=1)}

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def load_grown(model: DiT, smaller: DiT) -> None:
    """Load a shallower DiT's weights into `model` (the same config but `depth`): every shared key is
    copied and the extra blocks keep their adaLN-Zero initialisation, whose zero gates make each of them
    the identity, so the grown model computes exactly what the smaller one did (a depth-growing
    warm start; the added blocks come after the copied ones)."""
    a, b = model.config, smaller.config
    if {**a.to_dict(), "depth": 0} != {**b.to_dict(), "depth": 0} or b.depth > a.depth:
        raise ValueError(f"cannot grow {b} into {a}: only a deeper copy of the same config")
    missing, unexpected = model.load_state_dict(smaller.state_dict(), strict=False)
    new = tuple(f"blocks.{i}." for i in range(b.depth, a.depth))
    if unexpected or any(not k.startswith(new) for k in missing):
        raise ValueError(f"unexpected keys when growing the DiT: {unexpected or missing}")
    for block in model.blocks[b.depth:]:
        nn.init.zeros_(block.adaLN_modulation[-1].weight)
        nn.init.zeros_(block.adaLN_modulation[-1].bias)
