"""Sanity checks that catch a bad noise schedule, each finding with a severity and a fix.

What they look for, and why it matters:
- x_T is not noise: sampling starts from pure N(0, I), so if sqrt(alpha_bar_T) is far from 0 the
  model was trained on inputs that still show the image and never on what it is given at the start
  (Lin et al. 2024, sec. 3.1: Stable Diffusion's scaled_linear leaves sqrt(alpha_bar_T) ~ 0.068).
- alpha_bar must strictly decrease: each step removes some signal.
- betas must lie in (0, 1).
- alpha_bar reaching 0 before the last step: eps-to-x0 divides by sqrt(alpha_bar) (Ho et al. 2020,
  eq. 4 solved for x0), so those steps give infinities; at the last step (zero terminal SNR) an
  eps-prediction model cannot recover x0 there and should be trained with v-prediction.
- where half the signal is gone (alpha_bar = 0.5, log-SNR = 0): an informational landmark.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from diffusion_core.maths.schedules import MAX_TIMESTEPS, NoiseSchedule

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    code: str  # stable identifier, e.g. "terminal_signal"
    severity: str  # "error" | "warning" | "info"
    message: str  # what is wrong, in plain words
    fix: str  # what to do about it
    fix_action: str | None = None  # a one-click fix the UI offers: "rescale_zero_snr", "more_steps"

    def to_dict(self) -> dict:
        return asdict(self)


def check_schedule(schedule: NoiseSchedule, terminal_signal_warn: float = 0.05, terminal_signal_error: float = 0.2) -> list[Finding]:
    """All findings for a schedule, the most severe first."""
    out: list[Finding] = []
    b, ac, T = schedule.betas, schedule.alphas_cumprod, schedule.num_timesteps

    if np.any(b <= 0) or np.any(b[:-1] >= 1) or b[-1] > 1:
        out.append(Finding("betas_range", "error", "Some betas lie outside (0, 1).", "Every beta must be above 0 and below 1."))

    if np.any(np.diff(ac) >= 0):
        i = int(np.flatnonzero(np.diff(ac) >= 0)[0]) + 1
        out.append(Finding(
            "not_monotonic", "error",
            f"alpha_bar stops decreasing at t = {i}: the noise does not grow at every step.",
            "Make every beta strictly positive so that alpha_bar falls at each step.",
        ))

    zero = np.flatnonzero(ac <= 0)
    if zero.size and zero[0] < T - 1:
        out.append(Finding(
            "alpha_bar_zero_early", "error",
            f"alpha_bar reaches 0 at t = {zero[0]} of 0 .. {T - 1}: predicting x0 from eps divides by sqrt(alpha_bar) = 0 there.",
            "Lower the largest betas so that alpha_bar stays above 0 until the last step.",
        ))
    elif zero.size and schedule.prediction_type == "epsilon":
        out.append(Finding(
            "zero_terminal_snr", "warning",
            "alpha_bar_T = 0 (zero terminal SNR) with an eps-prediction model: x_T is pure noise, as sampling assumes, "
            "but at t = T the noise is all the input shows, so predicting it says nothing about x0.",
            "Train with v-prediction (prediction_type v_prediction; Lin et al. 2024, sec. 3.2), or keep a little signal at T.",
        ))
    elif zero.size:
        out.append(Finding(
            "zero_terminal_snr", "info",
            f"alpha_bar_T = 0 (zero terminal SNR) with {schedule.prediction_type}: x_T is exactly pure noise, as sampling "
            "assumes, and the model's target still names x0 there.",
            "Nothing to fix: this is what Lin et al. 2024 recommend.",
        ))

    signal = float(np.sqrt(max(ac[-1], 0.0)))
    if signal >= terminal_signal_warn:
        severe = signal >= terminal_signal_error
        out.append(Finding(
            "terminal_signal", "error" if severe else "warning",
            f"x_T is not pure noise: sqrt(alpha_bar_T) = {signal:.3g}, so {signal * 100:.1f}% of the image's amplitude is left at the "
            "last step, but sampling starts from pure noise.",
            "Rescale to zero terminal SNR (Lin et al. 2024), or use more steps / larger betas.",
            "rescale_zero_snr",
        ))
        if T < 200:
            out.append(Finding(
                "few_steps", "warning",
                f"T = {T} steps with these betas does not reach noise.",
                "Use more steps (T = 1000 is the usual choice), or larger betas.",
                "more_steps",
            ))

    half = np.flatnonzero(ac <= 0.5)
    if half.size:
        k = int(half[0])
        out.append(Finding(
            "half_signal", "info",
            f"Half the signal variance is gone (alpha_bar <= 0.5, log-SNR <= 0) at t = {k} of 0 .. {T - 1} ({100 * (k + 1) / T:.0f}% of the way).",
            "Nothing to fix; compare schedules by where this happens.",
        ))
    else:
        out.append(Finding(
            "never_half", "warning",
            f"alpha_bar never drops below 0.5 (it ends at {ac[-1]:.3g}): the images stay mostly signal.",
            "Use larger betas or more steps.", "more_steps",
        ))
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(out, key=lambda f: rank[f.severity])


def fix_schedule(schedule: NoiseSchedule, action: str) -> NoiseSchedule:
    """Apply a finding's one-click fix: 'rescale_zero_snr', or 'more_steps': T x 4 (same shape of
    curve), again until no finding asks for more steps (`wants_more_steps`), at most MAX_TIMESTEPS."""
    from diffusion_core.maths.schedule_makers import rescale_zero_terminal_snr

    if action == "rescale_zero_snr":
        return NoiseSchedule(f"{schedule.name}+zero_snr", rescale_zero_terminal_snr(schedule.betas),
                             {**schedule.params, "rescale_zero_snr": True}, schedule.timestep_spacing, schedule.prediction_type)
    if action == "more_steps":
        if schedule.num_timesteps >= MAX_TIMESTEPS:
            raise ValueError(f"T is already {schedule.num_timesteps}, the most this tool handles; use larger betas instead.")
        longer = schedule
        while longer.num_timesteps < MAX_TIMESTEPS:
            longer = _stretched(schedule, min(longer.num_timesteps * 4, MAX_TIMESTEPS))
            if not wants_more_steps(check_schedule(longer)):
                break
        return longer
    raise ValueError(f"Unknown fix {action!r}.")


def wants_more_steps(findings: list[Finding]) -> bool:
    """Whether more steps would help: a finding offers them, or x_T keeps a lot of signal (an error)."""
    return any(f.fix_action == "more_steps" or (f.code == "terminal_signal" and f.severity == "error") for f in findings)


def _stretched(schedule: NoiseSchedule, T: int) -> NoiseSchedule:
    """The same schedule over T steps: a named one re-made with T, a custom one with its alpha_bar
    curve stretched over the new steps."""
    from diffusion_core.maths.schedules import from_alphas_cumprod, make_schedule

    base = schedule.name.split("+")[0]
    params = {k: v for k, v in schedule.params.items() if k not in ("rescale_zero_snr", "diffusers_beta_schedule")}
    try:
        longer = make_schedule(base, T, **params)
    except ValueError:  # a custom schedule
        t_new = np.linspace(0, schedule.num_timesteps - 1, T)
        ab = schedule.alpha_bar(t_new)
        longer = from_alphas_cumprod(np.minimum.accumulate(ab) * (1 - 1e-12 * np.arange(1, T + 1)), name=schedule.name)
    return NoiseSchedule(longer.name, longer.betas, longer.params, schedule.timestep_spacing, schedule.prediction_type)




def finding_line(f: Finding) -> str:
    """One finding as a Markdown list item: severity, what is wrong, the fix."""
    return f"- **{f.severity}**: {f.message} *Fix:* {f.fix}"
