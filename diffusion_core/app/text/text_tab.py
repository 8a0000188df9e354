"""The "Text" tab: masked diffusion on names with the image model's Transformer blocks: the forward
process (a mask-rate slider linked to alpha_t) and the reverse process step by step, with its
autoregressive twin beside it. Layout and wiring only; the work is in `diffusion_core.app.text.text_ui`."""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from diffusion_core.app.common import LATEX, guard, guard_gen, private, view_lands_on
from diffusion_core.app.text import text_ui as tui
from diffusion_core.data.names_corpus import all_names, split
from diffusion_core.pipelines.text_generation import RULES
from diffusion_core.references import cited

INTRO = cited(f"""Diffusion on text, with the same Transformer blocks that denoise the digits. The forward process does not add
Gaussian noise: it **masks** characters, each kept with probability $\\alpha_t$ (absorbing-state diffusion,
[@sahoo2024mdlm sec. 3.2.1]). The network sees the masked name and predicts every hidden character at once; the reverse
process starts from all masks and unmasks a few characters per step. Both models were trained on the
{len(split("train")):,} surnames of the training split ({len(all_names()):,} US surnames in all; the rest are for
choosing checkpoints and for scoring).""")


def build_text_tab() -> SimpleNamespace:
    with gr.Tab("Text", id="text") as tab:
        gr.Markdown(INTRO, latex_delimiters=LATEX)
        gr.Markdown("**Forward process**: type a name, then drag the mask rate")
        with gr.Row():
            word = gr.Dropdown(list(tui.EXAMPLES), value="smith", allow_custom_value=True, label="Name (a-z)", elem_id="text-word")
            rate = gr.Slider(0, 1, value=0.5, step=0.01, label="mask rate t", elem_id="text-rate")
            alpha = gr.Slider(0, 1, value=0.5, step=0.01, label="α_t (share kept)", elem_id="text-alpha")
            fseed = gr.Number(0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed (the masking order)")
        masked = gr.HTML(elem_id="text-masked")
        fmd = gr.Markdown(elem_id="text-forward-md")
        gr.Markdown("**Reverse process**: from all masks to names, step by step")
        with gr.Row():
            n = gr.Slider(1, 16, value=8, step=1, label="Names", elem_id="text-n")
            steps = gr.Slider(1, 64, value=16, step=1, label="Steps", elem_id="text-steps")
            rule = gr.Radio(list(RULES), value="confident", label="Which positions to unmask first", elem_id="text-rule")
            seed = gr.Number(0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed")
            pattern = gr.Textbox("", label="Infill: pin letters, '_' to fill; the name ends with the pattern (add * to let "
                                 "it run on): sm__h, sm_th*", elem_id="text-pattern")
            gen_btn = gr.Button("Generate", variant="primary", elem_id="text-generate")
        status = gr.Markdown(elem_id="text-status")
        with gr.Row():
            names = gr.HTML(elem_id="text-names")
            cands = gr.HTML(elem_id="text-candidates")

    fwd_in, fwd_out = [word, rate, fseed], [masked, fmd, alpha]
    for c in (word, fseed):
        c.change(guard(tui.masked_view), fwd_in, fwd_out, **private)
    rate.input(guard(tui.masked_view), fwd_in, fwd_out, api_name="text_forward", trigger_mode="always_last")
    alpha.input(tui.rate_from_alpha, alpha, rate, **private).then(guard(tui.masked_view), fwd_in, fwd_out, **private)
    gen_btn.click(guard_gen(tui.generate_text), [n, steps, rule, seed, pattern], [names, cands, status], api_name="text_generate",
                  concurrency_limit=4, concurrency_id="text")
    tab.select(guard(tui.masked_view), fwd_in, fwd_out, **private)

    fields = {"word": (word, None), "rate": (rate, None), "seed": (seed, None), "text_steps": (steps, None)}
    link_inputs = [word, rate, seed, steps]

    def view_of(word_v, rate_v, seed_v, steps_v):
        return {"tab": "text", "word": word_v, "rate": rate_v, "seed": seed_v, "text_steps": steps_v}

    def applied_after(dep, view_json):
        """After a link or lesson opens this tab: draw its masked name."""
        dep = dep.then(view_lands_on("text"), view_json, None, **private)
        return dep.success(guard(tui.masked_view), fwd_in, fwd_out, **private)

    return SimpleNamespace(tab=tab, fields=fields, link_inputs=link_inputs, view_of=view_of, applied_after=applied_after)
