"""Text from the masked-diffusion model, step by step, and from its autoregressive twin.

Reverse process (MDLM's ancestral sampler, Sahoo et al. 2024, sec. 4.1, with the deterministic
unmasking counts of LLaDA, Nie et al. 2025): start from all MASK (the pinned characters of an infill
stay as given); at each of K steps the network predicts x_0 at every position (the text twin of the
image model's x̂0), and enough masked positions are unmasked that the share still masked follows the
schedule (linear: t = 1 - k / K). Which positions: `random` (MDLM), `confident` (the highest top
probability first, LLaDA's low-confidence remasking) or `entropy` (the lowest entropy first). Their
characters are drawn from the predicted distribution. A committed character is never masked again.

Autoregressive twin: one character per network pass, left to right, until every name has ended (PAD)
or the length is reached; it can continue a pattern's leading letters (`usable_prefix`), but not fill in the
middle of a name. `passes` counts network evaluations for the comparison.
Shapes: tokens (N, L) int64; probabilities (N, L, V) float32.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from diffusion_core.data import names_corpus as nc
from diffusion_core.maths.masking import MaskingSchedule
from diffusion_core.networks.threads import on_one_thread, one_thread_steps

RULES = ("random", "confident", "entropy")
MAX_NAMES = 64


@dataclass
class TextStep:
    """One reverse step: the tokens before and after, what the model predicted, what was unmasked."""

    step: int  # 0-based
    num_steps: int
    t: float  # mask rate before the step
    tokens: torch.Tensor  # (N, L) before
    probs: torch.Tensor  # (N, L, V) the predicted x_0 distribution at every position
    unmasked: torch.Tensor  # (N, L) bool: the positions committed at this step
    after: torch.Tensor  # (N, L) tokens after the step
    passes: int  # network evaluations so far


OPEN_END = "*"  # a pattern ending in it lets the name run on past the pattern


def read_pattern(pattern: str) -> tuple[np.ndarray, bool]:
    """(token ids of an infill pattern such as 'sm__h', whether it ends open: 'sm*'). '_' marks a character to
    fill, letters are pinned, and the name ends where the pattern ends unless it ends in '*'."""
    text = str(pattern).strip()
    open_end = text.endswith(OPEN_END)
    text = text[:-1] if open_end else text
    if OPEN_END in text:
        raise ValueError("'*' may only end a pattern (the name then runs on past it), as in sm*.")
    return nc.encode(text, pad=False), open_end


def pinned_tokens(pattern: str | None, n: int) -> torch.Tensor:
    """The starting tokens: all MASK, or an infill pattern (`read_pattern`): its letters pinned, its '_' to fill,
    and the positions after it pinned to the end mark (the name has the pattern's length) or, after a final '*',
    free. Repeated n times: (N, L) int64."""
    if not pattern:
        return torch.full((n, nc.SEQ_LEN), nc.MASK_ID, dtype=torch.long)
    ids, open_end = read_pattern(pattern)
    row = np.full(nc.SEQ_LEN, nc.MASK_ID if open_end else nc.PAD_ID, dtype=np.int64)
    row[: len(ids)] = ids
    return torch.from_numpy(row).repeat(n, 1)


def letter_slots(pattern: str | None, n: int) -> torch.Tensor:
    """bool (N, L): the pattern's '_' positions, which must become letters (the end mark there would cut the name
    short of the pattern)."""
    slots = torch.zeros(n, nc.SEQ_LEN, dtype=torch.bool)
    if pattern:
        ids, _ = read_pattern(pattern)
        slots[:, : len(ids)] = torch.from_numpy(ids == nc.MASK_ID)
    return slots


def usable_prefix(pattern: str | None) -> str:
    """What the autoregressive twin can take from a pattern: its letters before the first '_' (it writes left to
    right, so it cannot fill in the middle or keep to a length)."""
    if not pattern:
        return ""
    ids, _ = read_pattern(pattern)
    text = nc.decode(ids)
    return text.split(nc.MASK)[0]


def _check(n: int, steps: int, rule: str) -> None:
    if not 1 <= int(n) <= MAX_NAMES:
        raise ValueError(f"Between 1 and {MAX_NAMES} names, please; got {n}.")
    if not 1 <= int(steps) <= nc.SEQ_LEN * 4:
        raise ValueError(f"Between 1 and {nc.SEQ_LEN * 4} steps, please; got {steps}.")
    if rule not in RULES:
        raise ValueError(f"Unknown unmasking rule {str(rule)[:20]!r}; choose one of: {', '.join(RULES)}.")


def diffusion_steps(model, n: int = 16, steps: int = 16, rule: str = "confident", seed: int = 0,
                    pattern: str | None = None, schedule: MaskingSchedule = MaskingSchedule()) -> Iterator[TextStep]:
    """The reverse process, one `TextStep` per step (what the UI streams), each step on one thread
    (`networks.threads`: the model is tiny)."""
    _check(n, steps, rule)
    return one_thread_steps(_diffusion_steps(model, int(n), int(steps), rule, seed, pattern, schedule))


@torch.no_grad()
def _diffusion_steps(model, n: int, steps: int, rule: str, seed: int, pattern: str | None,
                     schedule: MaskingSchedule) -> Iterator[TextStep]:
    g = torch.Generator().manual_seed(int(seed))
    z = pinned_tokens(pattern, int(n))
    free = z == nc.MASK_ID  # (N, L) positions to generate
    total = free.sum(1)  # (N,)
    letters = letter_slots(pattern, int(n))  # (N, L) a pattern's gaps: letters only
    for k in range(int(steps)):
        t, s = 1.0 - k / steps, 1.0 - (k + 1) / steps
        probs = model(z, torch.full((len(z),), t)).float().softmax(-1)  # (N, L, V)
        probs[..., nc.PAD_ID] = probs[..., nc.PAD_ID].masked_fill(letters, 0.0)
        probs = probs / probs.sum(-1, keepdim=True)
        masked = z == nc.MASK_ID
        keep_masked = torch.round(total.double() * (1.0 - torch.from_numpy(schedule.alpha(np.full(len(z), s))))).long()
        count = (masked.sum(1) - keep_masked).clamp(min=0)  # (N,) how many to unmask now
        draw = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=g).reshape(z.shape)
        if rule == "random":
            score = torch.rand(z.shape, generator=g)
        elif rule == "confident":
            score = probs.max(-1).values
        else:
            score = (probs * probs.clamp_min(1e-12).log()).sum(-1)  # minus the entropy: low entropy first
        score = score.masked_fill(~masked, -float("inf"))
        order = score.argsort(1, descending=True).argsort(1)  # rank of each position
        unmask = masked & (order < count[:, None])
        after = torch.where(unmask, draw, z)
        yield TextStep(k, int(steps), t, z, probs, unmask, after, k + 1)
        z = after


def generate_names(model, n: int = 16, steps: int = 16, rule: str = "confident", seed: int = 0,
                   pattern: str | None = None) -> tuple[list[str], int]:
    """(names, network passes) from the masked-diffusion model: the plain form of `diffusion_steps`."""
    rec = None
    for rec in diffusion_steps(model, n, steps, rule, seed, pattern):
        pass
    return [nc.decode(row) for row in rec.after], rec.passes


@on_one_thread
@torch.no_grad()
def autoregressive_names(model, n: int = 16, seed: int = 0, prefix: str = "") -> tuple[list[str], int]:
    """(names, network passes) from the autoregressive twin: BOS and the given `prefix` (letters a-z), then one
    character per pass, until every name has ended or all SEQ_LEN positions are filled."""
    if not 1 <= int(n) <= MAX_NAMES:
        raise ValueError(f"Between 1 and {MAX_NAMES} names, please; got {n}.")
    g = torch.Generator().manual_seed(int(seed))
    bos = model.config.vocab_size
    start = [bos] + (nc.encode(prefix, pad=False).tolist() if prefix else [])
    seq = torch.tensor(start, dtype=torch.long).repeat(int(n), 1)
    passes = 0
    for _ in range(nc.SEQ_LEN - len(start) + 1):
        probs = model(seq)[:, -1].float().softmax(-1)
        passes += 1
        seq = torch.cat([seq, torch.multinomial(probs, 1, generator=g)], 1)
        if bool((seq[:, 1:] == nc.PAD_ID).any(1).all()):
            break
    return [nc.decode(row) for row in seq[:, 1:]], passes
