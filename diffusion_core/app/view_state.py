"""A view of the app as a small dict (tab and that tab's settings) and its URL query.

`to_query(view)` makes the shareable link's query string; `parse_query(params)` reads one back,
validating every value against the fixed table `FIELDS` (nothing from the URL is evaluated), and returns
the view plus plain-language notes on anything it ignored (values shortened; the page shows them as
text, never as markup). The lessons of the Learn tab use the same dicts to set the other tabs' controls.

A link carries everything its tab shows: on the forward tab the image, the schedule (a custom one as its
betas, packed), t, the seed, the mode and its alpha, the schedules compared and the strip's settings; on
the reverse tab every sampling setting; on the compare tab the digit, seed and count; on the Learn tab
the lesson; on the score lab its data, schedule, t and sampling settings; on the cost tab the live comparison's digit
and seed.
"""
from __future__ import annotations

import base64
import re
import zlib
from urllib.parse import urlencode

import numpy as np

from diffusion_core.data.images_io import image_choices
from diffusion_core.app.learn.lessons import LESSONS
from diffusion_core.data.names_corpus import encode
from diffusion_core.data.points2d import PRESETS
from diffusion_core.maths.schedule_makers import MAKERS
from diffusion_core.maths.schedules import MAX_TIMESTEPS, PREDICTION_TYPES
from diffusion_core.settings import ALIASES, LIMITS

TABS = ("forward", "reverse", "compare", "learn", "score", "race", "text", "cost")
MODES = ("closed", "chain")
STRIP_SPACINGS = ("t", "log_snr")
MAX_LINK_BETAS = 4000  # custom schedules up to this T travel in a link
LINK_BETAS_CHARS = 1500  # at most this many characters of packed betas: a whole link stays under 2 KB
PRECISIONS = (7, 6, 5, 4, 3)  # log-beta rounded to 1e-k: tried from the finest until the betas fit
# name -> (kind, allowed values or (low, high)). The ranges are the controls' own.
FIELDS = {
    "tab": ("choice", TABS),
    # forward tab
    "image": ("choice", None),  # image_choices(), read when checked
    "schedule": ("choice", tuple(sorted(MAKERS))),
    "T": ("int", (1, MAX_TIMESTEPS)),
    "rescale": ("bool", None),
    "betas": ("betas", None),  # a custom schedule, packed by `pack_betas`
    "custom_name": ("text", None),  # its name in the legend (plain text, letters, digits and a few marks)
    "prediction": ("choice", PREDICTION_TYPES),  # what a model on it predicts (a pasted diffusers config's)
    "t": ("int", (0, MAX_TIMESTEPS - 1)),
    "mode": ("choice", MODES),
    "alpha": ("float", (0.9, 0.9999)),
    "compare": ("list", tuple(sorted(MAKERS))),
    "strip": ("choice", STRIP_SPACINGS),
    "frames": ("int", (4, 12)),
    "same_scale": ("bool", None),
    "log_beta": ("bool", None),
    # reverse tab: its sampling settings, as `settings.LIMITS` allows them
    **{name: (lim.kind, lim.choices if lim.kind == "choice" else (lim.low, lim.high))
       for name, lim in LIMITS.items() if name != "seed"},
    "sdedit": ("bool", None),  # open "From a real digit" and run it (a lesson's view)
    "replay": ("bool", None),  # the race or the score lab: replay its recorded run (a lesson's view)
    # compare tab (and the cost tab's live comparison: its digit and seed)
    "digit": ("int", (0, 9)),
    "samples": ("int", (1, 16)),
    # score lab (also schedule, T, t, sampler, steps, eta, guidance above)
    "points": ("choice", tuple(PRESETS)),
    "data_class": ("int", (-1, 7)),  # -1: all the data (unconditional)
    # text tab
    "word": ("name", None),  # letters a-z, at most 16 (checked by names_corpus.encode)
    "rate": ("float", (0.0, 1.0)),
    "text_steps": ("int", (1, 64)),
    # every tab but Learn: its own seed; Learn: the lesson
    "seed": ("int", (0, 2**31 - 1)),
    "lesson": ("int", (1, len(LESSONS))),  # numbered as the lessons' titles are: ?lesson=4 is "4. The DiT and attention"
}
MAX_ECHO = 40  # characters of a link's value repeated back in a note
SAFE_TEXT = re.compile(r"[\w .:()\-]{1,40}")
MAX_NOTES = 5


