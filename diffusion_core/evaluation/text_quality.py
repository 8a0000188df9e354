"""How good the text models are, on held-out names: the masked-diffusion model's negative ELBO and the
autoregressive twin's NLL in bits per character (16 positions per name, the end padding included, the
same for both), the share of generated names that are new, and their plausibility under an independent
character n-gram model trained on the training split, against held-out real names at the same N."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import torch

from diffusion_core.data import names_corpus as nc
from diffusion_core.maths.masking import MaskingSchedule, masked_diffusion_losses


@torch.no_grad()
def diffusion_bits_per_char(model, tokens: np.ndarray, repeats: int = 8, seed: int = 0,
                            schedule: MaskingSchedule = MaskingSchedule()) -> float:
    """The NELBO (an upper bound on the NLL) per character in bits, averaged over `repeats` draws of t
    and of the masks for every name (MDLM's Monte Carlo estimate)."""
    g = torch.Generator().manual_seed(seed)
    x0 = torch.from_numpy(tokens)
    total = 0.0
    for _ in range(repeats):
        for k in range(0, len(x0), 1024):
            total += masked_diffusion_losses(model, schedule, x0[k:k + 1024], nc.MASK_ID, generator=g)["loss"].sum().item()
    return total / (repeats * x0.numel() * math.log(2))


@torch.no_grad()
def autoregressive_bits_per_char(model, tokens: np.ndarray) -> float:
    """The twin's exact NLL per character in bits."""
    x0 = torch.from_numpy(tokens)
    bos = torch.full((len(x0), 1), model.config.vocab_size, dtype=torch.long)
    total = 0.0
    for k in range(0, len(x0), 1024):
        logits = model(torch.cat([bos[k:k + 1024], x0[k:k + 1024, :-1]], 1))
        total += torch.nn.functional.cross_entropy(logits.transpose(1, 2), x0[k:k + 1024], reduction="sum").item()
    return total / (x0.numel() * math.log(2))


class CharNGram:
    """An add-k smoothed character n-gram model over names (start '^', end '.'); the judge of plausibility,
    trained on the training split only."""

    def __init__(self, names, n: int = 3, k: float = 0.1):
        self.n, self.k = n, k
        self.counts: Counter = Counter()
        self.context: Counter = Counter()
        for name in names:
            s = "^" * (n - 1) + name + nc.PAD
            for i in range(n - 1, len(s)):
                self.counts[s[i - n + 1:i + 1]] += 1
                self.context[s[i - n + 1:i]] += 1
        self.v = len(nc.VOCAB)

    def bits_per_char(self, name: str) -> float:
        s = "^" * (self.n - 1) + name + nc.PAD
        bits = [-math.log2((self.counts[s[i - self.n + 1:i + 1]] + self.k) / (self.context[s[i - self.n + 1:i]] + self.k * self.v))
                for i in range(self.n - 1, len(s))]
        return float(np.mean(bits))


def plausibility(names, judge: CharNGram) -> float:
    """Mean bits per character of `names` under the judge (lower: more like real names)."""
    return float(np.mean([judge.bits_per_char(n) for n in names])) if names else float("nan")


def novelty(names, train: set) -> float:
    """The share of names not in the training list."""
    return float(np.mean([n not in train for n in names])) if names else float("nan")
