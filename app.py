"""Diffusion Classroom: an interactive Gradio app for learning how diffusion models work.

Layout and wiring only; every callback calls one function of `diffusion_core`.
Run: `python app.py` (http://127.0.0.1:7860). Set GRADIO_SERVER_NAME=0.0.0.0 to serve on a network.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import random

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1" if not os.environ.get("DIFFUSION_CLASSROOM_HUB_REPO") else "0")

import gradio as gr  # noqa: E402

from diffusion_core import forward_lab as lab  # noqa: E402
from diffusion_core import forward_ui as fui  # noqa: E402
from diffusion_core import reverse_lab as rl  # noqa: E402
from diffusion_core import reverse_ui as rui  # noqa: E402
from diffusion_core.images_io import digit_choices, image_choices  # noqa: E402
from diffusion_core.pretrained import WeightsError  # noqa: E402
from diffusion_core.samplers import SAMPLERS, SPACINGS  # noqa: E402

log = logging.getLogger("diffusion_classroom")
CSS = ".readout p {font-size: 1.05rem} .pixelated img {image-rendering: pixelated}"


def as_message(fn, exc: Exception) -> gr.Error:
    """The gr.Error the user sees for `exc`: its own words for bad input and broken weights."""
    if isinstance(exc, (ValueError, WeightsError)):
        return gr.Error(str(exc), print_exception=False)
    log.exception("callback %s failed", fn.__name__)
    return gr.Error(f"Something went wrong ({type(exc).__name__}); try other settings.", print_exception=False)


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


def slider_update(traj):
    return gr.update(**rui.scrubber(traj))


def patch_clicked(evt: gr.SelectData):
    return rui.patch_from_click(*evt.index)


def spec_fields(spec: str, t):
    """Show a spec in the schedule controls (a custom one leaves them alone); size the t slider to
    the schedule and keep its value inside."""
    d = json.loads(spec)
    schedule = lab.schedule_from_spec(d)
    T = schedule.num_timesteps
    named = d.get("name") != "custom"
    return (gr.update(value=d["name"]) if named else gr.update(), gr.update(value=T) if named else gr.update(),
            gr.update(value=bool(d.get("rescale"))) if named else gr.update(),
            gr.update(maximum=T, value=lab.clamp_t(t, schedule)))


def custom_or_message(text, kind, upload, current):
    try:
        return fui.custom_schedule(text, kind, upload)
    except (ValueError, OSError) as exc:
        return current, f"❌ {exc}"


def checks_view(spec):
    md, rescale, more = fui.checks(spec)
    return md, gr.update(visible=rescale), gr.update(visible=more)


def reverse_tab(private: dict) -> gr.Markdown:
    """The "Reverse process" tab: the DiT denoising step by step, inside the Transformer, SDEdit."""
    traj = gr.State(None)
    with gr.Tab("Reverse process", id="reverse"):
        model_md = gr.Markdown(elem_id="model-status")
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                label = gr.Dropdown(rl.LABEL_CHOICES, value="mixed 0-9", label="Digit class", elem_id="rev-label")
                guidance = gr.Slider(0, 10, value=3, step=0.5, label="Guidance scale (1 = conditional only, 0 = unconditional)")
                with gr.Row():
                    sampler = gr.Dropdown(list(SAMPLERS), value="ddim", label="Sampler", elem_id="rev-sampler")
                    eta = gr.Slider(0, 1, value=0, step=0.1, label="eta (DDIM: 0 deterministic, 1 ≈ DDPM)")
                with gr.Row():
                    steps = gr.Slider(1, 250, value=20, step=1, label="Steps", elem_id="rev-steps")
                    spacing = gr.Radio(list(SPACINGS), value="leading", label="Timestep spacing")
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

    gen_in = [label, guidance, sampler, eta, steps, seed, n_images, spacing]
    views = [s_xt, s_eps, s_x0, s_up, step_md]
    attn_in, attn_out = [traj, step, image_idx, layer, head, patch], [attn_img, heads_img, attn_md]

    def after_step(dep):
        """What follows a new step or run: the plot, the attention maps and the modulation."""
        dep = dep.then(guard(rui.moments), [traj, step], moments_plot, **private)
        dep = dep.then(guard(rui.attention), attn_in, attn_out, **private)
        return dep.then(guard(rui.modulation), [traj, step, image_idx], mod_plot, **private)

    run = gen_btn.click(guard_gen(rui.generate), gen_in, [live_xt, live_x0, status, traj], api_name="generate",
                        concurrency_limit=2, concurrency_id="sampling")
    after_step(run.then(guard(slider_update), traj, step, **private).then(guard(rui.scrub), [traj, step], views, **private))
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
                 [sd_row, sd_noise, sd_path, sd_md, sd_plot], api_name="sdedit", concurrency_limit=2, concurrency_id="sampling")

    hidden = gr.Button(visible=False)
    hidden.click(guard(rui.attention), attn_in, attn_out, api_name="attention", api_visibility="public")
    hidden.click(guard(rui.modulation), [traj, step, image_idx], mod_plot, api_name="modulation", api_visibility="public")
    hidden.click(guard(rui.moments), [traj, step], moments_plot, api_name="moments", api_visibility="public")
    hidden.click(rui.model_status, None, model_md, api_name="model_status", api_visibility="public")
    return model_md


def build_demo() -> gr.Blocks:
    choices = image_choices()
    with gr.Blocks(title="Diffusion Classroom") as demo:
        gr.Markdown("# Diffusion Classroom\nWatch an image dissolve into noise, and see what a noise schedule really does.")
        spec = gr.Textbox(json.dumps(lab.DEFAULT_SPEC), visible=False, label="schedule spec")
        chain_state = gr.State(None)
        with gr.Tab("Forward process", id="forward"):
            with gr.Row():
                with gr.Column(scale=2, min_width=320):
                    image_choice = gr.Dropdown(choices, value=choices[0], label="Image")
                    upload = gr.File(label="…or upload your own (PNG, JPEG, GIF, BMP, WebP; up to 20 MB)",
                                     file_types=["image"], type="filepath", height=90, elem_id="upload")
                    image_msg = gr.Markdown(elem_id="image-msg")
                    with gr.Row():
                        sched_name = gr.Dropdown(fui.SCHEDULE_NAMES, value="cosine", label="Noise schedule", scale=2)
                        steps_T = gr.Number(1000, precision=0, minimum=1, maximum=100000, label="T (steps)", scale=1)
                    rescale = gr.Checkbox(False, label="Rescale to zero terminal SNR (Lin et al. 2023)")
                    t_slider = gr.Slider(0, 1000, value=250, step=1, label="timestep t", elem_id="t-slider")
                    ab_slider = gr.Slider(0, 1, value=0.85, step=0.0001, label="ᾱ_t: share of signal variance left", elem_id="ab-slider")
                    readout = gr.Markdown(elem_id="readout", elem_classes="readout")
                    mode = gr.Radio(list(fui.MODES), value=fui.MODES[0], label="How x_t is made")
                    alpha = gr.Slider(0.9, 0.9999, value=0.99, step=0.0001, label="α_t per step (chain mode)")
                    with gr.Row():
                        seed = gr.Number(0, precision=0, label="noise seed")
                        new_noise = gr.Button("New noise")
                with gr.Column(scale=3):
                    with gr.Row():
                        x0_img = gr.Image(label="x₀ (clean)", format="png", interactive=False, elem_id="x0-image", elem_classes="pixelated")
                        noise_img = gr.Image(label="ε (noise, fixed per seed)", format="png", interactive=False, elem_classes="pixelated")
                        xt_img = gr.Image(label="x_t", format="png", interactive=False, elem_id="xt-image", elem_classes="pixelated")
                    hist = gr.Plot(label="values of x_t against N(0, 1)")
            with gr.Accordion("Strip: x_t across t, for up to three schedules on the same image and noise", open=True):
                with gr.Row():
                    compare = gr.Dropdown(fui.SCHEDULE_NAMES, value=["linear"], multiselect=True, max_choices=2, label="Compare with")
                    spacing = gr.Radio(["evenly spaced t", "equal log-SNR"], value="evenly spaced t", label="Frames at")
                    frames = gr.Slider(4, 12, value=8, step=1, label="frames")
                strip_img = gr.Image(label="strip", format="png", interactive=False, elem_classes="pixelated")
                strip_caption = gr.Markdown()
            plots = gr.Plot(label="schedule")
            with gr.Accordion("Sanity checks", open=True):
                checks_md = gr.Markdown(elem_id="checks")
                with gr.Row():
                    fix_rescale = gr.Button("Fix: rescale to zero terminal SNR", visible=False)
                    fix_steps = gr.Button("Fix: use 4x more steps", visible=False)
            with gr.Accordion("Custom schedule: paste betas, alpha_bar, a CSV, or a diffusers scheduler_config.json", open=False):
                custom_kind = gr.Radio(["betas (one per step)", "alpha_bar (one per step)", "CSV with a beta column",
                                        "diffusers scheduler_config.json"], value="betas (one per step)", label="What you paste")
                custom_text = gr.Textbox(lines=4, label="Paste here", elem_id="custom-text",
                                         placeholder="0.0001, 0.0002, 0.0003, …   or   {\"beta_schedule\": \"linear\", …}")
                custom_file = gr.File(label="…or upload a .csv / .json", file_types=[".csv", ".json", ".txt"], type="filepath", height=90)
                custom_btn = gr.Button("Use this schedule", elem_id="custom-btn")
                custom_msg = gr.Markdown(elem_id="custom-msg")
            with gr.Accordion("Export", open=False):
                with gr.Row():
                    csv_btn = gr.Button("Schedule as CSV")
                    cfg_btn = gr.Button("Schedule as diffusers config")
                    gif_btn = gr.Button("Forward process as GIF")
                export_file = gr.File(label="download", interactive=False)

        img_in = [image_choice, upload]
        view_in = [image_choice, upload, spec, t_slider, mode, alpha, seed, chain_state]
        view_out = [xt_img, readout, ab_slider, chain_state]
        strip_in = [image_choice, upload, spec, compare, spacing, frames, seed]
        fast = dict(trigger_mode="always_last", show_progress="hidden")
        private = dict(api_visibility="private", api_name=False)

        # Steps that follow a change, in order: x_t, its histogram, the checks, the plots, the strip.
        VIEW = (fui.forward_view, view_in, view_out)
        HIST = (fui.forward_histogram, view_in, hist)
        CHECKS = (checks_view, spec, [checks_md, fix_rescale, fix_steps])
        PLOTS = (fui.schedule_plots, [spec, compare, t_slider], plots)
        STRIP = (fui.strip, strip_in, [strip_img, strip_caption])

        def chain(dep, *steps):
            for fn, inputs, outputs in steps:
                dep = dep.then(guard(fn), inputs, outputs, **private)
            return dep

        # A slider move takes the fast path (x_t, readouts); the histogram and plots follow on release.
        # The fast path skips the queue (its work is ~5-15 ms; the queue's own round trip is ~90 ms here);
        # trigger_mode="always_last" keeps a drag from piling up requests.
        t_slider.input(guard(fui.forward_view), view_in, view_out, api_name="forward", queue=False, **fast)
        t_slider.release(guard(fui.forward_histogram), view_in, hist, api_name="histogram", **fast).then(
            guard(fui.schedule_plots), [spec, compare, t_slider], plots, api_name="plots", **fast)
        ab_slider.input(guard(fui.forward_from_alpha_bar), [image_choice, upload, spec, ab_slider, mode, alpha, seed, chain_state],
                        [xt_img, readout, t_slider, chain_state], api_name="forward_from_alpha_bar", queue=False, **fast)
        chain(ab_slider.release(guard(fui.forward_histogram), view_in, hist, **fast, **private), PLOTS)
        for c in (mode, alpha):
            chain(c.input(guard(fui.forward_view), view_in, view_out, **fast, **private), HIST)
        for ev in (image_choice.change, upload.change, seed.change):
            chain(ev(guard(fui.source_images), img_in + [seed], [x0_img, noise_img, image_msg], **private), VIEW, HIST, STRIP)
        new_noise.click(lambda: random.randrange(2**31), None, seed, api_name="new_noise")

        for c in (sched_name, steps_T, rescale):
            c.input(guard(fui.named_spec), [sched_name, steps_T, rescale], spec, **fast, **private)
        chain(spec.change(guard(spec_fields), [spec, t_slider], [sched_name, steps_T, rescale, t_slider], **private),
              VIEW, HIST, CHECKS, PLOTS, STRIP)
        for c in (compare, spacing, frames):
            chain(c.change(guard(fui.strip), strip_in, [strip_img, strip_caption], **private), PLOTS)

        fix_rescale.click(guard(functools.partial(fui.apply_fix, action="rescale_zero_snr")), spec, spec, **private)
        fix_steps.click(guard(functools.partial(fui.apply_fix, action="more_steps")), spec, spec, **private)
        custom_btn.click(custom_or_message, [custom_text, custom_kind, custom_file, spec], [spec, custom_msg], api_name="custom_schedule")
        csv_btn.click(guard(fui.export_csv), spec, export_file, api_name="export_csv")
        cfg_btn.click(guard(fui.export_config), spec, export_file, api_name="export_config")
        gif_btn.click(guard(fui.export_gif), [image_choice, upload, spec, seed], export_file, api_name="export_gif")

        # Named endpoints for gradio_client that the UI reaches through other events.
        api = dict(api_visibility="public")
        hidden = gr.Button(visible=False)
        hidden.click(guard(fui.named_spec), [sched_name, steps_T, rescale], spec, api_name="named_spec", **api)
        hidden.click(guard(fui.source_images), img_in + [seed], [x0_img, noise_img, image_msg], api_name="source_images", **api)
        hidden.click(guard(fui.strip), strip_in, [strip_img, strip_caption], api_name="strip", **api)
        hidden.click(guard(fui.checks), spec, [checks_md, gr.Checkbox(visible=False), gr.Checkbox(visible=False)], api_name="checks", **api)
        hidden.click(guard(fui.apply_fix), [spec, gr.Textbox(visible=False)], spec, api_name="fix", **api)

        model_md = reverse_tab(private)
        demo.load(rui.model_status, None, model_md, **private)
        chain(demo.load(guard(fui.source_images), img_in + [seed], [x0_img, noise_img, image_msg], **private),
              VIEW, HIST, CHECKS, PLOTS, STRIP)
    return demo


if __name__ == "__main__":
    build_demo().queue(default_concurrency_limit=4).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"), css=CSS, show_error=False)
