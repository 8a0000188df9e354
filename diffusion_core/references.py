"""Every work the app cites, in one table, with what the app takes from each (section, equation or figure).

Learner-facing texts (lessons, reveals, tab texts, model cards) cite by key and locator, written inline as
`[@ho2020ddpm eq. 4]`; `cited(text)` turns each into the in-text form "Ho et al. 2020, eq. 4" and refuses a
key that is not in `WORKS` or a locator the work's entry does not list, so a claim can only rest on a place
in a paper written down here. Code comments name the works by their in-text label ("Vaswani et al. 2017").
The README's References section is `references_markdown()` (`python -m diffusion_core.references
--write-readme` rewrites it); `tests/test_references.py` checks that every key resolves, every citation in
the sources and cards is a work of this table, every work is cited somewhere, and the README's list is this
one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Work:
    authors: tuple[str, ...]  # "J. Ho": initials, then the surname
    title: str
    venue: str  # where it appeared, with its year when that differs from `year` (the preprint's)
    year: int  # the year the app cites it by
    link: str  # arXiv identifier or DOI
    claims: dict[str, str] = field(default_factory=dict)  # locator ("eq. 4") -> what the app takes from it
    label: str = ""  # the in-text name, when the usual one would be ambiguous or wrong

    def surnames(self) -> list[str]:
        return [a.split(" ")[-1] for a in self.authors]


WORKS: dict[str, Work] = {
    # ------------------------------------------------------------------ diffusion
    "ho2020ddpm": Work(
        ("J. Ho", "A. Jain", "P. Abbeel"), "Denoising Diffusion Probabilistic Models", "NeurIPS 2020", 2020,
        "arXiv:2006.11239",
        {"eq. 2": "one forward step q(x_t | x_{t-1})", "eq. 4": "the closed-form jump q(x_t | x_0)",
         "eq. 6-7": "the forward posterior q(x_{t-1} | x_t, x_0)", "eq. 14": "L_simple, the eps-prediction MSE (a reweighted bound, not a bound)",
         "sec. 3.4": "L_simple down-weights the small-t terms of the bound", "alg. 2": "ancestral (DDPM) sampling",
         "sec. 4": "the linear schedule, beta from 1e-4 to 0.02 over T = 1000"}),
    "song2021ddim": Work(
        ("J. Song", "C. Meng", "S. Ermon"), "Denoising Diffusion Implicit Models", "ICLR 2021", 2021, "arXiv:2010.02502",
        {"eq. 12": "the generalised update from x_t through x0-hat", "eq. 16": "sigma(eta): eta = 0 deterministic, 1 DDPM's variance",
         "sec. 4.3": "DDIM as an Euler step of an ODE", "table 1": "eta = 0 against eta = 1 and sigma-hat at 10 to 1000 steps",
         "sec. 5.3": "interpolation between two x_T"},
        label="Song, Meng & Ermon 2021"),
    "song2021sde": Work(
        ("Y. Song", "J. Sohl-Dickstein", "D. P. Kingma", "A. Kumar", "S. Ermon", "B. Poole"),
        "Score-Based Generative Modeling through Stochastic Differential Equations", "ICLR 2021", 2021, "arXiv:2011.13456",
        {"eq. 6": "the reverse-time SDE, time running from T to 0 (dt < 0)", "eq. 7": "denoising score matching",
         "eq. 13": "the probability-flow ODE", "sec. 4.1": "ancestral (DDPM) sampling as a discretisation of the reverse VP SDE",
         "sec. 4.3": "the ODE's trajectories share every marginal p_t with the SDE", "app. B": "the VE, VP and sub-VP SDEs and their Gaussian perturbation kernels"}),
    "nichol2021improved": Work(
        ("A. Nichol", "P. Dhariwal"), "Improved Denoising Diffusion Probabilistic Models", "ICML 2021", 2021,
        "arXiv:2102.09672",
        {"eq. 17": "the cosine schedule, s = 0.008", "sec. 3.2": "the linear schedule's last steps are nearly pure noise",
         "fig. 3": "x_t under the linear and cosine schedules", "fig. 4": "on ImageNet 64x64, skipping the noisiest 20% of a linear-schedule model's reverse steps (the start of the reverse process) barely worsens its FID",
         "fig. 5": "alpha-bar of the linear and cosine schedules", "sec. 4": "strided sampling: fewer steps with the same model"}),
    "peebles2023dit": Work(
        ("W. Peebles", "S. Xie"), "Scalable Diffusion Models with Transformers", "ICCV 2023", 2023, "arXiv:2212.09748",
        {"sec. 3.2": "patchify, sin-cos positions and the adaLN-Zero block (initialised as the identity)",
         "fig. 5": "adaLN-Zero against the other conditioning blocks",
         "abstract": "more Gflops, through depth, width or more input tokens (smaller patches), consistently lower FID"}),
    "ho2022cfg": Work(
        ("J. Ho", "T. Salimans"), "Classifier-Free Diffusion Guidance",
        "NeurIPS 2021 Workshop on Deep Generative Models; arXiv 2022", 2022, "arXiv:2207.12598",
        {"eq. 6": "the guided eps, (1 + w) eps(x, c) - w eps(x)", "alg. 1": "training with the label dropped to a null class"}),
    "kynkaanniemi2024interval": Work(
        ("T. Kynkäänniemi", "M. Aittala", "T. Karras", "S. Laine", "T. Aila", "J. Lehtinen"),
        "Applying Guidance in a Limited Interval Improves Sample and Distribution Quality in Diffusion Models",
        "NeurIPS 2024", 2024, "arXiv:2404.07724",
        {"abstract": "guidance is harmful at high noise, largely unnecessary at low noise, beneficial in the middle",
         "sec. 1": "guidance at high noise levels drives the samples toward a few 'template images'",
         "sec. 3": "in a 1D toy, guidance at high noise drops a mode; turning it off there keeps both",
         "eq. 6": "guidance only for noise levels in (sigma_lo, sigma_hi], the conditional model outside"}),
    "lu2022dpmsolverpp": Work(
        ("C. Lu", "Y. Zhou", "F. Bao", "J. Chen", "C. Li", "J. Zhu"),
        "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic Models", "arXiv 2022", 2022,
        "arXiv:2211.01095",
        {"alg. 2": "DPM-Solver++(2M), the multistep second-order solver in x0-prediction"}),
    "karras2022edm": Work(
        ("T. Karras", "M. Aittala", "T. Aila", "S. Laine"),
        "Elucidating the Design Space of Diffusion-Based Generative Models", "NeurIPS 2022", 2022, "arXiv:2206.00364",
        {"eq. 5": "the noise levels sigma_i with rho = 7", "alg. 1": "the deterministic Heun sampler",
         "sec. 4": "stochastic sampling corrects earlier errors ('churn', alg. 2), deterministic sampling does not"}),
    "lin2024flawed": Work(
        ("S. Lin", "B. Liu", "J. Li", "X. Yang"), "Common Diffusion Noise Schedules and Sample Steps are Flawed",
        "WACV 2024", 2024, "arXiv:2305.08891",
        {"sec. 3.1": "a schedule whose last SNR is not 0 leaks signal into x_T", "alg. 1": "rescaling to zero terminal SNR",
         "sec. 3.2": "with zero terminal SNR, train with v-prediction", "sec. 3.3": "sample from the last timestep (trailing spacing)",
         "table 2": "the leading, linspace and trailing timestep spacings"}),
    "meng2022sdedit": Work(
        ("C. Meng", "Y. He", "Y. Song", "J. Song", "J. Wu", "J.-Y. Zhu", "S. Ermon"),
        "SDEdit: Guided Image Synthesis and Editing with Stochastic Differential Equations", "ICLR 2022", 2022,
        "arXiv:2108.01073",
        {"sec. 3": "noise an image to t0, then denoise it with the reverse SDE"}),
    "hang2023minsnr": Work(
        ("T. Hang", "S. Gu", "C. Li", "J. Bao", "D. Chen", "H. Hu", "X. Geng", "B. Guo"),
        "Efficient Diffusion Training via Min-SNR Weighting Strategy", "ICCV 2023", 2023, "arXiv:2303.09556",
        {"sec. 3.4": "the Min-SNR-gamma weight min(SNR, gamma) of the x0 loss",
         "sec. 4.2": "the same weight for eps-prediction, min(SNR, gamma) / SNR, and gamma = 5"}),
    "kingma2021vdm": Work(
        ("D. P. Kingma", "T. Salimans", "B. Poole", "J. Ho"), "Variational Diffusion Models", "NeurIPS 2021", 2021,
        "arXiv:2107.00630",
        {"eq. 2": "the signal-to-noise ratio alpha^2 / sigma^2"}),
    "salimans2022progressive": Work(
        ("T. Salimans", "J. Ho"), "Progressive Distillation for Fast Sampling of Diffusion Models", "ICLR 2022", 2022,
        "arXiv:2202.00512",
        {"sec. 4": "v-prediction, v = alpha eps - sigma x"}),
    "vincent2011": Work(
        ("P. Vincent",), "A Connection Between Score Matching and Denoising Autoencoders", "Neural Computation 23(7)", 2011,
        "doi:10.1162/NECO_a_00142",
        {"sec. 4.2": "denoising score matching: the score of the noised data is the denoiser's target"}),
    "rombach2022ldm": Work(
        ("R. Rombach", "A. Blattmann", "D. Lorenz", "P. Esser", "B. Ommer"),
        "High-Resolution Image Synthesis with Latent Diffusion Models", "CVPR 2022", 2022, "arXiv:2112.10752",
        {"app.": "the scaled_linear schedule of Stable Diffusion"}),
    "xu2022geodiff": Work(
        ("M. Xu", "L. Yu", "Y. Song", "C. Shi", "S. Ermon", "J. Tang"),
        "GeoDiff: A Geometric Diffusion Model for Molecular Conformation Generation", "ICLR 2022", 2022,
        "arXiv:2203.02923",
        {"app.": "the sigmoid beta schedule"}),
    # ------------------------------------------------------------------ the rivals
    "xiao2022trilemma": Work(
        ("Z. Xiao", "K. Kreis", "A. Vahdat"), "Tackling the Generative Learning Trilemma with Denoising Diffusion GANs",
        "ICLR 2022", 2022, "arXiv:2112.07804",
        {"abstract": "the generative learning trilemma: high sample quality, mode coverage and fast sampling, rarely all three",
         "fig. 1": "GANs: quality and fast sampling, weaker mode coverage; VAEs: fast and covering, lower quality; diffusion: quality and coverage, slow sampling"}),
    "goodfellow2014gan": Work(
        ("I. Goodfellow", "J. Pouget-Abadie", "M. Mirza", "B. Xu", "D. Warde-Farley", "S. Ozair", "A. Courville",
         "Y. Bengio"), "Generative Adversarial Nets", "NeurIPS 2014", 2014, "arXiv:1406.2661",
        {"eq. 1": "the minimax value function", "sec. 3": "the non-saturating generator loss: maximise log D(G(z))"}),
    "radford2016dcgan": Work(
        ("A. Radford", "L. Metz", "S. Chintala"),
        "Unsupervised Representation Learning with Deep Convolutional Generative Adversarial Networks", "ICLR 2016", 2016,
        "arXiv:1511.06434",
        {"sec. 3": "the DCGAN architecture guidelines"}),
    "mirza2014cgan": Work(
        ("M. Mirza", "S. Osindero"), "Conditional Generative Adversarial Nets", "arXiv 2014", 2014, "arXiv:1411.1784",
        {"sec. 3.2": "conditioning G and D on the label"}),
    "miyato2018sn": Work(
        ("T. Miyato", "T. Kataoka", "M. Koyama", "Y. Yoshida"), "Spectral Normalization for Generative Adversarial Networks",
        "ICLR 2018", 2018, "arXiv:1802.05957",
        {"sec. 2.1": "spectral normalisation of the discriminator's layers"}),
    "mescheder2018r1": Work(
        ("L. Mescheder", "A. Geiger", "S. Nowozin"), "Which Training Methods for GANs do actually Converge?", "ICML 2018",
        2018, "arXiv:1801.04406",
        {"eq. 9": "the R1 gradient penalty on real data"}),
    "srivastava2017veegan": Work(
        ("A. Srivastava", "L. Valkov", "C. Russell", "M. U. Gutmann", "C. Sutton"),
        "VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational Learning", "NeurIPS 2017", 2017,
        "arXiv:1705.07761",
        {"sec. 5.1": "the ring of 8 Gaussians, modes covered and the share of high-quality samples"}),
    "kingma2014vae": Work(
        ("D. P. Kingma", "M. Welling"), "Auto-Encoding Variational Bayes", "ICLR 2014", 2014, "arXiv:1312.6114",
        {"eq. 3": "the evidence lower bound", "sec. 2.4": "the reparameterisation trick"}),
    "sohn2015cvae": Work(
        ("K. Sohn", "H. Lee", "X. Yan"), "Learning Structured Output Representation using Deep Conditional Generative Models",
        "NeurIPS 2015", 2015, "",
        {"sec. 3": "the conditional VAE"}),
    "higgins2017betavae": Work(
        ("I. Higgins", "L. Matthey", "A. Pal", "C. Burgess", "X. Glorot", "M. Botvinick", "S. Mohamed", "A. Lerchner"),
        "beta-VAE: Learning Basic Visual Concepts with a Constrained Variational Framework", "ICLR 2017", 2017, "",
        {"eq. 4": "the ELBO with its KL term weighted by beta"}),
    # ------------------------------------------------------------------ measuring
    "heusel2017fid": Work(
        ("M. Heusel", "H. Ramsauer", "T. Unterthiner", "B. Nessler", "S. Hochreiter"),
        "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", "NeurIPS 2017", 2017,
        "arXiv:1706.08500",
        {"eq. 6": "the Fréchet distance between Gaussian fits of real and generated features"}),
    "kynkaanniemi2019pr": Work(
        ("T. Kynkäänniemi", "T. Karras", "S. Laine", "J. Lehtinen", "T. Aila"),
        "Improved Precision and Recall Metric for Assessing Generative Models", "NeurIPS 2019", 2019, "arXiv:1904.06991",
        {"eq. 1-2": "precision and recall with k-NN manifolds (eq. 1: the manifold of k-NN balls)"}),
    "rabin2011sliced": Work(
        ("J. Rabin", "G. Peyré", "J. Delon", "M. Bernot"), "Wasserstein Barycenter and Its Application to Texture Mixing",
        "SSVM 2011", 2011, "doi:10.1007/978-3-642-24785-9_37",
        {"sec. 3": "the sliced Wasserstein distance"}),
    "bonneel2015sliced": Work(
        ("N. Bonneel", "J. Rabin", "G. Peyré", "H. Pfister"), "Sliced and Radon Wasserstein Barycenters of Measures",
        "Journal of Mathematical Imaging and Vision 51", 2015, "doi:10.1007/s10851-014-0506-3",
        {"sec. 2": "the sliced Wasserstein distance of point clouds"}),
    # ------------------------------------------------------------------ text and Transformers
    "vaswani2017attention": Work(
        ("A. Vaswani", "N. Shazeer", "N. Parmar", "J. Uszkoreit", "L. Jones", "A. N. Gomez", "Ł. Kaiser", "I. Polosukhin"),
        "Attention Is All You Need", "NeurIPS 2017", 2017, "arXiv:1706.03762",
        {"eq. 1": "scaled dot-product attention", "sec. 3.5": "sinusoidal position features",
         "table 1": "self-attention's cost per layer, O(n^2 d) for n positions of width d"}),
    "radford2018gpt": Work(
        ("A. Radford", "K. Narasimhan", "T. Salimans", "I. Sutskever"),
        "Improving Language Understanding by Generative Pre-Training", "OpenAI report", 2018, "",
        {"sec. 3.1": "a causal Transformer with learned position embeddings"}),
    "austin2021d3pm": Work(
        ("J. Austin", "D. D. Johnson", "J. Ho", "D. Tarlow", "R. van den Berg"),
        "Structured Denoising Diffusion Models in Discrete State-Spaces", "NeurIPS 2021", 2021, "arXiv:2107.03006",
        {"sec. 3.1": "the absorbing-state (MASK) forward process"}),
    "sahoo2024mdlm": Work(
        ("S. S. Sahoo", "M. Arriola", "Y. Schiff", "A. Gokaslan", "E. Marroquin", "J. T. Chiu", "A. Rush", "V. Kuleshov"),
        "Simple and Effective Masked Diffusion Language Models", "NeurIPS 2024", 2024, "arXiv:2406.07524",
        {"sec. 3.2.1": "the masking forward process", "eq. 10": "the continuous-time NELBO, weighted by alpha'_t / (1 - alpha_t)",
         "eq. 11": "the NELBO as a weighted average of masked-language-model losses (an upper bound on the NLL)",
         "sec. 4.1": "ancestral sampling from all-MASK, unmasked tokens never change"}),
    "nie2025llada": Work(
        ("S. Nie", "F. Zhu", "Z. You", "X. Zhang", "J. Ou", "J. Hu", "J. Zhou", "Y. Lin", "J.-R. Wen", "C. Li"),
        "Large Language Diffusion Models", "arXiv 2025", 2025, "arXiv:2502.09992",
        {"app. B": "low-confidence remasking: how many tokens each step unmasks"}),
    # ------------------------------------------------------------------ cost: precision, pruning, memory
    "jacob2018quantization": Work(
        ("B. Jacob", "S. Kligys", "B. Chen", "M. Zhu", "M. Tang", "A. Howard", "H. Adam", "D. Kalenichenko"),
        "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference", "CVPR 2018", 2018,
        "arXiv:1712.05877",
        {"sec. 2.1": "the affine quantization scheme r = S(q - Z): reals as 8-bit integers q with a scale S and a zero point Z"}),
    "li2017pruning": Work(
        ("H. Li", "A. Kadav", "I. Durdanovic", "H. Samet", "H. P. Graf"), "Pruning Filters for Efficient ConvNets",
        "ICLR 2017", 2017, "arXiv:1608.08710",
        {"sec. 3.1": "remove the filters with the smallest sum of absolute weights, and the next layer's matching weights",
         "abstract": "whole filters removed leave dense matrices (no sparse libraries needed); retraining recovers accuracy"}),
    "chen2016sublinear": Work(
        ("T. Chen", "B. Xu", "C. Zhang", "C. Guestrin"), "Training Deep Nets with Sublinear Memory Cost", "arXiv 2016", 2016,
        "arXiv:1604.06174",
        {"abstract": "recompute activations instead of storing them: O(sqrt(n)) memory for an n-layer network at the cost "
                     "of one extra forward pass per mini-batch"}),
    # ------------------------------------------------------------------ interpolation
    "shoemake1985slerp": Work(
        ("K. Shoemake",), "Animating Rotation with Quaternion Curves", "SIGGRAPH 1985", 1985, "doi:10.1145/325165.325242",
        {"sec. 3.3": "spherical linear interpolation (slerp)"}),
    "white2016sampling": Work(
        ("T. White",), "Sampling Generative Networks", "arXiv 2016", 2016, "arXiv:1609.04468",
        {"sec. 2.1": "slerp between latents of generative models"}),
}

CITE = re.compile(r"\[@([a-z0-9]+)(?: ([^\]]+))?\]")


def in_text(key: str) -> str:
    """How a work is named in a sentence: 'Ho et al. 2020', 'Nichol & Dhariwal 2021', 'Vincent 2011'."""
    w = WORKS[key]
    if w.label:
        return w.label
    names = w.surnames()
    who = names[0] if len(names) == 1 else f"{names[0]} & {names[1]}" if len(names) == 2 else f"{names[0]} et al."
    return f"{who} {w.year}"


def cite(key: str, where: str | None = None) -> str:
    """'Ho et al. 2020, eq. 4': the work `key` at the place `where` (one of the work's listed claims); a
    ValueError for a key or a place the table does not have."""
    if key not in WORKS:
        raise ValueError(f"Unknown reference {key!r}: add it to diffusion_core.references.WORKS first.")
    if where is not None and where not in WORKS[key].claims:
        raise ValueError(f"{key} lists no claim at {where!r} (it lists: {', '.join(WORKS[key].claims)}).")
    return in_text(key) + (f", {where}" if where else "")


def cited(text: str) -> str:
    """`text` with every `[@<key> <place>]` written out as `cite(key, place)` would."""
    return CITE.sub(lambda m: cite(m.group(1), m.group(2)), text)


def reference_line(key: str) -> str:
    """One entry of a reference list, in markdown."""
    w = WORKS[key]
    link = f" {w.link}." if w.link else ""
    return f"{', '.join(w.authors)}. *{w.title}.* {w.venue}.{link}"


def references_markdown() -> str:
    """The reference list: every work, sorted by its in-text name, with what the app takes from it and where."""
    lines = []
    for key in sorted(WORKS, key=lambda k: in_text(k).lower()):
        claims = "; ".join(f"{where}: {what}" for where, what in WORKS[key].claims.items())
        lines.append(f"- **{in_text(key)}** ({key}): {reference_line(key)} Cited for {claims}.")
    return "\n".join(lines)


README_START, README_END = "<!-- references: python -m diffusion_core.references --write-readme -->", "<!-- /references -->"


def readme_with_references(readme: str) -> str:
    """The README's text with the block between the two markers replaced by `references_markdown()`."""
    head, rest = readme.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    return f"{head}{README_START}\n{references_markdown()}\n{README_END}{tail}"


def references_main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m diffusion_core.references", description=__doc__.splitlines()[0])
    p.add_argument("--write-readme", action="store_true", help="rewrite README.md's References section")
    args = p.parse_args(argv)
    if not args.write_readme:
        print(references_markdown())
        return 0
    path = Path(__file__).resolve().parent.parent / "README.md"
    path.write_text(readme_with_references(path.read_text()))
    print(f"wrote the references into {path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(references_main())
