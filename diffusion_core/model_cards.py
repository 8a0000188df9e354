"""Model cards for the shipped generators, written from their JSON (training facts) and the measured
comparison report, so the figures in a card are the ones measured, not typed:

    python -m diffusion_core.model_cards        # writes assets/{dit,gan,vae}_mnist_card.md
"""
from __future__ import annotations

import json

from diffusion_core.evaluation.comparison import MATCHED, MATCHED_DIR, training_budget, wall_text
from diffusion_core.evaluation.measured_figures import DIT_FIGURES, dit_figures, figures_on_disk
from diffusion_core.maths.objective import min_snr_full_weight_t
from diffusion_core.maths.schedules import make_schedule, schedule_from_dict
from diffusion_core.networks.pretrained import ASSETS_DIR
from diffusion_core.pipelines.generation import guidance_interval, guided_range
from diffusion_core.references import cited

ABOUT = {
    "dit": ("Diffusion Transformer (DiT, [@peebles2023dit sec. 3.2]) denoiser", """\
- Architecture (`diffusion_core/networks/dit.py`): 28x28x1 digits cut into {patch_size}x{patch_size} patches ({tokens} tokens), a
  fixed 2D sin-cos position embedding, sinusoidal timestep embedding + class embedding (10 digits and a null class
  for classifier-free guidance), {depth} DiT blocks of width {hidden_size} with {num_heads} heads and adaLN-Zero
  conditioning, a final adaLN layer and unpatchify. It predicts the noise eps.
- Objective: the eps-prediction MSE ([@ho2020ddpm eq. 14]), t uniform over {T} steps, labels dropped to the null class
  with probability {class_dropout_prob} ([@ho2022cfg alg. 1]); AdamW, linear warm-up then cosine decay, EMA of the
  weights (shipped: the EMA weights).{weighting}
- Schedule: cosine ([@nichol2021improved eq. 17]), T = {T}. Chosen by counting, from `make_schedule(name, 1000)`, the
  training steps whose inputs are almost pure noise (sqrt(alpha_bar) < 0.05): {noise_steps}."""),
    "gan": ("class-conditional DCGAN ([@radford2016dcgan sec. 3])", """\
- Generator (`diffusion_core/networks/gan.py`): z ({z_dim}-d) and a {embed_dim}-d label embedding -> linear -> 128 x 7 x 7 ->
  two stride-2 transposed convolutions with batch norm and ReLU -> 3x3 convolution -> tanh.
- Discriminator: the image with the label as 10 one-hot planes ([@mirza2014cgan sec. 3.2]) -> three strided
  convolutions (batch norm, LeakyReLU 0.2) -> one logit.
- Loss: the non-saturating GAN loss ([@goodfellow2014gan sec. 3]), BCE on logits; Adam(2e-4, betas 0.5/0.999),
  one D step per G step."""),
    "vae": ("class-conditional convolutional VAE ([@kingma2014vae eq. 3]; [@sohn2015cvae sec. 3])", """\
- Encoder q(z | x, y) (`diffusion_core/networks/vae.py`): the image with the label as one-hot planes -> two stride-2
  convolutions -> {hidden} -> mean and log-variance of a {latent_dim}-d diagonal Gaussian.
- Decoder p(x | z, y): [z, one-hot] -> {hidden} -> 64 x 7 x 7 -> two transposed convolutions -> Bernoulli logits
  over the pixel intensities in [0, 1].
- Loss: BCE summed over pixels + KL to N(0, I), in nats per image, the standard VAE objective for grey-level MNIST
  (a negative ELBO only if the pixels are treated as binary); Adam(1e-3) with cosine
  decay to 1e-4. Samples are the decoder's mean image for z ~ N(0, I)."""),
}
COMMAND = {
    "dit": "python -m diffusion_core.train dit --out runs/dit --steps 8000 --export assets/dit_mnist",
    "gan": "python -m diffusion_core.train gan --export assets/gan_mnist",
    "vae": "python -m diffusion_core.train vae --export assets/vae_mnist",
}
NOISE_SCHEDULES = ("linear", "cosine", "scaled_linear")


