"""The tutor tools (`diffusion_core.app.tutor_tools`) as named endpoints, and the MCP server's tool list.
Gradio's MCP server turns one output per tool into content (an image, or text), so each tool has one.

`python app.py` serves Gradio's MCP server (`/gradio_api/mcp/`, streamable HTTP; `/gradio_api/mcp/sse`):
an LLM tutor or agent connected to it sees exactly these five tools, with their docstrings and typed
arguments; the app's other endpoints stay for the page and gradio_client, hidden from the tool list.
"""
from __future__ import annotations

import gradio as gr

from diffusion_core.app import tutor_tools as tt
from diffusion_core.app.reverse.reverse_ui import default_settings
from diffusion_core.data.images_io import image_choices
from diffusion_core.maths.schedule_makers import MAKERS
from diffusion_core.maths.schedules import MAX_TIMESTEPS
from diffusion_core.settings import LABELS, LIMITS

from diffusion_core.app.common import guard

SCHEDULES = sorted(MAKERS)


def add_tools() -> None:
    """Hidden components and one event per tool (inside the current Blocks)."""
    api = dict(api_visibility="public")
    with gr.Column(visible=False):
        run = gr.Button(visible=False)
        schedule = gr.Dropdown(SCHEDULES, value="cosine", label="schedule")
        T = gr.Number(1000, precision=0, minimum=1, maximum=MAX_TIMESTEPS, label="T")
        rescale = gr.Checkbox(False, label="rescale_zero_snr")
        md = gr.Markdown()
        run.click(guard(tt.check_noise_schedule), [schedule, T, rescale], md, api_name="check_noise_schedule", **api)

        image = gr.Dropdown(image_choices() or ["Photo: coffee"], label="image")
        t = gr.Number(500, precision=0, minimum=0, maximum=MAX_TIMESTEPS, label="t")
        seed = gr.Number(0, precision=0, minimum=0, maximum=2**31 - 1, label="seed")
        picture = gr.Image(format="png", label="x_t")
        run.click(guard(tt.noise_image), [image, schedule, T, t, seed], picture, api_name="noise_image", **api)

        digit = gr.Dropdown(list(LABELS), value="mixed 0-9", label="digit")
        d = default_settings()
        images, steps, guidance = (gr.Number(value, precision=0 if LIMITS[name].kind == "int" else None, label=name,
                                             minimum=LIMITS[name].low, maximum=LIMITS[name].high)
                                   for name, value in (("images", 16), ("steps", d["steps"]), ("guidance", d["guidance"])))
        grid = gr.Image(format="png", label="digits")
        run.click(guard(tt.generate_digits), [digit, images, seed, steps, guidance], grid,
                  api_name="generate_digits", concurrency_limit=8, concurrency_id="compare", **api)

        one_digit = gr.Number(7, precision=0, minimum=0, maximum=9, label="digit")
        n = gr.Number(8, precision=0, minimum=1, maximum=16, label="n")
        three = gr.Image(format="png", label="diffusion | GAN | VAE")
        run.click(guard(tt.compare_models), [one_digit, seed, n], three, api_name="compare_models",
                  concurrency_limit=8, concurrency_id="compare", **api)
        table = gr.Markdown()
        run.click(guard(tt.measured_comparison), None, table, api_name="measured_comparison", **api)


def only_tutor_tools_over_mcp(demo: gr.Blocks) -> None:
    """Hide every endpoint but the tutor tools from the MCP tool list (Gradio lists a function as a tool
    unless it is marked as something else)."""
    names = {f.__name__ for f in tt.TOOLS}
    for block_fn in demo.fns.values():
        if block_fn.fn is not None and getattr(block_fn.fn, "__name__", None) not in names:
            try:
                block_fn.fn._mcp_type = "hidden"
            except AttributeError:  # a builtin or bound method: not listed anyway
                pass
