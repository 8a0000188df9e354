"""The DiT at float32, bfloat16 and int8 (`networks/precision.py`): the copies compute nearly what float32 does, only
the per-token Linear layers become int8, the weights shrink, and where torch.ao is gone int8 is refused with a
sentence while the other precisions work."""
import sys

import pytest
import torch

from diffusion_core.networks import precision as pr
from diffusion_core.networks.pretrained import load_pretrained


@pytest.fixture(scope="module")
def dit():
    return load_pretrained("dit").model


def noisy_batch(n=32):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 1000, (n,), generator=g), torch.arange(n) % 11


def relative_difference(net, dit):
    x, t, y = noisy_batch()
    with torch.no_grad():
        a, b = dit(x, t, y), net(x, t, y)
    assert b.dtype == torch.float32 and b.shape == a.shape
    return float((a - b).norm() / a.norm())


def test_bf16_and_int8_predict_nearly_float32s_noise(dit):
    assert relative_difference(pr.precision_net(dit, "float32"), dit) == 0.0
    assert relative_difference(pr.precision_net(dit, "bfloat16"), dit) < 0.02
    assert relative_difference(pr.precision_net(dit, "int8"), dit) < 0.1


def test_int8_quantises_only_the_per_token_layers_and_leaves_the_model_alone(dit):
    from torch.ao.nn.quantized.dynamic import Linear as QuantLinear

    q = pr.model_at(dit, "int8")
    quantised = {name for name, m in q.named_modules() if isinstance(m, QuantLinear)}
    assert quantised == set(pr.per_token_linears(dit)) and len(quantised) == 4 * dit.config.depth
    assert isinstance(q.blocks[0].adaLN_modulation[1], torch.nn.Linear) and isinstance(q.final_layer.linear, torch.nn.Linear)
    assert all(type(m) is not QuantLinear for m in dit.modules())  # the shipped model is untouched
    assert pr.model_at(dit, "int8") is q  # made once


def test_the_weights_shrink(dit):
    full, half, int8 = (pr.weight_bytes(pr.model_at(dit, name)) for name in pr.PRECISIONS)
    params = sum(p.numel() for p in dit.parameters())
    assert 4 * params <= full < 4.1 * params
    assert half < 0.55 * full and int8 < 0.6 * full


def test_a_missing_int8_is_refused_with_a_sentence_and_the_rest_works(dit, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.ao.quantization", None)  # as where PyTorch has removed it
    assert not pr.int8_available()
    with pytest.raises(ValueError, match="not available"):
        pr.check_precision("int8")
    with pytest.raises(ValueError, match="one of float32, bfloat16, int8"):
        pr.check_precision("fp8")
    assert relative_difference(pr.precision_net(dit, "bfloat16"), dit) < 0.02


def test_the_live_comparison_says_when_int8_is_gone(monkeypatch):
    from diffusion_core.app.cost import cost_ui

    monkeypatch.setitem(sys.modules, "torch.ao.quantization", None)
    f32, bf16, int8, text = cost_ui.live_precisions("3", 0, 1, "fast")
    assert f32 is not None and bf16 is not None and int8 is None
    assert "int8: not available" in text and "| bfloat16 |" in text


def test_a_float32_variant_draws_exactly_what_generate_draws():
    """The variants are judged beside the shipped model's digits: the same x_T and sampler noise for a seed."""
    from diffusion_core.networks.loaded import loaded
    from diffusion_core.pipelines.generation import generate
    from diffusion_core.pipelines.variant_sampling import generate_variant
    from diffusion_core.settings import sampling, with_values

    pre = loaded("dit")
    s = with_values(sampling(pre.meta), steps=3)
    assert torch.equal(generate("dit", [1, 2, 3], 5, s), generate_variant(pre.model.float(), pre, [1, 2, 3], 5, s))
