"""The measured half of the lessons: each reveal's text and each computed answer, read from the real
schedule, model or report and from the measured JSON in assets/ (dit_figures.json, comparison.json,
race_figures.json, text_figures.json), never typed by hand; `measured_view` gives a lesson's Show me the
setting its figures were measured at. Citations are written `[@<key> <place>]` (`diffusion_core.references`)
and written out by the lessons' `cited`.

Where a finding is this app's own (one small DiT on MNIST, 2D toys, one names corpus), the text says "for
this model" or "in this small setting"; where it is general, it cites the paper it rests on.
"""
from __future__ import annotations

from diffusion_core.evaluation.measured_figures import RACE_FIGURES, TEXT_FIGURES, dit_figures, read_measured
from diffusion_core.maths.objective import min_snr_full_weight_t
from diffusion_core.maths.samplers import step_grid
from diffusion_core.maths.schedules import make_schedule, schedule_from_dict
from diffusion_core.networks.pretrained import WeightsError, read_meta
from diffusion_core.paths import ASSETS_DIR
from diffusion_core.pipelines.generation import guided_range
from diffusion_core.settings import SAMPLING_KEYS, check


def alpha_bar_at(name: str, t: int) -> float:
    return float(make_schedule(name, 1000).alpha_bar(t))


def dit_meta() -> dict | None:
    """The shipped DiT's JSON (config, schedule, training), None when it cannot be read."""
    try:
        return read_meta(ASSETS_DIR / "dit_mnist.json", "dit")
    except (OSError, WeightsError):
        return None


def measured_view(key: str, **view) -> dict:
    """What a lesson's Show me sets: the sampling setting of the first row measured under `key` (so the
    page shows what the quoted figures measured), over the given view (used as is when not measured)."""
    row = ((dit_figures(key) or {}).get("rows") or [{}])[0]
    setting = {k: check(k, row[k]) for k in SAMPLING_KEYS if k in row}
    return {**view, **setting}


def researchers(*keys: str) -> str:
    """A fold with the commands that measured the figures (for researchers; students can skip it)."""
    cmds = [f"`{dit_figures(k)['command']}` (weights at step {dit_figures(k)['weights_steps']})" for k in keys if dit_figures(k)]
    if not cmds:
        return ""
    return ("\n\n<details><summary>For researchers: how these figures were measured</summary>\n\n"
            + "\n\n".join(cmds) + "\n\nFréchet distance in the project's classifier's feature space; 'real against "
            "real' is the same distance between real digits at the same N, the best any model can score there.\n\n</details>")


def explain_forward() -> str:
    ab = alpha_bar_at("cosine", 500)
    return (f"With the cosine schedule $\\bar\\alpha_{{500}} = {ab:.3f}$: $x_t$ keeps the image scaled by "
            f"$\\sqrt{{\\bar\\alpha}}$ = {ab ** 0.5:.2f}, that is {100 * ab:.0f}% of the image's own variance, plus fresh noise of "
            f"variance $1 - \\bar\\alpha$ = {1 - ab:.2f}; the digit is still recognisable at half the steps. The cosine schedule was designed "
            "to destroy the image more gradually than the linear one, whose last steps are nearly pure noise "
            "([@nichol2021improved sec. 3.2]).")


def explain_schedules() -> str:
    lin, cos = alpha_bar_at("linear", 600), alpha_bar_at("cosine", 600)
    return (f"At t = 600, linear has $\\bar\\alpha = {lin:.4f}$ (SNR {lin / (1 - lin):.4f}) and cosine {cos:.3f} "
            f"(SNR {cos / (1 - cos):.3f}): linear has destroyed far more. Its last steps are nearly pure noise and add little "
            "([@nichol2021improved sec. 3.2]): on ImageNet 64x64, a linear-schedule model's FID barely worsens when the "
            "first 20% of its reverse steps, the noisiest, are skipped ([@nichol2021improved fig. 4]).")


