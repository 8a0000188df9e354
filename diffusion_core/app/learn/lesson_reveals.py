"""The measured half of the lessons: each reveal's text and each computed answer, read from the real
schedule, model or report and from the measured JSON in assets/ (dit_figures.json, comparison.json,
race_figures.json, text_figures.json), never typed by hand; `measured_view` gives a lesson's Show me the
setting its figures were measured at."""
from __future__ import annotations

from diffusion_core.evaluation.measured_figures import (RACE_FIGURES, TEXT_FIGURES, dit_figure_row, dit_figures,
                                                       read_measured)
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.paths import ASSETS_DIR
from diffusion_core.pipelines.generation import guided_range
from diffusion_core.settings import SAMPLING_KEYS, check


def alpha_bar_at(name: str, t: int) -> float:
    return float(make_schedule(name, 1000).alpha_bar(t))


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
    return (f"With the cosine schedule $\\bar\\alpha_{{500}} = {ab:.3f}$: about {100 * ab:.0f}% of the image's variance is left, "
            f"the rest is noise. The image is still recognisable at half the steps, which is why the cosine schedule was proposed.")


def explain_schedules() -> str:
    lin, cos = alpha_bar_at("linear", 600), alpha_bar_at("cosine", 600)
    return (f"At t = 600, linear has $\\bar\\alpha = {lin:.4f}$ (SNR {lin / (1 - lin):.4f}) and cosine {cos:.3f} "
            f"(SNR {cos / (1 - cos):.3f}): linear has destroyed far more. Its last few hundred steps are nearly pure noise, "
            f"steps a sampler spends learning little (Nichol & Dhariwal 2021, fig. 3).")


def explain_objective() -> str:
    return ("Small t. With little noise, the noise is a faint signal hidden under the whole image, so it is hard to "
            "pick out; at large t, $x_t$ is almost all noise and $\\hat\\epsilon \\approx x_t$ is nearly right. "
            "The eps-MSE curve under 'From a real digit' shows the error falling as t grows.")


def explain_attention() -> str:
    return ("49: a 28x28 digit cut into 4x4 patches gives a 7x7 grid of tokens. Each attention map is a 49x49 matrix "
            "per head; clicking a patch shows its row, 49 weights that sum to 1.")


def sampler_rows() -> tuple[dict | None, dict | None]:
    return dit_figure_row("samplers_10_steps", sampler="ddpm"), dit_figure_row("samplers_10_steps", sampler="ddim")


def samplers_answer() -> int:
    ddpm, ddim = sampler_rows()
    if not ddpm or not ddim:
        return 1
    return 1 if ddim["frechet_distance"] < ddpm["frechet_distance"] else 0


def explain_samplers() -> str:
    ddpm, ddim = sampler_rows()
    if not ddpm or not ddim:
        return "Not measured yet: run the command in the model card (benchmarks/dit_quality.py --record samplers_10_steps)."
    better, worse = (("DDIM", ddim), ("DDPM", ddpm)) if ddim["frechet_distance"] < ddpm["frechet_distance"] else (("DDPM", ddpm), ("DDIM", ddim))
    return (f"{better[0]}, for this model at {ddim['steps']} steps: over {ddim['n']} digits its Fréchet distance is "
            f"{better[1]['frechet_distance']:.1f} against {worse[1]['frechet_distance']:.1f} for {worse[0]} (real digits "
            f"against real digits at this N: {ddim['frechet_distance_real_floor']:.1f}), while both are recognised almost "
            f"always ({ddim['accuracy']:.0%} and {ddpm['accuracy']:.0%}). With few steps DDPM's large random jumps add "
            "noise that the remaining steps have too little time to remove; DDIM follows the deterministic path of the "
            "same model (Song et al. 2021). It is not a law: with enough steps the fresh noise DDPM adds washes out part of "
            "an imperfect denoiser's errors (the 'churn' of Karras et al. 2022)." + researchers("samplers_10_steps"))


def explain_guidance() -> str:
    every, limited = dit_figure_row("guidance_interval", guidance_min_t=0), dit_figure_row("guidance_interval", guidance_min_t=500)
    default = (dit_figures("guidance_default") or {}).get("rows", [None])[0]
    text = ("Less varied. Guidance pushes every sample toward what the classifier-free difference says is most "
            "'seven-like': cleaner, bolder, more alike. At w = 1 the samples follow the learnt distribution. "
            "Guidance need not act at every step (Kynkäänniemi et al. 2024): the digit's class is settled while x_t "
            "is still mostly noise, and guiding the last, low-noise steps only sharpens and narrows.")
    if every and limited and default:
        n = every["n"]
        text += (f" Measured on {n} digits, {every['sampler'].upper()}, {every['steps']} steps: with w = {every['guidance']:g} at every step, "
                 f"{every['accuracy']:.0%} recognised, Fréchet distance {every['frechet_distance']:.1f}, recall "
                 f"{every['recall']:.2f}; only where t ≥ 500, {limited['accuracy']:.1%}, {limited['frechet_distance']:.1f}, "
                 f"{limited['recall']:.2f}; the shipped default ({default['sampler'].upper()}, {default['steps']} steps, "
                 f"w = {default['guidance']:g}{guided_range(default)}, also N = {default['n']}), {default['accuracy']:.1%}, "
                 f"{default['frechet_distance']:.1f}, {default['recall']:.2f}. Real against real at N = {n}: "
                 f"{every['frechet_distance_real_floor']:.1f}. (The Compare tab's table is measured at N = 1000, where "
                 "the same distance is smaller: it shrinks with N.)")
        if float(default["guidance_min_t"]) <= 0:
            text += (" The default guides at every step, but gently: for this model a small w everywhere did as well as "
                     "a larger w kept to the noisiest steps (the sweep is in the model card).")
    return text + researchers("guidance_interval", "guidance_default")


