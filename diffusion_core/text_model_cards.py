"""Model cards for the two text models, written from their JSON (training stages) and the measured
figures of `benchmarks/text_quality.py --record` (assets/text_figures.json), never typed by hand:

    python -m diffusion_core.text_model_cards     # writes assets/text_mdlm_card.md, assets/text_ar_card.md
"""
from __future__ import annotations

import json

from diffusion_core.networks.pretrained import ASSETS_DIR
from diffusion_core.references import cited

ABOUT = {
    "text_mdlm": ("Masked-diffusion language model over characters (MDLM) on US surnames", """\
- Model (`diffusion_core/networks/text_dit.py`): a bidirectional Transformer built from the image DiT's own
  blocks (`networks.dit.DiTBlock`, adaLN-Zero): {depth} blocks of width {hidden_size}, {num_heads} heads; a token
  table of 27 characters (a-z and the padding ".") plus MASK as an input; learned position embeddings over
  {seq_len} positions; the mask rate t conditions every block as the DiT's timestep does. Out: logits of x_0 at
  every position (the text twin of the image model's x̂0).
- Objective: MDLM's ([@sahoo2024mdlm eq. 10]; absorbing-state D3PM, [@austin2021d3pm sec. 3.1]): cross-entropy on the
  masked positions weighted by -alpha'(t) / (1 - alpha(t)) (= 1/t for the linear schedule alpha(t) = 1 - t, the
  share of characters kept), t uniform in [0.001, 1]; its mean is an upper bound on the negative log-likelihood
  (the negative ELBO, in bits per character below)."""),
    "text_ar": ("Autoregressive twin of the text diffusion model (same blocks, causal mask)", """\
- Model (`diffusion_core/networks/text_dit.py`, `causal=True`): the same {depth} DiT blocks of width {hidden_size}
  and {num_heads} heads as the diffusion model, with a causal attention mask and no timestep: position l sees a
  BOS token and the characters before l and predicts character l. The same size, the same data, the same
  optimiser: the baseline the diffusion model is measured against.
- Objective: next-character cross-entropy (its mean is the exact negative log-likelihood)."""),
}


def split_text(tr: dict) -> str:
    """'the training split (75,084 of the 88,799 names; ...)' from the split sizes the export recorded."""
    sizes = tr.get("split")
    if not sizes:
        return "the training split (names not held out)"
    total = sum(sizes.values())
    return (f"the training split ({sizes['train']:,} of the {total:,} names; {sizes['validation']:,} validation names chose "
            f"the checkpoint, {sizes['held_out']:,} held-out names are scored below and were used for nothing else)")


def selected_lines(tr: dict) -> list[str]:
    """How the exported checkpoint was chosen (the JSON's training.selected)."""
    c = tr.get("selected")
    if not c:
        return []
    return [f"- Exported: {c['rule']}, scored every few hundred steps: step {c['step']:,} of {c['last_step']:,} "
            f"({c['bits_per_char']:.3f} bits per character on the {c['names']:,} validation names)."]


def _stages(tr: dict) -> list[str]:
    lines = ["- Stages, in order, on one resumable run folder (each command resumes the checkpoint in `--out`):"]
    for i, h in enumerate(tr.get("history", [])):
        note = f" ({h['note']})" if h.get("note") else ""
        lines.append(f"  {i + 1}. `{h['command']}`: steps {h['steps']}, {h['wall_time_s']:,.0f} s on {h['hardware']}{note}.")
    return lines


def text_card(kind: str, meta: dict, figures: dict | None) -> str:
    """The card of `kind` ("text_mdlm" or "text_ar") from its JSON and the measured figures."""
    title, about = ABOUT[kind]
    tr = meta.get("training", {})
    lines = [f"# {title} (`{kind}.safetensors`)", "", about.format(**meta.get("config", {})), "",
             "## Training", "",
             f"- Data: {meta.get('corpus')}: {split_text(tr)}, fixed by a hash of each name "
             "(`diffusion_core/data/names_corpus.py`), lower case, padded with '.' to 16 characters.",
             *selected_lines(tr),
             f"- {tr.get('steps'):,} steps at batch {tr.get('batch_size')}, AdamW (lr {tr.get('lr')}, weight decay 0.01), "
             f"linear warm-up then cosine decay to 10%, EMA {tr.get('ema_decay')} (shipped: the EMA weights); seed "
             f"{tr.get('seed')}; wall time {tr.get('wall_time_s'):,.0f} s in all, no GPU.",
             *_stages(tr)]
    if tr.get("note"):
        lines.append(f"- {tr['note']}")
    lines.append("")
    if figures:
        f, bpc = figures, figures["bits_per_char"]
        steps = f["steps"].get(kind)
        lines += ["## Measured", "",
                  f"From `{f['command']}` ({f['created']}; weights at {steps:,} steps), on the held-out split:", "",
                  "| measure | value |", "| --- | --- |"]
        if kind == "text_mdlm":
            lines += [f"| negative ELBO (an upper bound on the NLL), bits per character | {bpc['diffusion_nelbo']:.3f} |",
                      f"| the autoregressive twin's NLL, same size and data | {bpc['autoregressive_nll']:.3f} |",
                      f"| 16 names in 16 steps, 2-core CPU, one thread (as the app runs it) | {f['ms_16_names_16_steps']:.0f} ms |"]
            rows = [k for k in f["samples"] if k.startswith("diffusion")]
        else:
            lines += [f"| NLL, bits per character | {bpc['autoregressive_nll']:.3f} |",
                      f"| the diffusion model's negative ELBO (an upper bound) | {bpc['diffusion_nelbo']:.3f} |",
                      f"| 16 names, one pass per character, 2-core CPU, one thread | {f['ms_16_names_ar']:.0f} ms |"]
            rows = [k for k in f["samples"] if not k.startswith("diffusion")]
        lines += [f"| names not in the training split, {s} (N = {f['n']}) | {100 * f['samples'][s]['novelty']:.1f}% |" for s in rows]
        lines += [f"| plausibility, {s}: trigram bits per character (held-out real names: {f['plausibility_real']:.3f}) | "
                  f"{f['samples'][s]['plausibility']:.3f} |" for s in rows]
        lines += ["", "Examples: " + "; ".join(f"{s}: {', '.join(f['samples'][s]['examples'][:6])}" for s in rows), ""]
    lines += ["Plausibility is judged by a character trigram model of the training split "
              "(`evaluation.text_quality.CharNGram`), lower is more name-like. Names: US Census Bureau 1990 "
              "surname list (public domain), as the MIT-licensed PyPI package `names` 0.3.0 ships it.", ""]
    return cited("\n".join(lines))


def text_model_cards_main() -> int:
    path = ASSETS_DIR / "text_figures.json"
    figures = json.loads(path.read_text()) if path.exists() else None
    for kind in ("text_mdlm", "text_ar"):
        meta_path = ASSETS_DIR / f"{kind}.json"
        if meta_path.exists():
            (ASSETS_DIR / f"{kind}_card.md").write_text(text_card(kind, json.loads(meta_path.read_text()), figures))
            print(f"wrote assets/{kind}_card.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(text_model_cards_main())