# ---------------------------------------------------------------------------- lesson 3: the objective
def min_snr_facts(meta: dict | None = None) -> dict | None:
    """How the shipped DiT's training weighted each t (its JSON): gamma, the first t whose Min-SNR weight is 1
    (SNR_t <= gamma), the weight at t = 0 and the training step from which the weighting applied; None when
    the model was not trained with Min-SNR weights or its JSON cannot be read."""
    meta = meta if meta is not None else dit_meta()
    training = (meta or {}).get("training", {})
    if training.get("loss_weighting") != "min-snr":
        return None
    gamma = float(training.get("snr_gamma") or 5.0)
    schedule = schedule_from_dict(meta["schedule"])
    snr, full = schedule.snr, min_snr_full_weight_t(schedule, gamma)
    stages = [h for h in training.get("history", []) if "min-snr" in h.get("command", "")]
    since = str(stages[0]["steps"]).split("-")[0] if stages else "0"
    return {"gamma": gamma, "t_full": full, "w0": float(min(snr[0], gamma) / snr[0]), "since": since,
            "steps": training.get("steps")}


def objective_weight_sentence() -> str:
    """The lesson body's sentence on how this model's training weighted the timesteps (from its JSON)."""
    f = min_snr_facts()
    if not f:
        return "This model was trained on the plain eps-MSE: every t weighted alike."
    return (f"This model was trained with Min-SNR weights ([@hang2023minsnr sec. 4.2]): from step {f['since']} on, each t's "
            f"eps-MSE is weighted by $\\min(\\mathrm{{SNR}}_t, {f['gamma']:g}) / \\mathrm{{SNR}}_t$, which is 1 for t ≥ {f['t_full']} "
            "and smaller below, down to "
            f"{f['w0']:.1g} at t = 0.")


def explain_objective() -> str:
    f = min_snr_facts()
    weight = ("" if not f else
              f" (3) The training weight: this model's Min-SNR-{f['gamma']:g} weight is below 1 exactly for t < {f['t_full']}, "
              "so its training asked less of those steps, which probably adds to the curve's rise at small t (compare the "
              "grey weight line).")
    return ("Small t, for this model's noise prediction: the eps-MSE curve under 'From a real digit' is highest where t is "
            "small. (1) With little noise, the noise is a faint signal hidden under the whole image; at large t, $x_t$ is "
            "almost all noise and $\\hat\\epsilon \\approx x_t$ is nearly right. (2) The scale of the error: from "
            "$x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\epsilon$ ([@ho2020ddpm eq. 4]) an error in the noise "
            "and an error in the image are tied by the SNR, $\\|\\hat\\epsilon - \\epsilon\\|^2 = \\mathrm{SNR}_t\\,"
            "\\|\\hat x_0 - x_0\\|^2$, so where the SNR is large a tiny error in $\\hat x_0$ is a large one in $\\hat\\epsilon$. "
            "In $x_0$ terms (the dotted curve) small t is the easy end: Ho et al. call the large-t terms the more difficult "
            "denoising tasks, and $L_\\text{simple}$ down-weights the small-t terms relative to the bound "
            f"([@ho2020ddpm sec. 3.4]).{weight}")


def explain_attention() -> str:
    return ("49: a 28x28 digit cut into 4x4 patches gives a 7x7 grid of tokens. Each attention map is a 49x49 matrix "
            "per head; clicking a patch shows its row, 49 weights that sum to 1.")