def noise_steps() -> str:
    """How many of 1000 training steps each named schedule spends on inputs that are almost pure noise."""
    parts = []
    for name in NOISE_SCHEDULES:
        root = make_schedule(name, 1000).sqrt_alphas_cumprod
        count = int((root < 0.05).sum())
        parts.append(f"{name} {count}" if count else f"{name} none (sqrt(alpha_bar_T) = {root[-1]:.3f}: it never reaches noise)")
    return "; ".join(parts)


def about_facts(kind: str, meta: dict) -> dict:
    """The numbers a card's ABOUT text names, each computed from the model's JSON and its schedule."""
    facts = dict(meta.get("config", {}))
    if kind != "dit":
        return facts
    schedule = schedule_from_dict(meta["schedule"])
    facts.update(T=schedule.num_timesteps, tokens=(facts["image_size"] // facts["patch_size"]) ** 2, noise_steps=noise_steps(),
                 weighting=weighting_text(meta))
    return facts


def weighting_text(meta: dict) -> str:
    """The Min-SNR sentence of the objective, from the JSON's training facts ("" for the plain eps-MSE)."""
    training = meta.get("training", {})
    if training.get("loss_weighting") != "min-snr":
        return ""
    gamma = float(training.get("snr_gamma") or 5.0)
    schedule = schedule_from_dict(meta["schedule"])
    full = min_snr_full_weight_t(schedule, gamma)
    stages = [h for h in training.get("history", []) if "min-snr" in h.get("command", "")]
    since = f"From step {str(stages[0]['steps']).split('-')[0]} on (see the stages below) each" if stages else "Each"
    return (f" {since} sample's eps-MSE is weighted by min(SNR_t, {gamma:g})/SNR_t (Min-SNR-gamma, [@hang2023minsnr sec. 4.2]): "
            f"weight 1 for every t with SNR <= {gamma:g} (t >= {full} of {schedule.num_timesteps}), less only on the "
            "lower-noise steps.")


def size_lines(meta: dict) -> list[str]:
    """What the DiT's width and depth cost (assets/dit_figures.json "sizes", `benchmarks/dit_sizes.py --record`)."""
    sizes = dit_figures("sizes")
    if not sizes:
        return []
    rows = sizes["rows"]
    cfg = meta.get("config", {})
    lines = [f"- Size: what each candidate costs on this machine (`{sizes['command']}`, {sizes['created']}, float32, "
             f"{rows[0]['threads']} threads): " + "; ".join(
                 f"width {r['width']}, depth {r['depth']}: {r['parameters'] / 1e6:.2f} M parameters, a guided 16-digit step "
                 f"{r['guided_step_ms_16_digits']:.0f} ms, a training step at batch 128 {r['train_step_ms_batch_128']:.0f} ms"
                 for r in rows) + "."]
    mine = next((r for r in rows if (r["width"], r["depth"]) == (cfg.get("hidden_size"), cfg.get("depth"))), None)
    shallower = next((r for r in rows if r["width"] == cfg.get("hidden_size") and r["depth"] < cfg.get("depth", 0)), None)
    if mine and shallower and grown(meta):
        lines.append(f"- Grown deeper on a GPU (see the stages): the {shallower['depth']}-block model became a {mine['depth']}-block "
                     "one by appending blocks whose adaLN-Zero gates start at zero, so each new block starts as the identity "
                     "([@peebles2023dit sec. 3.2]) and the grown network computes what the smaller one did (`dit.load_grown`, "
                     f"tested), then trained on. {mine['depth']} blocks cost "
                     f"{mine['guided_step_ms_16_digits'] / shallower['guided_step_ms_16_digits']:.2f}x the time of "
                     f"{shallower['depth']} per guided step ({mine['guided_step_ms_16_digits']:.0f} vs "
                     f"{shallower['guided_step_ms_16_digits']:.0f} ms above).")
    return lines


def grown(meta: dict) -> bool:
    return any("load_grown" in h.get("note", "") for h in meta.get("training", {}).get("history", []))


def command_lines(kind: str, tr: dict) -> list[str]:
    """The exact training command, or the stages of a resumed run in order (`training.history`)."""
    if not tr.get("history"):
        return [f"- Command: `{tr.get('command') or COMMAND[kind]}` (seed {tr.get('seed', 0)}{'; resumable from its run folder' if kind == 'dit' else ''})."]
    return ([f"- Commands, in order (seed {tr.get('seed', 0)}; a stage that names another --out starts from the weights before it):"]
            + [f"  {i + 1}. `{h['command']}`: steps {h['steps']}. {h.get('note', '')}".rstrip() for i, h in enumerate(tr["history"])])


def card(kind: str, meta: dict, measured: dict | None, report: dict | None, stem: str | None = None) -> str:
    """A model's card from its JSON (`meta`), its column of the measured comparison (`measured`, `report`) and
    the recorded figures; `stem`: the weights' file name (`<kind>_mnist` for the shipped models)."""
    title, about = ABOUT[kind]
    tr = meta.get("training", {})
    budget = training_budget(tr)
    lines = [f"# {title} on MNIST (`{stem or kind + '_mnist'}.safetensors`)", "",
             about.format(**about_facts(kind, meta)), *([] if kind != "dit" else size_lines(meta)), "",
             "## Training", "",
             f"- Data: the 60,000 MNIST training digits (`../shared/data/mnist`, IDX), scaled to [-1, 1] "
             f"({'[0, 1] for the Bernoulli likelihood' if kind == 'vae' else 'the model space'}).",
             *command_lines(kind, tr),
             f"- Steps: {tr.get('steps')} at batch {tr.get('batch_size')}: {budget['images_seen']:,} training images seen "
             f"({budget['epochs']:g} epochs); wall time "
             + (wall_text(budget) if budget.get("wall_time_parts") else f"{tr.get('wall_time_s')} s on {budget['hardware']}") + ".",
             f"- Per-step losses: `{'dit_loss.csv' if stem else f'assets/{kind}_loss.csv'}`.", ""]
    for key in ("note", "tried_first"):
        if tr.get(key):
            lines[-1:-1] = [f"- {tr[key]}"]
    if kind == "dit" and not stem:
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
    if kind == "dit" and not stem:
        lines += default_lines(meta) + preset_lines(meta)
    lines += ["Speed figures: `python benchmarks/bench_models.py`. MNIST: LeCun, Cortes & Burges, CC BY-SA 3.0.", ""]
    return cited("\n".join(lines))


def setting_name(r: dict) -> str:
    """'DPM++(2M) 20 karras, 1.6 at every step' for a measured row."""
    sampler = {"dpm++2m": "DPM++(2M)", "ddim": "DDIM", "ddpm": "DDPM", "euler": "Euler", "heun": "Heun"}[r["sampler"]]
    guidance = "no guidance (w = 1)" if float(r["guidance"]) == 1.0 else f"w = {float(r['guidance']):g}{guided_range(r)}"
    return f"{sampler} {r['steps']} {r['spacing']}, {guidance}"


def sweep_table(keys: tuple[str, ...], chosen: dict | None = None) -> list[str]:
    """The rows recorded under `keys` as one table (the chosen setting in bold), each key's command above it."""
    lines, rows = [], []
    for key in keys:
        rec = dit_figures(key)
        if rec:
            lines.append(f"- `{rec['command']}` ({rec['created']}, weights at step {rec['weights_steps']})")
            rows += rec["rows"]
    if not rows:
        return []
    lines += ["", "| setting | seed | passes | accuracy | FD (x the floor) | precision / recall |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        bold = chosen is not None and all(str(r.get(k)) == str(chosen.get(k)) for k in ("sampler", "steps", "spacing")) \
            and float(r["guidance"]) == float(chosen["guidance"])
        cells = [setting_name(r), str(r["seed"]), str(r["passes"]), f"{100 * r['accuracy']:.1f}%",
                 f"{r['frechet_ratio_to_floor']:.2f}x", f"{r['precision']:.3f} / {r['recall']:.3f}"]
        lines.append("| " + " | ".join(f"**{c}**" if bold and i < 5 else c for i, c in enumerate(cells)) + " |")
    return lines + [""]


def solver_against_ddpm() -> str:
    """Whether a deterministic solver on Karras steps beat DDPM at every guidance the two sweeps share (their rows)."""
    karras, ddpm = dit_figures("sweep_karras"), dit_figures("sweep_ddpm")
    if not karras or not ddpm:
        return ""
    shared = sorted({float(r["guidance"]) for r in ddpm["rows"]} & {float(r["guidance"]) for r in karras["rows"]})
    best = {g: min(r["frechet_ratio_to_floor"] for r in karras["rows"] if float(r["guidance"]) == g) for g in shared}
    worse = [g for g in shared if min(r["frechet_ratio_to_floor"] for r in ddpm["rows"] if float(r["guidance"]) == g) <= best[g]]
    listed = ", ".join(f"{g:g}" for g in shared)
    steps = ddpm["rows"][0]["steps"]
    if not worse:
        return (f"At every guidance both sweeps measured ({listed}; 1 is unguided), a deterministic solver on Karras steps "
                f"had a lower Frechet distance than DDPM at {steps} steps.")
    return (f"Of the guidances both sweeps measured ({listed}), DDPM at {steps} steps matched or beat the best Karras-step "
            f"solver at {', '.join(f'{g:g}' for g in worse)}.")


def default_lines(meta: dict) -> list[str]:
    """How the default was chosen: the recorded sweeps (re-measured on this CPU at N = 1000, seed 0), and what they show."""
    table = sweep_table(("sweep_karras", "sweep_ddpm"), meta.get("sampling"))
    if not table:
        return []
    first = dit_figures("sweep_karras")["rows"][0]
    return [f"How the default was chosen: sweeps at N = {first['n']}, seed {first['seed']} (first on a lent GPU, then on this "
            "CPU; the rows below are the CPU re-measurement, recorded by these commands; the default in bold):", ""] + table + \
        [solver_against_ddpm() + " The default's seed-1 figures are in the targets line above; the Measured table is "
         "seed 2, which no setting was chosen on.", ""]


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
    return [f"**Quality targets at the default, N = {rows[0]['n']}, seeds {', '.join(str(r['seed']) for r in rows)}** "
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
        table = sweep_table((f"{name}_sweep",), p)
        lines += (["", f"Chosen among (`{name}_sweep`, the lowest Frechet distance at >= 98% within 10 passes):", ""] + table
                  if table else ["", f"Chosen by `{name}_sweep` as the lowest Frechet distance with at least 98% accuracy "
                                 "within 10 passes (that sweep is not in assets/dit_figures.json).", ""])
        measured = figures.get(f"{name}_preset")
        if measured:
            rows = [r for r in measured["rows"] if all(r.get(k) == p.get(k) for k in ("sampler", "steps", "spacing"))
                    and float(r["guidance"]) == float(p["guidance"]) and guidance_interval(r) == guidance_interval(p)]
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
    for kind, folder, column in (("dit", ASSETS_DIR, "dit"), ("dit", MATCHED_DIR, MATCHED), ("gan", ASSETS_DIR, "gan"),
                                 ("vae", ASSETS_DIR, "vae")):
        meta_path = folder / f"{kind}_mnist.json"
        if not meta_path.exists():
            continue
        meta = json.loads(meta_path.read_text())
        measured = report["models"].get(column) if report else None
        stem = None if folder == ASSETS_DIR else f"{folder.name}/{kind}_mnist"
        (folder / f"{kind}_mnist_card.md").write_text(card(kind, meta, measured, report, stem))
        print(f"wrote {(folder / f'{kind}_mnist_card.md').relative_to(ASSETS_DIR.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(model_cards_main())
