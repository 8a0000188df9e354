"""Where the models run: the CPU bf16 choice and its override, and the bf16 inference copy."""
import numpy as np
import pytest
import torch

from diffusion_core.networks import runtime
from diffusion_core.settings import sampling
from tests.networks.tiny_dit import tiny_dit


@pytest.fixture()
def model():
    return tiny_dit(0.05)


def test_cpu_bf16_override(monkeypatch):
    monkeypatch.setenv(runtime.CPU_BF16_ENV, "0")
    assert not runtime.cpu_has_fast_bf16() and not runtime.uses_bf16(torch.device("cpu"))
    assert "bf16" not in runtime.device_name(torch.device("cpu"))
    monkeypatch.setenv(runtime.CPU_BF16_ENV, "1")
    assert runtime.uses_bf16(torch.device("cpu")) and "bf16" in runtime.device_name(torch.device("cpu"))
    with runtime.autocast(torch.device("cpu")):
        assert torch.is_autocast_enabled("cpu")


def test_inference_model_is_the_model_without_bf16(model, monkeypatch):
    monkeypatch.setenv(runtime.CPU_BF16_ENV, "0")
    assert runtime.inference_model(model, "cpu") is model
    with runtime.autocast(torch.device("cpu")):
        assert not torch.is_autocast_enabled("cpu")


def test_bf16_copy_stores_linear_weights_in_bf16_and_predicts_the_same_noise(model, monkeypatch):
    monkeypatch.setenv(runtime.CPU_BF16_ENV, "1")
    fast = runtime.inference_model(model, "cpu")
    assert fast is not model and runtime.inference_model(model, "cpu") is fast  # made once
    linears = [m for m in fast.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(m.weight.dtype == torch.bfloat16 for m in linears)
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the original is untouched
    x, t, y = torch.randn(4, 1, 28, 28), torch.tensor([10.0, 300.0, 600.0, 990.0]), torch.tensor([1, 2, 3, 10])
    with torch.no_grad():
        ref = model(x, t, y)
        with runtime.autocast(torch.device("cpu")):
            out = fast(x, t, y).float()
    rel = ((out - ref).norm() / ref.norm()).item()
    assert 0 < rel < 0.03  # bf16 rounding: close, not identical


class FakeSpaces:
    """Stands in for Hugging Face's `spaces` package: records each GPU call's duration, runs the call
    (here on the CPU) or refuses it the way ZeroGPU does when the quota is used up."""

    def __init__(self, refuse: str | None = None):
        self.refuse, self.durations, self.inside = refuse, [], []

    def GPU(self, duration):  # noqa: N802 - the package's name
        def decorate(fn):
            def call(*args, **kwargs):
                self.durations.append(duration(*args, **kwargs) if callable(duration) else duration)
                if self.refuse:
                    raise RuntimeError(self.refuse)
                gen = fn(*args, **kwargs)
                first = next(gen)
                self.inside.append(runtime._IN_ZERO_GPU["call"])  # while the call runs
                yield first
                yield from gen

            return call

        return decorate


def test_zero_gpu_runs_the_call_with_a_duration_from_its_inputs_and_keeps_the_main_process_on_the_cpu(monkeypatch):
    from diffusion_core.pipelines import denoising as rl
    from diffusion_core.app.reverse import reverse_ui as rui

    fake = FakeSpaces()
    monkeypatch.setattr(runtime, "spaces", fake)
    assert runtime.pick_device().type == "cpu"  # the main process never initialises CUDA on ZeroGPU
    frames = list(rui.generate_frames(label="7", guidance=2.0, sampler="ddim", eta=0, steps=4, seed=0, images=2, spacing="leading", guidance_min_t=0))
    assert "Done: 4 steps" in frames[-1][2]
    assert fake.durations == [rl.gpu_seconds(sampling(label="7", guidance=2.0, sampler="ddim", eta=0, steps=4, seed=0, images=2, spacing="leading", guidance_min_t=0))]
    assert fake.inside == [True] and not runtime._IN_ZERO_GPU["call"]
    assert all(isinstance(f[0], np.ndarray) for f in frames)  # CPU data comes back, not CUDA tensors
    long = rl.gpu_seconds(sampling(label="7", guidance=2.0, sampler="heun", eta=0, steps=250, seed=0, images=16, spacing="leading", guidance_min_t=0))
    assert fake.durations[0] < long <= 120


def test_a_zero_gpu_refusal_falls_back_to_the_cpu_and_says_so(monkeypatch):
    from diffusion_core.app.reverse import reverse_ui as rui

    monkeypatch.setattr(runtime, "spaces", FakeSpaces(refuse="You have exceeded your GPU quota (60s requested vs. 0s left)"))
    frames = list(rui.generate_frames(label="7", guidance=2.0, sampler="ddim", eta=0, steps=3, seed=0, images=2, spacing="leading", guidance_min_t=0))
    assert "Done: 3 steps" in frames[-1][2] and "GPU is not available right now" in frames[-1][2]
    assert "quota" in frames[-1][2]
    monkeypatch.setattr(runtime, "spaces", FakeSpaces(refuse="something else broke"))
    with pytest.raises(RuntimeError, match="something else broke"):
        list(rui.generate_frames(label="7", guidance=2.0, sampler="ddim", eta=0, steps=3, seed=0, images=2, spacing="leading", guidance_min_t=0))
