"""Diffusion Classroom: an interactive Gradio app for learning how diffusion models work.

Layout and wiring only; all logic lives in `diffusion_core`.
"""
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from diffusion_core.schedule_makers import MAKERS  # noqa: E402
from diffusion_core.schedule_report import describe_named_schedule  # noqa: E402


def build_demo() -> gr.Blocks:
    with gr.Blocks(title="Diffusion Classroom") as demo:
        gr.Markdown("# Diffusion Classroom\nSee how diffusion models corrupt and restore images.")
        with gr.Tab("Schedules"):
            with gr.Row():
                name = gr.Dropdown(sorted(MAKERS), value="linear", label="Schedule")
                steps = gr.Number(value=1000, precision=0, label="T (steps)")
            report = gr.Markdown(describe_named_schedule("linear", 1000))
            for comp in (name, steps):
                comp.change(describe_named_schedule, [name, steps], report, api_name=False)
    return demo


if __name__ == "__main__":
    build_demo().queue().launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
