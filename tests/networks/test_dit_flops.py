"""The DiT's operations counted by hand (`networks/dit_flops.py`) against PyTorch's `FlopCounterMode`, at the three
patch sizes of the cost lab and for a pruned MLP. The counter does not see the CPU's fused attention kernel, so the
forward runs with `return_internals=True`, whose attention is written out as two matrix products."""
from dataclasses import replace

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from diffusion_core.networks.dit import PRESETS, DiT
from diffusion_core.networks.dit_flops import PARTS, forward_flops


def counted(config, images=2):
    model = DiT(config).eval()
    x, t, y = torch.randn(images, 1, 28, 28), torch.full((images,), 500), torch.zeros(images, dtype=torch.long)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x, t, y, return_internals=True)
    return {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}, counter.get_total_flops()


@pytest.mark.parametrize("patch, tokens", [(7, 16), (4, 49), (2, 196)])
def test_the_counts_match_pytorchs_counter(patch, tokens):
    config = replace(PRESETS["medium"], patch_size=patch)
    ours = forward_flops(config, images=2)
    by_op, total = counted(config)
    assert config.num_tokens == tokens
    assert ours["total"] == total == sum(ours[p] for p in PARTS)
    assert ours["attention_scores"] == by_op["aten.bmm"]  # QK^T and the weighted sum: the N^2 part
    assert ours["attention_projections"] + ours["mlp"] + ours["other"] == by_op["aten.addmm"] + by_op["aten.convolution"]


def test_the_scores_grow_with_the_square_of_the_tokens_and_a_pruned_mlp_counts_less():
    small, large = (forward_flops(replace(PRESETS["medium"], patch_size=p)) for p in (4, 2))
    assert large["attention_scores"] == 16 * small["attention_scores"] and large["mlp"] == 4 * small["mlp"]
    half = replace(PRESETS["medium"], mlp_ratio=2.0)
    assert forward_flops(half)["mlp"] * 2 == small["mlp"] and forward_flops(half)["total"] == counted(half, 1)[1]
