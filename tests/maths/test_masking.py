"""Masked diffusion for text: the forward process keeps each character with probability alpha_t, the
fixed order masks one more character at a time, and the objective starts at log(vocabulary size)."""
import math

import numpy as np
import pytest
import torch

from diffusion_core.data import names_corpus as nc
from diffusion_core.maths.masking import MaskingSchedule, mask_tokens, masked_at, masked_diffusion_losses
from diffusion_core.networks.text_dit import TextDiT, TextDiTConfig


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_the_forward_process_keeps_each_character_with_probability_alpha(name):
    s = MaskingSchedule(name)
    x0 = torch.randint(0, 27, (4000, 16), generator=torch.Generator().manual_seed(0))
    for t in (0.1, 0.5, 0.9):
        a = float(s.alpha(t))
        z = mask_tokens(x0, a, nc.MASK_ID, torch.Generator().manual_seed(1))
        kept = (z != nc.MASK_ID).float().mean().item()
        assert abs(kept - a) < 4 * math.sqrt(a * (1 - a) / x0.numel()), (t, kept, a)
        assert torch.equal(z[z != nc.MASK_ID], x0[z != nc.MASK_ID])  # kept characters are unchanged
    assert s.alpha(0) == 1 and s.alpha(1) == pytest.approx(0) and s.t_for_alpha(s.alpha(0.3)) == pytest.approx(0.3)
    eps = 1e-6  # weight = -alpha' / (1 - alpha), checked by a finite difference
    assert s.weight(0.4) == pytest.approx(-(s.alpha(0.4 + eps) - s.alpha(0.4 - eps)) / (2 * eps) / (1 - s.alpha(0.4)), rel=1e-5)
    with pytest.raises(ValueError):
        MaskingSchedule("exponential")


def test_the_fixed_order_masks_one_more_character_at_a_time():
    prev = masked_at(16, 0.0, 7)
    assert not prev.any()
    for k in range(1, 17):
        now = masked_at(16, k / 16, 7)
        assert now.sum() == k and (now | prev).sum() == k  # a superset of the previous mask
        prev = now
    assert not np.array_equal(masked_at(16, 0.5, 1), masked_at(16, 0.5, 2))


def test_a_fresh_model_scores_about_log_vocabulary_per_character():
    torch.manual_seed(0)
    model = TextDiT(TextDiTConfig(vocab_size=len(nc.VOCAB), hidden_size=32, depth=2))
    x0 = torch.from_numpy(nc.as_tokens("held_out")[:2000])
    loss = masked_diffusion_losses(model, MaskingSchedule(), x0, nc.MASK_ID, generator=torch.Generator().manual_seed(0))["loss"]
    per_char = loss.mean().item() / nc.SEQ_LEN
    assert abs(per_char - math.log(len(nc.VOCAB))) < 0.1, per_char


def test_the_autoregressive_twin_never_looks_ahead():
    torch.manual_seed(0)
    twin = TextDiT(TextDiTConfig(vocab_size=27, hidden_size=32, depth=2, causal=True))
    for p in twin.parameters():  # off adaLN-Zero's zeros, so every weight matters
        p.data.add_(0.05 * torch.randn_like(p))
    a = torch.randint(0, 27, (1, 16))
    b = a.clone()
    b[0, 10:] = (b[0, 10:] + 1) % 27
    with torch.no_grad():
        la, lb = twin(a), twin(b)
    torch.testing.assert_close(la[0, :10], lb[0, :10])
    assert not torch.allclose(la[0, 10:], lb[0, 10:])
