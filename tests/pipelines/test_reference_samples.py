"""The shipped DiT's 16 samples at a fixed seed and setting are what they were before the library was
reorganised (issue "visible walls"), to 1e-4; and training calls the same forward process as sampling."""
import sys

import numpy as np
import torch

from diffusion_core import paths

sys.path.insert(0, str(paths.ROOT / "tests" / "fixtures"))
from make_dit_reference import samples  # noqa: E402


def test_the_dit_samples_as_before_the_reorganisation():
    ref = np.load(paths.ROOT / "tests" / "fixtures" / "dit_reference.npz")
    x, sha = samples()
    assert sha == str(ref["sha256"]), "the shipped weights changed: write a new reference with tests/fixtures/make_dit_reference.py"
    np.testing.assert_allclose(x, ref["samples"], atol=1e-4, rtol=0)


def test_the_objective_noises_with_the_forward_process():
    from diffusion_core.maths.forward import q_sample
    from diffusion_core.maths.objective import loss_weights, training_losses
    from diffusion_core.maths.schedules import make_schedule

    s = make_schedule("cosine", 1000)
    x0, noise = torch.rand(4, 1, 8, 8) * 2 - 1, torch.randn(4, 1, 8, 8)
    t, y = torch.tensor([0, 10, 500, 999]), torch.zeros(4, dtype=torch.long)
    seen = {}

    def model(x_t, t_, y_):
        seen["x_t"] = x_t
        return torch.zeros_like(x_t)

    out = training_losses(model, s, x0, t, y, noise, weights=loss_weights(s, "min-snr"))
    torch.testing.assert_close(seen["x_t"], q_sample(s, x0, t, noise))
    torch.testing.assert_close(out["mse"], noise.pow(2).mean(dim=(1, 2, 3)))  # a zero prediction's error is the noise
    assert out["loss"][3] == out["mse"][3] and out["loss"][0] < out["mse"][0]  # Min-SNR lowers only the low-noise steps
