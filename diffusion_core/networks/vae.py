"""A class-conditional convolutional VAE for 28x28 digits, after pytorch/examples `vae`
(Kingma & Welling 2014; conditional as in Sohn et al. 2015):

- Encoder q(z | x, y): the image with the label as 10 one-hot planes -> two stride-2 convolutions ->
  mu and log-variance of a diagonal Gaussian over a 16-dimensional latent.
- Decoder p(x | z, y): Bernoulli likelihood over pixel intensities in [0, 1] (MNIST's grey levels
  treated as probabilities, as in the original VAE paper), logits from transposed convolutions.
- Loss: the negative ELBO per image, in nats:
    -ELBO = BCE(logits, x) summed over pixels + KL(N(mu, sigma^2) || N(0, I))
          = recon + sum(0.5 (mu^2 + sigma^2 - log sigma^2 - 1))                      (Kingma & Welling 2014, app. B)
- Samples: z ~ N(0, I) and the decoder's mean image (the Bernoulli probabilities), scaled to [-1, 1].
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class VAEConfig:
    latent_dim: int = 16
    width: int = 32
    num_classes: int = 10
    hidden: int = 256

    def to_dict(self) -> dict:
        return asdict(self)


class VAE(nn.Module):
    def __init__(self, config: VAEConfig = VAEConfig()):
        super().__init__()
        self.config = config
        w, c, h = config.width, config.num_classes, config.hidden
        self.enc = nn.Sequential(
            nn.Conv2d(1 + c, w, 4, 2, 1), nn.ReLU(True),  # (N, w, 14, 14)
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.ReLU(True),  # (N, 2w, 7, 7)
            nn.Flatten(), nn.Linear(2 * w * 49, h), nn.ReLU(True),
        )
        self.to_stats = nn.Linear(h, 2 * config.latent_dim)
        self.dec_fc = nn.Sequential(nn.Linear(config.latent_dim + c, h), nn.ReLU(True), nn.Linear(h, 2 * w * 49), nn.ReLU(True))
        self.dec = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.ReLU(True),  # (N, w, 14, 14)
            nn.ConvTranspose2d(w, 1, 4, 2, 1),  # (N, 1, 28, 28) logits
        )

    def onehot(self, y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y, self.config.num_classes).float()

    def encode(self, x01: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x01 (N, 1, 28, 28) in [0, 1] -> (mu, logvar), each (N, latent_dim)."""
        planes = self.onehot(y)[:, :, None, None].expand(-1, -1, 28, 28)
        return self.to_stats(self.enc(torch.cat([x01, planes], 1))).chunk(2, dim=1)

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.dec_fc(torch.cat([z, self.onehot(y)], 1))
        return self.dec(h.view(z.shape[0], 2 * self.config.width, 7, 7))

    def forward(self, x01: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None):
        """Returns (logits, mu, logvar) with the reparameterised z = mu + sigma * eps."""
        mu, logvar = self.encode(x01, y)
        eps = torch.randn(mu.shape, generator=generator).to(mu.device)
        z = mu + (0.5 * logvar).exp() * eps
        return self.decode_logits(z, y), mu, logvar

    @torch.no_grad()
    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean image in [-1, 1] (N, 1, 28, 28) for latents z (N, latent_dim)."""
        return torch.sigmoid(self.decode_logits(z, y)) * 2 - 1

    @torch.no_grad()
    def sample(self, n: int, labels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        dev = next(self.parameters()).device
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(dev)
        return self.decode(z, labels.to(dev))


def negative_elbo(logits: torch.Tensor, x01: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor):
    """(loss, recon, kl), each the mean over the batch of a per-image sum, in nats."""
    recon = F.binary_cross_entropy_with_logits(logits, x01, reduction="none").flatten(1).sum(1)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)
    return (recon + kl).mean(), recon.mean(), kl.mean()
