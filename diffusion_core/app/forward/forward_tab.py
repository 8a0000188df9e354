"""The "Forward process" tab: an image dissolving into noise, linked t / alpha_bar sliders, the
schedule's plots and checks, custom schedules and exports. Layout and wiring only; the work is in
`diffusion_core.app.forward.forward_ui`.

Laid out for a projector: the controls on the left, and on the right the three pictures above the
schedule plots, so dragging t, the picture and the plot's marker share one 1920 x 1080 screen.
"""
from __future__ import annotations

import functools
import json
import random
from types import SimpleNamespace

import gradio as gr

from diffusion_core.app.forward import forward_lab as lab
from diffusion_core.app.forward import custom_specs as cs
from diffusion_core.app.forward import forward_ui as fui
from diffusion_core.app.forward.forward_plots import SCHEDULE_PANELS
from diffusion_core.data.images_io import image_choices
from diffusion_core.references import cited
from diffusion_core.maths.schedules import MAX_TIMESTEPS

from diffusion_core.app.common import guard, private

STRIP_SPACINGS = {"t": "evenly spaced t", "log_snr": "equal log-SNR"}
MODE_KEYS = {"closed": fui.MODES[0], "chain": fui.MODES[1]}


def spec_fields(spec: str, t):
    """Show a spec in the schedule controls (a custom one as the custom entry, its T fixed); size the
    t slider to the schedule and keep its value inside."""
    c = fui.controls_of(spec)
    schedule = lab.schedule_from_spec(spec)
    choices = fui.SCHEDULE_NAMES + ([fui.CUSTOM] if c["custom"] else [])
    return (gr.update(choices=choices, value=c["name"]), gr.update(value=c["T"], interactive=not c["custom"]),
            gr.update(value=c["rescale"], interactive=not c["custom"]),
            slider_range(schedule, t))


def slider_range(schedule, t):
    """The t slider sized to `schedule`; its value is set only when it must move into range (so a t the
    user just chose is never put back)."""
    clamped = lab.clamp_t(t, schedule)
    try:
        same = float(t) == clamped
    except (TypeError, ValueError):
        same = False
    top = schedule.num_timesteps - 1
    return gr.update(maximum=top) if same else gr.update(maximum=top, value=clamped)


def apply_schedule_controls(name, T, rescale, spec):
    """(spec, message, T box): a bad T leaves the spec and puts the kept T back in its box."""
    new, msg = fui.schedule_controls(name, T, rescale, spec)
    return new, msg, gr.update(value=fui.controls_of(new)["T"]) if msg else gr.skip()


def custom_or_message(text, kind, upload, current):
    try:
        return cs.custom_schedule(text, kind, upload)
    except (ValueError, OSError) as exc:
        return current, f"**Not loaded**: {exc}"


def checks_view(spec):
    md, rescale, _ = fui.checks(spec)
    target = fui.more_steps_target(spec)
    return (md, gr.update(visible=rescale),
            gr.update(visible=target is not None, value=f"Fix: use more steps (T = {target})" if target else None))


def relabel_panels(same_scale):
    return tuple(gr.update(label=label) for label in fui.panel_labels(same_scale))


