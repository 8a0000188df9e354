"""A class-conditional DCGAN for 28x28 digits, after pytorch/examples `dcgan`:

- Generator (Radford et al. 2016): z (N, z_dim) and a label embedding -> linear -> (N, 4w, 7, 7)
  -> two stride-2 transposed convolutions with batch norm -> tanh, (N, 1, 28, 28) in [-1, 1].
- Discriminator: strided convolutions with spectral norm (Miyato et al. 2018) and a projection
  head for the label (Miyato & Koyama 2018): D(x, y) = psi(h) + <embed(y), h>.
- Loss: the hinge loss (Lim & Ye 2017; used by SN-GAN and BigGAN):
    L_D = E[relu(1 - D(x, y))] + E[relu(1 + D(G(z, y), y))],   L_G = -E[D(G(z, y), y)].
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm


@dataclass(frozen=True)
class GANConfig:
    z_dim: int = 64
    width: int = 32
    num_classes: int = 10
    embed_dim: int = 32

    def to_dict(self) -> dict:
        return asdict(self)


class Generator(nn.Module):
    def __init__(self, config: GANConfig = GANConfig()):
        super().__init__()
        self.config = config
        w = config.width
        self.embed = nn.Embedding(config.num_classes, config.embed_dim)
        self.fc = nn.Sequential(nn.Linear(config.z_dim + config.embed_dim, 4 * w * 7 * 7), nn.BatchNorm1d(4 * w * 7 * 7), nn.ReLU(True))
        self.net = nn.Sequential(
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.ReLU(True),  # (N, 2w, 14, 14)
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU(True),  # (N, w, 28, 28)
            nn.Conv2d(w, 1, 3, 1, 1), nn.Tanh(),  # (N, 1, 28, 28)
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, self.embed(y)], dim=1))
        return self.net(h.view(z.shape[0], 4 * self.config.width, 7, 7))

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """n digits (N, 1, 28, 28) in [-1, 1] for the given labels (N,)."""
        dev = next(self.parameters()).device
        z = torch.randn(n, self.config.z_dim, generator=generator).to(dev)
        return self(z, labels.to(dev))


class Discriminator(nn.Module):
    def __init__(self, config: GANConfig = GANConfig()):
        super().__init__()
        w = config.width
        self.net = nn.Sequential(
            spectral_norm(nn.Conv2d(1, w, 4, 2, 1)), nn.LeakyReLU(0.2, True),  # (N, w, 14, 14)
            spectral_norm(nn.Conv2d(w, 2 * w, 4, 2, 1)), nn.LeakyReLU(0.2, True),  # (N, 2w, 7, 7)
            spectral_norm(nn.Conv2d(2 * w, 4 * w, 3, 2, 1)), nn.LeakyReLU(0.2, True),  # (N, 4w, 4, 4)
            nn.Flatten(),
        )
        feat = 4 * w * 16
        self.psi = spectral_norm(nn.Linear(feat, 1))
        self.embed = spectral_norm(nn.Embedding(config.num_classes, feat))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.net(x)  # (N, feat)
        return self.psi(h).squeeze(1) + (self.embed(y) * h).sum(1)  # (N,)


def d_hinge_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()


def g_hinge_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()
