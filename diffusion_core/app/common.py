"""Pieces every tab shares: turning failures into messages, the private-event options, the CSS."""
from __future__ import annotations

import functools
import json
import logging

import gradio as gr

from diffusion_core.app.traffic import TRAININGS
from diffusion_core.networks.pretrained import WeightsError

log = logging.getLogger("diffusion_classroom")
# Markdown with inline ($...$) and display ($$...$$) equations.
LATEX = [{"left": "$$", "right": "$$", "display": True}, {"left": "$", "right": "$", "display": False}]
# Events the UI uses but API clients should not see.
private = dict(api_visibility="private", api_name=False)
CSS = """
.readout p {font-size: 1.05rem}
.pixelated img {image-rendering: pixelated}
/* A picture's label and its buttons sit in a band above it, not over its top row. */
.block:has(> label.float) > .image-container {padding-top: 30px; box-sizing: border-box}
.link-note {padding: 8px 12px; border-radius: 6px; background: #fff4e5; border: 1px solid #f0b36a; overflow-wrap: anywhere}
#lesson-banner {background: #eef5ff; border-radius: 6px; padding: 2px 12px}
/* Notices take no room until they have something to say. */
#url-note:not(:has(.link-note)), #startup-notice:not(:has(p)), #lesson-banner-row:not(:has(#lesson-banner p)) {display: none}
/* Presenter mode: the whole page larger (text, equations, buttons, every tab); remembered by the browser. */
body.presenter .gradio-container {zoom: 1.3}
body.presenter .lesson p, body.presenter .lesson li {line-height: 1.45}
/* Wide equations and tables scroll inside their box instead of being cut off or broken mid-word. */
.katex-display {overflow-x: auto; overflow-y: hidden; padding-bottom: 2px}
.cmp-table table {display: block; overflow-x: auto}
.cmp-table th, .cmp-table td {word-break: normal; overflow-wrap: normal; hyphens: none}
.cmp-table th {white-space: nowrap}
/* Phones: every tab stays in the bar (smaller labels); a picture and the slider that moves it on one screen. The
   forward tab's two columns are flattened into one list (display: contents) whose first items are x_t and the
   sliders and readout that move it. Multi-panel plots are one figure per panel, so they wrap one per row. */
@media (max-width: 640px) {
  #tabs button[role="tab"] {padding: 6px 8px; font-size: 13px; min-width: 0}
  .katex-display {font-size: 0.82em}
  #fwd-main {flex-direction: column; flex-wrap: nowrap}
  #fwd-main > .fwd-col, #fwd-images, #fwd-main .form:has(#t-slider) {display: contents}
  #xt-image {order: -4} #t-slider {order: -3} #ab-slider {order: -2} #readout {order: -1}
  #xt-image, #x0-image, #noise-image {width: 100%}
}
"""


def as_message(fn, exc: Exception) -> gr.Error:
    """The gr.Error the user sees for `exc`: its own words for bad input and broken weights."""
    if isinstance(exc, (ValueError, WeightsError)):
        return gr.Error(str(exc), print_exception=False)
    log.exception("callback %s failed", fn.__name__)
    return gr.Error(f"Something went wrong ({type(exc).__name__}); try other settings.", print_exception=False)


def view_lands_on(tab_id: str, needs: str | None = None):
    """An event function of the applied view (JSON) that ends its chain, silently, unless the view opens
    `tab_id` (and sets the field `needs` true): what is chained with `.success` after it runs only for a
    link or lesson that lands there (not because the user happened to switch tabs while the page loaded)."""

    def check(view_json):
        try:
            view = json.loads(view_json or "{}")
            tab, wanted = view.get("tab"), bool(view.get(needs)) if needs else True
        except (ValueError, AttributeError):
            tab, wanted = None, False
        if tab != tab_id or not wanted:
            raise gr.Error(f"the view is not on the {tab_id} tab", visible=False, print_exception=False)

    check.__name__ = f"view_lands_on_{tab_id}"
    return check


def guard(fn):
    """Turn any failure into a short message in the UI: never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args):
        try:
            return fn(*args)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001 - the user sees a message, the log keeps the rest
            raise as_message(fn, exc) from None

    return wrapper


def guard_gen(fn):
    """`guard` for generator callbacks (streamed updates); closing the generator stops `fn`."""

    @functools.wraps(fn)
    def wrapper(*args):
        try:
            yield from fn(*args)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001
            raise as_message(fn, exc) from None

    return wrapper


def one_training(request, frames):
    """A live training's frames while it is its session's one training: a newer training of the same session
    (in any tab, `traffic.TRAININGS`) ends this one at its next frame, and what it learned is kept."""
    with TRAININGS.claim(getattr(request, "session_hash", None)) as run:
        for frame in frames:
            if run.replaced:
                return
            yield frame


def handle_adapters(store):
    """Handlers that take and return a session's object (e.g. the score lab's `Lab`) as event functions over
    its handle in `store` (a `TrajectoryStore`; the session's gr.State holds the handle):
    `stored` keeps a new lab and returns its handle; `updated` passes the handle's lab and keeps what comes
    back; `reading` only reads; `updated_gen` is `updated` for a stream. Each turns failures into messages."""
    def keep(handle, out):
        lab = out[0]
        return (None if lab is None else handle if store.get(handle) is lab else store.put(lab), *out[1:])

    def stored(fn):
        return guard(functools.wraps(fn)(lambda *args: keep(None, fn(*args))))

    def updated(fn):
        return guard(functools.wraps(fn)(lambda handle, *args: keep(handle, fn(store.get(handle), *args))))

    def reading(fn):
        return guard(functools.wraps(fn)(lambda handle, *args: fn(store.get(handle), *args)))

    def updated_gen(fn):
        def stream(handle, *args):
            for out in fn(store.get(handle), *args):
                yield keep(handle, out)
        return guard_gen(functools.wraps(fn)(stream))
    return stored, updated, reading, updated_gen
