"""The Learn tab: a guided walk through diffusion for a 45-minute class.

Nine short lessons, written as keyword data (`Lesson(key=..., title=..., ...)`), each with its
equations (LaTeX, rendered by the app), a "predict, then reveal" question whose answer is computed from the real schedule, model or report where it can be (every
measured figure is read from assets/dit_figures.json or assets/comparison.json, never typed), and a
view (the same dicts as the shareable URL, see `view_state`) that sets the other tabs' controls to
show the point.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from diffusion_core.paths import ASSETS_DIR
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.settings import SAMPLING_KEYS, check

FIGURES = ASSETS_DIR / "dit_figures.json"  # written by benchmarks/dit_quality.py --record


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    minutes: int
    body: str  # markdown with $...$ and $$...$$ equations
    question: str
    choices: tuple[str, ...]
    answer: int | Callable[[], int]  # index into choices, or computed from measured figures
    explain: Callable[[], str]  # the reveal text, computed when asked
    view: dict = field(default_factory=dict)  # what "Show me" sets (see view_state.FIELDS)
    look_for: str = ""  # what to do and look at once there: a sentence, shown on the tab it lands on

    def right_answer(self) -> int:
        return self.answer() if callable(self.answer) else self.answer


def _ab(name: str, t: int) -> float:
    return float(make_schedule(name, 1000).alpha_bar(t))


@lru_cache(maxsize=4)
def _read_figures(mtime: float) -> dict:
    return json.loads(FIGURES.read_text())


def figures(key: str) -> dict | None:
    """A measurement recorded by `benchmarks/dit_quality.py --record <key>` in assets/dit_figures.json:
    {command, weights_steps, rows: [{sampler, steps, guidance, guidance_min_t, n, accuracy,
    frechet_distance, frechet_distance_real_floor, precision, recall, ...}]}; None when not measured."""
    try:
        return _read_figures(FIGURES.stat().st_mtime).get(key)
    except (OSError, ValueError):
        return None


def _row(key: str, **match) -> dict | None:
    rec = figures(key)
    for row in (rec or {}).get("rows", []):
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def measured_view(key: str, **view) -> dict:
    """What a lesson's Show me sets: the sampling setting of the first row measured under `key` (so the
    page shows what the quoted figures measured), over the given view (used as is when not measured)."""
    row = ((figures(key) or {}).get("rows") or [{}])[0]
    setting = {k: check(k, row[k]) for k in SAMPLING_KEYS if k in row}
    return {**view, **setting}


def researchers(*keys: str) -> str:
    """A fold with the commands that measured the figures (for researchers; students can skip it)."""
    cmds = [f"`{figures(k)['command']}` (weights at step {figures(k)['weights_steps']})" for k in keys if figures(k)]
    if not cmds:
        return ""
    return ("\n\n<details><summary>For researchers: how these figures were measured</summary>\n\n"
            + "\n\n".join(cmds) + "\n\nFréchet distance in the project's classifier's feature space; 'real against "
            "real' is the same distance between real digits at the same N, the best any model can score there.\n\n</details>")


def _forward() -> str:
    ab = _ab("cosine", 500)
    return (f"With the cosine schedule $\\bar\\alpha_{{500}} = {ab:.3f}$: about {100 * ab:.0f}% of the image's variance is left, "
            f"the rest is noise. The image is still recognisable at half the steps, which is why the cosine schedule was proposed.")


def _schedules() -> str:
    lin, cos = _ab("linear", 600), _ab("cosine", 600)
    return (f"At t = 600, linear has $\\bar\\alpha = {lin:.4f}$ (SNR {lin / (1 - lin):.4f}) and cosine {cos:.3f} "
            f"(SNR {cos / (1 - cos):.3f}): linear has destroyed far more. Its last few hundred steps are nearly pure noise, "
            f"steps a sampler spends learning little (Nichol & Dhariwal 2021, fig. 3).")


def _objective() -> str:
    return ("Small t. With little noise, the noise is a faint signal hidden under the whole image, so it is hard to "
            "pick out; at large t, $x_t$ is almost all noise and $\\hat\\epsilon \\approx x_t$ is nearly right. "
            "The eps-MSE curve under 'From a real digit' shows the error falling as t grows.")


def _attention() -> str:
    return ("49: a 28x28 digit cut into 4x4 patches gives a 7x7 grid of tokens. Each attention map is a 49x49 matrix "
            "per head; clicking a patch shows its row, 49 weights that sum to 1.")


def _sampler_rows() -> tuple[dict | None, dict | None]:
    return _row("samplers_10_steps", sampler="ddpm"), _row("samplers_10_steps", sampler="ddim")


def _samplers_answer() -> int:
    ddpm, ddim = _sampler_rows()
    if not ddpm or not ddim:
        return 1
    return 1 if ddim["frechet_distance"] < ddpm["frechet_distance"] else 0


def _samplers() -> str:
    ddpm, ddim = _sampler_rows()
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


def _guidance() -> str:
    every, limited = _row("guidance_interval", guidance_min_t=0), _row("guidance_interval", guidance_min_t=500)
    default = (figures("guidance_default") or {}).get("rows", [None])[0]
    text = ("Less varied. Guidance pushes every sample toward what the classifier-free difference says is most "
            "'seven-like': cleaner, bolder, more alike. At w = 1 the samples follow the learnt distribution. "
            "Guidance need not act at every step (Kynkäänniemi et al. 2024): the digit's class is settled while x_t "
            "is still mostly noise, and guiding the last, low-noise steps only sharpens and narrows.")
    if every and limited and default:
        n = every["n"]
        text += (f" Measured on {n} digits, {every['sampler'].upper()}, {every['steps']} steps: with w = {every['guidance']:g} at every step, "
                 f"{every['accuracy']:.0%} recognised, Fréchet distance {every['frechet_distance']:.1f}, recall "
                 f"{every['recall']:.2f}; only where t ≥ 500, {limited['accuracy']:.1%}, {limited['frechet_distance']:.1f}, "
                 f"{limited['recall']:.2f}; the shipped default (w = {default['guidance']:g} where t ≥ "
                 f"{default['guidance_min_t']:g}, also N = {default['n']}), {default['accuracy']:.1%}, "
                 f"{default['frechet_distance']:.1f}, {default['recall']:.2f}. Real against real at N = {n}: "
                 f"{every['frechet_distance_real_floor']:.1f}. (The Compare tab's table is measured at N = 1000, where "
                 "the same distance is smaller: it shrinks with N.)")
    return text + researchers("guidance_interval", "guidance_default")


def _comparison() -> str:
    from diffusion_core.evaluation.comparison import read_report
    from diffusion_core.maths.samplers import step_grid
    from diffusion_core.maths.schedules import schedule_from_dict

    try:
        m = read_report()["models"]
        s = m["dit"]["sampling"]  # the setting the table's figures were measured at
        schedule = schedule_from_dict(json.loads((ASSETS_DIR / "dit_mnist.json").read_text())["schedule"])
        grid = step_grid(s["sampler"], schedule, int(s["steps"]), s["spacing"])
        guided = int((grid.t[:-1] >= float(s["guidance_min_t"])).sum())
        return (f"Diffusion: {m['dit']['nfe_per_sample']} network evaluations per sample against "
                f"{m['gan']['nfe_per_sample']} for the GAN and {m['vae']['nfe_per_sample']} for the VAE. Its default runs "
                f"{s['steps']} steps; the {guided} with t ≥ {float(s['guidance_min_t']):g} are guided and cost two passes "
                f"each (conditional and unconditional), the other {int(s['steps']) - guided} one. The table below the "
                "samples has the rest.")
    except (OSError, ValueError, KeyError, TypeError):
        return "Diffusion: one evaluation per step (two where it is guided), against one for a GAN or a VAE."


def _score() -> str:
    return ("Yes. Both are built to pass through the same p_t at every t (Song et al. 2021, sec. 4.3): the SDE adds "
            "noise and removes a matching amount with its larger score term, the ODE does neither. Single paths differ (the "
            "SDE's wander, the ODE's are smooth and fixed by x_T), the final clouds agree as far as the score is right. "
            "Where the learned score is wrong (coloured red, far from the data, or at small t), the two can end apart: "
            "the SDE's noise lets later steps correct earlier errors, which is one reason DDPM often scores better "
            "than DDIM at many steps.")


RACE = ASSETS_DIR / "race_figures.json"  # written by benchmarks/race.py --only seeds --record


def race_figures() -> dict | None:
    try:
        return json.loads(RACE.read_text())
    except (OSError, ValueError):
        return None


def _race_answer() -> int:
    fig = race_figures()
    if not fig:
        return 2
    order = ("diffusion", "gan", "vae")
    return min(range(3), key=lambda k: fig["models"][order[k]]["modes_hit"]["mean"])


def _race() -> str:
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


LESSONS: tuple[Lesson, ...] = (
    Lesson(key="forward", title="1. The forward process", minutes=5,
           body="Diffusion destroys an image a little at a time. One step scales and adds Gaussian noise:\n\n"
           "$$q(x_t \\mid x_{t-1}) = \\mathcal{N}\\big(\\sqrt{\\alpha_t}\\,x_{t-1},\\ (1-\\alpha_t) I\\big)$$\n\n"
           "Steps compose into one jump (Ho et al. 2020, eq. 4), with $\\bar\\alpha_t = \\prod_{s \\le t} \\alpha_s$:\n\n"
           "$$x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\epsilon, \\qquad \\epsilon \\sim \\mathcal{N}(0, I)$$",
           question="At t = 500 of the cosine schedule (T = 1000), how much of the image's variance is left?",
           choices=("about 10%", "about 50%", "about 90%"), answer=1, explain=_forward,
           view={"tab": "forward", "schedule": "cosine", "T": 1000, "rescale": False, "t": 500, "seed": 0},
           look_for="Read ᾱ in the readout under the sliders and look at x_t: about half of the image's variance is left."),
    Lesson(key="schedules", title="2. Noise schedules and the SNR", minutes=6,
           body="A schedule is the list $\\beta_t = 1 - \\alpha_t$. What matters is the signal-to-noise ratio\n\n"
           "$$\\mathrm{SNR}(t) = \\frac{\\bar\\alpha_t}{1-\\bar\\alpha_t}$$\n\n"
           "Linear $\\beta_t$ (Ho et al. 2020) drives the SNR down fast. Cosine (Nichol & Dhariwal 2021, eq. 17) sets\n\n"
           "$$\\bar\\alpha_t = \\frac{f(t)}{f(0)}, \\qquad f(t) = \\cos^2\\!\\Big(\\frac{t/T + s}{1+s}\\cdot\\frac{\\pi}{2}\\Big), "
           "\\quad s = 0.008,$$\n\n"
           "so $\\bar\\alpha_t$ falls slowly at first and the image survives far longer. Its log-SNR is not even in t: "
           "it falls almost linearly in the middle and steeply at both ends (the strip's 'equal log-SNR' frames bunch "
           "up there). A schedule whose last SNR is not 0 leaks signal into $x_T$ (Lin et al. 2023).",
           question="At t = 600, which schedule has destroyed more of the image?",
           choices=("linear", "cosine", "about the same"), answer=0, explain=_schedules,
           view={"tab": "forward", "schedule": "linear", "T": 1000, "rescale": False, "t": 600, "seed": 0,
            "compare": ["cosine"], "strip": "t"},
           look_for="Compare the two rows of the strip (linear above, cosine below) and the two log-SNR curves at the dashed "
           "line, t = 600."),
    Lesson(key="objective", title="3. The denoising objective and the score", minutes=6,
           body="The network $\\epsilon_\\theta$ sees $x_t$ and t and predicts the noise (Ho et al. 2020, eq. 14):\n\n"
           "$$L = \\mathbb{E}_{x_0, t, \\epsilon}\\,\\big\\| \\epsilon - \\epsilon_\\theta(x_t, t) \\big\\|^2$$\n\n"
           "Predicting the noise is predicting the score, the direction toward more likely images:\n\n"
           "$$\\nabla_{x_t} \\log p(x_t) \\approx -\\frac{\\epsilon_\\theta(x_t, t)}{\\sqrt{1-\\bar\\alpha_t}}$$",
           question="Where is predicting the noise hardest: at small t (little noise) or at large t (mostly noise)?",
           choices=("small t", "large t"), answer=0, explain=_objective,
           view={"tab": "reverse", "label": "3", "seed": 0, "sdedit": True},
           look_for="Scrub the steps and watch the predicted noise ε̂; under 'From a real digit' the eps-MSE curve shows the "
           "error at every t: highest where t is small."),
    Lesson(key="dit", title="4. The DiT and attention", minutes=6,
           body="The denoiser is a Diffusion Transformer (Peebles & Xie 2023): the image is cut into patches, each patch "
           "is a token, and every block mixes tokens with self-attention,\n\n"
           "$$\\mathrm{Attention}(Q, K, V) = \\mathrm{softmax}\\!\\Big(\\frac{QK^\\top}{\\sqrt{d}}\\Big) V,$$\n\n"
           "while t and the class steer each block through adaLN-Zero: $h \\mapsto h + g \\odot f\\big(\\mathrm{LN}(h)(1 + s) + b\\big)$, "
           "with shift b, scale s and gate g regressed from (t, y); g starts at 0, so a new block is the identity.",
           question="How many tokens does this DiT see for one 28x28 digit (4x4 patches)?",
           choices=("16", "49", "784"), answer=1, explain=_attention,
           view={"tab": "reverse", "label": "mixed 0-9", "seed": 1},
           look_for="Open 'Inside the Transformer': click patches, change the layer and the head, and read the adaLN plot."),
    Lesson(key="samplers", title="5. Samplers and step counts", minutes=5,
           body="DDPM samples the learnt reverse posterior step by step (Ho et al. 2020, Alg. 2). DDIM (Song et al. 2021) "
           "reuses the same network along a deterministic path:\n\n"
           "$$x_{t'} = \\sqrt{\\bar\\alpha_{t'}}\\,\\hat x_0 + \\sqrt{1-\\bar\\alpha_{t'}}\\,\\hat\\epsilon$$\n\n"
           "so it can skip steps. DPM-Solver++ and Heun are higher-order solvers of the same ODE: fewer steps, same picture.",
           question=f"With only {measured_view('samplers_10_steps', steps=10)['steps']} steps from the same x_T, whose digits look more like real MNIST as a whole (Fréchet distance): DDPM or DDIM?",
           choices=("DDPM", "DDIM", "no difference"), answer=_samplers_answer, explain=_samplers,
           view=measured_view("samplers_10_steps", tab="reverse", label="mixed 0-9", sampler="ddpm", steps=10, seed=0,
                              guidance=3.0, guidance_min_t=0),
           look_for="Switch the sampler between ddpm and ddim and press Generate: x_T stays the same, the digits change."),
    Lesson(key="guidance", title="6. Classifier-free guidance", minutes=5,
           body="One network learns both the conditional and the unconditional model (the label is dropped 10% of the "
           "time). Sampling extrapolates between them:\n\n"
           "$$\\tilde\\epsilon = \\epsilon_\\theta(x_t, \\varnothing) + w\\,\\big(\\epsilon_\\theta(x_t, y) - \\epsilon_\\theta(x_t, \\varnothing)\\big)$$\n\n"
           "This app's w is Ho & Salimans' $1 + w$: their eq. 6 writes the same line as "
           "$(1 + w)\\,\\epsilon_\\theta(x_t, y) - w\\,\\epsilon_\\theta(x_t, \\varnothing)$, so their w = 0 is this app's w = 1 "
           "(the conditional model alone).",
           question="Raising the guidance scale w from 1 to 4, what happens to the variety of 16 sevens?",
           choices=("more varied", "less varied", "unchanged"), answer=1, explain=_guidance,
           view=measured_view("guidance_interval", tab="reverse", label="7", sampler="ddpm", steps=20, seed=0, guidance=4.0,
                              images=16, guidance_min_t=0),
           look_for="Look at the 16 sevens; set guidance to 1 and generate again; then 4 again, guided only where t ≥ 500."),
    Lesson(key="compare", title="7. Diffusion vs GAN vs VAE", minutes=4,
           body="A GAN maps noise to an image in one pass, its generator trained to fool a discriminator D "
           "(non-saturating loss, Goodfellow et al. 2014): $\\max_G \\ \\mathbb{E}_z \\log D(G(z))$. "
           "A VAE decodes a latent, trained on the evidence lower bound (Kingma & Welling 2014):\n\n"
           "$$\\log p(x) \\ge \\mathbb{E}_{q(z|x)} \\log p(x \\mid z) - \\mathrm{KL}\\big(q(z \\mid x) \\,\\|\\, \\mathcal{N}(0, I)\\big)$$\n\n"
           "Diffusion runs its network once per step. The table measures what that buys: quality as the Fréchet "
           "distance between Gaussian fits of real and generated features (Heusel et al. 2017),\n\n"
           "$$d^2 = \\|\\mu_r - \\mu_g\\|^2 + \\mathrm{Tr}\\big(\\Sigma_r + \\Sigma_g - 2 (\\Sigma_r \\Sigma_g)^{1/2}\\big),$$\n\n"
           "coverage (recall), stability and cost.",
           question="Which model needs the most network evaluations per sample?",
           choices=("diffusion", "GAN", "VAE"), answer=0, explain=_comparison,
           view={"tab": "compare", "digit": 7, "seed": 0},
           look_for="Read the timing line under the samples and the measured table below them."),
    Lesson(key="score", title="8. The score, seen in 2D", minutes=4,
           body="On points in the plane the noised density $p_t$ is a mixture of Gaussians, so its score "
           "$\\nabla_x \\log p_t(x)$ is known exactly, and the network's $-\\epsilon_\\theta(x_t, t)/\\sqrt{1-\\bar\\alpha_t}$ "
           "can be held against it. Song et al. (2021, eq. 6 and 13) run the forward process backwards in two ways that "
           "share every marginal $p_t$: the reverse SDE\n\n"
           "$$dx = \\big[f(x, t) - g(t)^2\\,\\nabla_x \\log p_t(x)\\big]\\,dt + g(t)\\,d\\bar w$$\n\n"
           "(DDPM is a discretisation of it) and the probability-flow ODE\n\n"
           "$$\\frac{dx}{dt} = f(x, t) - \\tfrac12\\,g(t)^2\\,\\nabla_x \\log p_t(x)$$\n\n"
           "(DDIM with eta = 0): no noise, so each x_T has one path and one end point.",
           question="From the same start points, do the ODE and the SDE end in the same distribution of samples?",
           choices=("yes: both keep every p_t of the forward process", "no: the SDE's noise spreads the samples wider",
                    "no: the ODE collapses onto the modes"),
           answer=0, explain=_score,
           view={"tab": "score", "points": "ring of 8 Gaussians", "t": 300, "sampler": "ddim", "steps": 50, "eta": 0.0,
                 "seed": 0},
           look_for="Press Train; then Sample with ddim (the ODE), and again with ddpm (the SDE): the same start points, "
                    "other paths, the same cloud at the end. Drag t to watch the score field sharpen as t falls."),

    Lesson(key="race", title="9. The race, live", minutes=4,
           body="The same 2D points, the same batches, the same number of steps, three models at once. What each one "
           "optimises decides what goes wrong: the GAN's generator chases its discriminator "
           "($\\min_G \\max_D\\ \\mathbb{E}\\log D(x) + \\mathbb{E}\\log(1 - D(G(z)))$) and can drop modes; the VAE "
           "pays $\\beta\\,\\mathrm{KL}$ for a tidy latent and puts samples between the modes; the diffusion model "
           "regresses the noise at every noise level and pays at sampling time, one network evaluation per step.",
           question="Trained side by side for the same number of steps on the ring of 8, which model ends up covering the "
           "fewest modes?",
           choices=("diffusion", "GAN", "VAE"), answer=_race_answer, explain=_race,
           view={"tab": "race", "points": "ring of 8 Gaussians", "seed": 0},
           look_for="Press Train and watch the three panels and the coverage curve; then pick 'A run that teaches' "
                    "and train again."),

)


def lesson_index(i) -> int:
    try:
        i = int(i)
    except (TypeError, ValueError):
        i = 0
    return min(max(i, 0), len(LESSONS) - 1)


def lesson_markdown(i) -> str:
    lesson = LESSONS[lesson_index(i)]
    return f"## {lesson.title} (~{lesson.minutes} min)\n\n{lesson.body}\n\n**Predict, then reveal:** {lesson.question}"


def reveal(i, choice) -> str:
    lesson = LESSONS[lesson_index(i)]
    if choice is None or choice == "":
        return "Make a prediction first, then reveal."
    right = lesson.choices[lesson.right_answer()]
    verdict = "✅ Right." if choice == right else f"❌ Not quite: the answer is **{right}**."
    return f"{verdict} {lesson.explain()}\n\n*Show me* sets the app up. Then: {lesson.look_for}"


def look_for_banner(i) -> str:
    """What the tab a lesson's Show me lands on says at its top."""
    lesson = LESSONS[lesson_index(i)]
    return f"**{lesson.title}** · 👀 {lesson.look_for}"
