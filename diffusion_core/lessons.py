"""The Learn tab: a guided walk through diffusion for a 45-minute class.

Seven short lessons, each with its equations (LaTeX, rendered by the app), a "predict, then reveal"
question whose answer is computed from the real schedule, model or report where it can be, and a
view (the same dicts as the shareable URL, see `view_state`) that sets the other tabs' controls to
show the point.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .schedules import make_schedule


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    minutes: int
    body: str  # markdown with $...$ and $$...$$ equations
    question: str
    choices: tuple[str, ...]
    answer: int  # index into choices
    explain: Callable[[], str]  # the reveal text, computed when asked
    view: dict = field(default_factory=dict)  # what "Show me" sets (see view_state.FIELDS)
    look_for: str = ""  # what to look at once there


def _ab(name: str, t: int) -> float:
    return float(make_schedule(name, 1000).alpha_bar(t))


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
            "The eps-MSE curve under SDEdit shows it falling with t.")


def _attention() -> str:
    return ("49: a 28x28 digit cut into 4x4 patches gives a 7x7 grid of tokens. Each attention map is a 49x49 matrix "
            "per head; clicking a patch shows its row, 49 weights that sum to 1.")


def _samplers() -> str:
    return ("DDIM, for this model at 10 steps. Measured with `python benchmarks/dit_quality.py --n 200 --steps 10 "
            "--guidance 3 --guidance-min-t 0 --sampler S` on the shipped weights: Fréchet distance 27.6 for DDIM "
            "against 59.0 for DDPM (real digits against real digits at this N: 11.1), while both are recognised "
            "almost always (99.0% and 100%). With few steps DDPM's large random jumps add noise that the remaining "
            "steps have too little time to remove; DDIM follows the deterministic path of the same model (Song et al. "
            "2021). It is not a law: at 20 steps, guidance 2.5 only where t ≥ 700, DDPM measured "
            "FD 11.8 against DDIM's 12.9 (N = 1000, the model card's sweep): with enough steps, the fresh noise DDPM "
            "adds washes out part of an imperfect denoiser's errors (the 'churn' of Karras et al. 2022).")


# Measured on the shipped DiT (step 44338); the model card has the whole sweep.
GUIDANCE_INTERVAL_FIGURES = ("Measured on 300 digits with DDPM, 20 steps, guidance 4 (`python benchmarks/dit_quality.py "
                             "--n 300 --sampler ddpm --guidance 4 --guidance-min-t 0,500`): guided at every step, 100% "
                             "recognised, Fréchet distance 92.3, recall 0.40; guided only where t ≥ 500, 99.7%, 60.4, "
                             "0.58 (real against real: 7.0). The shipped default guides with 2 only where t ≥ 700: "
                             "97.7%, 12.1, 0.78.")


def _guidance() -> str:
    return ("Less varied. Guidance pushes every sample toward what the classifier-free difference says is most "
            "'seven-like': cleaner, bolder, more alike. At scale 1 the samples follow the learnt distribution. "
            "Guidance need not act at every step (Kynkäänniemi et al. 2024): the digit's class is settled while x_t "
            "is still mostly noise, and guiding the last, low-noise steps only sharpens and narrows. "
            + GUIDANCE_INTERVAL_FIGURES)


def _comparison() -> str:
    from .compare_ui import load_report

    try:
        m = load_report()["models"]
        return (f"Diffusion: {m['dit']['nfe_per_sample']} network evaluations per sample against "
                f"{m['gan']['nfe_per_sample']} for the GAN and {m['vae']['nfe_per_sample']} for the VAE "
                "(guidance doubles each step). The table below the samples has the rest.")
    except (ValueError, KeyError):
        return "Diffusion: one evaluation per step (two with guidance), against one for a GAN or a VAE."


LESSONS: tuple[Lesson, ...] = (
    Lesson("forward", "1. The forward process", 6,
           "Diffusion destroys an image a little at a time. One step scales and adds Gaussian noise:\n\n"
           "$$q(x_t \\mid x_{t-1}) = \\mathcal{N}\\big(\\sqrt{\\alpha_t}\\,x_{t-1},\\ (1-\\alpha_t) I\\big)$$\n\n"
           "Steps compose into one jump (Ho et al. 2020, eq. 4), with $\\bar\\alpha_t = \\prod_{s \\le t} \\alpha_s$:\n\n"
           "$$x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\epsilon, \\qquad \\epsilon \\sim \\mathcal{N}(0, I)$$",
           "At t = 500 of the cosine schedule (T = 1000), how much of the image's variance is left?",
           ("about 10%", "about 50%", "about 90%"), 1, _forward,
           {"tab": "forward", "schedule": "cosine", "T": 1000, "t": 500, "seed": 0},
           "the ᾱ readout and the picture of x_t"),
    Lesson("schedules", "2. Noise schedules and the SNR", 7,
           "A schedule is the list $\\beta_t = 1 - \\alpha_t$. What matters is the signal-to-noise ratio\n\n"
           "$$\\mathrm{SNR}(t) = \\frac{\\bar\\alpha_t}{1-\\bar\\alpha_t}$$\n\n"
           "Linear $\\beta_t$ (Ho et al. 2020) drives the SNR down fast; cosine (Nichol & Dhariwal 2021) sets "
           "$\\bar\\alpha_t = \\cos^2\\!\\big(\\tfrac{t/T + s}{1+s}\\tfrac{\\pi}{2}\\big)$ so it falls evenly in log-SNR. "
           "A schedule whose last SNR is not 0 leaks signal into $x_T$ (Lin et al. 2023).",
           "At t = 600, which schedule has destroyed more of the image?",
           ("linear", "cosine", "about the same"), 0, _schedules,
           {"tab": "forward", "schedule": "linear", "T": 1000, "t": 600, "seed": 0},
           "the log-SNR plot and the strip comparing schedules"),
    Lesson("objective", "3. The denoising objective and the score", 7,
           "The network $\\epsilon_\\theta$ sees $x_t$ and t and predicts the noise (Ho et al. 2020, eq. 14):\n\n"
           "$$L = \\mathbb{E}_{x_0, t, \\epsilon}\\,\\big\\| \\epsilon - \\epsilon_\\theta(x_t, t) \\big\\|^2$$\n\n"
           "Predicting the noise is predicting the score, the direction toward more likely images:\n\n"
           "$$\\nabla_{x_t} \\log p(x_t) \\approx -\\frac{\\epsilon_\\theta(x_t, t)}{\\sqrt{1-\\bar\\alpha_t}}$$",
           "Where is predicting the noise hardest: at small t (little noise) or at large t (mostly noise)?",
           ("small t", "large t"), 0, _objective,
           {"tab": "reverse", "label": "3", "sampler": "ddim", "steps": 20, "seed": 0, "guidance": 3.0},
           "the predicted noise and predicted x̂₀ as you scrub; open 'From a real digit' for the eps-MSE curve"),
    Lesson("dit", "4. The DiT and attention", 7,
           "The denoiser is a Diffusion Transformer (Peebles & Xie 2023): the image is cut into patches, each patch "
           "is a token, and every block mixes tokens with self-attention,\n\n"
           "$$\\mathrm{Attention}(Q, K, V) = \\mathrm{softmax}\\!\\Big(\\frac{QK^\\top}{\\sqrt{d}}\\Big) V,$$\n\n"
           "while t and the class steer each block through adaLN-Zero: $h \\mapsto h + g \\odot f\\big(\\mathrm{LN}(h)(1 + s) + b\\big)$, "
           "with shift b, scale s and gate g regressed from (t, y); g starts at 0, so a new block is the identity.",
           "How many tokens does this DiT see for one 28x28 digit (4x4 patches)?",
           ("16", "49", "784"), 1, _attention,
           {"tab": "reverse", "label": "mixed 0-9", "sampler": "ddim", "steps": 20, "seed": 1, "guidance": 3.0},
           "'Inside the Transformer': click patches, change layer and head, read the adaLN plot"),
    Lesson("samplers", "5. Samplers and step counts", 6,
           "DDPM samples the learnt reverse posterior step by step (Ho et al. 2020, Alg. 2). DDIM (Song et al. 2021) "
           "reuses the same network along a deterministic path:\n\n"
           "$$x_{t'} = \\sqrt{\\bar\\alpha_{t'}}\\,\\hat x_0 + \\sqrt{1-\\bar\\alpha_{t'}}\\,\\hat\\epsilon$$\n\n"
           "so it can skip steps. DPM-Solver++ and Heun are higher-order solvers of the same ODE: fewer steps, same picture.",
           "With only 10 steps from the same x_T, whose digits look more like real MNIST as a whole (Fréchet distance): DDPM or DDIM?",
           ("DDPM", "DDIM", "no difference"), 1, _samplers,
           {"tab": "reverse", "label": "mixed 0-9", "sampler": "ddpm", "steps": 10, "seed": 0, "guidance": 3.0, "guide_from": 0},
           "switch the sampler between ddpm and ddim and press Generate: x_T stays the same"),
    Lesson("guidance", "6. Classifier-free guidance", 6,
           "One network learns both the conditional and the unconditional model (the label is dropped 10% of the "
           "time). Sampling extrapolates between them (Ho & Salimans 2022, eq. 6):\n\n"
           "$$\\tilde\\epsilon = \\epsilon_\\theta(x_t, \\varnothing) + w\\,\\big(\\epsilon_\\theta(x_t, y) - \\epsilon_\\theta(x_t, \\varnothing)\\big)$$",
           "Raising the guidance scale w from 1 to 7, what happens to the variety of 16 sevens?",
           ("more varied", "less varied", "unchanged"), 1, _guidance,
           {"tab": "reverse", "label": "7", "sampler": "ddim", "steps": 20, "seed": 0, "guidance": 7.0, "images": 16,
            "guide_from": 0},
           "the 16 sevens; then set guidance to 1 and generate again; then 7 again, guided only where t ≥ 500"),
    Lesson("compare", "7. Diffusion vs GAN vs VAE", 6,
           "A GAN maps noise to an image in one pass, its generator trained to fool a discriminator D "
           "(non-saturating loss, Goodfellow et al. 2014): $\\max_G \\ \\mathbb{E}_z \\log D(G(z))$. "
           "A VAE decodes a latent, trained on the evidence lower bound (Kingma & Welling 2014):\n\n"
           "$$\\log p(x) \\ge \\mathbb{E}_{q(z|x)} \\log p(x \\mid z) - \\mathrm{KL}\\big(q(z \\mid x) \\,\\|\\, \\mathcal{N}(0, I)\\big)$$\n\n"
           "Diffusion runs its network once per step. The table measures what that buys: quality as the Fréchet "
           "distance between Gaussian fits of real and generated features (Heusel et al. 2017),\n\n"
           "$$d^2 = \\|\\mu_r - \\mu_g\\|^2 + \\mathrm{Tr}\\big(\\Sigma_r + \\Sigma_g - 2 (\\Sigma_r \\Sigma_g)^{1/2}\\big),$$\n\n"
           "coverage (recall), stability and cost.",
           "Which model needs the most network evaluations per sample?",
           ("diffusion", "GAN", "VAE"), 0, _comparison,
           {"tab": "compare", "digit": 7, "seed": 0},
           "the timing line under the samples and the measured table"),
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
    right = lesson.choices[lesson.answer]
    verdict = "✅ Right." if choice == right else f"❌ Not quite: the answer is **{right}**."
    return f"{verdict} {lesson.explain()}\n\n*Show me* sets the app up; look at {lesson.look_for}."
