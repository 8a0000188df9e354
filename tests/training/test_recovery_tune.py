"""The pruned model's recovery fine-tune (`training/recovery_tune.py`) with the shipped trainer's code, on the
committed fixture of real digits: it trains the model it is given, keeps its shape, and refuses what it cannot do."""
import pytest
import torch

from diffusion_core.data.mnist import load_mnist
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.networks.pruning import prune_mlp
from diffusion_core.training.recovery_tune import recovery_tune
from tests.conftest import FIXTURE_MNIST
from tests.networks.tiny_dit import tiny_dit


@pytest.fixture(scope="module")
def digits():
    images, labels = load_mnist("train", FIXTURE_MNIST, allow_download=False)
    return images[:256], labels[:256]


def test_a_short_fine_tune_trains_the_pruned_model_in_place(digits):
    small = prune_mlp(tiny_dit(0.05), 0.5)
    before = [p.detach().clone() for p in small.parameters()]
    tuned, log = recovery_tune(small, make_schedule("cosine", 1000), *digits, steps=12, batch_size=32)
    assert tuned is small and not tuned.training and tuned.config.mlp_ratio == small.config.mlp_ratio
    assert all(not torch.equal(a, b) for a, b in zip(before, tuned.parameters()) if a.dim() > 1)
    assert log["steps"] == 12 and log["batch_size"] == 32 and log["seconds"] >= 0
    assert torch.isfinite(torch.tensor([log["first_loss"], log["last_loss"]])).all()


def test_a_fine_tune_it_cannot_run_is_refused(digits):
    images, labels = digits
    with pytest.raises(ValueError, match="at least one step"):
        recovery_tune(tiny_dit(), make_schedule("cosine", 1000), images[:8], labels[:8], steps=5, batch_size=32)
    with pytest.raises(ValueError, match="at least one step"):
        recovery_tune(tiny_dit(), make_schedule("cosine", 1000), images, labels, steps=0)
