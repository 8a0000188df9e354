"""The "Cost" tab: why diffusion is slow and what makes it fast, measured. The quality-for-passes frontier of
five samplers beside the GAN's and the VAE's one pass, three precisions (with a live comparison from the same
x_T), pruning, where a pass's compute goes as the tokens grow, and a training step's memory. Layout and wiring
only; the work is in `diffusion_core.app.cost.cost_ui`."""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from diffusion_core.app.common import LATEX, guard, private, view_lands_on
from diffusion_core.app.cost import cost_ui as cui
from diffusion_core.networks.precision import PRECISIONS
from diffusion_core.references import cited

DIGITS = [str(d) for d in range(10)]
INTRO = cited("""**Why diffusion is slow, and what makes it fast.** A GAN or a VAE draws a digit in one network pass.
Diffusion runs its network once per step ([@ho2020ddpm alg. 2]), twice where the step is guided ([@ho2022cfg eq. 6]),
for tens of steps:

$$\\text{cost of a digit} = \\text{network passes} \\times \\text{cost of one pass}.$$

The cost of a pass grows with the number of tokens, and in self-attention with their square
([@vaswani2017attention table 1]); training also keeps every layer's activations for the backward pass. The remedies
measured here: fewer passes with a better solver ([@lu2022dpmsolverpp alg. 2]), fewer bits per weight
([@jacob2018quantization sec. 2.1]), fewer weights ([@li2017pruning sec. 3.1]) and, for training memory, recomputing
activations instead of keeping them ([@chen2016sublinear abstract]). Each figure says the machine it was measured on,
in this small setting (one small DiT on MNIST); the live comparison runs on this server's CPU.""")


def build_cost_tab() -> SimpleNamespace:
    # The recorded figures are drawn into the page when it is built (the file changes only when re-recorded): the tab
    # shows them as it opens, with no call to the server. A link or lesson that opens the tab reads the file again.
    shown = iter(cui.opening_view())
    with gr.Tab("Cost", id="cost") as tab:
        gr.Markdown(INTRO, latex_delimiters=LATEX)
        source = gr.Markdown(next(shown), elem_id="cost-source")
        gr.Markdown("### 1. Quality for network passes")
        with gr.Row(elem_id="cost-frontier"):
            acc_plot = gr.Plot(next(shown), show_label=False, min_width=300, elem_id="cost-frontier-accuracy")
            fd_plot = gr.Plot(next(shown), show_label=False, min_width=300, elem_id="cost-frontier-frechet")
        frontier_md = gr.Markdown(next(shown), elem_id="cost-frontier-md")
        gr.Markdown("### 2. Precision: float32, bfloat16, int8")
        precision_md = gr.Markdown(next(shown), elem_id="cost-precision-table", elem_classes="cmp-table")
        gr.Markdown("**Live, on this server**: the same x_T through each precision.")
        with gr.Row():
            digit = gr.Dropdown(DIGITS, value="7", label="Digit", elem_id="cost-digit")
            seed = gr.Number(0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed (fixes x_T)", elem_id="cost-seed")
            n = gr.Slider(1, 16, value=8, step=1, label="Digits", elem_id="cost-n")
            preset = gr.Radio(["default", "fast"], value="default", label="Setting", elem_id="cost-preset")
            live_btn = gr.Button("Generate at all three precisions", variant="primary", elem_id="cost-live-btn")
        with gr.Row():
            grids = [gr.Image(label=name, format="png", interactive=False, elem_id=f"cost-live-{name}",
                              elem_classes="pixelated") for name in PRECISIONS]
        live_md = gr.Markdown(elem_id="cost-live-md", elem_classes="cmp-table")
        gr.Markdown("### 3. Pruning")
        pruning_md = gr.Markdown(next(shown), elem_id="cost-pruning-table", elem_classes="cmp-table")
        gr.Markdown("### 4. Where the compute goes")
        with gr.Row(elem_id="cost-compute"):
            flops_plot = gr.Plot(next(shown), show_label=False, min_width=300, elem_id="cost-flops")
            ms_plot = gr.Plot(next(shown), show_label=False, min_width=300, elem_id="cost-ms")
        compute_md = gr.Markdown(next(shown), elem_id="cost-compute-md", elem_classes="cmp-table")
        gr.Markdown("### 5. Training memory")
        memory_plot = gr.Plot(next(shown), show_label=False, elem_id="cost-memory")
        memory_md = gr.Markdown(next(shown), elem_id="cost-memory-md", elem_classes="cmp-table")
        hidden = gr.Button(visible=False)  # the recorded view as a named endpoint, inside the tab

    recorded = [source, acc_plot, fd_plot, frontier_md, precision_md, pruning_md, flops_plot, ms_plot, compute_md,
                memory_plot, memory_md]
    assert len(recorded) == cui.OUTPUTS and next(shown, None) is None
    hidden.click(guard(cui.recorded_view), None, recorded, api_name="cost_view", api_visibility="public")
    live_btn.click(guard(cui.live_precisions), [digit, seed, n, preset], grids + [live_md], api_name="cost_precisions",
                   concurrency_limit=2, concurrency_id="heavy")

    def applied_after(dep, view_json):
        """After a link or lesson opens this tab: show the recorded figures."""
        dep = dep.then(view_lands_on("cost"), view_json, None, **private)
        return dep.success(guard(cui.recorded_view), None, recorded, **private)

    fields = {"digit": (digit, str), "seed": (seed, None)}
    link_inputs = [digit, seed]

    def view_of(digit_value, seed_value):
        return {"tab": "cost", "digit": int(digit_value), "seed": seed_value}

    return SimpleNamespace(tab=tab, fields=fields, link_inputs=link_inputs, view_of=view_of, applied_after=applied_after)