# ---------------------------------------------------------------------------- lesson 7: the comparison
def explain_comparison() -> str:
    from diffusion_core.evaluation.comparison import read_report

    try:
        m = read_report()["models"]
        s = m["dit"]["sampling"]  # the setting the table's figures were measured at
        schedule = schedule_from_dict(read_meta(ASSETS_DIR / "dit_mnist.json", "dit")["schedule"])
        grid = step_grid(s["sampler"], schedule, int(s["steps"]), s["spacing"])
        low, high = float(s["guidance_min_t"]), float(s.get("guidance_max_t", 1000))
        guided = int(((grid.t[:-1] >= low) & (grid.t[:-1] <= high)).sum())
        steps = int(s["steps"])
        which = (f"all {steps} are guided and cost two passes each (conditional and unconditional)" if guided == steps else
                 f"{guided} of them are guided ({guided_range(s).strip()}) and cost two passes each (conditional and "
                 f"unconditional), the other {steps - guided} one")
        return (f"Diffusion: {m['dit']['nfe_per_sample']} network evaluations per sample against "
                f"{m['gan']['nfe_per_sample']} for the GAN and {m['vae']['nfe_per_sample']} for the VAE. Its default runs "
                f"{steps} steps; {which}. The table below the samples has the rest, row by row, with what each model's "
                "training cost.")
    except (OSError, ValueError, KeyError, TypeError, WeightsError):
        return "Diffusion: one evaluation per step (two where it is guided), against one for a GAN or a VAE."


# ---------------------------------------------------------------------------- lesson 8: the score in 2D
def explain_score() -> str:
    return ("Yes. Both are built to pass through the same $p_t$ at every t ([@song2021sde sec. 4.3]): the SDE adds "
            "noise and removes a matching amount with its larger score term, the ODE does neither. Single paths differ (the "
            "SDE's wander, the ODE's are smooth and fixed by $x_T$); the final clouds agree as far as the score is right and the steps are small enough. "
            "Where the learned score is wrong (coloured arrows far from the data, or at small t), the two can end apart: the "
            "SDE's noise gives later steps a chance to correct earlier errors ([@karras2022edm sec. 4]), but which one scores "
            "better depends on the model and the step count: in DDIM's own table the deterministic sampler beats the "
            "stochastic one with DDPM's posterior variance (η = 1) at every step count from 10 to 1000; only a noisier "
            "variant wins, and only at 1000 steps ([@song2021ddim table 1]).")


# ---------------------------------------------------------------------------- lesson 9: the race
def race_figures() -> dict | None:
    return read_measured(RACE_FIGURES)


def race_answer() -> int:
    fig = race_figures()
    if not fig:
        return 2
    order = ("diffusion", "gan", "vae")
    return min(range(3), key=lambda k: fig["models"][order[k]]["modes_hit"]["mean"])


def explain_race() -> str:
    fig = race_figures()
    if not fig:
        return "Not measured yet: run benchmarks/race.py --only seeds --record."
    m = fig["models"]
    names = (("Diffusion", "diffusion"), ("the GAN", "gan"), ("the VAE", "vae"))
    parts = [f"{name} {m[key]['modes_hit']['mean']:.1f} of 8 modes (± {m[key]['modes_hit']['std']:.1f}; all 8 in "
             f"{100 * m[key]['all_modes_share']:.0f}% of runs), distance {m[key]['distance']['mean']:.3f}"
             for name, key in names]
    cost = "; ".join(f"{name.lower() if name == 'Diffusion' else name} {m[key]['ms_per_step']['mean']:.1f} ± "
                     f"{m[key]['ms_per_step']['std']:.1f} ms per training step" for name, key in names)
    text = (f"Measured over {fig['seeds']} seeds, {fig['steps']:,} steps each on the {fig['data']}, in this small 2D setting: "
            + "; ".join(parts) + f" (two draws of the data itself: {fig['floor']:.3f}). The GAN's result hangs on its "
            "settings: try the run that teaches a collapse. The VAE's samples sit between the modes at this beta. "
            f"Training cost: {cost} (over the seeds; spreads this wide make close means a tie).")
    if all("nfe_per_sample" in m[key] for _, key in names):
        text += (f" Sampling cost: {m['diffusion']['nfe_per_sample']} network evaluations per diffusion sample against "
                 f"{m['gan']['nfe_per_sample']} for the GAN and {m['vae']['nfe_per_sample']} for the VAE.")
    return text + researchers_race(fig)


def researchers_race(fig: dict) -> str:
    return (f"\n\n<details><summary>For researchers: how these figures were measured</summary>\n\n`{fig['command']}` "
            f"({fig['created']}); coverage: a mode is hit when at least 1/32 of the samples lie within 0.36 of its centre "
            "(3 standard deviations); distance: sliced Wasserstein over 1000 samples.\n\n</details>")


