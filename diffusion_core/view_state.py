"""A view of the app as a small dict (tab, schedule, t, seed, sampler, class, ...) and its URL query.

`to_query(view)` makes the shareable link's query string; `parse_query(params)` reads one back,
validating every value against a fixed whitelist (nothing from the URL is evaluated), and returns
the view plus a list of plain-language notes on anything it ignored. The lessons of the Learn tab
use the same dicts to set the other tabs' controls.
"""
from __future__ import annotations

from urllib.parse import urlencode

from .reverse_lab import LABEL_CHOICES
from .samplers import SAMPLERS, SPACINGS
from .schedule_makers import MAKERS

TABS = ("forward", "reverse", "compare", "learn")
# name -> (kind, allowed values or (low, high))
FIELDS = {
    "tab": ("choice", TABS),
    "schedule": ("choice", tuple(sorted(MAKERS))),
    "T": ("int", (2, 10000)),
    "t": ("int", (0, 10000)),
    "seed": ("int", (0, 2**31 - 1)),
    "sampler": ("choice", SAMPLERS),
    "label": ("choice", tuple(LABEL_CHOICES)),
    "steps": ("int", (1, 250)),
    "guidance": ("float", (0.0, 12.0)),
    "guide_from": ("int", (0, 1000)),  # the reverse tab's lowest guided t
    "spacing": ("choice", SPACINGS),
    "images": ("int", (1, 16)),
    "digit": ("int", (0, 9)),  # the compare tab's class
}


MAX_ECHO = 40  # characters of a link's value repeated back in a note
MAX_NOTES = 5


def shorten(text, limit: int = MAX_ECHO) -> str:
    """A link's value as a note repeats it: at most `limit` characters (plain text; the page escapes it)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read(name: str, raw: str):
    kind, allowed = FIELDS[name]
    raw = str(raw).strip()
    shown = f"'{name}={shorten(raw)}'"
    if kind == "choice":
        if raw not in allowed:
            raise ValueError(f"{shown} is not one of {shorten(', '.join(map(str, allowed)), 120)}")
        return raw
    try:
        if len(raw) > 30:
            raise ValueError
        value = int(raw) if kind == "int" else float(raw)
    except ValueError:
        raise ValueError(f"{shown} is not a number") from None
    lo, hi = allowed
    if not lo <= value <= hi or value != value:
        raise ValueError(f"{shown} is outside {lo}..{hi}")
    return value


def parse_query(params) -> tuple[dict, list[str]]:
    """Mapping of query parameters -> (view dict of the known, valid ones; notes on the rest, each with
    the value shortened, at most MAX_NOTES of them)."""
    view, notes = {}, []
    for name, raw in dict(params).items():
        if name not in FIELDS:
            if not name.startswith("__"):  # Gradio's own parameters
                notes.append(f"unknown setting '{shorten(name)}' ignored")
            continue
        try:
            view[name] = _read(name, raw)
        except ValueError as exc:
            notes.append(f"{exc}; ignored")
    if len(notes) > MAX_NOTES:
        notes = notes[:MAX_NOTES] + [f"and {len(notes) - MAX_NOTES} more"]
    return view, notes


def to_query(view: dict) -> str:
    """The query string (without '?') of a view, keys in FIELDS order, invalid values left out."""
    good, _ = parse_query({k: v for k, v in view.items() if v is not None and k in FIELDS})
    return urlencode([(k, good[k]) for k in FIELDS if k in good])


def share_link(page_url: str | None, view: dict) -> str:
    """The page's address (its own query dropped) with the view's query; relative when unknown."""
    base = (page_url or "").split("?", 1)[0].split("#", 1)[0]
    return f"{base}?{to_query(view)}"


def resolve(view: dict) -> dict:
    """The control values a view sets: its own fields, plus the forward tab's schedule spec (JSON) when
    it names a schedule or T, and t clamped into that schedule."""
    from .forward_ui import named_spec

    out = dict(view)
    if "schedule" in view or "T" in view:
        T = int(view.get("T", 1000))
        out["spec"] = named_spec(view.get("schedule", "cosine"), T, False)
        out["T"] = T
        if "t" in out:
            out["t"] = min(int(out["t"]), T)
    return out
