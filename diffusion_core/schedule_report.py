"""Plain-language rendering of the schedule checks' findings, for the UI."""
from __future__ import annotations

from .schedule_checks import Finding

ICONS = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}


def finding_line(f: Finding) -> str:
    """One finding as a Markdown list item: severity, what is wrong, the fix."""
    return f"- {ICONS[f.severity]} **{f.severity}**: {f.message} *Fix:* {f.fix}"