def explain_comparison() -> str:
    from diffusion_core.evaluation.comparison import read_report
    from diffusion_core.maths.samplers import step_grid
    from diffusion_core.maths.schedules import schedule_from_dict
    from diffusion_core.networks.pretrained import WeightsError, read_meta

    try:
        m = read_report()["models"]
        s = m["dit"]["sampling"]  # the setting the table's figures were measured at
        schedule = schedule_from_dict(read_meta(ASSETS_DIR / "dit_mnist.json", "dit")["schedule"])
        grid = step_grid(s["sampler"], schedule, int(s["steps"]), s["spacing"])
        guided = int((grid.t[:-1] >= float(s["guidance_min_t"])).sum())
        return (f"Diffusion: {m['dit']['nfe_per_sample']} network evaluations per sample against "
                f"{m['gan']['nfe_per_sample']} for the GAN and {m['vae']['nfe_per_sample']} for the VAE. Its default runs "
                f"{s['steps']} steps; the {guided} with t ≥ {float(s['guidance_min_t']):g} are guided and cost two passes "
                f"each (conditional and unconditional), the other {int(s['steps']) - guided} one. The table below the "
                "samples has the rest.")
    except (OSError, ValueError, KeyError, TypeError, WeightsError):
        return "Diffusion: one evaluation per step (two where it is guided), against one for a GAN or a VAE."


def explain_score() -> str:
    return ("Yes. Both are built to pass through the same p_t at every t (Song et al. 2021, sec. 4.3): the SDE adds "
            "noise and removes a matching amount with its larger score term, the ODE does neither. Single paths differ (the "
            "SDE's wander, the ODE's are smooth and fixed by x_T), the final clouds agree as far as the score is right. "
            "Where the learned score is wrong (coloured red, far from the data, or at small t), the two can end apart: "
            "the SDE's noise lets later steps correct earlier errors, which is one reason DDPM often scores better "
            "than DDIM at many steps.")


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
    parts = [f"{name} {m[key]['modes_hit']['mean']:.1f} of 8 modes (± {m[key]['modes_hit']['std']:.1f}; all 8 in "
             f"{100 * m[key]['all_modes_share']:.0f}% of runs), distance {m[key]['distance']['mean']:.3f}"
             for name, key in (("Diffusion", "diffusion"), ("the GAN", "gan"), ("the VAE", "vae"))]
    return (f"Measured over {fig['seeds']} seeds, {fig['steps']:,} steps each on the {fig['data']}: " + "; ".join(parts)
            + f" (two draws of the data itself: {fig['floor']:.3f}). The GAN's result hangs on its settings: try the run "
            "that teaches a collapse. The VAE's samples sit between the modes at this beta. The diffusion model pays "
            f"{m['diffusion']['ms_per_step']['mean']:.1f} ms per training step here, and 50 network evaluations per sample "
            "against 1." + researchers_race(fig))


def researchers_race(fig: dict) -> str:
    return (f"\n\n<details><summary>For researchers: how these figures were measured</summary>\n\n`{fig['command']}` "
            f"({fig['created']}); coverage: a mode is hit when at least 1/32 of the samples lie within 0.36 of its centre "
            "(3 standard deviations); distance: sliced Wasserstein over 1000 samples.\n\n</details>")


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
    return (f"Measured on the held-out names: the diffusion model's bound is {b['diffusion_nelbo']:.3f} bits per character, "
            f"the twin's exact NLL {b['autoregressive_nll']:.3f}. Part of the gap is the bound itself (an ELBO is never "
            "below the true NLL), part is that predicting all characters at once is the harder task for the same size. "
            f"Generated names: {100 * d.get('novelty', float('nan')):.0f}% new for diffusion, "
            f"{100 * a.get('novelty', float('nan')):.0f}% for the twin; their plausibility under a trigram model of the "
            f"training names {d.get('plausibility', float('nan')):.2f} and {a.get('plausibility', float('nan')):.2f} bits "
            f"per character, real held-out names {fig['plausibility_real']:.2f}. Diffusion spends one pass per step (16 for "
            f"16 names at once: {fig['ms_16_names_16_steps']:.0f} ms here) and can fill in the middle of a name; the "
            "twin one pass per character, and only left to right." + text_researchers(fig))


def text_researchers(fig: dict) -> str:
    return (f"\n\n<details><summary>For researchers: how these figures were measured</summary>\n\n`{fig['command']}` "
            f"({fig['created']}; weights at {fig['steps']['text_mdlm']:,} / {fig['steps']['text_ar']:,} steps); bits per "
            "character over the 16 positions of each name, the end padding included, for both; the NELBO is MDLM's "
            "Monte Carlo estimate over 8 draws of t and the masks per name.\n\n</details>")
