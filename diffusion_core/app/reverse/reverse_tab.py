"""The "Reverse process" tab: the DiT denoising step by step (streamed), a scrubber and player over the
recorded steps, inside the Transformer (attention, adaLN-Zero), and SDEdit from a real digit. Layout
and wiring only; the work is in `diffusion_core.app.reverse.reverse_ui`.

A session's recorded run lives in a bounded server-side `TrajectoryStore`; the session keeps its
handle. Generations of all sessions share the DiT's network calls (`StepBatcher`), one per session at
a time (`traffic.SessionRuns`: a newer one replaces the older).
"""
from __future__ import annotations

import functools
import time
from types import SimpleNamespace

import gradio as gr

from diffusion_core.pipelines import denoising as rl
from diffusion_core.app.reverse import reverse_ui as rui
from diffusion_core.data.images_io import digit_choices
from diffusion_core.app.trajectory_store import TrajectoryStore
from diffusion_core.maths.guidance import NO_UPPER
from diffusion_core.maths.samplers import karras_grid, make_timesteps
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.references import cited
from diffusion_core.settings import LIMITS, MAX_RUNNING, SAMPLING_KEYS

from diffusion_core.app.common import guard, guard_gen, private, view_lands_on
from diffusion_core.app.traffic import SessionRuns

MIN_FRAME_S = 0.25  # stream at most ~4 frames a second: on 2 cores every frame sent slows the sampling


def frame_interval() -> float:
    """Seconds between the frames a run sends: MIN_FRAME_S alone, longer when many run at once (each frame
    is two pictures to draw and encode; with 30 runs every picture saved is CPU the network needs)."""
    return MIN_FRAME_S * max(1.0, rl.active_runs() / 4)
GONE = "This run is no longer in memory (the server keeps the latest runs only); press Generate again."
def settings_help(schedule_name: str = "cosine", steps: int = 20) -> str:
    """What the sampling settings mean, with the spacing figures computed on the DiT's schedule (cosine, T = 1000)."""
    schedule = make_schedule(schedule_name, 1000)
    leading = make_timesteps(1000, steps, "leading")
    trailing = make_timesteps(1000, steps, "trailing")
    karras = karras_grid(schedule, steps)
    return cited(f"""
- **Guidance scale w**: ε̃ = ε(x, ∅) + w·(ε(x, y) − ε(x, ∅)) (classifier-free guidance). w = 1 is the conditional
  model alone; w = 0 the unconditional one, but only on the guided steps: outside the guided interval every step uses
  the conditional prediction whatever w is. (This app computes both passes on every guided step unless w = 1, so even
  w = 0 costs two passes there.) This app's w is Ho & Salimans' 1 + w: they write the guided prediction as
  (1 + w)·ε(x, y) − w·ε(x, ∅) ([@ho2022cfg eq. 6]).
- **Guide only where t ≥ … and t ≤**: guidance in a limited interval ([@kynkaanniemi2024interval eq. 6]). On their
  image models guidance was harmful at the highest noise levels, where it drives the samples toward a few 'template
  images', and largely unnecessary at the lowest, so they guide only a middle interval ([@kynkaanniemi2024interval abstract];
  [@kynkaanniemi2024interval sec. 1]).
  Outside the interval each step makes one conditional network pass. 0 and {NO_UPPER} guide every step. What this
  small model shows at each interval is measured in its model card and in lesson 6.
- **eta** (DDIM only): 0 follows the deterministic ODE path (the same x_T gives the same digits); 1 adds as much fresh
  noise per step as DDPM.
- **Timestep spacing**: which t the steps visit ({steps} steps on this model's schedule). *leading*: {leading[-1]},
  {leading[-2]}, ..., {leading[0]}, so the run starts at t = {leading[0]}, where √ᾱ = {schedule.sqrt_alphas_cumprod[leading[0]]:.3f}
  of the signal would still be there: the model learnt inputs with that much digit in them and x_T has none, a mismatch
  like the one the forward tab flags for Stable Diffusion 1.5's schedule ([@lin2024flawed sec. 3.1]); the first t is
  1000 − 1000/steps, so fewer steps start lower. *trailing*: {trailing[0]}, {trailing[1]}, ...,
  starting at pure noise ([@lin2024flawed sec. 3.3]). *linspace*: evenly from 999 to 0. *karras*: Karras et al.'s noise
  levels ([@karras2022edm eq. 5]), σ from {karras.sigma[0]:.0f} down in steps that shrink near the clean image
  (fractional t); Euler and Heun always use them. DDIM on the karras grid is exactly Euler.
- **Steps**: a deterministic sampler with few steps makes big jumps; with 1 step the result depends on where that step
  sits (the page explains the two failures when they happen).
""")


