"""A tiny DiT for tests whose every weight matters (moved off adaLN-Zero's zeros)."""
import torch

from diffusion_core.networks.dit import DiT, PRESETS


def tiny_dit(scale: float = 0.05) -> DiT:
    torch.manual_seed(0)
    m = DiT(PRESETS["test"]).eval()
    for p in m.parameters():  # off adaLN-Zero's zeros, so the output depends on every weight
        p.data.add_(scale * torch.randn_like(p))
    return m
