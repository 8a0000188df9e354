"""Model cards for the shipped generators, written from their JSON (training facts) and the measured
comparison report, so the figures in a card are the ones measured, not typed:

    python -m diffusion_core.model_cards        # writes assets/{dit,gan,vae}_mnist_card.md
"""
from __future__ import annotations

import json

from diffusion_core.evaluation.measured_figures import DIT_FIGURES, dit_figures, figures_on_disk
from diffusion_core.pipelines.generation import guided_range
from diffusion_core.networks.pretrained import ASSETS_DIR

ABOUT = {
    "dit": ("Diffusion Transformer (DiT, Peebles & Xie 2023) denoiser", """\
- Architecture (`diffusion_core/networks/dit.py`): 28x28x1 digits cut into 4x4 patches (7x7 = 49 tokens), a fixed 2D
  sin-cos position embedding, sinusoidal timestep embedding + class embedding (10 digits and a null class
  for classifier-free guidance), {depth} DiT blocks of width {hidden_size} with {num_heads} heads and adaLN-Zero
  conditioning, a final adaLN layer and unpatchify. It predicts the noise eps.
- Objective: the eps-prediction MSE of Ho et al. 2020 (eq. 14), t uniform over 1000 steps, labels
  dropped to the null class with probability {class_dropout_prob}; AdamW, linear warm-up then cosine decay,
  EMA of the weights (shipped: the EMA weights). From step 8890 on (see the stages below) each sample's
  eps-MSE is weighted by min(SNR_t, 5)/SNR_t (Min-SNR-gamma, Hang et al. 2023): weight 1 for every t with
  SNR <= 5 (t >= 262 of 1000), less only on the low-noise steps. Measured on this run: requested-label
  accuracy 32% at step 8890 after 1740 plain steps from 7150 (25%), then 36% / 38% / 66% at steps
  9569 / 10958 / 13500 with the weighting (100-200 samples, DDIM, guidance 3); the model had been
  noise-locked with the plain loss (see the closing notes of issue 3).
- Schedule: cosine (Nichol & Dhariwal 2021), T = 1000. Chosen by measurement: out of 1000 training steps
  the linear schedule spends 231 on inputs that are almost pure noise (sqrt(alpha_bar) < 0.05), cosine 33,
  and scaled_linear never reaches noise (sqrt(alpha_bar_T) = 0.068): counted from
  `make_schedule(name, 1000).alphas_cumprod`.
- Size: chosen by measured speed on this 2-core CPU (batch-32 forward / batch-128 training step):
  width 128, depth 6: 1.87 M parameters, 68 ms / 713 ms; width 160: 2.90 M, 74 / 878 ms; width 192: 4.17 M,
  89 / 1307 ms; width 256: 7.38 M, 182 / 1936 ms. Width 128 is the largest that keeps a guided 20-step
  sample of 16 digits near the 1.5 s target and trains ~10 epochs per CPU hour.
- Grown deeper on a GPU (stage 10 below): the 6-block model became an 8-block one by appending two blocks whose
  adaLN-Zero gates start at zero, so each new block starts as the identity and the grown network computes what
  the 6-block one did (`dit.load_grown`, tested), then trained on. 8 blocks cost 1.3x the compute of 6 (62 vs 40 ms
  per guided 16-digit step on the 2-core CPU), within the 80 ms target; 2.46 M parameters."""),
    "gan": ("class-conditional DCGAN", """\
- Generator (`diffusion_core/networks/gan.py`): z (64-d) and a 32-d label embedding -> linear -> 128 x 7 x 7 ->
  two stride-2 transposed convolutions with batch norm and ReLU -> 3x3 convolution -> tanh.
- Discriminator: the image with the label as 10 one-hot planes -> three strided convolutions (batch norm,
  LeakyReLU 0.2) -> one logit.
- Loss: the non-saturating GAN loss (Goodfellow et al. 2014), BCE on logits; Adam(2e-4, betas 0.5/0.999),
  one D step per G step. A hinge loss with a spectral-norm projection discriminator was tried first and
  collapsed to one digit per class (74% accuracy, recall 0.03)."""),
    "vae": ("class-conditional convolutional VAE", """\
- Encoder q(z | x, y) (`diffusion_core/networks/vae.py`): the image with the label as one-hot planes -> two stride-2
  convolutions -> 256 -> mean and log-variance of a 16-d diagonal Gaussian.
- Decoder p(x | z, y): [z, one-hot] -> 256 -> 64 x 7 x 7 -> two transposed convolutions -> Bernoulli logits
  over the pixel intensities in [0, 1].
- Loss: the negative ELBO, BCE summed over pixels + KL to N(0, I), in nats per image; Adam(1e-3) with cosine
  decay to 1e-4. Samples are the decoder's mean image for z ~ N(0, I)."""),
}
COMMAND = {
    "dit": "python -m diffusion_core.train dit --out runs/dit --steps 8000 --export assets/dit_mnist",
    "gan": "python -m diffusion_core.train gan --export assets/gan_mnist",
    "vae": "python -m diffusion_core.train vae --export assets/vae_mnist",
}