SETTINGS_HELP = settings_help()
OWN = "your own (change any control)"
# A lesson that lands on "From a real digit" (lesson 3) brings its curve into view: the box is far down the tab.
SCROLL_TO_SDEDIT = "() => { const el = document.querySelector('#sdedit-box'); if (el) el.scrollIntoView({block: 'start'}); }"


def slider(name: str, value, **kw) -> gr.Slider:
    """A control of the sampling setting `name`, with its range, step, label and hint from `settings.LIMITS`."""
    lim = LIMITS[name]
    return gr.Slider(lim.low, lim.high, value=value, step=lim.step, label=lim.label, info=lim.info or None, **kw)


def choice(name: str, value, radio: bool = False, **kw):
    """A dropdown (or radio) of the setting `name`, with its choices, label and hint from `settings.LIMITS`."""
    lim = LIMITS[name]
    return (gr.Radio if radio else gr.Dropdown)(list(lim.choices), value=value, label=lim.label, info=lim.info or None, **kw)


def slider_update(traj):
    return gr.update(**rui.scrubber(traj))


def patch_clicked(evt: gr.SelectData):
    return rui.patch_from_click(*evt.index)


def resolve(store: TrajectoryStore, fn, n_outputs: int, quiet: bool = True):
    """`guard(fn)` taking a run handle instead of the run: before the first run, outputs left alone
    (`quiet`, for the page's own events) or fn's "press Generate first"; a message when the run was
    let go."""
    guarded = guard(fn)

    @functools.wraps(fn)
    def wrapper(handle, *args):
        if handle is None and quiet:
            return gr.skip() if n_outputs == 1 else (gr.skip(),) * n_outputs
        if handle is None:
            return guarded(None, *args)
        traj = store.get(handle)
        if traj is None:
            raise gr.Error(GONE, print_exception=False)
        return guarded(traj, *args)

    return wrapper


