"""The text model: a bidirectional Transformer over characters built from the DiT's own blocks (one
backbone, two modalities), and its autoregressive twin of the same size (the same blocks, causal).

- Masked diffusion (MDLM, Sahoo et al. 2024): tokens (N, L) int64 with MASK = `vocab_size` as an input,
  the mask rate t (N,) in [0, 1] conditions every block through adaLN-Zero as the DiT's timestep does
  (embedded at 1000 t, the image model's scale); out: logits (N, L, vocab_size) for x_0 at every position
  (the text twin of the predicted x̂0).
- Autoregressive twin (`causal=True`): position l sees tokens < l (a BOS token first, then the name,
  shifted), no t; out: logits for the next character.
Learned position embeddings (Radford et al. 2018), token embedding table, DiT's final adaLN layer.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from diffusion_core.networks.dit import DiTBlock, TimestepEmbedder, modulate


@dataclass(frozen=True)
class TextDiTConfig:
    vocab_size: int = 27  # real tokens; MASK (and the twin's BOS) is id vocab_size
    seq_len: int = 16
    hidden_size: int = 128
    depth: int = 4
    num_heads: int = 4
    mlp_ratio: float = 4.0
    causal: bool = False

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TextDiTConfig":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown text-model config keys: {sorted(unknown)}")
        return cls(**d)


class TextDiT(nn.Module):
    def __init__(self, config: TextDiTConfig = TextDiTConfig()):
        super().__init__()
        self.config = config
        d = config.hidden_size
        self.tok_embed = nn.Embedding(config.vocab_size + 1, d)  # + MASK (diffusion) or BOS (twin)
        self.pos_embed = nn.Parameter(torch.zeros(1, config.seq_len, d))
        self.t_embedder = TimestepEmbedder(d)
        self.blocks = nn.ModuleList(DiTBlock(d, config.num_heads, config.mlp_ratio) for _ in range(config.depth))
        self.norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.final_mod = nn.Sequential(nn.SiLU(), nn.Linear(d, 2 * d))
        self.head = nn.Linear(d, config.vocab_size)
        self._init()

    def _init(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.tok_embed.weight, std=0.02)
        nn.init.normal_(self.pos_embed, std=0.02)
        for block in self.blocks:  # adaLN-Zero: each block starts as the identity
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_mod[-1].weight)
        nn.init.zeros_(self.final_mod[-1].bias)
        nn.init.zeros_(self.head.weight)  # a fresh model predicts the uniform distribution: loss log V
        nn.init.zeros_(self.head.bias)

    def forward(self, tokens: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        """tokens (N, L) int64 -> logits (N, L, vocab_size); t (N,) the mask rate (diffusion; None: 0)."""
        n, length = tokens.shape
        h = self.tok_embed(tokens) + self.pos_embed[:, :length]
        t = torch.zeros(n, device=tokens.device) if t is None else torch.as_tensor(t, dtype=torch.float32).reshape(-1).expand(n)
        c = self.t_embedder(1000.0 * t)  # (N, D): the DiT's timestep embedding, at its scale
        for block in self.blocks:
            h, _, _ = block(h, c, causal=self.config.causal)
        shift, scale = self.final_mod(c).chunk(2, dim=1)
        return self.head(modulate(self.norm(h), shift, scale))

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
