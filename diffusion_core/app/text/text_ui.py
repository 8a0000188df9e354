"""One function per control of the text tab: diffusion on text with the image model's Transformer blocks.

The models are the shipped `text_mdlm` (masked diffusion) and `text_ar` (its autoregressive twin), loaded
once (`networks.loaded`). Every character shown comes from a-z, '.' and '_' and is HTML-escaped anyway.
"""
from __future__ import annotations

import html
import time

import numpy as np

from diffusion_core.data import names_corpus as nc
from diffusion_core.maths.masking import MaskingSchedule, masked_at
from diffusion_core.networks.loaded import loaded
from diffusion_core.pipelines.text_generation import RULES, autoregressive_names, diffusion_steps, usable_prefix

SCHEDULE = MaskingSchedule("linear")
STEP_DELAY_S = 0.12  # a pause between streamed steps, so the eye can follow the unmasking
EXAMPLES = ("smith", "johnson", "garcia", "nakamura", "oconnor", "washington")
CSS_CELL = ("display:inline-block;width:1.6em;height:1.9em;margin:1px;border-radius:4px;text-align:center;"
            "font:600 1.1em/1.9em monospace;")


def _cell(ch: str, state: str) -> str:
    colour = {"mask": "background:#d9d9d9;color:#777", "new": "background:#ffd166", "kept": "background:#e8f1ff",
              "pin": "background:#b7e4c7"}[state]
    return f"<span style='{CSS_CELL}{colour}'>{html.escape(ch)}</span>"


def _row(tokens, new=None, pinned=None) -> str:
    cells = []
    for i, tok in enumerate(np.asarray(tokens).tolist()):
        if tok == nc.PAD_ID and (new is None or not new[i]):
            break
        ch = nc.MASK if tok == nc.MASK_ID else nc.VOCAB[tok]
        state = "mask" if tok == nc.MASK_ID else "pin" if pinned is not None and pinned[i] else "new" if new is not None and new[i] else "kept"
        cells.append(_cell(ch, state))
    return "<div>" + "".join(cells) + "</div>"


# ---------------------------------------------------------------------------- forward
def masked_view(text, rate, seed) -> tuple:
    """The word with a share `rate` (= t = 1 - alpha_t) of its characters masked, in the seed's fixed
    order: (HTML, readout, alpha_t)."""
    ids = nc.encode(text)
    length = len(text.strip())
    rate = float(np.clip(float(rate), 0.0, 1.0))
    masked = masked_at(length, rate, int(seed or 0))
    shown = ids.copy()
    shown[:length][masked] = nc.MASK_ID
    alpha = float(SCHEDULE.alpha(rate))
    md = (f"t = {rate:.2f}: each character is kept with probability α_t = {alpha:.2f} (linear schedule, α_t = 1 − t); "
          f"here {int(masked.sum())} of {length} masked, in a fixed random order for seed {int(seed or 0)}.")
    return _row(shown), md, round(alpha, 4)


def rate_from_alpha(alpha) -> float:
    return round(float(SCHEDULE.t_for_alpha(alpha)), 4)


# ---------------------------------------------------------------------------- reverse
def _candidates(probs, tokens, k: int = 3) -> str:
    """Name 1's per-position top-k predictions (the text twin of x̂0), as an HTML table."""
    top_p, top_i = probs.topk(k, dim=-1)
    rows = []
    for pos in range(probs.shape[0]):
        if tokens[pos] != nc.MASK_ID:
            continue
        cands = ", ".join(f"{html.escape(nc.VOCAB[i])} {p:.0%}" for p, i in zip(top_p[pos].tolist(), top_i[pos].tolist()))
        rows.append(f"<tr><td>{pos + 1}</td><td style='font-family:monospace'>{cands}</td></tr>")
    if not rows:
        return "<p>Every position of name 1 is decided.</p>"
    return ("<table><tr><th>position</th><th>top predictions for x₀ (name 1, the first generated)</th></tr>" + "".join(rows)
            + "</table>")


def twin_note(pattern: str, prefix: str) -> str:
    """What the autoregressive twin could take from an infill pattern, in words."""
    if not prefix:
        return ("The autoregressive twin writes left to right from the first letter: this pattern pins nothing at the "
                "start, so its names ignore it (of these two models, only the diffusion model can fill in the middle or keep "
                "to a length; an autoregressive model would need training or decoding built for it).")
    return (f"The autoregressive twin writes left to right: it continued the prefix '{prefix}' and could not keep the "
            "rest of the pattern (it never sees the letters after a gap, and nothing holds it to the length); diffusion "
            "fills in the middle.")


def generate_text(n, steps, rule, seed, pattern=""):
    """Stream the reverse process: (names HTML, candidates HTML, status) after each step, then the
    autoregressive twin's names with its network passes."""
    if rule not in RULES:
        raise ValueError(f"Choose one of: {', '.join(RULES)}.")
    model = loaded("text_mdlm").model
    pattern = (pattern or "").strip() or None
    start = time.perf_counter()
    rec = None
    for rec in diffusion_steps(model, int(n), int(steps), rule, int(seed or 0), pattern):
        pinned = (rec.tokens != nc.MASK_ID) if rec.step == 0 else None
        rows = "".join(_row(row, new=new.numpy(), pinned=None if pinned is None else pinned[i].numpy())
                       for i, (row, new) in enumerate(zip(rec.after, rec.unmasked)))
        status = (f"step {rec.step + 1} of {rec.num_steps} · mask rate {rec.t:.2f} → {max(rec.t - 1 / rec.num_steps, 0):.2f} · "
                  f"{int(rec.unmasked.sum())} characters unmasked ({rule}) · {rec.passes} network passes")
        yield rows, _candidates(rec.probs[0], rec.tokens[0]), status
        time.sleep(STEP_DELAY_S)
    ms = 1000 * (time.perf_counter() - start - STEP_DELAY_S * rec.num_steps)
    names = [nc.decode(row) for row in rec.after]
    prefix = usable_prefix(pattern)
    twin, passes = autoregressive_names(loaded("text_ar").model, int(n), int(seed or 0), prefix)
    new = sum(name not in nc.training_names() for name in names)
    yield (f"<p><b>Diffusion</b> ({rec.passes} passes, {ms:.0f} ms): " + html.escape(", ".join(names)) + "</p>"
           f"<p><b>Autoregressive twin</b> ({passes} passes): " + html.escape(", ".join(twin)) + "</p>"
           + (f"<p>{html.escape(twin_note(pattern, prefix))}</p>" if pattern else ""),
           _candidates(rec.probs[0], rec.tokens[0]),
           f"done: {rec.num_steps} steps, {rec.passes} network passes for {len(names)} names (the twin: {passes}); "
           f"{new} of {len(names)} are not in the training list.")
