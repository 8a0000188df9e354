"""The "Compare" tab: diffusion vs GAN vs VAE on the same class and seed, their interpolations, their
training losses, and the measured comparison table. Layout and wiring only; the work is in
`diffusion_core.app.compare.compare_ui`."""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from diffusion_core.app.compare import compare_ui as cui

from diffusion_core.app.common import guard, private, view_lands_on

DIGITS = [str(d) for d in range(10)]


def build_compare_tab() -> SimpleNamespace:
    with gr.Tab("Compare", id="compare") as tab:
        gr.Markdown("The same digit and seed for the three models, timed now on this machine.")
        with gr.Row():
            digit = gr.Dropdown(DIGITS, value="7", label="Digit", elem_id="cmp-digit")
            seed = gr.Number(0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
            n = gr.Slider(1, 16, value=8, step=1, label="Samples each", elem_id="cmp-n")
            btn = gr.Button("Sample all three", variant="primary", elem_id="cmp-btn")
        with gr.Row():
            imgs = [gr.Image(label=cui.NAMES[k], format="png", interactive=False, elem_id=f"cmp-{k}", elem_classes="pixelated")
                    for k in ("dit", "gan", "vae")]
        timing = gr.Markdown(elem_id="cmp-timing")
        with gr.Accordion("Latent interpolation: the path between two seeds, decoded by each model", open=False):
            with gr.Row():
                seed_a = gr.Number(0, precision=0, label="Seed A")
                seed_b = gr.Number(1, precision=0, label="Seed B")
                frames = gr.Slider(3, 12, value=8, step=1, label="Frames")
                interp_btn = gr.Button("Interpolate", elem_id="interp-btn")
            strips = [gr.Image(label=f"{cui.NAMES[k]}", format="png", interactive=False, elem_classes="pixelated")
                      for k in ("dit", "gan", "vae")]
        with gr.Row(elem_id="cmp-losses"):  # one per row on a phone
            losses = [gr.Plot(label=f"training loss: {cui.NAMES[k]}", show_label=False, min_width=280, elem_id=f"cmp-loss-{k}")
                      for k in ("dit", "gan", "vae")]
        table = gr.Markdown(elem_id="cmp-table", elem_classes="cmp-table")

    sampling = dict(concurrency_limit=8, concurrency_id="compare")  # the DiT's part is batched with the reverse tab
    btn.click(guard(cui.side_by_side), [digit, seed, n], imgs + [timing], api_name="compare_samples", **sampling)

    def sample_after(dep, view):
        """Sample all three after `dep` when the applied view (JSON) opens this tab (links and lessons)."""
        dep = dep.then(view_lands_on("compare"), view, None, **private)
        return dep.success(guard(cui.side_by_side), [digit, seed, n], imgs + [timing], **sampling, **private)
    interp_btn.click(guard(cui.interpolations), [digit, seed_a, seed_b, frames], strips, api_name="interpolate",
                     concurrency_limit=2, concurrency_id="heavy")
    # The tab fills in when it first opens: the losses, the table, and samples (unless some are shown already).
    tab.select(guard(cui.loss_figures), None, losses, **private).then(guard(cui.comparison_table), None, table, **private).then(
        fill_once, [timing, digit, seed, n], imgs + [timing], **sampling, **private)
    with tab:  # hidden helpers inside the tab, not loose in the Tabs
        hidden = gr.Button(visible=False)
        hidden.click(guard(cui.comparison_table), None, table, api_name="comparison_table", api_visibility="public")
        hidden.click(guard(cui.loss_figures), None, losses, api_name="loss_curves", api_visibility="public")

    fields = {"digit": (digit, str), "seed": (seed, None), "samples": (n, None)}
    link_inputs = [digit, seed, n]

    def view_of(digit_value, seed_value, n_value):
        return {"tab": "compare", "digit": int(digit_value), "seed": seed_value, "samples": n_value}

    return SimpleNamespace(tab=tab, digit=digit, seed=seed, table=table, losses=losses, sample_after=sample_after,
                           fields=fields, link_inputs=link_inputs, view_of=view_of)


def fill_once(shown, label, seed, n):
    """Samples for a tab opened for the first time (nothing shown yet); otherwise leave it as it is."""
    if shown:
        return (gr.skip(),) * 4
    return guard(cui.side_by_side)(label, seed, n)
