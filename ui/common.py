"""Pieces every tab shares: turning failures into messages, the private-event options, the CSS."""
from __future__ import annotations

import functools
import json
import logging

import gradio as gr

from diffusion_core.pretrained import WeightsError

log = logging.getLogger("diffusion_classroom")
# Events the UI uses but API clients should not see.
private = dict(api_visibility="private", api_name=False)
CSS = """
.readout p {font-size: 1.05rem}
.pixelated img {image-rendering: pixelated}
body.presenter .lesson, body.presenter .lesson p, body.presenter .lesson li {font-size: 1.7rem !important; line-height: 1.45}
body.presenter .lesson h2 {font-size: 2.6rem !important}
body.presenter .lesson label span {font-size: 1.4rem !important}
"""


def as_message(fn, exc: Exception) -> gr.Error:
    """The gr.Error the user sees for `exc`: its own words for bad input and broken weights."""
    if isinstance(exc, (ValueError, WeightsError)):
        return gr.Error(str(exc), print_exception=False)
    log.exception("callback %s failed", fn.__name__)
    return gr.Error(f"Something went wrong ({type(exc).__name__}); try other settings.", print_exception=False)


def view_lands_on(tab_id: str):
    """An event function of the applied view (JSON) that ends its chain, silently, unless the view opens
    `tab_id`: what is chained with `.success` after it runs only for a link or lesson that lands there
    (not because the user happened to switch tabs while the page loaded)."""

    def check(view_json):
        try:
            tab = json.loads(view_json or "{}").get("tab")
        except (ValueError, AttributeError):
            tab = None
        if tab != tab_id:
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
