"""The Learn tab: a guided walk through diffusion for a class of about 50 minutes.

Eleven short lessons, written as keyword data (`Lesson(key=..., title=..., ...)`), each with its
equations (LaTeX, rendered by the app), a "predict, then reveal" question whose answer is computed from
the real schedule, model or report where it can be (`lesson_reveals`: every measured figure is read
from the JSON in assets/, never typed), and a view (the same dicts as the shareable URL, see `view_state`) that sets the other tabs' controls to
show the point.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from diffusion_core.app.learn.cost_reveal import cost_answer, explain_cost
from diffusion_core.app.learn.lesson_reveals import (explain_attention, explain_comparison, explain_forward,
                                                     explain_objective, explain_race, explain_schedules, explain_score,
                                                     explain_text, measured_view, objective_weight_sentence, race_answer,
                                                     text_answer)
from diffusion_core.app.learn.sampling_reveals import explain_guidance, explain_samplers, middle_interval, samplers_answer
from diffusion_core.references import cited


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
    in_class: str = ""  # in a class (a room): what every page shows beside the class's answers after Reveal

    def right_answer(self) -> int:
        return self.answer() if callable(self.answer) else self.answer


LESSONS: tuple[Lesson, ...] = (
    Lesson(key="forward",
           in_class="ᾱ at t = 500 of the cosine schedule: the share of the image's variance that is left",
           title="1. The forward process", minutes=4,
           body="Diffusion destroys an image a little at a time. One step scales and adds Gaussian noise ([@ho2020ddpm eq. 2]):\n\n"
           "$$q(x_t \\mid x_{t-1}) = \\mathcal{N}\\big(\\sqrt{\\alpha_t}\\,x_{t-1},\\ (1-\\alpha_t) I\\big)$$\n\n"
           "Steps compose into one jump ([@ho2020ddpm eq. 4]), with $\\bar\\alpha_t = \\prod_{s \\le t} \\alpha_s$:\n\n"
           "$$x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\epsilon, \\qquad \\epsilon \\sim \\mathcal{N}(0, I)$$",
           question="At t = 500 of the cosine schedule (T = 1000), how much of the image's variance is left?",
           choices=("about 10%", "about 50%", "about 90%"), answer=1, explain=explain_forward,
           view={"tab": "forward", "schedule": "cosine", "T": 1000, "rescale": False, "t": 500, "seed": 0},
           look_for="Read ᾱ in the readout under the sliders and look at x_t: about half of the image's variance is left."),
    Lesson(key="schedules",
           in_class="ᾱ and the SNR of both schedules at t = 600",
           title="2. Noise schedules and the SNR", minutes=5,
           body="A schedule is the list $\\beta_t = 1 - \\alpha_t$. What a schedule does to the image is summed up by its "
           "signal-to-noise ratio ([@kingma2021vdm eq. 2])\n\n"
           "$$\\mathrm{SNR}(t) = \\frac{\\bar\\alpha_t}{1-\\bar\\alpha_t}$$\n\n"
           "Linear $\\beta_t$ ([@ho2020ddpm sec. 4]) drives the SNR down fast. Cosine ([@nichol2021improved eq. 17]) sets\n\n"
           "$$\\bar\\alpha_t = \\frac{f(t)}{f(0)}, \\qquad f(t) = \\cos^2\\!\\Big(\\frac{t/T + s}{1+s}\\cdot\\frac{\\pi}{2}\\Big), "
           "\\quad s = 0.008,$$\n\n"
           "so $\\bar\\alpha_t$ falls slowly at first and the image survives far longer. Its log-SNR does not fall at a steady "
           "rate: almost linearly in the middle, steeply at both ends (so the strip's 'equal log-SNR' frames bunch up at "
           "the two ends). A schedule whose last SNR is not 0 leaks signal into $x_T$ ([@lin2024flawed sec. 3.1]).",
           question="At t = 600, which schedule has destroyed more of the image?",
           choices=("linear", "cosine", "about the same"), answer=0, explain=explain_schedules,
           view={"tab": "forward", "schedule": "linear", "T": 1000, "rescale": False, "t": 600, "seed": 0,
            "compare": ["cosine"], "strip": "t"},
           look_for="Compare the two rows of the strip (linear above, cosine below) and the two log-SNR curves at the dashed "
           "line, t = 600."),
    Lesson(key="objective",
           in_class="where this model's noise prediction is worst, and why",
           title="3. The denoising objective and the score", minutes=6,
           body="The network $\\epsilon_\\theta$ sees $x_t$ and t and predicts the noise ([@ho2020ddpm eq. 14]):\n\n"
           "$$L_\\text{simple} = \\mathbb{E}_{x_0, t, \\epsilon}\\,\\big\\| \\epsilon - \\epsilon_\\theta(x_t, t) \\big\\|^2$$\n\n"
           "It is the variational bound with its per-t weights dropped, not a bound itself ([@ho2020ddpm sec. 3.4]). "
           + objective_weight_sentence() + " Predicting the noise is predicting the score of the noised data, the "
           "direction in which $x_t$ becomes more likely under $p_t$ ([@vincent2011 sec. 4.2]; [@song2021sde eq. 7], with the "
           "Gaussian kernels of [@song2021sde app. B]):\n\n"
           "$$\\nabla_{x_t} \\log p(x_t) \\approx -\\frac{\\epsilon_\\theta(x_t, t)}{\\sqrt{1-\\bar\\alpha_t}}$$",
           question="For this model, where is its noise prediction worst (the highest eps-MSE): at small t (little noise) or at "
                    "large t (mostly noise)?",
           choices=("small t", "large t"), answer=0, explain=explain_objective,
           view={"tab": "reverse", "label": "3", "seed": 0, "sdedit": True},
           look_for="Scrub the steps and watch the predicted noise ε̂; under 'From a real digit' the eps-MSE curve shows this "
           "model's error at every t, with the same error in x0 terms (dotted) and its training weight (grey)."),
    Lesson(key="dit",
           in_class="how a 28x28 digit becomes 49 tokens",
           title="4. The DiT and attention", minutes=5,
           body="The denoiser is a Diffusion Transformer ([@peebles2023dit sec. 3.2]): the image is cut into patches, each "
           "patch is a token, and every block mixes tokens with self-attention ([@vaswani2017attention eq. 1]),\n\n"
           "$$\\mathrm{Attention}(Q, K, V) = \\mathrm{softmax}\\!\\Big(\\frac{QK^\\top}{\\sqrt{d}}\\Big) V,$$\n\n"
           "while t and the class steer each block through adaLN-Zero: $h \\mapsto h + g \\odot f\\big(\\mathrm{LN}(h)(1 + s) + b\\big)$, "
           "with shift b, scale s and gate g regressed from (t, y); g starts at 0, so a new block is the identity.",
           question="How many tokens does this DiT see for one 28x28 digit (4x4 patches)?",
           choices=("16", "49", "784"), answer=1, explain=explain_attention,
           view={"tab": "reverse", "label": "mixed 0-9", "seed": 1},
           look_for="Open 'Inside the Transformer': click patches, change the layer and the head, and read the adaLN plot."),
    Lesson(key="samplers",
           in_class="both samplers' Fréchet distances, measured for this model",
           title="5. Samplers and step counts", minutes=5,
           body="DDPM samples the learnt reverse process step by step: each step draws from the forward posterior "
           "$q(x_{t-1} \\mid x_t, \\hat x_0)$ with the network's guess $\\hat x_0$ in place of $x_0$, adding fresh noise each "
           "time ([@ho2020ddpm alg. 2]). "
           "DDIM ([@song2021ddim eq. 12]) reuses the same network along a deterministic path:\n\n"
           "$$x_{t'} = \\sqrt{\\bar\\alpha_{t'}}\\,\\hat x_0 + \\sqrt{1-\\bar\\alpha_{t'}}\\,\\hat\\epsilon$$\n\n"
           "Both can be run on a subset of the training timesteps (strided sampling, [@nichol2021improved sec. 4]); "
           "for DDPM it works best when the network also learns its step variances, and this app's DDPM keeps the fixed "
           "posterior variance, one likely reason its 10-step results suffer. DDIM's path is deterministic, so the same $x_T$ "
           "always gives the same digit. DPM-Solver++ ([@lu2022dpmsolverpp alg. 2]) and Heun ([@karras2022edm alg. 1]) are "
           "higher-order solvers of the same ODE: for the same number of network evaluations they usually land closer to the "
           "ODE's own end point (Heun spends two evaluations per step, DPM-Solver++(2M) one), and as the steps grow every "
           "ODE solver, DDIM included, converges to the same image for a given $x_T$.",
           question=f"With only {measured_view('samplers_10_steps', steps=10)['steps']} steps from the same x_T, whose digits "
                    "look more like real MNIST as a whole (Fréchet distance): DDPM or DDIM?",
           choices=("DDPM", "DDIM", "no difference"), answer=samplers_answer, explain=explain_samplers,
           view=measured_view("samplers_10_steps", tab="reverse", label="mixed 0-9", sampler="ddpm", steps=10, seed=0,
                              guidance=3.0, guidance_min_t=0, guidance_max_t=1000),
           look_for="Switch the sampler between ddpm and ddim and press Generate: x_T stays the same, the digits change. "
                    "Then try trailing spacing."),
    Lesson(key="guidance",
           in_class="what guidance does to variety, with this model's measured figures for each interval",
           title="6. Classifier-free guidance", minutes=5,
           body="One network learns both the conditional and the unconditional model (the label is dropped to a null class "
           "during training, [@ho2022cfg alg. 1]). Sampling combines them; for w > 1 it extrapolates past the conditional prediction, away from the unconditional one:\n\n"
           "$$\\tilde\\epsilon = \\epsilon_\\theta(x_t, \\varnothing) + w\\,\\big(\\epsilon_\\theta(x_t, y) - \\epsilon_\\theta(x_t, \\varnothing)\\big)$$\n\n"
           "This app's w is Ho & Salimans' $1 + w$: they write the same line as "
           "$(1 + w)\\,\\epsilon_\\theta(x_t, y) - w\\,\\epsilon_\\theta(x_t, \\varnothing)$ ([@ho2022cfg eq. 6]), so their w = 0 is this app's w = 1 "
           "(the conditional model alone). Guidance need not act at every step: it can be kept to an interval of t "
           "([@kynkaanniemi2024interval eq. 6]), outside which the conditional prediction is used.",
           question="Raising the guidance scale w from 1 to 4, what happens to the variety of 16 sevens?",
           choices=("more varied", "less varied", "unchanged"), answer=1, explain=explain_guidance,
           view=measured_view("guidance_interval", tab="reverse", label="7", sampler="ddpm", steps=20, seed=0, guidance=4.0,
                              images=16, guidance_min_t=0, guidance_max_t=1000),
           look_for="Look at the 16 sevens; set guidance to 1 and generate again; then 4 again, guided only in a middle "
                    "interval" + (f" ({middle_interval()})" if middle_interval() else "") + "."),
    Lesson(key="compare",
           in_class="each model's network evaluations per sample",
           title="7. Diffusion vs GAN vs VAE", minutes=4,
           body="A GAN maps noise to an image in one pass. Its discriminator D learns to tell real from generated images and "
           "its generator G is trained to fool it; the non-saturating generator loss maximises "
           "$\\mathbb{E}_z \\log D(G(z))$ ([@goodfellow2014gan sec. 3]). "
           "A VAE decodes a latent, trained on the evidence lower bound ([@kingma2014vae eq. 3]):\n\n"
           "$$\\log p(x) \\ge \\mathbb{E}_{q(z|x)} \\log p(x \\mid z) - \\mathrm{KL}\\big(q(z \\mid x) \\,\\|\\, \\mathcal{N}(0, I)\\big)$$\n\n"
           "Diffusion runs its network once per step, twice on guided steps (conditional and unconditional). The table measures what that buys: quality as the Fréchet "
           "distance between Gaussian fits of real and generated features ([@heusel2017fid eq. 6]), here the features of "
           "the project's own digit classifier, so the numbers are not comparable with published FIDs,\n\n"
           "$$d^2 = \\|\\mu_r - \\mu_g\\|^2 + \\mathrm{Tr}\\big(\\Sigma_r + \\Sigma_g - 2 (\\Sigma_r \\Sigma_g)^{1/2}\\big),$$\n\n"
           "fidelity and coverage as precision and recall ([@kynkaanniemi2019pr eq. 1-2]), stability and cost, and what each "
           "model's training cost: a DiT trained on the GAN's budget of images stands beside the shipped one.",
           question="Which model needs the most network evaluations per sample?",
           choices=("diffusion", "GAN", "VAE"), answer=0, explain=explain_comparison,
           view={"tab": "compare", "digit": 7, "seed": 0},
           look_for="Read the timing line under the samples and the measured table below them."),
    Lesson(key="score",
           in_class="why the ODE and the SDE end in the same distribution",
           title="8. The score, seen in 2D", minutes=4,
           body="On points in the plane, the noised density $p_t$ of the N training points is a mixture of N "
           "Gaussians, one around each point, so its score $\\nabla_x \\log p_t(x)$ is known exactly, and the network's $-\\epsilon_\\theta(x_t, t)/\\sqrt{1-\\bar\\alpha_t}$ "
           "can be held against it. Song et al. run the forward process backwards in two ways that share every marginal "
           "$p_t$. The reverse SDE ([@song2021sde eq. 6])\n\n"
           "$$dx = \\big[f(x, t) - g(t)^2\\,\\nabla_x \\log p_t(x)\\big]\\,dt + g(t)\\,d\\bar w$$\n\n"
           "runs in reverse time, from t = T down to 0: dt is a negative time step and $\\bar w$ a Wiener process with "
           "time flowing backwards. DDPM is a discretisation of it ([@song2021sde sec. 4.1]). The probability-flow ODE "
           "([@song2021sde eq. 13])\n\n"
           "$$\\frac{dx}{dt} = f(x, t) - \\tfrac12\\,g(t)^2\\,\\nabla_x \\log p_t(x)$$\n\n"
           "is integrated the same way, from T to 0; DDIM with eta = 0 is a discretisation of it ([@song2021ddim sec. 4.3]). "
           "No noise, so each $x_T$ has one path and one end point.",
           question="From the same start points, do the ODE and the SDE end in the same distribution of samples?",
           choices=("yes: both keep every p_t of the forward process", "no: the SDE's noise spreads the samples wider",
                    "no: the ODE collapses onto the modes"),
           answer=0, explain=explain_score,
           view={"tab": "score", "points": "ring of 8 Gaussians", "t": 300, "sampler": "ddim", "steps": 50, "eta": 0.0,
                 "seed": 0, "replay": True},
           look_for="The recorded training is loaded (drag 'recorded snapshot' to watch it learn, or Train it live). "
                    "Sample with ddim (the ODE), and again with ddpm (the SDE): the same start points, other paths, the "
                    "same cloud at the end. Drag t to watch the score field sharpen as t falls."),

    Lesson(key="race",
           in_class="the race's mode coverage, measured over several seeds",
           title="9. The race, live", minutes=4,
           body="The same 2D points, the same batches, the same number of steps, three models at once. What each one "
           "optimises decides what goes wrong. The GAN's discriminator maximises "
           "$\\mathbb{E}\\log D(x) + \\mathbb{E}\\log(1 - D(G(z)))$ ([@goodfellow2014gan eq. 1]) and its generator, as "
           "trained here, maximises $\\mathbb{E}\\log D(G(z))$, the non-saturating loss ([@goodfellow2014gan sec. 3]): it "
           "chases its discriminator and can drop modes. The VAE pays $\\beta\\,\\mathrm{KL}$ for a tidy latent "
           "([@higgins2017betavae eq. 4]); its samples are the decoder's mean for $z \\sim \\mathcal{N}(0, I)$, a smooth map "
           "of one connected latent space, so here some of them fall between the modes. The diffusion model regresses the noise at "
           "every noise level and pays at sampling time, one network evaluation per step.",
           question="Trained side by side for the same number of steps on the ring of 8, which model ends up covering the "
           "fewest modes?",
           choices=("diffusion", "GAN", "VAE"), answer=race_answer, explain=explain_race,
           view={"tab": "race", "points": "ring of 8 Gaussians", "seed": 0, "replay": True},
           look_for="The recorded race is on the page: drag 'recorded frame' to watch the three learn, or press Train to "
                    "race them live; then pick 'A run that teaches' and train again."),

    Lesson(key="text",
           in_class="both models' bits per character on held-out names, and their speed",
           title="10. Diffusion on text", minutes=3,
           body="A character is a symbol, not a number, so 'a little Gaussian noise' has no direct meaning for it "
           "(one can noise its embedding instead); masked diffusion destroys text another way: each "
           "character is kept with probability $\\alpha_t$ and otherwise replaced by a MASK (absorbing-state "
           "diffusion, [@austin2021d3pm sec. 3.1]; MDLM, [@sahoo2024mdlm sec. 3.2.1]). The same Transformer blocks as the "
           "digits' predict every hidden character at once, trained on ([@sahoo2024mdlm eq. 10], summed over the positions as in [@sahoo2024mdlm eq. 11])\n\n"
           "$$L = \\mathbb{E}_{t,\\,z_t}\\,\\frac{-\\alpha'_t}{1-\\alpha_t} \\sum_{\\ell\\ \\text{masked}} -\\log p_\\theta(x_0^\\ell \\mid z_t),$$\n\n"
           "the negative ELBO, an upper bound on the negative log-likelihood. Like the eps-MSE it adds up denoising errors "
           "over noise levels; unlike $L_\\text{simple}$, whose per-t weights were dropped, it keeps the bound's own "
           "weights, so it is a bound. An autoregressive model of the same size predicts one character at a time, left "
           "to right, with an exact likelihood.",
           question="On held-out names, which scores the better likelihood (fewer bits per character): the "
           "masked-diffusion model or its autoregressive twin of the same size?",
           choices=("masked diffusion", "the autoregressive twin", "the same"), answer=text_answer, explain=explain_text,
           view={"tab": "text", "word": "johnson", "rate": 0.5, "seed": 0},
           look_for="Drag the mask rate; then Generate and watch which positions the model fills first, and how many "
                    "network passes each model takes."),

    Lesson(key="cost",
           in_class="each remedy's ms per digit, accuracy and Fréchet distance, measured by the cost lab",
           title="11. The price of a sample", minutes=3,
           body="Diffusion pays at sampling time. One digit costs\n\n"
           "$$C_\\text{digit} = \\text{passes} \\times C_\\text{pass}, \\qquad "
           "C_\\text{pass} \\approx L\\,\\big(8 N D^2 + 4 N D H + 4 N^2 D\\big)$$\n\n"
           "for L blocks of width D over N tokens, with MLPs of width H, a multiply-add counted as two operations: the "
           "attention projections and the MLPs grow with N, the attention scores with $N^2$ ([@vaswani2017attention table 1]). "
           "It leaves out the adaLN modulation, the embeddings, the output layer and the element-wise operations, a few "
           "percent here. A guided step runs the network on the conditional and the unconditional input, so it counts two "
           "passes ([@ho2022cfg eq. 6]). Each remedy attacks one factor: fewer passes (the fast preset: the same "
           "DPM-Solver++(2M) [@lu2022dpmsolverpp alg. 2] at fewer steps, with a little less guidance), cheaper arithmetic (int8 weights and activations, "
           "[@jacob2018quantization sec. 2.1]) or fewer weights (whole MLP units pruned, [@li2017pruning sec. 3.1]).",
           question="Which of the three made a digit the cheapest against the default timed beside it, on the machine that "
                    "recorded the cost lab?",
           choices=("the fast preset (fewer steps)", "int8 weights and activations", "half of every MLP pruned"),
           answer=cost_answer, explain=explain_cost,
           view={"tab": "cost", "digit": 7, "seed": 0},
           look_for="Read the frontier: where does each sampler's accuracy level off, and where do the GAN and the VAE sit? "
                    "Then press 'Generate at all three precisions': the same x_T, three precisions, their times."),

)


def lesson_index(i) -> int:
    try:
        i = int(i)
    except (TypeError, ValueError):
        i = 0
    return min(max(i, 0), len(LESSONS) - 1)


def lesson_markdown(i) -> str:
    lesson = LESSONS[lesson_index(i)]
    return cited(f"## {lesson.title} (~{lesson.minutes} min)\n\n{lesson.body}\n\n**Predict, then reveal:** {lesson.question}")


def reveal(i, choice) -> str:
    lesson = LESSONS[lesson_index(i)]
    if choice is None or choice == "":
        return "Make a prediction first, then reveal."
    right = lesson.choices[lesson.right_answer()]
    verdict = f"**Right**: {right}." if choice == right else f"**Not quite**: the answer is **{right}**."
    return cited(f"{verdict} {lesson.explain()}\n\n*Show me* sets the app up. Then: {lesson.look_for}")


def look_for_banner(i) -> str:
    """What the tab a lesson's Show me lands on says at its top."""
    lesson = LESSONS[lesson_index(i)]
    return f"**{lesson.title}** · Look for: {lesson.look_for}"
