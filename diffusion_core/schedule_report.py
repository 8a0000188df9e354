"""Plain-language summaries of a schedule, for the UI and the command line."""
from __future__ import annotations

from .schedule_checks import check_schedule
from .schedules import NoiseSchedule, make_schedule

ICONS = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}


def findings_markdown(schedule: NoiseSchedule) -> str:
    """The checks' findings as a Markdown list, most severe first."""
    lines = [f"**{schedule.name}**, T = {schedule.num_timesteps}: alpha_bar_T = {schedule.alphas_cumprod[-1]:.3g}, "
             f"sqrt(alpha_bar_T) = {schedule.sqrt_alphas_cumprod[-1]:.3g}", ""]
    for f in check_schedule(schedule):
        lines.append(f"- {ICONS[f.severity]} **{f.severity}**: {f.message} *Fix:* {f.fix}")
    return "\n".join(lines)


def describe_named_schedule(name: str, num_timesteps) -> str:
    """Markdown report for a named schedule; bad input becomes a message, not an exception."""
    try:
        return findings_markdown(make_schedule(name, int(num_timesteps)))
    except (ValueError, TypeError) as exc:
        return f"❌ {exc}"
