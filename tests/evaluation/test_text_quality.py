"""The text measures: the trigram judge prefers real names to random letters, novelty counts, and both
likelihoods of a fresh model sit at log2 of the vocabulary."""
import math

import numpy as np
import torch

from diffusion_core.data import names_corpus as nc
from diffusion_core.evaluation.text_quality import (CharNGram, autoregressive_bits_per_char, diffusion_bits_per_char,
                                                    novelty, plausibility)
from diffusion_core.networks.text_dit import TextDiT, TextDiTConfig


def test_the_judge_prefers_real_names_to_random_letters():
    judge = CharNGram(nc.split("train"))
    rng = np.random.default_rng(0)
    real = list(nc.split("held_out")[:500])
    noise = ["".join(rng.choice(list(nc.LETTERS), len(n))) for n in real]
    assert plausibility(real, judge) < plausibility(noise, judge) - 1.0
    assert novelty(["smith", "zqxv"], set(nc.split("train"))) == 0.5


def test_a_fresh_model_scores_log2_of_the_vocabulary():
    torch.manual_seed(0)
    tokens = nc.as_tokens("held_out")[:300]
    v = math.log2(len(nc.VOCAB))
    diff = TextDiT(TextDiTConfig(vocab_size=len(nc.VOCAB), hidden_size=32, depth=1))
    twin = TextDiT(TextDiTConfig(vocab_size=len(nc.VOCAB), hidden_size=32, depth=1, causal=True))
    assert abs(autoregressive_bits_per_char(twin, tokens) - v) < 1e-4  # zero-initialised head: uniform
    assert abs(diffusion_bits_per_char(diff, tokens, repeats=4) - v) < 0.15  # a Monte Carlo estimate of the same
