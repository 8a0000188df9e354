"""The "Score lab" tab: diffusion in 2D, where the score field, the reverse SDE and the probability-flow
ODE can be seen, and a network trains live in seconds. Layout and wiring only; the work is in
`diffusion_core.app.score.score_ui`."""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from diffusion_core.app.common import LATEX, handle_adapters, one_training, private, view_lands_on
from diffusion_core.app.score import score_replay
from diffusion_core.app.score import score_ui as sui
from diffusion_core.app.trajectory_store import TrajectoryStore
from diffusion_core.data.points2d import PRESETS
from diffusion_core.maths.schedule_makers import MAKERS
from diffusion_core.maths.schedules import MAX_TIMESTEPS

INTRO = """Diffusion on points in the plane, where everything can be drawn. The forward process noises the data
to $x_t = \\sqrt{\\bar\\alpha_t}\\,x_0 + \\sqrt{1-\\bar\\alpha_t}\\,\\epsilon$; the density $p_t$ of the N training
points is a mixture of N Gaussians, one around each point, so its **score** $\\nabla_x \\log p_t$ is known exactly (black arrows). A network trained to predict
the noise learns the same field, $s_\\theta = -\\epsilon_\\theta(x_t, t)/\\sqrt{1-\\bar\\alpha_t}$ (coloured
arrows). The reverse process follows it: DDPM is the reverse SDE, DDIM with eta = 0 the probability-flow ODE,
with the very sampler functions the image model uses."""
SAMPLERS_2D = ("ddpm", "ddim", "dpm++2m", "heun", "euler")


