"""One function per control of the race: diffusion, a GAN and a VAE trained at once on the same 2D data.

A session's race (`training.race_2d.Race`) lives in the tab's bounded server-side store; the session's
gr.State holds its handle (see `app.common.handle_adapters`).
"""
from __future__ import annotations

import time

import numpy as np
import torch

from diffusion_core.app import frame_files
from diffusion_core.app.race import race_frames as rf
from diffusion_core.app.race import race_plots as rp
from diffusion_core.app.traffic import TRAINING_SLICES
from diffusion_core.data.points2d import PRESETS, preset_points
from diffusion_core.evaluation.coverage2d import modes_of
from diffusion_core.evaluation.distance2d import sliced_wasserstein
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.evaluation.race_measures import measure_race, race_stability
from diffusion_core.networks.threads import on_one_thread
from diffusion_core.references import cited
from diffusion_core.training.race_2d import MODELS, Race

N_POINTS = 2000
FRAME_S = 0.25  # a frame once this long has passed since the last one was sent (the target: at most
# 500 ms apart; a slice of steps, the figures and the transport come on top)
SLICE_STEPS = 2  # training steps of each model between checks of the clock
MEASURE_EVERY = 250  # training steps between measurements
MEASURE_S = 2.0  # or seconds, whichever comes first
SHOWN_DATA = 500  # data points drawn under each model's samples
MEASURE_N = 400  # samples of each model per measurement while training (the summary's cost rows use 1000)
MAX_TRAIN_S = 60.0  # one request's training; a session trains one race at a time (`traffic.TRAININGS`)
LESSON_RUNS = {  # settings that show what the comparison table says
    "default": {},
    "GAN collapse: learning rate 0.01, no stabiliser": {"gan_lr": 1e-2, "gan_d_steps": 1},
    "GAN steadied: spectral norm on D, 2 D steps": {"gan_lr": 1e-3, "gan_d_steps": 2, "spectral_norm": True},
    "VAE blur: beta = 8": {"vae_beta": 8.0},
}


def new_race(preset, seed, diffusion_lr=1e-2, gan_lr=1e-3, gan_d_steps=1, spectral_norm=False, r1=0.0, vae_lr=1e-3,
             vae_beta=1.0) -> tuple:
    """A fresh race on a preset: (race, samples figure, measures figure, status)."""
    if preset not in PRESETS:
        raise ValueError(f"Unknown data set; choose one of: {', '.join(PRESETS)}.")
    pts, labels = preset_points(preset, N_POINTS, int(seed or 0))
    centres, radius = modes_of(preset, pts, labels)
    race = Race(make_schedule("cosine", 1000), pts, labels, centres, radius,
                lr={"diffusion": float(diffusion_lr), "gan": float(gan_lr), "vae": float(vae_lr)},
                gan_d_steps=int(gan_d_steps), gan_spectral_norm=bool(spectral_norm), gan_r1=float(r1),
                vae_beta=float(vae_beta), seed=int(seed or 0), name=preset)
    return race, *views(race), f"**{preset}**: {len(centres)} modes. Press Train: the three learn the same data at once."


def lesson_run(name) -> dict:
    """The settings of a run that teaches (merged over the defaults)."""
    if name not in LESSON_RUNS:
        raise ValueError(f"Choose one of: {', '.join(LESSON_RUNS)}.")
    base = {"gan_lr": 1e-3, "gan_d_steps": 1, "spectral_norm": False, "vae_beta": 1.0}
    return {**base, **LESSON_RUNS[name]}


def _require(race) -> Race:
    if race is None:
        raise ValueError("Start a race first (pick the data, then Train).")
    return race


@on_one_thread
@torch.no_grad()
def _gan_views(race: Race, n_grid: int = 41, n_arrows: int = 120):
    """D's logits on a grid, and the generator's gradient (the direction that raises D) at some samples."""
    grid = np.linspace(-rf.EXTENT, rf.EXTENT, n_grid)
    gx, gy = np.meshgrid(grid, grid)
    D = race.gan.model.discriminator
    logits = D(torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32))).reshape(gx.shape).numpy()
    with torch.enable_grad():
        x = torch.from_numpy(race.gan.samples(n_arrows, seed=1)).requires_grad_(True)
        grad, = torch.autograd.grad(-torch.nn.functional.softplus(-D(x)).sum(), x)  # d log D(x) / dx
    g = grad.numpy()
    norms = np.linalg.norm(g, axis=1, keepdims=True)
    return grid, logits, (x.detach().numpy(), 0.35 * g / max(float(np.percentile(norms, 95)), 1e-9))