def build_reverse_tab() -> SimpleNamespace:
    """Lay out the tab and wire its events; returns its controls (the shared-link and lesson views set them)."""
    store, runs = TrajectoryStore(), SessionRuns()
    with gr.Tab("Reverse process", id="reverse") as tab:
        handle = gr.State(None)  # the session's run in `store`
        model_md = gr.Markdown(elem_id="model-status")
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                d = rui.default_settings()
                label = choice("label", "mixed 0-9", elem_id="rev-label")
                named = rui.preset_settings()
                labels = {name: rui.preset_label(name, s) for name, s in named.items()}
                preset = gr.Radio(list(labels.values()) + [OWN], value=labels["default"], label="Setting (measured in the model card)",
                                  elem_id="rev-preset")
                guidance = slider("guidance", d["guidance"], elem_id="rev-guidance")
                with gr.Row():
                    guidance_min_t = slider("guidance_min_t", d["guidance_min_t"], elem_id="rev-guide-from")
                    guidance_max_t = slider("guidance_max_t", d["guidance_max_t"], elem_id="rev-guide-to")
                with gr.Row():
                    sampler = choice("sampler", d["sampler"], elem_id="rev-sampler")
                    eta = slider("eta", d["eta"], elem_id="rev-eta")
                with gr.Row():
                    steps = slider("steps", d["steps"], elem_id="rev-steps")
                    spacing = choice("spacing", d["spacing"], radio=True, elem_id="rev-spacing")
                with gr.Row():
                    seed = gr.Number(0, precision=0, minimum=0, maximum=LIMITS["seed"].high, label=LIMITS["seed"].label,
                                     elem_id="rev-seed")
                    images = slider("images", 16, elem_id="rev-images")
                with gr.Row():
                    gen_btn = gr.Button("Generate", variant="primary", elem_id="generate")
                    stop_btn = gr.Button("Stop", elem_id="stop")
                status = gr.Markdown(elem_id="rev-status")
                with gr.Accordion("What these settings mean", open=False, elem_id="settings-help"):
                    gr.Markdown(SETTINGS_HELP)
            with gr.Column(scale=3):
                with gr.Row():
                    live_xt = gr.Image(label="x_t, live", format="png", interactive=False, elem_id="live-xt", elem_classes="pixelated")
                    live_x0 = gr.Image(label="predicted x̂₀, live", format="png", interactive=False, elem_id="live-x0", elem_classes="pixelated")
        with gr.Accordion("Step through the recorded run", open=True):
            with gr.Row(elem_id="step-row"):
                step = gr.Slider(1, 20, value=20, step=1, label="Step", elem_id="step-slider", scale=4)
                play_btn = gr.Button("▶ Play", scale=1, elem_id="play")
                pause_btn = gr.Button("Pause", scale=1, elem_id="pause")
                fps = gr.Slider(1, 20, value=5, step=1, label="steps per second", scale=2, elem_id="play-fps")
                gif_btn = gr.Button("Export GIF", scale=1)
            step_md = gr.Markdown(elem_id="step-caption")
            with gr.Row(elem_id="step-views"):
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
                image_idx = gr.Slider(1, LIMITS["images"].high, value=1, step=1, label="Image", elem_id="attn-image")
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
        sd_open = gr.Checkbox(False, visible=False, label="open SDEdit")  # set by a lesson's view
        with gr.Accordion("From a real digit: noise it to t*, denoise it back (SDEdit)", open=False, elem_id="sdedit-box") as sd_box:
            with gr.Row():
                choices = digit_choices() or ["(no bundled digits: assets/sample_digits.npz is missing)"]
                digit = gr.Dropdown(choices, value=choices[min(6, len(choices) - 1)], label="Digit")
                target = gr.Dropdown(rui.SDEDIT_TARGETS, value=rui.SDEDIT_TARGETS[0], label="Denoise as class")
                t_star = gr.Slider(0, 999, value=600, step=1, label="t*")
                sd_steps = gr.Slider(1, 100, value=20, step=1, label="Steps back")
                sd_btn = gr.Button("Noise and denoise", elem_id="sdedit-btn")
            sd_plot = gr.Plot(label="eps-MSE by timestep", elem_id="sdedit-mse")
            sd_row = gr.Image(label="from the digit to the result (each picture named under it)", format="png", interactive=False,
                              elem_classes="pixelated", elem_id="sdedit-row")
            sd_noise = gr.Image(label="the noise at t*: true, predicted, their difference (named under each)", format="png",
                                interactive=False, elem_classes="pixelated")
            sd_path = gr.Image(label="the way back", format="png", interactive=False, elem_classes="pixelated")
            sd_md = gr.Markdown(elem_id="sdedit-text")

    # the sampling controls by their settings name, in the order of the generate endpoint's arguments
    controls = dict(label=label, guidance=guidance, sampler=sampler, eta=eta, steps=steps, seed=seed, images=images,
                    spacing=spacing, guidance_min_t=guidance_min_t, guidance_max_t=guidance_max_t)
    gen_in = list(controls.values())
    setting = [controls[name] for name in SAMPLING_KEYS]

    def apply_preset(picked):
        """A preset sets the six sampling controls; 'your own' leaves them."""
        name = next((n for n, text in labels.items() if text == picked), None)
        return tuple(gr.skip() if name is None else named[name][key] for key in SAMPLING_KEYS)

    def which_preset(*values):
        name = rui.preset_of(**dict(zip(SAMPLING_KEYS, values)))
        return labels[name] if name in labels else OWN

    preset.input(apply_preset, preset, setting, **private)
    for c in setting:
        c.change(which_preset, setting, preset, trigger_mode="always_last", show_progress="hidden", **private)
    gen_out = [live_xt, live_x0, status, handle]
    views = [s_xt, s_eps, s_x0, s_up, step_md]
    inside = [image_idx, layer, head, patch]
    every_view = views + [moments_plot, attn_img, heads_img, attn_md, mod_plot]
    sampling = dict(concurrency_limit=MAX_RUNNING, concurrency_id="generate")

    def generate(label, guidance, sampler, eta, steps, seed, images, spacing, guidance_min_t, guidance_max_t=NO_UPPER,
                 request: gr.Request = None):
        """Stream a run: x_T at once, then at most one frame per MIN_FRAME_S, and the end. The run stops
        when this session starts a newer one, or when nobody is listening any more. (`guidance_max_t` last
        and optional: an API caller of the one-sided interval keeps its arguments.)"""
        values = dict(label=label, guidance=guidance, sampler=sampler, eta=eta, steps=steps, seed=seed, images=images,
                      spacing=spacing, guidance_min_t=guidance_min_t, guidance_max_t=guidance_max_t)
        session = getattr(request, "session_hash", None)
        with runs.claim(session) as run:
            if session and not run.wait_for_audience():
                return  # nobody will read this run: do not compute it
            key, last = None, 0.0
            for traj, note in rui.runs(**values):
                now = time.perf_counter()
                if key is None:
                    key = store.put(traj)
                    yield (*rui.frame(traj, note, as_files=True), key)
                    last = now
                elif run.replaced or run.stopped:
                    why = "Stopped" if run.stopped else "Replaced by your newer run, stopped"
                    yield gr.skip(), gr.skip(), rui.stopped_status(traj, why), key
                    return
                elif session and run.audience_gone():
                    return
                elif traj.done or now - last >= frame_interval():
                    yield (*rui.frame(traj, note, as_files=True), key)  # pictures drawn only for the frames sent
                    last = now

    def stop(key, request: gr.Request):
        """Stop this session's run at its next step (it then says where it stopped itself); with nothing
        running, say so, or where the last run ended."""
        if runs.stop(getattr(request, "session_hash", None)):
            return gr.skip()
        return rui.stopped_status(store.get(key)) if key else "Nothing is running."

    redraw = resolve(store, rui.step_views, len(every_view))

    def finish(dep):
        """After a run: the scrubber to its last step, and every view of that step (the slider's change
        event does not fire when the value stays the same)."""
        return dep.then(resolve(store, slider_update, 1), handle, step, **private).then(
            redraw, [handle, step] + inside, every_view, **private)

    def generate_after(dep, view):
        """Generate after `dep` when the applied view (JSON) opens this tab (links and lessons); otherwise
        nothing follows."""
        dep = dep.then(view_lands_on("reverse"), view, None, **private)
        return finish(dep.success(guard_gen(generate), gen_in, gen_out, trigger_mode="multiple", **sampling, **private))

    play_ev = play_btn.click(guard_gen(resolve_gen(store, rui.play_frames)), [handle, step, fps] + inside, [step] + every_view,
                             show_progress="hidden", **private)
    # "multiple": a second Generate (or a lesson's) starts at once and replaces this session's running one.
    run = gen_btn.click(guard_gen(generate), gen_in, gen_out, api_name="generate", show_progress="hidden",
                        cancels=[play_ev], trigger_mode="multiple", **sampling)
    finish(run)
    stop_btn.click(stop, handle, status, cancels=[play_ev], concurrency_limit=None, concurrency_id="stop", **private)
    pause_btn.click(None, None, None, cancels=[play_ev], **private)
    step.input(redraw, [handle, step] + inside, every_view, trigger_mode="always_last", show_progress="hidden", **private)
    for c in (image_idx, layer, head):
        c.change(redraw, [handle, step] + inside, every_view, trigger_mode="always_last", show_progress="hidden", **private)
    gif_btn.click(resolve(store, rui.export_trajectory_gif, 1, quiet=False), handle, gif_file, api_name="export_trajectory_gif")
    attn_img.select(patch_clicked, None, patch, **private).then(
        redraw, [handle, step] + inside, every_view, **private)
    sd_btn.click(guard(rui.sdedit_views), [digit, target, t_star, sd_steps, seed, guidance, eta],
                 [sd_row, sd_noise, sd_path, sd_md, sd_plot], api_name="sdedit", concurrency_limit=2, concurrency_id="heavy")

    with tab:  # API-only endpoints: their numbers are plain (unbounded) boxes, checked by the library
        api = dict(api_visibility="public")
        hidden = gr.Button(visible=False)
        n_step, n_image, n_layer, n_head, n_patch = (gr.Number(v, visible=False) for v in (1, 1, 1, 1, rui.CENTER_PATCH))
        hidden.click(resolve(store, rui.scrub, 5, quiet=False), [handle, n_step], views, api_name="scrub", **api)
        hidden.click(guard_gen(resolve_gen(store, rui.play_views)), handle, [n_step] + views, api_name="play", **api)
        hidden.click(resolve(store, rui.attention, 3, quiet=False), [handle, n_step, n_image, n_layer, n_head, n_patch],
                     [attn_img, heads_img, attn_md], api_name="attention", **api)
        hidden.click(resolve(store, rui.modulation, 1, quiet=False), [handle, n_step, n_image], mod_plot,
                     api_name="modulation", **api)
        hidden.click(resolve(store, rui.moments, 1, quiet=False), [handle, n_step], moments_plot, api_name="moments", **api)
        hidden.click(rui.model_status, None, model_md, api_name="model_status", **api)

    # view field -> (component, how a view's value becomes the component's value)
    fields = {**{name: (c, None) for name, c in controls.items()}, "sdedit": (sd_open, None)}
    link_inputs = list(controls.values())

    def view_of(*values):
        """This tab's link fields from its controls (a link names each setting as `settings.LIMITS` does)."""
        return {"tab": "reverse", **dict(zip(controls, values))}

    def sdedit_after(dep, view):
        """Open 'From a real digit' and run it when the applied view asks (a lesson's view)."""
        dep = dep.then(view_lands_on("reverse", needs="sdedit"), view, None, **private)
        return dep.success(lambda: gr.update(open=True), None, sd_box, **private).then(None, js=SCROLL_TO_SDEDIT).then(
            guard(rui.sdedit_views), [digit, target, t_star, sd_steps, seed, guidance, eta], [sd_row, sd_noise, sd_path, sd_md, sd_plot],
            concurrency_limit=2, concurrency_id="heavy", **private).then(None, js=SCROLL_TO_SDEDIT)  # again, once drawn

    return SimpleNamespace(tab=tab, controls=controls, model_md=model_md, status=status,
                           generate_after=generate_after, sdedit_after=sdedit_after, store=store, runs=runs, fields=fields,
                           link_inputs=link_inputs, view_of=view_of)


def resolve_gen(store: TrajectoryStore, fn):
    """`resolve` for generator functions (Play): fn's own message before the first run."""

    @functools.wraps(fn)
    def wrapper(handle, *args):
        traj = None if handle is None else store.get(handle)
        if handle is None:
            yield from fn(None, *args)
            return
        if traj is None:
            raise gr.Error(GONE, print_exception=False)
        yield from fn(traj, *args)

    return wrapper
