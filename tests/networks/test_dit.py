"""The DiT: shapes, adaLN-Zero, attention maps and guidance."""
import pytest
import torch

from diffusion_core.networks.dit import DiT, DiTConfig, PRESETS, sincos_pos_embed_2d
from diffusion_core.maths.guidance import CFGDenoiser
from tests.networks.tiny_dit import tiny_dit


@pytest.fixture(scope="module")
def model():
    return tiny_dit(0.02)


def batch(n=3):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 1, 28, 28, generator=g), torch.tensor([5.0, 500.0, 999.0][:n]), torch.tensor([0, 7, 10][:n])


def test_output_shape_and_patch_grid(model):
    x, t, y = batch()
    assert model(x, t, y).shape == (3, 1, 28, 28)
    assert model.config.num_tokens == 49 and model.pos_embed.shape == (1, 49, 32)


def test_fresh_model_predicts_zero_by_adaln_zero():
    fresh = DiT(PRESETS["test"])
    x, t, y = batch()
    out = fresh(x, t, y)
    assert torch.count_nonzero(out) == 0


def test_internals_attention_rows_sum_to_one_and_match_fast_path(model):
    x, t, y = batch()
    with torch.no_grad():
        fast = model(x, t, y)
        eps, internals = model(x, t, y, return_internals=True)
    torch.testing.assert_close(eps, fast, atol=1e-5, rtol=1e-5)
    cfg = model.config
    assert len(internals["attention"]) == cfg.depth
    for attn in internals["attention"]:
        assert attn.shape == (3, cfg.num_heads, 49, 49)
        torch.testing.assert_close(attn.sum(-1), torch.ones(3, cfg.num_heads, 49))
        assert (attn >= 0).all()
    assert internals["modulation"].shape == (3, cfg.depth, 6, cfg.hidden_size)


def test_conditioning_changes_the_prediction(model):
    x, t, _ = batch()
    a = model(x, t, torch.tensor([1, 1, 1]))
    b = model(x, t, torch.tensor([2, 2, 2]))
    c = model(x, t * 0 + 10, torch.tensor([1, 1, 1]))
    assert not torch.allclose(a, b) and not torch.allclose(a, c)


def test_guidance_scale_one_equals_conditional_prediction(model):
    x, t, y = batch()
    with torch.no_grad():
        torch.testing.assert_close(CFGDenoiser(model, 1.0, null_label=10)(x, t, y=y), model(x, t, y))
        guided = CFGDenoiser(model, 4.0, null_label=10)(x, t, y=y)
        cond, uncond = model(x, t, y), model(x, t, torch.full_like(y, 10))
    torch.testing.assert_close(guided, uncond + 4.0 * (cond - uncond), atol=1e-5, rtol=1e-5)


class Recording(torch.nn.Module):
    """A stand-in network that remembers the batch size of every call."""

    def __init__(self, model):
        super().__init__()
        self.model, self.batches = model, []

    def forward(self, x, t, y):
        self.batches.append(x.shape[0])
        return self.model(x, t, y)


