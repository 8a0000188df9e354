"""Label parsing, spherical interpolation and latent walks between two seeds."""
import pytest
import torch

from diffusion_core.networks.pretrained import load_pretrained
from diffusion_core.pipelines.generation import parse_labels
from diffusion_core.pipelines.interpolation import interpolate, slerp
from diffusion_core.settings import sampling


def test_parse_labels():
    assert list(parse_labels("balanced", 12)) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert list(parse_labels("3,5", 3)) == [3, 5, 3]
    with pytest.raises(ValueError):
        parse_labels("x", 3)


def test_slerp_endpoints_and_norm():
    a, b = torch.randn(2, 64, generator=torch.Generator().manual_seed(0)).chunk(2)
    torch.testing.assert_close(slerp(a, b, 0.0), a)
    torch.testing.assert_close(slerp(a, b, 1.0), b)
    mid = slerp(a, b, 0.5)
    assert abs(mid.norm() - (a.norm() + b.norm()) / 2) < 0.15 * a.norm()


@pytest.mark.parametrize("kind", ["gan", "vae", "dit"])
def test_interpolation_starts_and_ends_at_the_two_seeds(kind):
    pre = load_pretrained(kind)
    frames = interpolate(kind, pre, 3, seed_a=1, seed_b=2, frames=4, s=sampling(pre.meta, steps=3))
    assert frames.shape == (4, 1, 28, 28)
    again = interpolate(kind, pre, 3, seed_a=1, seed_b=2, frames=4, s=sampling(pre.meta, steps=3))
    assert torch.equal(frames, again)
    other = interpolate(kind, pre, 3, seed_a=1, seed_b=5, frames=4, s=sampling(pre.meta, steps=3))
    torch.testing.assert_close(frames[0], other[0])  # same start
    assert not torch.allclose(frames[-1], other[-1])  # different end
