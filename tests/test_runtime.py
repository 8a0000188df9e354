"""Where the models run: the CPU bf16 choice and its override, and the bf16 inference copy."""
import pytest
import torch

from diffusion_core import runtime
from diffusion_core.dit import DiT, PRESETS


@pytest.fixture()
def model():
    torch.manual_seed(0)
    m = DiT(PRESETS["test"]).eval()
    for p in m.parameters():  # off adaLN-Zero's zeros, so the output depends on every weight
        p.data.add_(0.05 * torch.randn_like(p))
    return m


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
