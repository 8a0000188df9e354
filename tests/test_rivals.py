"""GAN and VAE: shapes, seeded determinism, and the losses on inputs checkable by hand."""
import math

import pytest
import torch

from diffusion_core.gan import Discriminator, GANConfig, Generator, d_hinge_loss, g_hinge_loss
from diffusion_core.vae import VAE, VAEConfig, negative_elbo


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


def test_hinge_losses_by_hand():
    real = torch.tensor([2.0, 0.5, -1.0])  # relu(1 - s): 0, 0.5, 2 -> mean 5/6
    fake = torch.tensor([-2.0, 0.0, 1.0])  # relu(1 + s): 0, 1, 2 -> mean 1
    assert d_hinge_loss(real, fake).item() == pytest.approx(5 / 6 + 1)
    assert g_hinge_loss(fake).item() == pytest.approx(1 / 3)


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