def test_guidance_limited_to_noisy_steps(model):
    """Kynkaenniemi et al. 2024: below min_t the conditional prediction, in one pass; at and above
    min_t the usual guided combination; a batch mixing both gets each row its own."""
    x, _, _ = batch()
    y = torch.tensor([0, 7, 3])
    rec = Recording(model)
    den = CFGDenoiser(rec, 4.0, null_label=10, min_t=500)
    with torch.no_grad():
        cond = model(x, torch.full((3,), 300.0), y)
        torch.testing.assert_close(den(x, torch.full((3,), 300.0), y=y), cond)
        assert rec.batches == [3] and den.passes == 1
        hi = torch.full((3,), 700.0)
        c7, u7 = model(x, hi, y), model(x, hi, torch.full_like(y, 10))
        torch.testing.assert_close(den(x, hi, y=y), u7 + 4.0 * (c7 - u7), atol=1e-5, rtol=1e-5)
        assert rec.batches == [3, 6] and den.passes == 3
        mixed = den(x, torch.tensor([300.0, 700.0, 500.0]), y=y)
    torch.testing.assert_close(mixed[0], cond[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(mixed[1], (u7 + 4.0 * (c7 - u7))[1], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(mixed[2], model(x, torch.full((3,), 500.0), y)[2])  # t = min_t is guided
    with pytest.raises(ValueError, match="lowest timestep"):
        CFGDenoiser(model, 4.0, min_t=-1)


def test_guidance_in_a_two_sided_interval(model):
    """Kynkäänniemi et al. 2024, sec. 3: guided only where min_t <= t <= max_t (both ends included), the
    conditional prediction in one pass on either side; the one-sided form is max_t = NO_UPPER."""
    x, _, _ = batch()
    y = torch.tensor([0, 7, 3])
    den = CFGDenoiser(model, 3.0, null_label=10, min_t=200, max_t=600)
    t = torch.tensor([100.0, 400.0, 800.0])
    with torch.no_grad():
        c, u = model(x, t, y), model(x, t, torch.full_like(y, 10))
        out = den(x, t, y=y)
        torch.testing.assert_close(out[0], c[0], atol=1e-5, rtol=1e-5)  # below: conditional
        torch.testing.assert_close(out[1], (u + 3.0 * (c - u))[1], atol=1e-5, rtol=1e-5)  # inside: guided
        torch.testing.assert_close(out[2], c[2], atol=1e-5, rtol=1e-5)  # above: conditional
        for edge in (200.0, 600.0):
            te = torch.full((3,), edge)
            ce, ue = model(x, te, y), model(x, te, torch.full_like(y, 10))
            torch.testing.assert_close(den(x, te, y=y), ue + 3.0 * (ce - ue), atol=1e-5, rtol=1e-5)
        passes = den.passes
        den(x, torch.full((3,), 900.0), y=y)
        assert den.passes == passes + 1  # wholly outside: one pass
    with pytest.raises(ValueError, match="interval is empty"):
        CFGDenoiser(model, 3.0, min_t=600, max_t=200)


def test_label_dropout_rate():
    emb = DiT(DiTConfig(hidden_size=32, depth=1, num_heads=2, class_dropout_prob=0.25)).y_embedder
    y = torch.zeros(40000, dtype=torch.long)
    dropped = (emb.drop(y, torch.Generator().manual_seed(0)) == 10).float().mean().item()
    assert dropped == pytest.approx(0.25, abs=0.01)


def test_sincos_position_embedding_distinguishes_positions():
    pe = torch.from_numpy(sincos_pos_embed_2d(32, 7))
    d = torch.cdist(pe, pe)
    assert d.shape == (49, 49) and (d + torch.eye(49)).min() > 0.1


def test_bad_configs_are_refused():
    with pytest.raises(ValueError):
        DiT(DiTConfig(image_size=28, patch_size=5))
    with pytest.raises(ValueError):
        DiTConfig.from_dict({"hidden_size": 32, "colour": "red"})


def test_a_grown_dit_computes_what_the_smaller_one_did_and_then_learns_in_its_new_blocks(model):
    from diffusion_core.networks.dit import load_grown

    deeper = DiT(DiTConfig(**{**model.config.to_dict(), "depth": model.config.depth + 2}))
    load_grown(deeper, model)
    x, t, y = batch()
    with torch.no_grad():
        assert torch.allclose(deeper(x, t, y), model(x, t, y), atol=1e-6)
    deeper(x, t, y).pow(2).mean().backward()  # the new blocks' zero gates get gradients: they can learn
    assert deeper.blocks[-1].adaLN_modulation[-1].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="cannot grow"):
        load_grown(DiT(DiTConfig(**{**model.config.to_dict(), "hidden_size": 64, "num_heads": 2})), model)
    with pytest.raises(ValueError, match="cannot grow"):
        load_grown(model, deeper)
