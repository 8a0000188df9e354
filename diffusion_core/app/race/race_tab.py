"""The "Race" tab: diffusion vs GAN vs VAE trained live, side by side, on the same 2D data, with mode
coverage, quality and stability measured as they train. Layout and wiring only; the work is in
`diffusion_core.app.race.race_ui`."""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from diffusion_core.app.common import guard, handle_adapters, one_training, private, view_lands_on
from diffusion_core.app.race import race_replay
from diffusion_core.app.race import race_ui as ru
from diffusion_core.app.trajectory_store import TrajectoryStore
from diffusion_core.data.points2d import PRESETS

INTRO = """Three generative models learn the same points at the same time, with the same batches and the same number
of steps: a diffusion model (the score lab's), a GAN (GAN Lab's view: its discriminator as a heat map, blue where
it believes "real", and the direction the generator is pushed) and a VAE (its decoder's image of a grid of latents).
Watch coverage of the modes, quality (the distance to the data, against two draws of the data itself) and
stability, as they train. Try the runs that teach: a GAN collapsing, a VAE blurring."""


def build_race_tab() -> SimpleNamespace:
    store = TrajectoryStore(max_bytes=64 * 2**20, max_idle_s=3600)
    stored, updated, reading, updated_gen = handle_adapters(store)
    with gr.Tab("Race", id="race") as tab:
        gr.Markdown(INTRO)
        race = gr.State(None, time_to_live=3600)  # a handle into `store`
        with gr.Row():
            preset = gr.Dropdown(list(PRESETS), value="ring of 8 Gaussians", label="Data", elem_id="race-data")
            seed = gr.Number(0, precision=0, minimum=0, maximum=2**31 - 1, label="Seed", elem_id="race-seed")
            run = gr.Dropdown(list(ru.LESSON_RUNS), value="default", label="A run that teaches", elem_id="race-run")
            seconds = gr.Slider(1, ru.MAX_TRAIN_S, value=20, step=1, label="seconds", elem_id="race-seconds")
        with gr.Accordion("Settings of each model", open=False):
            with gr.Row():
                diffusion_lr = gr.Number(1e-2, label="diffusion: learning rate", minimum=1e-6, maximum=10)
                gan_lr = gr.Number(1e-3, label="GAN: learning rate", minimum=1e-6, maximum=10, elem_id="race-gan-lr")
                gan_d_steps = gr.Slider(1, 5, value=1, step=1, label="GAN: D steps per G step")
                spectral_norm = gr.Checkbox(False, label="GAN: spectral norm on D")
                r1 = gr.Number(0.0, label="GAN: R1 penalty", minimum=0, maximum=100)
                vae_lr = gr.Number(1e-3, label="VAE: learning rate", minimum=1e-6, maximum=10)
                vae_beta = gr.Number(1.0, label="VAE: KL weight beta", minimum=0, maximum=1e6, elem_id="race-beta")
        with gr.Row():
            train_btn = gr.Button("Train (a new race)", variant="primary", elem_id="race-train")
            more_btn = gr.Button("Train more", elem_id="race-more")
            pause_btn = gr.Button("Pause", elem_id="race-pause")
            step_btn = gr.Button("Step (+100)", elem_id="race-step")
            table_btn = gr.Button("Summary table", elem_id="race-table-btn")
        with gr.Row():
            replay_btn = gr.Button("Replay the recorded race (the lesson's settings, at once)", size="sm", elem_id="race-replay",
                                   scale=1)
            replay_at = gr.Slider(1, max(2, race_replay.frames()), value=max(2, race_replay.frames()), step=1,
                                  label="recorded frame", elem_id="race-replay-at", scale=3)
        status = gr.Markdown(elem_id="race-status")
        with gr.Row(elem_id="race-samples"):  # one panel per row on a phone
            pictures = [gr.Image(label=label, show_label=False, format="png", interactive=False, min_width=280,
                                 elem_id=f"race-samples-{m}")
                        for m, label in (("diffusion", "diffusion's samples over the data"),
                                         ("gan", "the GAN's samples over its discriminator (blue: 'real')"),
                                         ("vae", "the VAE's samples over its decoder manifold"))]
        by = gr.Radio(list(ru.AXES), value="step", label="plot the measures against", elem_id="race-by")
        with gr.Row(elem_id="race-measures"):
            plots = [gr.Plot(label=label, show_label=False, min_width=280, elem_id=f"race-measures-{k}")
                     for k, label in (("modes", "modes covered"), ("distance", "distance to the data"), ("loss", "losses"))]
        table = gr.Markdown(elem_id="race-table", elem_classes="cmp-table")

    settings = [preset, seed, diffusion_lr, gan_lr, gan_d_steps, spectral_norm, r1, vae_lr, vae_beta]
    outs = [race, *pictures, *plots, status]
    heavy = dict(concurrency_limit=4, concurrency_id="race")
    def teach(name):
        """A run that teaches: its settings into the controls."""
        s = ru.lesson_run(name)
        return s["gan_lr"], s["gan_d_steps"], s["spectral_norm"], s["vae_beta"]
    run.input(teach, run, [gan_lr, gan_d_steps, spectral_norm, vae_beta], **private)

    def train_new(*values, request: gr.Request = None):
        state, *shown = stored(ru.new_race)(*values[:-2])
        yield state, *shown
        yield from train_frames(state, *values[-2:], request=request)

    def train_frames(handle, secs, axis, request: gr.Request = None):
        """The training's frames, while it is this session's one training (a newer one stops it); a frame
        without a new measurement leaves the measures plot as it is."""
        for state, shown, figures, status_md in one_training(request, updated_gen(ru.train_race)(handle, secs, axis)):
            yield state, *shown, *(figures or (gr.skip(),) * len(plots)), status_md

    training = train_btn.click(train_new, settings + [seconds, by], outs, api_name="race_train", **heavy)
    more = more_btn.click(train_frames, [race, seconds, by], outs, api_name="race_more", **heavy)
    pause_btn.click(None, None, None, cancels=[training, more], **private)
    step_btn.click(updated(ru.step_race), race, outs, api_name="race_step", **heavy)
    table_btn.click(reading(ru.summary), race, table, api_name="race_summary", **heavy)
    by.input(reading(ru.measures_view), [race, by], plots, **private)

    def replay_frame(k, axis):
        shown, figures, text = race_replay.replay_race(int(k) - 1, axis)
        return *shown, *figures, text

    replay = guard(replay_frame)
    replay_out = [*pictures, *plots, status]
    replay_btn.click(lambda: gr.update(value=max(1, race_replay.frames())), None, replay_at, **private).then(
        replay, [replay_at, by], replay_out, api_name="race_replay")
    replay_at.input(replay, [replay_at, by], replay_out, trigger_mode="always_last", **private)

    def applied_after(dep, view_json):
        """After a link or lesson opens this tab asking for it: the recorded race, at its last frame."""
        dep = dep.then(view_lands_on("race", needs="replay"), view_json, None, **private)
        return dep.success(lambda: gr.update(value=max(1, race_replay.frames())), None, replay_at, **private).then(
            replay, [replay_at, by], replay_out, **private)

    fields = {"points": (preset, None), "seed": (seed, None)}
    link_inputs = [preset, seed]

    def view_of(preset_v, seed_v):
        return {"tab": "race", "points": preset_v, "seed": seed_v}

    return SimpleNamespace(tab=tab, fields=fields, link_inputs=link_inputs, view_of=view_of, race=race,
                           applied_after=applied_after)
