"""The "Reverse process" tab: the DiT denoising step by step (streamed), a scrubber over the recorded
steps, inside the Transformer (attention, adaLN-Zero), and SDEdit from a real digit. Layout and
wiring only; the work is in `diffusion_core.reverse_ui`."""
from __future__ import annotations

import functools
import time
from types import SimpleNamespace

import gradio as gr

from diffusion_core import reverse_lab as rl
from diffusion_core import reverse_ui as rui
from diffusion_core.images_io import digit_choices
from diffusion_core.runtime import on_sampling_thread
from diffusion_core.samplers import SAMPLERS, SPACINGS

from .common import guard, guard_gen, private, view_lands_on


def slider_update(traj):
    return gr.update(**rui.scrubber(traj))


def quiet(fn, n_outputs: int):
    """`guard(fn)` that leaves its outputs alone while there is no trajectory yet (first argument None)."""
    guarded = guard(fn)

    @functools.wraps(fn)
    def wrapper(traj, *args):
        if traj is None:
            return gr.skip() if n_outputs == 1 else (gr.skip(),) * n_outputs
        return guarded(traj, *args)

    return wrapper


MIN_FRAME_S = 0.25  # stream at most ~4 frames a second: on 2 cores every frame sent slows the sampling


def generate(*args):
    """`rui.generate`, thinned for the wire: the first frame (x_T) at once, then at most one frame per
    MIN_FRAME_S, and the last; the trajectory (session state) is sent only with the first and the last.
    The steps run on the one sampling thread (`runtime.on_sampling_thread`)."""
    last = 0.0
    for xt, x0, status, traj in on_sampling_thread(rui.generate(*args)):
        now = time.perf_counter()
        if traj.done or not traj.t:
            yield xt, x0, status, traj
            last = now
        elif now - last >= MIN_FRAME_S:
            yield xt, x0, status, gr.skip()
            last = now


def patch_clicked(evt: gr.SelectData):
    return rui.patch_from_click(*evt.index)


