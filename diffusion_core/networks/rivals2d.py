"""The diffusion model's two rivals for 2D data, small MLPs as in GAN Lab: a GAN and a VAE.

- GAN (Goodfellow et al. 2014) with the non-saturating generator loss: G maps z ~ N(0, I_2) to the plane,
  D scores points (a logit). Optional spectral normalisation of D's layers (Miyato et al. 2018); the
  trainer adds the R1 penalty (Mescheder et al. 2018) and the D:G step ratio.
- VAE (Kingma & Welling 2014) with a 2D latent and a Gaussian decoder of fixed variance sigma², trained on
  the beta-weighted ELBO (Higgins et al. 2017): -log p(x|z) + beta KL(q(z|x) || N(0, I)). Samples are
  the decoder's mean, so what the VAE cannot separate shows as points between the modes (its blur).
Shapes: points (N, 2) float32; z (N, 2).
"""
from __future__ import annotations

import torch
from torch import nn

Z_DIM = 2


def mlp(sizes: list[int], spectral: bool = False) -> nn.Sequential:
    """Linear layers with LeakyReLU between them (none after the last); spectrally normalised on demand."""
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(a, b)
        layers.append(nn.utils.parametrizations.spectral_norm(lin) if spectral else lin)
        if k < len(sizes) - 2:
            layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


class GAN2D(nn.Module):
    def __init__(self, width: int = 64, spectral_norm: bool = False):
        super().__init__()
        self.generator = mlp([Z_DIM, width, width, width, 2])
        self.discriminator = mlp([2, width, width, width, 1], spectral=spectral_norm)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.generator(torch.randn(n, Z_DIM, generator=generator))


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z))), with D = sigmoid(logit)."""
    return nn.functional.softplus(-real_logits).mean() + nn.functional.softplus(fake_logits).mean()


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss, -log D(G(z))."""
    return nn.functional.softplus(-fake_logits).mean()


class VAE2D(nn.Module):
    def __init__(self, width: int = 64, sigma: float = 0.1):
        super().__init__()
        self.encoder = mlp([2, width, width, 2 * Z_DIM])
        self.decoder = mlp([Z_DIM, width, width, 2])
        self.sigma = float(sigma)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """(decoded mean (N, 2), mu (N, 2), logvar (N, 2)) with z drawn by the reparameterisation trick."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        logvar = logvar.clamp(-12, 8)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=generator)
        return self.decoder(z), mu, logvar

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.decoder(torch.randn(n, Z_DIM, generator=generator))


def vae_loss(model: VAE2D, x: torch.Tensor, beta: float, generator: torch.Generator | None = None) -> tuple:
    """(beta-ELBO loss, reconstruction term, KL term), each a mean over the batch, in nats."""
    recon, mu, logvar = model(x, generator)
    rec = ((recon - x) ** 2).sum(1).div(2 * model.sigma**2).mean()
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean()
    return rec + beta * kl, rec, kl
