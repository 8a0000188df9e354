"""Structured magnitude pruning of the DiT's MLPs (`networks/pruning.py`): the kept units compute what they did, the
removed ones are the smallest by L1 norm, and a pruned model is an ordinary (smaller) DiT that saves and loads."""
import pytest
import torch

from diffusion_core.networks.pretrained import load_pretrained, save_pretrained
from diffusion_core.networks.pruning import kept_units, prune_mlp, unit_scores
from tests.networks.tiny_dit import tiny_dit


def batch(n=4):
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 1, 28, 28, generator=g), torch.tensor([3, 300, 700, 990][:n]), torch.tensor([1, 5, 10, 0][:n])


def test_pruning_nothing_changes_nothing():
    model = tiny_dit(0.05)
    x, t, y = batch()
    with torch.no_grad():
        torch.testing.assert_close(prune_mlp(model, 0.0)(x, t, y), model(x, t, y), rtol=0, atol=0)


@pytest.mark.parametrize("fraction", [0.25, 0.5])
def test_the_kept_units_compute_what_they_did(fraction):
    """The pruned model equals the original with the removed units' activations set to zero, block by block."""
    model = tiny_dit(0.05)
    small = prune_mlp(model, fraction)
    hidden = model.blocks[0].mlp[0].out_features
    keep = round(hidden * (1 - fraction))
    assert small.config.mlp_ratio * small.config.hidden_size == keep and small.blocks[0].mlp[0].out_features == keep
    handles = []
    for block in model.blocks:
        mask = torch.zeros(hidden)
        mask[kept_units(block.mlp, keep)] = 1.0
        handles.append(block.mlp[1].register_forward_hook(lambda m, i, out, mask=mask: out * mask))
    x, t, y = batch()
    with torch.no_grad():
        masked = model(x, t, y)
        for h in handles:
            h.remove()
        pruned, full = small(x, t, y), model(x, t, y)
    torch.testing.assert_close(pruned, masked, rtol=1e-5, atol=1e-6)
    assert (pruned - full).abs().max() > 1e-4  # and removing units did change the output


def test_the_removed_units_are_the_smallest_by_l1_norm():
    mlp = tiny_dit(0.05).blocks[1].mlp
    scores = unit_scores(mlp)
    kept = kept_units(mlp, 40)
    removed = torch.ones(len(scores), dtype=torch.bool)
    removed[kept] = False
    assert scores[kept].min() >= scores[removed].max() and torch.equal(kept, kept.sort().values)


def test_a_pruned_model_is_an_ordinary_dit_that_saves_and_loads(tmp_path):
    model = tiny_dit(0.05)
    small = prune_mlp(model, 0.5)
    mlp_params = sum(p.numel() for b in model.blocks for p in b.mlp.parameters())
    small_mlp = sum(p.numel() for b in small.blocks for p in b.mlp.parameters())
    assert model.num_params() - small.num_params() == mlp_params - small_mlp and small_mlp < 0.51 * mlp_params
    stem = tmp_path / "dit_mnist"
    save_pretrained(small, stem, {"kind": "dit", "config": small.config.to_dict(), "schedule": {"name": "cosine", "T": 1000}})
    back = load_pretrained("dit", assets_dir=tmp_path).model
    x, t, y = batch()
    with torch.no_grad():
        torch.testing.assert_close(back(x, t, y), small(x, t, y))


@pytest.mark.parametrize("fraction", [-0.1, 1.0, float("nan")])
def test_a_share_outside_0_to_1_is_refused(fraction):
    with pytest.raises(ValueError, match="at least 0 and below 1"):
        prune_mlp(tiny_dit(), fraction)
