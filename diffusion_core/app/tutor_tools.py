"""The app's main experiments as tools a tutor model can call (served over MCP by `python app.py`).

Each function has typed arguments and a docstring written for the model that reads it: what the tool
does, what each argument means and allows, what comes back, and how to read it. They call the same
library code as the tabs (schedules and their checks, the forward process, the shared DiT sampler, the
three-model comparison) and refuse bad input with a ValueError that says what to change.
"""
from __future__ import annotations

import json

import numpy as np

from diffusion_core.app.compare import compare_ui as cui
from diffusion_core.app.forward import forward_lab as lab
from diffusion_core.app.forward import forward_ui as fui
from diffusion_core.pipelines import denoising as rl
from diffusion_core.app.reverse import reverse_views as rv
from diffusion_core.app.wording import CACHED_SHARE
from diffusion_core.data.images import caption_below, digit_grid, labelled_grid, rgb
from diffusion_core.data.images_io import image_choices, display_image
from diffusion_core.maths.schedule_checks import check_schedule
from diffusion_core.maths.schedule_checks import finding_line
from diffusion_core.networks.loaded import loaded
from diffusion_core.settings import sampling


def check_noise_schedule(schedule: str = "cosine", T: int = 1000, rescale_zero_snr: bool = False) -> str:
    """Check a diffusion noise schedule for the mistakes that break training or sampling.

    Reports alpha_bar (the share of the image's variance left) and the log signal-to-noise ratio at a
    quarter, half, three quarters and the end of the schedule, then every finding of the app's checks
    (errors first: x_T that is not pure noise, alpha_bar that stops falling, too few steps) with the fix.

    Args:
        schedule: one of linear, scaled_linear, cosine, sigmoid, quadratic, constant, karras.
        T: the number of diffusion steps, 1 to 100000 (1000 is usual).
        rescale_zero_snr: rescale the schedule so that alpha_bar_T = 0 (Lin et al. 2024).

    Returns:
        Markdown: a small table of alpha_bar and log-SNR at four points, then the findings.
    """
    s = lab.schedule_from_spec(fui.named_spec(schedule, T, rescale_zero_snr))
    rows = ["| t | alpha_bar | log-SNR |", "| --- | --- | --- |"]
    for t in sorted({max(0, round(s.num_timesteps * f) - 1) for f in (0.25, 0.5, 0.75, 1.0)}):
        with np.errstate(divide="ignore"):
            rows.append(f"| {t} | {float(s.alpha_bar(t)):.4g} | {float(s.log_snr_at(t)):+.3f} |")
    findings = "\n".join(finding_line(f) for f in check_schedule(s))
    return f"**{schedule}** schedule, T = {s.num_timesteps}{' (zero-terminal-SNR)' if rescale_zero_snr else ''}\n\n" \
        + "\n".join(rows) + "\n\n" + findings


def noise_image(image: str = "MNIST digit 0 (#1)", schedule: str = "cosine", T: int = 1000, t: int = 500, seed: int = 0):
    """Show the forward process: an image with noise added up to step t, x_t = sqrt(alpha_bar_t) x_0 +
    sqrt(1 - alpha_bar_t) eps (Ho et al. 2020, eq. 4).

    Args:
        image: one of the bundled images: "MNIST digit 0 (#1)" ... "MNIST digit 9 (#2)", "Photo: chelsea",
            "Photo: coffee", "Photo: astronaut".
        schedule: one of linear, scaled_linear, cosine, sigmoid, quadratic, constant, karras.
        T: the number of diffusion steps, 1 to 100000.
        t: the timestep to show, 0 (one step of noise) to T - 1 (almost pure noise); -1 is the clean image.
        seed: fixes the noise eps, so two calls with the same seed and different t show the same noise fading in.

    Returns:
        The noisy image x_t, with a line under it: t, alpha_bar (the share of the image's variance left)
        and the mix x_t = a * x0 + b * eps.
    """
    if image not in image_choices():
        raise ValueError(f"Unknown image {str(image)[:40]!r}; choose one of {', '.join(image_choices())}.")
    spec = fui.named_spec(schedule, T, False)
    s = lab.schedule_from_spec(spec)
    t = lab.clamp_t(t, s)
    x_t = lab.closed_form(fui.get_image(image, None), s, t, fui.seed_value(seed))
    r = lab.readout(s, t)
    return caption_below(display_image(np.clip(x_t, -1, 1)), f"t = {t} of {s.num_timesteps}: alpha_bar = {r.alpha_bar:.4f}, "
                                                          f"x_t = {r.signal:.3f} x0 + {r.noise:.3f} eps")


