"""What the Class panel shows, as HTML: the invitation (code, link, QR code), presence, the poll, the
class's histogram. Every piece of text a person typed (a nickname, a free question, its choices) is
escaped here and never becomes markup; the numbers in the markup are computed.
"""
from __future__ import annotations

import html
import io
from urllib.parse import quote

from diffusion_core.app.wording import plural
from diffusion_core.classroom.polls import Poll, Tally, number_text
from diffusion_core.classroom.rooms import RoomState

BAR_COLOUR = "#6d7fd1"
RIGHT_COLOUR = "#3a9a5b"


def note_html(text: str, warn: bool = False) -> str:
    """A line of the panel (plain text, escaped)."""
    if not text:
        return ""
    style = "background:#fff4e5;border:1px solid #f0b36a" if warn else "background:#eef5ff;border:1px solid #b9cdf0"
    return f'<div class="class-note" role="status" style="{style};padding:6px 12px;border-radius:6px">{html.escape(text)}</div>'


def join_link(page_url: str | None, code: str) -> str:
    """The address students open: the page's own (its query dropped) with `?room=<code>`."""
    base = (page_url or "").split("?", 1)[0].split("#", 1)[0]
    return f"{base}?room={quote(code)}"


def qr_image(link: str):
    """The link as a QR code (a PIL image) for the projector, drawn by `segno`."""
    import segno
    from PIL import Image

    buf = io.BytesIO()
    segno.make(link, error="m").save(buf, kind="png", scale=6, border=2)
    buf.seek(0)
    return Image.open(buf).convert("L")


def invite_html(code: str, link: str) -> str:
    return ('<div class="class-invite"><div>Class code</div>'
            f'<div id="class-code-shown" style="font-size:2.2rem;font-weight:bold;letter-spacing:0.12em">{html.escape(code)}</div>'
            f'<div>or open <code id="class-link" style="overflow-wrap:anywhere">{html.escape(link)}</code></div></div>')


def presence_html(state: RoomState) -> str:
    """The teacher's counts: students here, following, answered; nicknames of those here (escaped)."""
    parts = [f"{plural(state.present, 'student')} here"]
    if state.joined != state.present:
        parts[0] += f" ({state.joined} joined)"
    parts.append(f"{state.followers} following")
    if state.poll is not None:
        parts.append(f"{state.answered} answered")
    names = ", ".join(state.names)
    line = html.escape(" · ".join(parts))
    who = f'<div class="class-names">Here: {html.escape(names)}</div>' if names else ""
    return f'<div id="class-counts" style="font-size:1.15rem">{line}</div>{who}'


def answer_text(poll: Poll, value: float) -> str:
    if poll.numeric:
        return number_text(value, poll.whole)
    k = int(value)
    return poll.choices[k] if 0 <= k < len(poll.choices) else ""


def poll_html(state: RoomState, after: str) -> str:
    """The current question (escaped), what Reveal will show, and this student's answer."""
    if state.poll is None:
        return ""
    poll = state.poll
    kind = f" (a number from {poll.range_text()})" if poll.numeric else ""
    lines = [f'<div class="class-question" style="font-size:1.15rem;font-weight:600">{html.escape(poll.question)}'
             f"{html.escape(kind)}</div>", f"<div>{html.escape(after)}</div>"]
    if state.my_answer is not None:
        mine = answer_text(poll, state.my_answer)
        more = "" if state.revealed else " You can change it until Reveal."
        lines.append(f'<div id="class-mine">Your answer: {html.escape(mine)}.{html.escape(more)}</div>')
    elif state.revealed and not state.teacher:
        lines.append("<div>The answers are revealed.</div>")
    return "".join(lines)


def histogram_html(result: Tally | None, right: int | None = None) -> str:
    """The class's answers as horizontal bars, one per choice or bin; the lesson's answer marked ✓."""
    if result is None:
        return ""
    top = max(result.counts, default=0) or 1
    rows = []
    for k, (label, n) in enumerate(zip(result.labels, result.counts)):
        share = 0 if not result.total else round(100 * n / result.total)
        colour, mark = (RIGHT_COLOUR, " ✓") if k == right else (BAR_COLOUR, "")
        rows.append('<div class="class-bar" style="display:flex;align-items:center;gap:8px;margin:3px 0">'
                    f'<span class="class-bar-label" style="flex:0 0 16em;overflow-wrap:anywhere">{html.escape(label)}{mark}</span>'
                    f'<span style="flex:1"><span style="display:block;height:18px;width:{100 * n / top:.1f}%;'
                    f'background:{colour};border-radius:3px;min-width:2px"></span></span>'
                    f'<span class="class-bar-count" style="flex:0 0 5.5em">{n} ({share}%)</span></div>')
    total = f"{plural(result.total, 'answer')} from the class"
    return f'<div id="class-histogram"><div style="font-weight:600">{html.escape(total)}</div>{"".join(rows)}</div>'
