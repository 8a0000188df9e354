"""GAN and VAE: shapes, seeded determinism, and the losses on inputs checkable by hand."""
import math

import pytest
import torch

from diffusion_core.networks.gan import Discriminator, GANConfig, Generator, d_bce_loss, g_bce_loss
from diffusion_core.networks.vae import VAE, VAEConfig, negative_elbo


@pytest.fixture(scope="module")
def gan():
    torch.manual_seed(0)
    return Generator(GANConfig()).eval(), Discriminator(GANConfig())


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return VAE(VAEConfig()).eval()


def test_gan_shapes_and_range(gan):
    G, D = gan
    x = G.sample(6, torch.arange(6), torch.Generator().manual_seed(0))
    assert x.shape == (6, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert D(x, torch.arange(6)).shape == (6,)


def test_vae_shapes_and_range(vae):
    x = vae.sample(5, torch.arange(5), torch.Generator().manual_seed(0))
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    logits, mu, logvar = vae(torch.rand(5, 1, 28, 28), torch.arange(5), torch.Generator().manual_seed(0))
    assert logits.shape == (5, 1, 28, 28) and mu.shape == logvar.shape == (5, 16)


@pytest.mark.parametrize("which", ["gan", "vae"])
def test_sampling_is_seeded(gan, vae, which):
    model = gan[0] if which == "gan" else vae
    y = torch.tensor([3, 3, 8])
    a = model.sample(3, y, torch.Generator().manual_seed(7))
    b = model.sample(3, y, torch.Generator().manual_seed(7))
    c = model.sample(3, y, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.allclose(a, c)


def test_labels_change_the_output(gan, vae):
    for model in (gan[0], vae):
        a = model.sample(2, torch.tensor([0, 0]), torch.Generator().manual_seed(1))
        b = model.sample(2, torch.tensor([5, 5]), torch.Generator().manual_seed(1))
        assert not torch.allclose(a, b)


def test_gan_losses_by_hand():
    zero = torch.zeros(4)
    assert d_bce_loss(zero, zero).item() == pytest.approx(2 * math.log(2))  # D undecided: log 2 each
    assert g_bce_loss(zero).item() == pytest.approx(math.log(2))
    sure = torch.full((4,), 30.0)
    assert d_bce_loss(sure, -sure).item() == pytest.approx(0.0, abs=1e-9)  # D right and sure
    # non-saturating: G's loss and gradient stay large when D confidently rejects the fakes
    fake = torch.full((4,), -5.0, requires_grad=True)
    loss = g_bce_loss(fake)
    loss.backward()
    assert loss.item() == pytest.approx(math.log1p(math.exp(5.0)), rel=1e-6)
    assert fake.grad.abs().mean().item() == pytest.approx(0.25 / (1 + math.exp(-5.0)), rel=1e-4)


def test_negative_elbo_by_hand():
    # logits 0 -> p = 0.5 everywhere: BCE = log 2 per pixel, whatever x is
    logits = torch.zeros(2, 1, 28, 28)
    x = torch.rand(2, 1, 28, 28)
    mu = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    logvar = torch.tensor([[0.0, 0.0], [0.0, math.log(4.0)]])
    loss, recon, kl = negative_elbo(logits, x, mu, logvar)
    assert recon.item() == pytest.approx(784 * math.log(2), rel=1e-6)
    # KL per image: first 0; second 0.5 (1 + 0) + 0.5 (4 + 4 - log 4 - 1)
    kl2 = 0.5 * 1 + 0.5 * (4 + 4 - math.log(4) - 1)
    assert kl.item() == pytest.approx(kl2 / 2, rel=1e-6)
    assert loss.item() == pytest.approx(recon.item() + kl.item(), rel=1e-6)


def test_discriminator_uses_the_label():
    torch.manual_seed(0)
    D = Discriminator(GANConfig())
    x = torch.randn(4, 1, 28, 28)
    assert not torch.allclose(D(x, torch.zeros(4, dtype=torch.long)), D(x, torch.full((4,), 9)))