def command_lines(kind: str, tr: dict) -> list[str]:
    """The exact training command, or the stages of a resumed run in order (`training.history`)."""
    if not tr.get("history"):
        return [f"- Command: `{COMMAND[kind]}` (seed {tr.get('seed', 0)}{'; resumable from its run folder' if kind == 'dit' else ''})."]
    return ([f"- Commands, in order (seed {tr.get('seed', 0)}; a stage that names another --out starts from the weights before it):"]
            + [f"  {i + 1}. `{h['command']}`: steps {h['steps']}. {h.get('note', '')}".rstrip() for i, h in enumerate(tr["history"])])


def card(kind: str, meta: dict, measured: dict | None, report: dict | None) -> str:
    title, about = ABOUT[kind]
    tr = meta.get("training", {})
    lines = [f"# {title} on MNIST (`{kind}_mnist.safetensors`)", "",
             about.format(**meta.get("config", {})), "",
             "## Training", "",
             f"- Data: the 60,000 MNIST training digits (`../shared/data/mnist`, IDX), scaled to [-1, 1] "
             f"({'[0, 1] for the Bernoulli likelihood' if kind == 'vae' else 'the model space'}).",
             *command_lines(kind, tr),
             f"- Steps: {tr.get('steps')} at batch {tr.get('batch_size')} ({tr.get('epochs')} epochs); "
             f"wall time {tr.get('wall_time_s')} s on {tr.get('hardware', tr.get('device'))}"
             + (f" with {tr['threads']} thread(s)" if tr.get("threads") else "") + ".",
             f"- Per-step losses: `assets/{kind}_loss.csv`.", ""]
    if tr.get("note"):
        lines[-1:-1] = [f"- {tr['note']}"]
    if kind == "dit":
        lines += target_lines()
    if measured:
        m = measured
        lines += ["## Measured", "",
                  f"From `python -m diffusion_core.compare --n {report['n']} --seed {report['seed']}` "
                  f"({report['machine']}, {report['created']}), class-balanced requested labels:", "",
                  "| measure | value |", "| --- | --- |",
                  f"| requested-label accuracy (judge classifier) | {100 * m['accuracy']:.2f}% |",
                  f"| Frechet distance in judge features | {m['frechet_distance']:.3f} (real-vs-real floor {m['frechet_distance_real_floor']:.3f}, ratio {m['frechet_ratio_to_floor']:.2f}x) |",
                  f"| precision / recall (k = 3) | {m['precision']:.3f} / {m['recall']:.3f} |",
                  f"| within-class diversity relative to real digits | {m['diversity_relative_to_real']:.3f} |",
                  f"| classes covered | {m['classes_covered']}/10 |",
                  f"| parameters | {m['parameters']:,} |",
                  f"| network evaluations per sample | {m['nfe_per_sample']} |",
                  f"| ms per sample, batch of 16, CPU | {m['ms_per_sample_cpu']:.2f} |",
                  f"| loss CV over the last 20% of training / spike share | {m['stability']['cv_last20']:.3f} / {m['stability']['spike_share']:.4f} |", ""]
        if kind == "dit" and "sampling" in m:
            s = m["sampling"]
            lines += [f"Sampling setting of these figures: {s['sampler']}, {s['steps']} steps, {s['spacing']} spacing, "
                      f"guidance {s['guidance']}{guided_range(s)}, x0 clipped to [-1, 1].", ""]
            if meta.get("sampling", {}).get("chosen_by"):  # how the default was picked (a measured sweep)
                lines += [meta["sampling"]["chosen_by"], ""]
    if kind == "dit":
        lines += preset_lines(meta)
    lines += ["Speed figures: `python benchmarks/bench_models.py`. MNIST: LeCun, Cortes & Burges, CC BY-SA 3.0.", ""]
    return "\n".join(lines)