def shorten(text, limit: int = MAX_ECHO) -> str:
    """A link's value as a note repeats it: at most `limit` characters (plain text; the page escapes it)."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def _unb64(text: str, limit: int) -> bytes:
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    out = zlib.decompressobj()
    raw = out.decompress(data, limit + 1)  # a small link cannot inflate into gigabytes
    if len(raw) > limit or out.unconsumed_tail:
        raise ValueError("is too long")
    return raw


def _varints(values) -> bytes:
    """Signed integers as zigzag varints (small magnitudes take one byte)."""
    out = bytearray()
    for v in values:
        v = 2 * int(v) if v >= 0 else -2 * int(v) - 1
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
    return bytes(out)


def _from_varints(raw: bytes) -> list[int]:
    values, v, shift = [], 0, 0
    for byte in raw:
        v |= (byte & 0x7F) << shift
        shift += 7
        if shift > 70:
            raise ValueError("is not a packed schedule")
        if byte < 0x80:
            values.append(v // 2 if v % 2 == 0 else -(v + 1) // 2)
            v, shift = 0, 0
    if shift:
        raise ValueError("is not a packed schedule")
    return values


def pack_betas(betas) -> str | None:
    """Betas as a short URL-safe string: exact (zlib-compressed float64, base64url) when that fits in
    LINK_BETAS_CHARS; otherwise "~<order><k>" and log(beta) rounded to 1e-k (a relative error of at most
    1e-k / 2 in each beta), coded as first or second differences (a smooth schedule's are tiny) in zigzag
    varints, compressed; the finest k that fits. None when even the coarsest does not fit."""
    b = np.asarray(betas, dtype="<f8")
    exact = _b64(b.tobytes())
    if len(exact) <= LINK_BETAS_CHARS:
        return exact
    logs = np.log(b)
    for k in PRECISIONS:
        q = np.round(logs * 10**k).astype(np.int64)
        codes = [f"~{order}{k}" + _b64(_varints(np.diff(q, n=order, prepend=[0] * order))) for order in (1, 2)]
        best = min(codes, key=len)
        if len(best) <= LINK_BETAS_CHARS:
            return best
    return None


def unpack_betas(text: str) -> list[float]:
    """The inverse of `pack_betas`, refusing anything that is not a short list of finite numbers."""
    try:
        if text.startswith("~"):
            order, k = int(text[1]), int(text[2])
            if order not in (1, 2) or k not in PRECISIONS:
                raise ValueError
            q = np.asarray(_from_varints(_unb64(text[3:], 10 * MAX_LINK_BETAS)), dtype=np.int64)
            for _ in range(order):
                q = np.cumsum(q)
            betas = np.exp(q / 10**k)
        else:
            raw = _unb64(text, 8 * MAX_LINK_BETAS)
            if len(raw) % 8:
                raise ValueError
            betas = np.frombuffer(raw, dtype="<f8")
    except (ValueError, IndexError, OverflowError, zlib.error):
        raise ValueError("is not a packed schedule") from None
    if not betas.size or betas.size > MAX_LINK_BETAS:
        raise ValueError("is not a packed schedule")
    if not np.all(np.isfinite(betas)):
        raise ValueError("holds values that are not numbers")
    return betas.tolist()


def _read(name: str, raw):
    kind, allowed = FIELDS[name]
    raw = str(raw).strip()
    shown = f"'{name}={shorten(raw)}'"
    if kind == "choice":
        allowed = image_choices() if name == "image" else allowed
        if raw not in allowed:
            raise ValueError(f"{shown} is not one of {shorten(', '.join(map(str, allowed)), 120)}")
        return raw
    if kind == "name":
        try:
            encode(raw)
        except ValueError:
            raise ValueError(f"{shown} is not a name of letters a-z") from None
        return raw.strip().lower()
    if kind == "text":
        if not SAFE_TEXT.fullmatch(raw):
            raise ValueError(f"{shown} is not a short plain name (letters, digits, spaces and - _ . : ( ) only)")
        return raw
    if kind == "bool":
        if raw.lower() not in ("0", "1", "true", "false"):
            raise ValueError(f"{shown} is not 0 or 1")
        return raw.lower() in ("1", "true")
    if kind == "list":
        items = [s.strip() for s in raw.split(",") if s.strip()]
        if len(items) > 2 or any(s not in allowed for s in items):
            raise ValueError(f"{shown} is not up to two of {shorten(', '.join(allowed), 120)}")
        return items
    if kind == "betas":
        try:
            return unpack_betas(raw)
        except ValueError as exc:
            raise ValueError(f"{shown} {exc}") from None
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
    the value shortened, at most MAX_NOTES of them). Old names are read as the new (`settings.ALIASES`:
    `guide_from` is `guidance_min_t`)."""
    view, notes = {}, []
    for name, raw in dict(params).items():
        name = ALIASES.get(name, name)
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


def _text(name: str, value) -> str:
    kind = FIELDS[name][0]
    if kind == "bool":
        return "1" if value else "0"
    if kind == "list":
        return ",".join(value)
    if kind == "betas":
        return pack_betas(value) or ""
    return str(value)


def to_query(view: dict) -> str:
    """The query string (without '?') of a view, keys in FIELDS order, invalid values left out."""
    raw = {k: _text(k, v) for k, v in view.items() if v is not None and k in FIELDS}
    good, _ = parse_query(raw)
    return urlencode([(k, raw[k]) for k in FIELDS if k in good], safe=",")


def share_link(page_url: str | None, view: dict) -> str:
    """The page's address (its own query dropped) with the view's query; relative when unknown."""
    base = (page_url or "").split("?", 1)[0].split("#", 1)[0]
    return f"{base}?{to_query(view)}"