# ---------------------------------------------------------------------------- lesson 10: text
def text_figures() -> dict | None:
    return read_measured(TEXT_FIGURES)


def text_answer() -> int:
    fig = text_figures()
    if not fig:
        return 1
    b = fig["bits_per_char"]
    return 0 if b["diffusion_nelbo"] < b["autoregressive_nll"] else 1


def explain_text() -> str:
    fig = text_figures()
    if not fig:
        return "Not measured yet: run benchmarks/text_quality.py --record."
    b, s = fig["bits_per_char"], fig["samples"]
    d, a = s.get("diffusion, confident", {}), s.get("autoregressive twin", {})
    passes = fig.get("passes", {})
    held = f"{fig['held_out_names']:,} held-out" if "held_out_names" in fig else "held-out"
    text = (f"Measured on the {held} names in this small setting: the diffusion "
            f"model's bound is {b['diffusion_nelbo']:.3f} bits per character, the twin's exact NLL {b['autoregressive_nll']:.3f}. "
            f"Part of the gap is the bound itself: the negative ELBO is never below the diffusion model's own NLL, which "
            f"cannot be computed exactly, so its real NLL lies somewhere at or below {b['diffusion_nelbo']:.3f}. Part is that "
            "predicting characters in any order is a harder task than left to right for a model of the same size. "
            f"Generated names (diffusion with confident-first unmasking): {100 * d.get('novelty', float('nan')):.0f}% not "
            f"in the training list against {100 * a.get('novelty', float('nan')):.0f}% for the twin; under a trigram model "
            f"of the training names they score {d.get('plausibility', float('nan')):.2f} and "
            f"{a.get('plausibility', float('nan')):.2f} bits per character (fewer is more name-like; real held-out names "
            f"{fig['plausibility_real']:.2f}). " + novelty_note(d, a))
    if passes:
        text += (f" Speed, 16 names at once: diffusion {passes['diffusion']} network passes ({passes['diffusion']} steps) in "
                 f"{fig['ms_16_names_16_steps']:.0f} ms, the twin {passes['autoregressive']} passes (one per character, stopping once "
                 f"every name has ended) in {fig['ms_16_names_ar']:.0f} ms here: "
                 + ("the twin needs fewer passes, and each is cheaper, " if passes["autoregressive"] < passes["diffusion"]
                    else "each of the twin's passes is cheaper, ")
                 + "covering only the characters written so far instead of all 16 positions. Diffusion can fill in the "
                 "middle of a name; the twin writes only left to right.")
    return text + text_researchers(fig)


def novelty_note(diffusion: dict, twin: dict) -> str:
    """Novelty is not quality: say which model's names are more name-like, whichever is more often new."""
    if not diffusion or not twin:
        return ""
    newer = "diffusion" if diffusion.get("novelty", 0) > twin.get("novelty", 0) else "the twin"
    likelier = "diffusion" if diffusion.get("plausibility", 9) < twin.get("plausibility", 9) else "the twin"
    if newer == likelier:
        return f"Here {newer} wins on both."
    return f"Novelty alone is not quality: {newer}'s names are more often new, {likelier}'s more name-like."


def text_researchers(fig: dict) -> str:
    chosen = fig.get("selected", {})
    how = (f"; each model's exported weights are the checkpoint with the lowest bits per character on the "
           f"{chosen['names']:,} validation names (steps {chosen['text_mdlm']:,} and {chosen['text_ar']:,}), never the "
           "held-out names scored here") if chosen else ""
    return (f"\n\n<details><summary>For researchers: how these figures were measured</summary>\n\n`{fig['command']}` "
            f"({fig['created']}; weights at {fig['steps']['text_mdlm']:,} / {fig['steps']['text_ar']:,} steps{how}); bits per "
            "character over the 16 positions of each name, the end padding included, for both; the NELBO is MDLM's "
            "Monte Carlo estimate over 8 draws of t and the masks per name.\n\n</details>")