def target_lines() -> list[str]:
    """The default setting against the stronger-DiT targets (>= 99% requested-label accuracy, Frechet distance
    <= 2x the floor, recall >= 0.85, at N = 1000 and two seeds), from `assets/dit_figures.json` "default_preset"."""
    measured = dit_figures("default_preset") or {}
    rows = measured.get("rows", [])
    if not rows:
        return ["Quality targets: not measured yet (`python benchmarks/dit_quality.py --seeds 0,1 --record default_preset`).", ""]
    verdict = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    per_seed = "; ".join(f"seed {r['seed']}: {100 * r['accuracy']:.1f}%, {r['frechet_ratio_to_floor']:.2f}x, {r['recall']:.3f}"
                         for r in rows)
    return [f"**Quality targets at the default, N = 1000, seeds {', '.join(str(r['seed']) for r in rows)}** "
            f"(`{measured['command']}`): requested-label accuracy >= 99% at every seed: "
            f"{verdict(all(r['accuracy'] >= 0.99 for r in rows))}; Frechet distance <= 2x the real floor: "
            f"{verdict(all(r['frechet_ratio_to_floor'] <= 2 for r in rows))}; recall >= 0.85: "
            f"{verdict(all(r['recall'] >= 0.85 for r in rows))} ({per_seed}).", ""]


def preset_lines(meta: dict) -> list[str]:
    """The DiT's named presets besides the default, each with the sweep that chose it and its figures
    (`assets/dit_figures.json`, key "<name>_preset", written by `benchmarks/dit_quality.py --record`)."""
    figures = dit_figures()
    lines = []
    for name, p in meta.get("sampling_presets", {}).items():
        lines.append(f"Preset \"{name}\" (offered in the reverse tab): {p['sampler']}, {p['steps']} steps, {p['spacing']} spacing, "
                     f"guidance {p['guidance']}{guided_range(p)}.")
        if p.get("chosen_by"):
            lines.append(p["chosen_by"])
        measured = figures.get(f"{name}_preset")
        if measured:
            rows = [r for r in measured["rows"] if all(r.get(k) == p.get(k) for k in ("sampler", "steps", "spacing"))
                    and float(r["guidance"]) == float(p["guidance"]) and float(r["guidance_min_t"]) == float(p["guidance_min_t"])]
            lines.append(f"Measured by `{measured['command']}`: " + "; ".join(
                f"seed {r['seed']}: {r['passes']} network passes per image, accuracy {100 * r['accuracy']:.1f}%, Frechet distance "
                f"{r['frechet_ratio_to_floor']:.2f}x the floor, recall {r['recall']:.3f}" for r in rows) + ".")
        lines.append("")
    return lines


def model_cards_main() -> int:
    try:
        figures_on_disk(DIT_FIGURES)  # a broken file would read as "not measured" in the cards
    except ValueError as exc:
        raise SystemExit(f"{exc} The cards were not written.") from None
    report_path = ASSETS_DIR / "comparison.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    for kind in ("dit", "gan", "vae"):
        meta_path = ASSETS_DIR / f"{kind}_mnist.json"
        if not meta_path.exists():
            continue
        meta = json.loads(meta_path.read_text())
        measured = report["models"].get(kind) if report else None
        (ASSETS_DIR / f"{kind}_mnist_card.md").write_text(card(kind, meta, measured, report))
        print(f"wrote assets/{kind}_mnist_card.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(model_cards_main())