def build_score_tab() -> SimpleNamespace:
    with gr.Tab("Score lab", id="score") as tab:
        gr.Markdown(INTRO, latex_delimiters=LATEX)
        lab = gr.State(None, time_to_live=3600)  # a handle into `store`
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                preset = gr.Dropdown(list(PRESETS), value="ring of 8 Gaussians", label="Data", elem_id="score-data")
                seed = gr.Number(0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed (data draw and x_T)", elem_id="score-seed")
                canvas = gr.Image(label="The data: click to add points", type="numpy", format="png", interactive=False,
                                  elem_id="score-canvas", height=sui.sp.CANVAS)
                with gr.Row():
                    draw_class = gr.Dropdown(list(sui.CLASSES[1:]), value="class 0", label="Class of new points", scale=2)
                    clear_btn = gr.Button("Clear (draw your own)", size="sm", scale=1, elem_id="score-clear")
                upload = gr.File(label="Or upload a CSV (x,y or x,y,label rows)", file_types=[".csv", ".txt"], height=90)
                data_md = gr.Markdown(elem_id="score-data-md")
            with gr.Column(scale=2):
                with gr.Row():
                    schedule = gr.Dropdown(sorted(MAKERS), value="cosine", label="Schedule", elem_id="score-schedule")
                    T = gr.Number(1000, precision=0, minimum=2, maximum=MAX_TIMESTEPS, label="T", elem_id="score-T")
                    t = gr.Slider(0, MAX_TIMESTEPS - 1, value=300, step=1, label="t", elem_id="score-t")
                field_plot = gr.Plot(label="the field at t", elem_id="score-field")
                field_md = gr.Markdown(elem_id="score-field-md")
        with gr.Row():
            with gr.Column(scale=1, min_width=320):
                gr.Markdown("**Train** the network (an MLP, eps-MSE: the DiT's objective and code)")
                with gr.Row():
                    lr = gr.Slider(1e-4, 0.1, value=1e-2, step=1e-4, label="learning rate", elem_id="score-lr")
                    seconds = gr.Slider(1, sui.MAX_TRAIN_S, value=10, step=1, label="seconds", elem_id="score-seconds")
                with gr.Row():
                    train_btn = gr.Button("Train", variant="primary", elem_id="score-train")
                    pause_btn = gr.Button("Pause", elem_id="score-pause")
                    step_btn = gr.Button("Step (+200)", elem_id="score-step")
                with gr.Row():
                    replay_btn = gr.Button("Replay the recorded training", size="sm", elem_id="score-replay")
                    replay_at = gr.Slider(1, max(2, score_replay.snapshots()), value=max(2, score_replay.snapshots()), step=1,
                                          label="recorded snapshot", elem_id="score-replay-at")
                progress = gr.Markdown(elem_id="score-progress")
                gr.Markdown("**Guidance** (labelled data): the field of one class, guided")
                with gr.Row():
                    label = gr.Dropdown(list(sui.CLASSES), value=sui.CLASSES[0], label="Class", elem_id="score-class")
                    guidance = gr.Slider(0, 8, value=1, step=0.5, label="guidance w", elem_id="score-guidance")
            with gr.Column(scale=2):
                train_plot = gr.Plot(label="training", elem_id="score-train-plot")
        gr.Markdown("**Reverse process**: particles from N(0, I), moved by a sampler")
        with gr.Row():
            sampler = gr.Dropdown(list(SAMPLERS_2D), value="ddpm", label="Sampler", elem_id="score-sampler")
            steps = gr.Slider(1, 250, value=100, step=1, label="Steps", elem_id="score-steps")
            eta = gr.Slider(0, 1, value=0, step=0.1, label="stochasticity eta (DDIM: 0 ODE, 1 SDE)", elem_id="score-eta")
            particles = gr.Slider(100, 4000, value=2000, step=100, label="Particles", elem_id="score-particles")
            exact = gr.Checkbox(False, label="use the exact score", elem_id="score-exact")
            sample_btn = gr.Button("Sample", variant="primary", elem_id="score-sample")
        scrub = gr.Slider(0, 250, value=0, step=1, label="step (0 = x_T)", elem_id="score-scrub")
        paths_plot = gr.Plot(label="particles", elem_id="score-paths")
        sample_md = gr.Markdown(elem_id="score-sample-md")

    store = TrajectoryStore(max_bytes=128 * 2**20, max_idle_s=3600)
    stored, updated, reading, updated_gen = handle_adapters(store)
    controls = dict(preset=preset, seed=seed, schedule=schedule, T=T, t=t, lr=lr, seconds=seconds, label=label,
                    guidance=guidance, sampler=sampler, steps=steps, eta=eta, particles=particles, exact=exact)
    view = [lab, schedule, T, t, label, guidance]
    field_out = [field_plot, field_md]
    fast = dict(concurrency_limit=8, concurrency_id="score")
    redraw = dict(fn=reading(sui.field_view), inputs=view, outputs=field_out, **fast)

    load = preset.input(stored(sui.load_preset), [preset, seed], [lab, canvas, data_md], api_name="score_data", **fast)
    load.success(**redraw, **private)
    seed.submit(stored(sui.load_preset), [preset, seed], [lab, canvas, data_md], **fast, **private).success(**redraw, **private)
    upload.upload(stored(sui.load_csv), upload, [lab, canvas, data_md], **fast, **private).success(**redraw, **private)
    clear_btn.click(stored(sui.clear_points), None, [lab, canvas, data_md], **private)

    def on_click(state, cls, seed_value, evt: gr.SelectData):
        return updated(sui.add_points)(state, evt.index[0], evt.index[1], cls, seed_value)
    canvas.select(on_click, [lab, draw_class, seed], [lab, canvas, data_md], **fast, **private).success(**redraw, **private)

    t.input(**redraw, api_name="score_field", trigger_mode="always_last")
    for c in (schedule, label, guidance):
        c.input(**redraw, **private)
    def fit_t(T_value, t_value):
        return gr.update(**sui.t_range(T_value, t_value))
    T.submit(fit_t, [T, t], t, **private).then(**redraw, **private)

    train_out = [lab, train_plot, field_plot, field_md, progress]
    train_in = [lab, schedule, T, lr, seconds, t, label, guidance]
    def train_frames(*values, request: gr.Request = None):
        """The stream of training frames; a frame without a new field leaves the field as it is. It ends when
        the session starts another training (here or in the race)."""
        for state, curves, fig, md, progress_md in one_training(request, updated_gen(sui.train)(*values)):
            yield state, *(gr.skip() if v is None else v for v in (curves, fig, md)), progress_md
    training = train_btn.click(train_frames, train_in, train_out, api_name="score_train",
                               concurrency_limit=4, concurrency_id="score_train")
    pause_btn.click(None, None, None, cancels=[training], **private)
    step_btn.click(updated(sui.train_steps), [lab, schedule, T, lr, t, label, guidance], train_out, api_name="score_step",
                   concurrency_limit=4, concurrency_id="score_train")

    replay_out = [lab, canvas, data_md, train_plot, field_plot, field_md, progress, schedule, T]
    replay_in = [replay_at, t, label, guidance]
    replay_btn.click(lambda: gr.update(value=max(1, score_replay.snapshots())), None, replay_at, **private).then(
        stored(sui.replay_training), replay_in, replay_out, api_name="score_replay", **fast)
    replay_at.input(stored(sui.replay_training), replay_in, replay_out, trigger_mode="always_last", **fast, **private)

    def sample_then_scrub(*values):
        """The particles streamed as they move, the scrubber following them."""
        for state, fig, md, scrub_update in updated_gen(sui.sample_particles)(*values):
            yield state, gr.skip() if fig is None else fig, md, gr.update(**scrub_update)
    sample_btn.click(sample_then_scrub, [lab, schedule, T, sampler, steps, eta, particles, seed, label, guidance, exact],
                     [lab, paths_plot, sample_md, scrub], api_name="score_sample", concurrency_limit=4, concurrency_id="score_train")
    scrub.input(reading(sui.scrub_particles), [lab, scrub], paths_plot, api_name="score_scrub", trigger_mode="always_last", **fast)

    def fill_once(state, preset_value, seed_value):
        """The tab's first opening: the chosen preset and its field (a lab already there stays)."""
        if state is not None:
            return (gr.skip(),) * 3
        return stored(sui.load_preset)(preset_value, seed_value)
    tab.select(fill_once, [lab, preset, seed], [lab, canvas, data_md], **private).success(
        fit_t, [T, t], t, **private).success(**redraw, **private)

    fields = {"points": (preset, None), "seed": (seed, None), "schedule": (schedule, None), "T": (T, None), "t": (t, None),
              "sampler": (sampler, None), "steps": (steps, None), "eta": (eta, None), "guidance": (guidance, None),
              "data_class": (label, lambda k: sui.CLASSES[int(k) + 1])}
    link_inputs = [preset, seed, schedule, T, t, sampler, steps, eta, guidance, label]

    def view_of(preset_v, seed_v, schedule_v, T_v, t_v, sampler_v, steps_v, eta_v, guidance_v, label_v):
        k = sui.CLASSES.index(label_v) - 1 if label_v in sui.CLASSES else -1
        return {"tab": "score", "points": preset_v, "seed": seed_v, "schedule": schedule_v, "T": T_v, "t": t_v,
                "sampler": sampler_v, "steps": steps_v, "eta": eta_v, "guidance": guidance_v, "data_class": k}

    def applied_after(dep, view_json):
        """After a link or lesson opens this tab: load its data and draw its field; with "replay", the recorded
        training at its last snapshot."""
        landed = dep.then(view_lands_on("score"), view_json, None, **private)
        landed = landed.success(stored(sui.load_preset), [preset, seed], [lab, canvas, data_md], **private)
        landed.success(fit_t, [T, t], t, **private).success(**redraw, **private)
        replaying = dep.then(view_lands_on("score", needs="replay"), view_json, None, **private)
        return replaying.success(lambda: gr.update(value=max(1, score_replay.snapshots())), None, replay_at, **private).then(
            stored(sui.replay_training), replay_in, replay_out, **private)

    return SimpleNamespace(tab=tab, controls=controls, fields=fields, link_inputs=link_inputs, view_of=view_of,
                           applied_after=applied_after, lab=lab)