@on_one_thread
@torch.no_grad()
def _manifold(race: Race, n: int = 13) -> np.ndarray:
    """The VAE decoder's image of a grid of latents in [-2.5, 2.5]^2: (n, n, 2)."""
    z = np.linspace(-2.5, 2.5, n)
    zx, zy = np.meshgrid(z, z)
    out = race.vae.model.decoder(torch.from_numpy(np.stack([zx.ravel(), zy.ravel()], 1).astype(np.float32)))
    return out.numpy().reshape(n, n, 2)


AXES = ("step", "wall time")


def titles_of(race: Race) -> dict:
    """Each panel's title: the model, and its measured modes and distance once there are some."""
    if not race.history:
        return dict(rp.NAMES)
    row = race.history[-1]
    return {m: f"{m}: {row[m]['modes_hit']}/{row[m]['modes']} modes, distance {row[m]['distance']:.2f}" for m in MODELS}


def samples_pictures(race: Race) -> tuple[str, str, str]:
    """The three panels now, as PNG files (`race_frames`): the last measured samples over the data, the GAN's
    discriminator and gradient, the VAE's manifold."""
    samples = race.history[-1]["samples"] if race.history else {}
    _, logits, arrows = _gan_views(race)
    shown = race.points[:: max(1, len(race.points) // SHOWN_DATA)]
    return tuple(frame_files.write(img) for img in rf.samples_images(shown, samples, titles_of(race), logits, arrows,
                                                                      _manifold(race)))


def measures(race: Race, by: str = "step") -> tuple:
    """The three measures figures against `by` ("step" or "wall time")."""
    return rp.measures_figures(race.history, race.losses, by if by in AXES else "step")


def views(race: Race, by: str = "step") -> tuple:
    """The three samples pictures and the three measures figures of the race now (six values)."""
    return (*samples_pictures(race), *measures(race, by))


def _status(race: Race, elapsed: float, budget: float) -> str:
    """The progress bar, the step, the time since the start, the cost per step and the last measured modes (the
    panels' titles, as text)."""
    done = min(elapsed / budget, 1.0) if budget else 1.0
    bar = "█" * int(20 * done) + "░" * (20 - int(20 * done))
    per_step = " · ".join(f"{m} {1000 * race.seconds[m] / max(race.step, 1):.1f} ms/step" for m in MODELS)
    modes = ""
    if race.history:
        row = race.history[-1]
        modes = " · modes: " + ", ".join(f"{m} {row[m]['modes_hit']}/{row[m]['modes']}" for m in MODELS)
    return f"`{bar}` step {race.step:,} · {time.perf_counter() - race.start:.0f} s since the start · {per_step}{modes}"


def measures_view(race, by) -> tuple:
    """The measures figures against steps or wall time."""
    return measures(_require(race), by)


def train_race(race, seconds, by: str = "step") -> object:
    """Train the three for `seconds` more, streaming (race, three samples pictures, three measures figures or None
    when nothing new was measured since the last frame, status) about every FRAME_S, measuring every
    MEASURE_EVERY steps or MEASURE_S seconds, and at the end. Each frame is light for the page to draw (a
    picture, and the plot only when it changed), so a slow client keeps up and the status stays true."""
    race = _require(race)
    budget = float(np.clip(float(seconds), 0.5, MAX_TRAIN_S))
    start = last = measured = time.perf_counter()
    measured_step = race.step
    while True:
        with TRAINING_SLICES.turn():  # shared with every other training, after the running generations
            race.steps(SLICE_STEPS)
        now = time.perf_counter()
        finished = now - start >= budget
        due = finished or race.step - measured_step >= MEASURE_EVERY or now - measured >= MEASURE_S
        if due and now - last > 0.05:  # a frame first, so the measurement's cost does not stretch a gap
            yield race, samples_pictures(race), None, _status(race, now - start, budget)
            last = time.perf_counter()
        if due:
            measure_race(race, MEASURE_N)
            measured, measured_step = time.perf_counter(), race.step
        if due or time.perf_counter() - last >= FRAME_S:
            yield race, samples_pictures(race), measures(race, by) if due else None, _status(race, now - start, budget)
            last = time.perf_counter()
        if finished:
            return


def step_race(race) -> tuple:
    """Step: 100 more steps of each, then a measurement."""
    race = _require(race)
    with TRAINING_SLICES.turn():
        race.steps(100)
    measure_race(race, MEASURE_N)
    return race, *views(race), _status(race, 0, 0)


TRILEMMA = ("[@xiao2022trilemma fig. 1]: GANs sample fast with high quality but cover fewer modes; VAEs sample fast "
            "and cover the modes but with lower quality; diffusion gives quality and coverage but samples slowly")


def _against_the_trilemma(row: dict, nfe: dict) -> str:
    """What this run measured, set beside the generative learning trilemma (`TRILEMMA`, written out so the reader
    sees what is compared): quality as the share of samples near a mode, coverage as the modes hit, speed as the
    network evaluations per sample; each says whether this run agrees."""
    quality = max(MODELS, key=lambda m: row[m]["near_share"])
    fewest = min(row[m]["modes_hit"] for m in MODELS)
    fewest_models = [m for m in MODELS if row[m]["modes_hit"] == fewest]
    slowest = max(MODELS, key=lambda m: nfe.get(m, 0))
    said = [f"the most samples near a mode (quality): **{quality}** (the trilemma expects the GAN or diffusion: "
            f"{'agrees' if quality != 'vae' else 'differs here'})",
            f"the fewest modes covered: **{' and '.join(fewest_models)}** ({fewest} of {row[MODELS[0]]['modes']}; the "
            f"trilemma expects the GAN: {'agrees' if 'gan' in fewest_models else 'differs here'})",
            f"the slowest to sample: **{slowest}** ({nfe.get(slowest, '?')} network evaluations per sample against 1; the "
            f"trilemma expects diffusion: {'agrees' if slowest == 'diffusion' else 'differs here'})"]
    return f"Against the generative learning trilemma ({TRILEMMA}), this run: " + "; ".join(said) + "."


def summary(race) -> str:
    """The table after a run, in the rows of the Compare tab's MNIST table: quality, coverage, stability, cost;
    then the run set beside the generative learning trilemma."""
    race = _require(race)
    if not race.history:
        raise ValueError("Train first: there is nothing measured yet.")
    row = race.history[-1]
    race.samples(16, seed=0)  # counts the network evaluations of the race's own setting (the loop below varies it)
    nfe = dict(race.nfe_per_sample)
    cost = {}
    rng = np.random.default_rng(0)
    ref = race.points[rng.integers(0, len(race.points), 1000)]
    for k in (1, 5, 20, 100):
        start = time.perf_counter()
        pts = race.samples(1000, seed=0, diffusion_steps=k)["diffusion"]
        cost[k] = (sliced_wasserstein(pts, ref), 1000 * (time.perf_counter() - start))
    head = "| | " + " | ".join(rp.NAMES[m] for m in MODELS) + " |\n| --- | --- | --- | --- |\n"
    lines = [
        ("distance to the data (floor %.3f)" % row["floor"], [f"{row[m]['distance']:.3f}" for m in MODELS]),
        ("modes covered", [f"{row[m]['modes_hit']}/{row[m]['modes']}" for m in MODELS]),
        ("samples near a mode", [f"{100 * row[m]['near_share']:.0f}%" for m in MODELS]),
        ("stability: spread of the distance over the last 5 measurements", [f"{race_stability(race, m):.3f}" for m in MODELS]),
        ("training time per step", [f"{1000 * race.seconds[m] / max(race.step, 1):.1f} ms" for m in MODELS]),
        ("network evaluations per sample", [str(nfe.get(m, "–")) for m in MODELS]),
    ]
    table = head + "\n".join(f"| {name} | " + " | ".join(v) + " |" for name, v in lines)
    costs = "; ".join(f"{k} step{'s' if k > 1 else ''}: distance {d:.3f} ({ms:.0f} ms for 1000)" for k, (d, ms) in cost.items())
    return cited(f"After {race.step:,} steps of each on **{race.name}**:\n\n{table}\n\n{_against_the_trilemma(row, nfe)}\n\n"
            "The diffusion model's samples cost one network "
            f"evaluation per step (DDPM): {costs}. These are measured on this run, not quoted from the table.")