def build() -> SimpleNamespace:
    """Lay out the tab and wire its events; returns its controls (the shared-link and lesson views set them)."""
    with gr.Tab("Reverse process", id="reverse") as tab:
        traj = gr.State(None)
        model_md = gr.Markdown(elem_id="model-status")
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                label = gr.Dropdown(rl.LABEL_CHOICES, value="mixed 0-9", label="Digit class", elem_id="rev-label")
                d = rui.default_settings()
                with gr.Row():
                    guidance = gr.Slider(0, 12, value=d["guidance"], step=0.5, label="Guidance scale (1 = conditional only, 0 = unconditional)")
                    guide_from = gr.Slider(0, 1000, value=d["guidance_min_t"], step=10, elem_id="rev-guide-from",
                                           label="Guide only where t ≥ (0 = every step; below it: conditional only)")
                with gr.Row():
                    sampler = gr.Dropdown(list(SAMPLERS), value=d["sampler"], label="Sampler", elem_id="rev-sampler")
                    eta = gr.Slider(0, 1, value=d["eta"], step=0.1, label="eta (DDIM: 0 deterministic, 1 ≈ DDPM)")
                with gr.Row():
                    steps = gr.Slider(1, 250, value=d["steps"], step=1, label="Steps", elem_id="rev-steps")
                    spacing = gr.Radio(list(SPACINGS), value=d["spacing"], label="Timestep spacing")
                with gr.Row():
                    seed = gr.Number(0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed (fixes x_T)")
                    n_images = gr.Slider(1, rl.MAX_IMAGES, value=16, step=1, label="Images")
                with gr.Row():
                    gen_btn = gr.Button("Generate", variant="primary", elem_id="generate")
                    stop_btn = gr.Button("Stop")
                status = gr.Markdown(elem_id="rev-status")
            with gr.Column(scale=3):
                with gr.Row():
                    live_xt = gr.Image(label="x_t, live", format="png", interactive=False, elem_id="live-xt", elem_classes="pixelated")
                    live_x0 = gr.Image(label="predicted x̂₀, live", format="png", interactive=False, elem_id="live-x0", elem_classes="pixelated")
        with gr.Accordion("Step through the recorded run", open=True):
            with gr.Row():
                step = gr.Slider(1, 20, value=20, step=1, label="Step", elem_id="step-slider", scale=4)
                play_btn = gr.Button("▶ Play", scale=1)
                gif_btn = gr.Button("Export GIF", scale=1)
            step_md = gr.Markdown(elem_id="step-caption")
            with gr.Row():
                s_xt = gr.Image(label="x_t", format="png", interactive=False, elem_classes="pixelated")
                s_eps = gr.Image(label="predicted noise ε̂", format="png", interactive=False, elem_classes="pixelated")
                s_x0 = gr.Image(label="predicted x̂₀", format="png", interactive=False, elem_id="step-x0", elem_classes="pixelated")
                s_up = gr.Image(label="update (red +, blue −)", format="png", interactive=False, elem_classes="pixelated")
            moments_plot = gr.Plot(label="x_t's mean and std against the schedule")
            gif_file = gr.File(label="trajectory GIF", interactive=False)
        with gr.Accordion("Inside the Transformer: attention and adaLN-Zero at the chosen step", open=True):
            gr.Markdown("The DiT cuts the 28x28 digit into 7x7 patches of 4x4 pixels (the grid). **Click a patch** "
                        "to see where it attends; the green square is the patch asking.")
            with gr.Row():
                image_idx = gr.Slider(1, rl.MAX_IMAGES, value=1, step=1, label="Image")
                depth, heads = rui.model_shape()
                layer = gr.Slider(1, depth, value=1, step=1, label="Layer")
                head = gr.Slider(1, heads, value=1, step=1, label="Head")
                patch = gr.Number(rui.CENTER_PATCH, precision=0, visible=False, label="patch")
            with gr.Row():
                attn_img = gr.Image(label="attention of the chosen patch (layer, head)", format="png", interactive=False,
                                    elem_id="attn-overlay", elem_classes="pixelated")
                heads_img = gr.Image(label="every layer (rows, 1 at top) x head (columns)", format="png",
                                     interactive=False, elem_id="attn-heads", elem_classes="pixelated")
            attn_md = gr.Markdown(elem_id="attn-text")
            mod_plot = gr.Plot(label="adaLN-Zero modulation against t")
        with gr.Accordion("From a real digit: noise it to t*, denoise it back (SDEdit)", open=False):
            with gr.Row():
                digit = gr.Dropdown(digit_choices(), value=digit_choices()[6], label="Digit")
                target = gr.Dropdown(rui.SDEDIT_TARGETS, value=rui.SDEDIT_TARGETS[0], label="Denoise as class")
                t_star = gr.Slider(0, 999, value=600, step=1, label="t*")
                sd_steps = gr.Slider(1, 100, value=20, step=1, label="Steps back")
                sd_btn = gr.Button("Noise and denoise", elem_id="sdedit-btn")
            sd_row = gr.Image(label="x₀ | x_t* | one-step x̂₀ at t* | result", format="png", interactive=False, elem_classes="pixelated")
            sd_noise = gr.Image(label="true noise | predicted noise | difference", format="png", interactive=False, elem_classes="pixelated")
            sd_path = gr.Image(label="the way back", format="png", interactive=False, elem_classes="pixelated")
            sd_md = gr.Markdown(elem_id="sdedit-text")
            sd_plot = gr.Plot(label="eps-MSE by timestep")

    gen_in = [label, guidance, sampler, eta, steps, seed, n_images, spacing, guide_from]
    views = [s_xt, s_eps, s_x0, s_up, step_md]
    attn_in, attn_out = [traj, step, image_idx, layer, head, patch], [attn_img, heads_img, attn_md]

    def after_step(dep):
        """What follows a new step or run: the plot, the attention maps and the modulation (nothing
        before the first run)."""
        dep = dep.then(quiet(rui.moments, 1), [traj, step], moments_plot, **private)
        dep = dep.then(quiet(rui.attention, 3), attn_in, attn_out, **private)
        return dep.then(quiet(rui.modulation, 1), [traj, step, image_idx], mod_plot, **private)

    gen_out = [live_xt, live_x0, status, traj]
    sampling = dict(concurrency_limit=2, concurrency_id="sampling")  # two generations at once; the rest queue

    def finish(dep):
        """After a run: the scrubber to its last step, that step's views, then the plots and maps."""
        return after_step(dep.then(quiet(slider_update, 1), traj, step, **private).then(quiet(rui.scrub, 5), [traj, step], views, **private))

    def generate_after(dep, view):
        """Generate after `dep` when the applied view (JSON) opens this tab (links and lessons); otherwise
        nothing follows (not even the scrubber reset of `finish`)."""
        dep = dep.then(view_lands_on("reverse"), view, None, **private)
        return finish(dep.success(guard_gen(generate), gen_in, gen_out, **sampling, **private))

    run = gen_btn.click(guard_gen(generate), gen_in, gen_out, api_name="generate", show_progress="hidden", **sampling)
    finish(run)
    stop_btn.click(None, None, None, cancels=[run], **private)
    step.input(guard(rui.scrub), [traj, step], views, api_name="scrub", trigger_mode="always_last", show_progress="hidden")
    after_step(step.release(lambda: None, None, None, **private))
    after_step(play_btn.click(guard_gen(rui.play), traj, [step] + views, api_name="play", concurrency_limit=4))
    gif_btn.click(guard(rui.export_gif), traj, gif_file, api_name="export_trajectory_gif")
    for c in (image_idx, layer, head):
        c.change(guard(rui.attention), attn_in, attn_out, show_progress="hidden", **private)
    image_idx.release(guard(rui.modulation), [traj, step, image_idx], mod_plot, **private)
    attn_img.select(patch_clicked, None, patch, **private).then(guard(rui.attention), attn_in, attn_out, **private)
    sd_btn.click(guard(rui.sdedit), [digit, target, t_star, sd_steps, seed, guidance, eta],
                 [sd_row, sd_noise, sd_path, sd_md, sd_plot], api_name="sdedit", **sampling)

    with tab:  # hidden helpers inside the tab, not loose in the Tabs
        hidden = gr.Button(visible=False)
        hidden.click(guard(rui.attention), attn_in, attn_out, api_name="attention", api_visibility="public")
        hidden.click(guard(rui.modulation), [traj, step, image_idx], mod_plot, api_name="modulation", api_visibility="public")
        hidden.click(guard(rui.moments), [traj, step], moments_plot, api_name="moments", api_visibility="public")
        hidden.click(rui.model_status, None, model_md, api_name="model_status", api_visibility="public")

    return SimpleNamespace(tab=tab, label=label, guidance=guidance, sampler=sampler, eta=eta, steps=steps, seed=seed,
                           n_images=n_images, spacing=spacing, guide_from=guide_from, model_md=model_md, generate_after=generate_after)
