"""A small MLP denoiser for 2D data: ε_θ(x_t, t, y), the score lab's network.

The same interface as the DiT (`model(x_t, t, y) -> eps`, t the network timestep 0 .. T-1, y a class
with `null_label` for "no class", as classifier-free guidance needs), so the trainer's objective, the
guidance wrapper and the samplers are the ones the image model uses. t enters through DiT's sinusoidal
timestep embedding (Vaswani et al. 2017 / Peebles & Xie 2023, `TimestepEmbedder`), added to the class
embedding, and conditions every layer by addition (as Diffusion Explorer's and k-diffusion's toy MLPs).
Shapes: x (N, 2) float32, t (N,) float, y (N,) int64 in 0 .. num_classes (num_classes is the null class).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from diffusion_core.networks.dit import TimestepEmbedder


@dataclass(frozen=True)
class MLP2DConfig:
    width: int = 128
    depth: int = 3  # hidden layers
    num_classes: int = 8  # + 1 null class
    dim: int = 2

    def to_dict(self) -> dict:
        return asdict(self)


class MLP2D(nn.Module):
    def __init__(self, config: MLP2DConfig = MLP2DConfig()):
        super().__init__()
        self.config = config
        w = config.width
        self.null_label = config.num_classes
        self.t_embed = TimestepEmbedder(w, freq_dim=64)
        self.y_embed = nn.Embedding(config.num_classes + 1, w)
        self.x_in = nn.Linear(config.dim, w)
        self.hidden = nn.ModuleList(nn.Linear(w, w) for _ in range(config.depth))
        self.cond = nn.ModuleList(nn.Linear(w, w) for _ in range(config.depth))
        self.out = nn.Linear(w, config.dim)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            y = torch.full((x.shape[0],), self.null_label, dtype=torch.long, device=x.device)
        c = self.t_embed(t.float().reshape(-1).expand(x.shape[0]))
        c = nn.functional.silu(c + self.y_embed(y))  # (N, w)
        h = self.x_in(x)
        for layer, cond in zip(self.hidden, self.cond):
            h = h + layer(nn.functional.silu(h + cond(c)))  # residual, conditioned by addition
        return self.out(nn.functional.silu(h))