def generate_digits(digit: str = "mixed 0-9", images: int = 16, seed: int = 0, steps: int | None = None,
                    guidance: float | None = None):
    """Generate MNIST digits with the app's Diffusion Transformer (DiT), denoising pure noise step by step.

    Uses the model's measured default setting (the sampler, step spacing and guidance interval named in its
    model card); the same seed gives the same starting noise x_T, so changing only steps or guidance shows
    their effect on the same digits.

    Args:
        digit: "mixed 0-9" (0, 1, 2, ... in turn), one digit "0" to "9", or "unconditional".
        images: how many digits, 1 to 16.
        seed: fixes the starting noise x_T (0 to 2^31 - 1).
        steps: sampling steps, 1 to 250 (leave it out for the model's default; fewer steps are faster and rougher).
        guidance: classifier-free guidance scale w, 0 to 12 (leave it out for the model's default; 1 = the
            conditional model alone; higher = more clearly the asked digit, less varied).

    Returns:
        A grid of the generated digits (the asked digit under each when mixed), with a line under it: the
        number of steps and network passes, and the time taken.
    """
    settings = sampling(loaded("dit").meta, label=digit, images=images, seed=seed, steps=steps, guidance=guidance)
    traj = rl.run_trajectory(settings)
    summary = rv.run_summary(traj, device=False).replace("·", "-")
    return caption_below(digit_grid(traj.final(), labels=rv.requested(traj)), summary)


def compare_models(digit: int = 7, seed: int = 0, n: int = 8):
    """Sample the same digit from three generative models trained here on MNIST, side by side: a diffusion
    model (DiT), a GAN and a VAE, each timed now. `measured_comparison` gives the measured table.

    Args:
        digit: the digit to draw, 0 to 9.
        seed: fixes each model's random input (0 to 2^31 - 1).
        n: samples per model, 1 to 16.

    Returns:
        One image: the diffusion, GAN and VAE samples (left to right, named above), with the time per
        sample and the network evaluations per sample of each under them.
    """
    grids, costs = cui.samples_and_costs(str(digit), seed, n)
    cells = [[rgb(g) for g in grids]]
    names = [[f"{cui.NAMES[k]}: {ms:.1f} ms{' (cached)' if reused >= CACHED_SHARE else ''}, {nfe} passes per sample"
              for k, (ms, nfe, reused) in costs.items()]]
    return labelled_grid(cells, names, pad=8, size=14)


def measured_comparison() -> str:
    """The comparison of diffusion, GAN and VAE measured on 1000 samples per model: quality (Frechet
    distance, accuracy), fidelity and coverage (precision, recall), diversity, mode coverage, training
    stability, cost (network evaluations, time per sample, training time) and the verdict.

    Returns:
        Markdown: the table, the best value of each row in bold, what each row means, and the verdict.
    """
    return cui.comparison_table()


TOOLS = (check_noise_schedule, noise_image, generate_digits, compare_models, measured_comparison)


def describe() -> str:
    """The tools as JSON (name and first docstring line), for the README and the tests."""
    return json.dumps({f.__name__: (f.__doc__ or "").strip().splitlines()[0] for f in TOOLS}, indent=2)