def build_forward_tab() -> SimpleNamespace:
    """Lay out the tab and wire its events; returns its controls, the link fields (`view_of`, `set_view`)
    and `refresh(dep)`, which chains the redraw of everything after `dep`."""
    choices = image_choices()
    labels = fui.panel_labels(False)
    with gr.Tab("Forward process", id="forward") as tab:
        spec = gr.Textbox(json.dumps(lab.DEFAULT_SPEC), visible=False, label="schedule spec")
        chain_state = gr.State(None)
        with gr.Row(equal_height=False, elem_id="fwd-main"):
            with gr.Column(scale=2, min_width=300, elem_classes="fwd-col"):
                image_choice = gr.Dropdown(choices, value=choices[0], label="Image", elem_id="image-choice")
                upload = gr.File(label="…or upload your own (PNG, JPEG, GIF, BMP, WebP; up to 20 MB)",
                                 file_types=["image"], type="filepath", height=70, elem_id="upload")
                image_msg = gr.Markdown(elem_id="image-msg")
                with gr.Row():
                    sched_name = gr.Dropdown(fui.SCHEDULE_NAMES, value="cosine", label="Noise schedule", scale=2, elem_id="sched-name")
                    steps_T = gr.Number(1000, precision=0, label=f"T (steps, 1 to {MAX_TIMESTEPS})", scale=1, elem_id="steps-T")
                rescale = gr.Checkbox(False, label=cited("Rescale to zero terminal SNR ([@lin2024flawed alg. 1])"), elem_id="rescale")
                spec_msg = gr.Markdown(elem_id="spec-msg")
                t_slider = gr.Slider(0, 999, value=250, step=1, label="timestep t (0 .. T−1; x₀ is the clean image)",
                                     elem_id="t-slider")
                ab_slider = gr.Slider(0, 1, value=0.85, step=0.0001, label="ᾱ_t: share of signal variance left", elem_id="ab-slider")
                readout = gr.Markdown(elem_id="readout", elem_classes="readout")
                mode = gr.Radio(list(fui.MODES), value=fui.MODES[0], label="How x_t is made", elem_id="mode")
                alpha = gr.Slider(0.9, 0.9999, value=0.99, step=0.0001, label="α_t per step (chain mode only)",
                                  interactive=False, elem_id="chain-alpha")
                with gr.Row():
                    seed = gr.Number(0, precision=0, label="noise seed", elem_id="fwd-seed")
                    new_noise = gr.Button("New noise")
                same_scale = gr.Checkbox(False, label="Show x₀, ε and x_t on one scale ([−3, 3])", elem_id="same-scale")
            with gr.Column(scale=3, min_width=320, elem_classes="fwd-col"):
                with gr.Row(elem_id="fwd-images"):
                    x0_img = gr.Image(label=labels[0], format="png", interactive=False, elem_id="x0-image",
                                      elem_classes="pixelated", height=240)
                    noise_img = gr.Image(label=labels[1], format="png", interactive=False, elem_id="noise-image",
                                         elem_classes="pixelated", height=240)
                    xt_img = gr.Image(label=labels[2], format="png", interactive=False, elem_id="xt-image",
                                      elem_classes="pixelated", height=240)
                with gr.Row(elem_id="schedule-plots"):  # two per row on a wide screen, one per row on a phone
                    plots = [gr.Plot(label=title, show_label=False, min_width=260, elem_id=f"schedule-plot-{k}")
                             for k, title in enumerate(SCHEDULE_PANELS)]
                log_beta = gr.Checkbox(False, label="β_t on a log axis (cosine's last β of 0.999 flattens the rest)",
                                       elem_id="log-beta")
        with gr.Accordion("Values of x_t against N(0, 1)", open=True):
            hist = gr.Plot(label="values of x_t against N(0, 1)")
        with gr.Accordion("Strip: x_t across t, for up to three schedules on the same image and noise", open=True):
            with gr.Row():
                compare = gr.Dropdown(fui.SCHEDULE_NAMES, value=["linear"], multiselect=True, max_choices=2, label="Compare with",
                                      elem_id="compare-with")
                spacing = gr.Radio(list(STRIP_SPACINGS.values()), value=STRIP_SPACINGS["t"], label="Frames at", elem_id="strip-spacing")
                frames = gr.Slider(4, 12, value=8, step=1, label="frames", elem_id="strip-frames")
            strip_img = gr.Image(label="strip: one row per schedule, t under each frame", format="png", interactive=False,
                                 elem_classes="pixelated", elem_id="strip")
            strip_caption = gr.Markdown()
        with gr.Accordion("Sanity checks", open=True):
            checks_md = gr.Markdown(elem_id="checks")
            with gr.Row():
                fix_rescale = gr.Button("Fix: rescale to zero terminal SNR", visible=False, elem_id="fix-rescale")
                fix_steps = gr.Button("Fix: use more steps", visible=False, elem_id="fix-steps")
        with gr.Accordion("Custom schedule: paste betas, alpha_bar, a CSV, or a diffusers scheduler_config.json", open=False):
            custom_kind = gr.Radio(["betas (one per step)", "alpha_bar (one per step)", "CSV with a beta column",
                                    "diffusers scheduler_config.json"], value="betas (one per step)",
                                   label="What you paste (a pasted JSON object is always read as a scheduler config)")
            custom_text = gr.Textbox(lines=4, label="Paste here", elem_id="custom-text",
                                     placeholder="0.0001, 0.0002, 0.0003, …   or   {\"beta_schedule\": \"linear\", …}")
            custom_file = gr.File(label="…or upload a .csv / .json", file_types=[".csv", ".json", ".txt"], type="filepath", height=70)
            custom_btn = gr.Button("Use this schedule", elem_id="custom-btn")
            custom_msg = gr.Markdown(elem_id="custom-msg")
        with gr.Accordion("Export", open=False):
            with gr.Row():
                csv_btn = gr.Button("Schedule as CSV")
                cfg_btn = gr.Button("Schedule as diffusers config")
                gif_btn = gr.Button("Forward process as GIF")
            export_file = gr.File(label="download", interactive=False)

    img_in = [image_choice, upload, seed, same_scale]
    view_in = [image_choice, upload, spec, t_slider, mode, alpha, seed, chain_state, same_scale]
    view_out = [xt_img, readout, ab_slider, chain_state]
    strip_in = [image_choice, upload, spec, compare, spacing, frames, seed]
    plots_in = [spec, compare, t_slider, log_beta]
    fast = dict(trigger_mode="always_last", show_progress="hidden")

    # Steps that follow a change, in order: the pictures, x_t, its histogram, the checks, the plots, the strip.
    SOURCE = (fui.source_images, img_in, [x0_img, noise_img, image_msg])
    VIEW = (fui.forward_view, view_in, view_out)
    HIST = (fui.forward_histogram, view_in, hist)
    CHECKS = (checks_view, spec, [checks_md, fix_rescale, fix_steps])
    PLOTS = (fui.schedule_plots, plots_in, plots)
    STRIP = (fui.schedule_strip, strip_in, [strip_img, strip_caption])

    def chain(dep, *steps):
        for fn, inputs, outputs in steps:
            dep = dep.then(guard(fn), inputs, outputs, **private)
        return dep

    # A slider move takes the fast path (x_t, readouts); the histogram and plots follow on release.
    # The fast path skips the queue (its work is ~5-15 ms; the queue's own round trip is ~90 ms here);
    # trigger_mode="always_last" keeps a drag from piling up requests.
    t_slider.input(guard(fui.forward_view), view_in, view_out, queue=False, **fast, **private)
    chain(t_slider.release(guard(fui.forward_histogram), view_in, hist, **fast, **private), PLOTS)
    ab_in = [image_choice, upload, spec, ab_slider, mode, alpha, seed, chain_state, same_scale]
    ab_slider.input(guard(fui.forward_from_alpha_bar), ab_in, [xt_img, readout, t_slider, chain_state],
                    api_name="forward_from_alpha_bar", queue=False, **fast)
    chain(ab_slider.release(guard(fui.forward_histogram), view_in, hist, **fast, **private), PLOTS)
    mode.change(lambda m: gr.update(interactive=m == fui.MODES[1]), mode, alpha, **private)
    for c in (mode, alpha):
        chain(c.input(guard(fui.forward_view), view_in, view_out, **fast, **private), HIST)
    image_choice.input(lambda: None, None, upload, **private)  # a bundled image replaces an upload
    for ev in (image_choice.change, upload.change, seed.change):
        chain(ev(guard(fui.source_images), img_in, [x0_img, noise_img, image_msg], **private), VIEW, HIST, STRIP)
    chain(same_scale.change(relabel_panels, same_scale, [x0_img, noise_img, xt_img], **private), SOURCE, VIEW)
    new_noise.click(lambda: random.randrange(2**31), None, seed, api_name="new_noise")

    for c in (sched_name, steps_T, rescale):
        c.input(apply_schedule_controls, [sched_name, steps_T, rescale, spec], [spec, spec_msg, steps_T], **fast, **private)
    chain(spec.change(guard(spec_fields), [spec, t_slider], [sched_name, steps_T, rescale, t_slider], **private),
          VIEW, HIST, CHECKS, PLOTS, STRIP)
    for c in (compare, spacing, frames):
        chain(c.change(guard(fui.schedule_strip), strip_in, [strip_img, strip_caption], **private), PLOTS)
    log_beta.change(guard(fui.schedule_plots), plots_in, plots, **private)

    fix_rescale.click(guard(functools.partial(fui.apply_fix, action="rescale_zero_snr")), spec, spec, **private)
    fix_steps.click(guard(functools.partial(fui.apply_fix, action="more_steps")), spec, spec, **private)
    custom_btn.click(custom_or_message, [custom_text, custom_kind, custom_file, spec], [spec, custom_msg], api_name="custom_schedule")
    csv_btn.click(guard(fui.export_csv), spec, export_file, api_name="export_csv")
    cfg_btn.click(guard(fui.export_config), spec, export_file, api_name="export_config")
    gif_btn.click(guard(fui.export_forward_gif), [image_choice, upload, spec, seed], export_file, api_name="export_gif")

    with tab:  # hidden helpers inside the tab, not loose in the Tabs
        # Named endpoints for gradio_client that the UI reaches through other events.
        api = dict(api_visibility="public")
        hidden = gr.Button(visible=False)
        # t as a plain number: an API client's schedule may have T up to 100000 (the slider's declared
        # maximum is its starting one; the library clamps t into the schedule).
        t_api = gr.Number(250, visible=False, label="t", minimum=0, maximum=MAX_TIMESTEPS)
        view_api = [image_choice, upload, spec, t_api, mode, alpha, seed, chain_state, same_scale]
        hidden.click(guard(fui.forward_view), view_api, view_out, api_name="forward", queue=False, **api)
        hidden.click(guard(fui.forward_histogram), view_api, hist, api_name="histogram", **api)
        hidden.click(guard(fui.schedule_plots), [spec, compare, t_api, log_beta], plots, api_name="plots", **api)
        hidden.click(guard(fui.named_spec), [sched_name, steps_T, rescale], spec, api_name="named_spec", **api)
        hidden.click(guard(fui.source_images), img_in, [x0_img, noise_img, image_msg], api_name="source_images", **api)
        hidden.click(guard(fui.schedule_strip), strip_in, [strip_img, strip_caption], api_name="strip", **api)
        hidden.click(guard(fui.checks), spec, [checks_md, gr.Checkbox(visible=False), gr.Checkbox(visible=False)], api_name="checks", **api)
        hidden.click(guard(fui.apply_fix), [spec, gr.Textbox(visible=False)], spec, api_name="fix", **api)

    def refresh(dep):
        return chain(dep.then(guard(fui.source_images), img_in, [x0_img, noise_img, image_msg], **private),
                     VIEW, HIST, CHECKS, PLOTS, STRIP)

    link_inputs = [spec, image_choice, t_slider, seed, mode, alpha, compare, spacing, frames, same_scale, log_beta]

    def view_of(spec_json, image, t, seed_value, mode_value, alpha_value, compare_value, spacing_value, frames_value,
                same, log):
        """This tab's link fields from its controls (the upload cannot travel in a link)."""
        mode_key = next((k for k, v in MODE_KEYS.items() if v == mode_value), "closed")
        strip_key = next((k for k, v in STRIP_SPACINGS.items() if v == spacing_value), "t")
        return cs.link_view(json.loads(spec_json), image=image, t=t, seed=seed_value, mode=mode_key,
                               alpha=alpha_value if mode_key == "chain" else None, compare=list(compare_value or []),
                               strip=strip_key, frames=frames_value, same_scale=bool(same), log_beta=bool(log))

    # view field -> (component, how a view's value becomes the component's value)
    fields = {"image": (image_choice, None), "t": (t_slider, None), "seed": (seed, None),
              "mode": (mode, MODE_KEYS.get), "alpha": (alpha, None), "compare": (compare, None),
              "strip": (spacing, STRIP_SPACINGS.get), "frames": (frames, None),
              "same_scale": (same_scale, None), "log_beta": (log_beta, None), "spec": (spec, None)}
    return SimpleNamespace(tab=tab, spec=spec, sched_name=sched_name, steps_T=steps_T, rescale=rescale, t=t_slider,
                           seed=seed, upload=upload, refresh=refresh, fields=fields, link_inputs=link_inputs, view_of=view_of,
                           resolve=cs.resolve_view)
