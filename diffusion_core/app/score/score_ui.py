"""One function per control of the score lab: raw UI values in, what the components show out.

A session's lab (`Lab`: its data, the network in training and the last run of particles) lives in a
bounded server-side store (the tab's `TrajectoryStore`; the session's `gr.State` holds its handle), so
every event of the session, a redraw during a training stream included, sees the same lab; never a
module global. The maths is the library's: `maths.score` (the exact score),
`training.train_2d` (the DiT's objective on an MLP), `pipelines.particles` (the DiT's samplers),
`evaluation.distance2d` (sliced Wasserstein against the data-vs-data floor).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from diffusion_core.app.score import score_plots as sp
from diffusion_core.app.score import score_replay
from diffusion_core.app.traffic import TRAINING_SLICES
from diffusion_core.data.points2d import PRESETS, checked_points, parse_points_csv, preset_points
from diffusion_core.evaluation.distance2d import distance_and_floor
from diffusion_core.maths.schedules import NoiseSchedule, make_schedule
from diffusion_core.maths.score import ExactDenoiser, mixture_log_density, mixture_score_and_log_density
from diffusion_core.pipelines.particles import learned_score, particle_path_steps, score_error_curve
from diffusion_core.training.train_2d import Trainer2D

N_POINTS = 2000  # points drawn from a preset
FIELD_GRID = 15  # arrows per side
DENSITY_GRID = 41  # heat-map cells per side
CLOUD = 600  # noised points shown
MAX_CENTRES = 1000  # mixture components for the arrows (all of them for training and the distance)
DENSITY_CENTRES = 300  # and for the heat map, which only needs the shape
CLASSES = ("all (unconditional)",) + tuple(f"class {k}" for k in range(8))
SLICE_STEPS = 2  # training steps between checks of the clock
FRAME_S = 0.11  # a streamed training frame once this long has passed since the last one was sent
# (the target: at most 0.25 s apart; a slice of steps and the figure's building come on top)
FIELD_S = 1.0  # the field redrawn while training about this often
FIELD_COST_S = 0.06  # about what drawing the field adds to a frame: such a frame starts that much sooner
MAX_TRAIN_S = 60.0


@dataclass
class Lab:
    points: np.ndarray
    labels: np.ndarray
    name: str
    trainer: Trainer2D | None = None
    run: dict | None = None
    schedule_key: tuple = ()

    @property
    def nbytes(self) -> int:
        """About what the lab holds (its store's budget counts it): points, the network and optimiser, a run."""
        net = sum(p.numel() * 4 * 4 for p in self.trainer.model.parameters()) if self.trainer else 0  # weights, EMA, Adam's two
        run = sum(a.nbytes for a in (self.run or {}).values() if isinstance(a, np.ndarray))
        return int(self.points.nbytes + self.labels.nbytes + net + run)


def schedule_of(name: str, T) -> NoiseSchedule:
    return make_schedule(str(name), int(T))


def t_range(T, t) -> dict:
    """The t slider for a schedule of T steps: 0 .. T-1, its value kept inside."""
    T = int(np.clip(int(T or 2), 2, 100_000))
    return {"maximum": T - 1, "value": int(np.clip(int(t or 0), 0, T - 1))}


def _cls(label) -> int | None:
    """'class 3' -> 3; 'all (unconditional)' -> None."""
    label = str(label)
    if label not in CLASSES:
        raise ValueError(f"Choose one of: {', '.join(CLASSES)}.")
    return None if label == CLASSES[0] else int(label.split()[-1])


def _describe(lab: Lab) -> str:
    k = int(lab.labels.max()) + 1
    return f"**{lab.name}**: {len(lab.points):,} points, {k} class{'es' if k > 1 else ''}. Click the canvas to add points."


# ---------------------------------------------------------------------------- data
def load_preset(name, seed) -> tuple:
    """A preset's points: (lab, canvas image, description)."""
    if name not in PRESETS:
        raise ValueError(f"Unknown data set; choose one of: {', '.join(PRESETS)}.")
    pts, labels = preset_points(name, N_POINTS, int(seed or 0))
    lab = Lab(pts, labels, name)
    return lab, sp.canvas_image(pts, labels), _describe(lab)


def load_csv(path) -> tuple:
    """Points from an uploaded CSV (x,y or x,y,label rows)."""
    if not path:
        raise ValueError("Choose a CSV file of x,y (or x,y,label) rows first.")
    try:
        with open(path, encoding="utf-8", errors="strict") as f:
            text = f.read(2_000_001)
    except UnicodeDecodeError:
        raise ValueError("That file is not text: upload a CSV of x,y rows.") from None
    pts, labels = parse_points_csv(text)
    lab = Lab(pts, labels, "uploaded points")
    return lab, sp.canvas_image(pts, labels), _describe(lab)


def add_points(lab: Lab | None, px, py, label, seed=0, spray: int = 12) -> tuple:
    """A click on the canvas: `spray` points around it (std 0.08) of class `label` (0 .. 7). The first
    click starts a drawn set."""
    x, y = sp.pixel_to_plane(float(px), float(py))
    k = _cls(label)
    rng = np.random.default_rng([int(px), int(py), len(lab.points) if lab else 0, int(seed or 0)])
    new = np.array([x, y]) + 0.08 * rng.standard_normal((spray, 2))
    drawn = lab is not None and lab.name == "drawn points"
    old_p = lab.points if drawn else np.zeros((0, 2), np.float32)
    old_l = lab.labels if drawn else np.zeros(0, np.int64)
    pts = np.concatenate([old_p, new.astype(np.float32)])
    labels = np.concatenate([old_l, np.full(spray, k or 0, np.int64)])
    lab = Lab(*checked_points(np.clip(pts, -sp.EXTENT, sp.EXTENT), labels), "drawn points")
    return lab, sp.canvas_image(lab.points, lab.labels), _describe(lab)


def clear_points() -> tuple:
    """An empty drawing: the lab waits for clicks."""
    empty = np.zeros((0, 2), np.float32)
    return None, sp.canvas_image(empty, np.zeros(0, np.int64)), "Click the canvas to draw points (at least two)."


def _require(lab: Lab | None) -> Lab:
    if lab is None or len(lab.points) < 2:
        raise ValueError("There is no data yet: pick a preset, upload a CSV, or click the canvas to draw points.")
    return lab


# ---------------------------------------------------------------------------- the field at t
def _centres(lab: Lab, label: int | None, most: int = MAX_CENTRES) -> np.ndarray:
    pts = lab.points if label is None else lab.points[lab.labels == label]
    pts = pts if len(pts) else lab.points
    return pts[:: max(1, -(-len(pts) // most))]


def field_view(lab, schedule_name, T, t, label=CLASSES[0], guidance=1.0) -> tuple:
    """The field at t: (figure, readout). Exact score of the noised data (of class `label` when one is
    chosen), and the learned one when a network is trained for this schedule."""
    lab = _require(lab)
    s = schedule_of(schedule_name, T)
    t = int(np.clip(int(t), 0, s.num_timesteps - 1))
    k = _cls(label)
    ab = float(np.clip(s.alpha_bar(t), 1e-6, 1 - 1e-9))
    centres = _centres(lab, k)
    grid = np.linspace(-sp.EXTENT, sp.EXTENT, DENSITY_GRID)
    gx, gy = np.meshgrid(grid, grid)
    logp = mixture_log_density(np.stack([gx.ravel(), gy.ravel()], 1), _centres(lab, k, DENSITY_CENTRES), ab).reshape(gx.shape)
    a = np.linspace(-sp.EXTENT + 0.3, sp.EXTENT - 0.3, FIELD_GRID)
    ax, ay = np.meshgrid(a, a)
    at = np.stack([ax.ravel(), ay.ravel()], 1)
    exact, log_p_at = mixture_score_and_log_density(at, centres, ab)
    rng = np.random.default_rng(t)
    pick = centres[rng.integers(0, len(centres), CLOUD)]
    cloud = np.sqrt(ab) * pick + np.sqrt(1 - ab) * rng.standard_normal(pick.shape)
    learned = errors = None
    trained = lab.trainer is not None and lab.schedule_key == (s.name, s.num_timesteps)
    if trained:
        learned = learned_score(lab.trainer.eps, at, s, t, k, float(guidance))
        errors = np.linalg.norm(learned - exact, axis=1) / np.maximum(np.linalg.norm(exact, axis=1), 1e-9)
    title = f"t = {t}: ᾱ_t = {ab:.4f}, noise std √(1−ᾱ_t) = {np.sqrt(1 - ab):.3f}"
    md = f"**t = {t}**, ᾱ_t = {ab:.4f}. Black arrows: the exact score ∇ log p_t of the noised data" + (
        f" of class {k}" if k is not None else "") + "."
    if trained:
        weights = np.exp(log_p_at)
        rel = float((np.linalg.norm(learned - exact, axis=1) ** 2 * weights).sum()
                    / max((np.linalg.norm(exact, axis=1) ** 2 * weights).sum(), 1e-12))
        md += (" Coloured: the network's −ε_θ(x_t, t)/√(1−ᾱ_t)" + (f", guided with w = {float(guidance):g}" if k is not None else "")
               + f"; its error where the data lives (density-weighted): **{100 * rel:.1f}%**.")
        title += f" · learned score error {100 * rel:.1f}%"
    elif lab.trainer is not None:
        md += " The network was trained for another schedule: train again to see its field."
    else:
        md += " Train the network to see its learned score beside it."
    return sp.field_figure(grid, logp, cloud, at, exact, learned, errors, title), md


# ---------------------------------------------------------------------------- training
def _trainer(lab: Lab, s: NoiseSchedule, lr) -> Trainer2D:
    """The lab's network, fresh when there is none, or when the schedule or the learning rate changed."""
    key = (s.name, s.num_timesteps)
    tr = lab.trainer
    if tr is None or lab.schedule_key != key or abs(tr.lr - float(lr)) > 1e-12:
        lab.trainer = Trainer2D(s, lab.points, lab.labels, lr=float(lr))
        lab.schedule_key, lab.run = key, None
    return lab.trainer


def _progress(tr: Trainer2D, seconds: float, budget: float) -> str:
    done = min(seconds / budget, 1.0) if budget else 1.0
    bar = "█" * int(20 * done) + "░" * (20 - int(20 * done))
    loss = f"{tr.losses[-1][1]:.4f}" if tr.losses else "–"
    return f"`{bar}` step {tr.step:,} · {tr.seconds:.1f} s of training · loss {loss}"


def train(lab, schedule_name, T, lr, seconds, t, label=CLASSES[0], guidance=1.0):
    """Train for `seconds` more (at most MAX_TRAIN_S), streaming (lab, training figure, field figure,
    field readout, progress) about every FRAME_S; None stands for "unchanged". The field, dearer, is
    redrawn in a frame about every FIELD_S; at the end come the score-error curve, then the field.
    Pause (cancelling the event) keeps what was learned."""
    lab = _require(lab)
    s = schedule_of(schedule_name, T)
    tr = _trainer(lab, s, lr)
    budget = float(np.clip(float(seconds), 0.5, MAX_TRAIN_S))
    start = last = last_field = time.perf_counter()
    while True:
        with TRAINING_SLICES.turn():  # shared with every other training, after the running generations
            tr.steps(SLICE_STEPS)
        now = time.perf_counter()
        finished = now - start >= budget
        field_due = not finished and now - last_field >= FIELD_S
        if finished or now - last >= FRAME_S - (FIELD_COST_S if field_due else 0.0):
            field = (None, None)
            if field_due:
                field, last_field = field_view(lab, schedule_name, T, t, label, guidance), now
            yield lab, sp.training_figure(tr.losses), *field, _progress(tr, now - start, budget)
            last = time.perf_counter()
        if finished:  # then the learned score's error against t, and the field, each in a frame of its own
            curve = score_error_curve(tr.eps, lab.points, s, count=8)
            yield lab, sp.training_figure(tr.losses, *curve), None, None, _progress(tr, now - start, budget)
            yield lab, None, *field_view(lab, schedule_name, T, t, label, guidance), _progress(tr, now - start, budget)
            return


def train_steps(lab, schedule_name, T, lr, t, label=CLASSES[0], guidance=1.0, k: int = 200) -> tuple:
    """Step: k more training steps at once (lab, training figure, field figure, readout, progress)."""
    lab = _require(lab)
    s = schedule_of(schedule_name, T)
    tr = _trainer(lab, s, lr)
    with TRAINING_SLICES.turn():
        tr.steps(k)
    fig, md = field_view(lab, schedule_name, T, t, label, guidance)
    return lab, sp.training_figure(tr.losses, *score_error_curve(tr.eps, lab.points, s, count=8)), fig, md, _progress(tr, 0, 0)


def replay_training(k, t, label=CLASSES[0], guidance=1.0) -> tuple:
    """Snapshot k (from 1) of the recorded training in a new lab (`score_replay`): (lab, canvas, data text,
    training figure, field figure, field text, status, the recording's schedule name and T)."""
    tr, meta = score_replay.trainer_at(int(k) - 1)
    name, T = meta["schedule"]
    lab = Lab(tr.points, tr.labels, meta["name"], tr, None, (name, int(T)))
    fig, md = field_view(lab, name, T, t, label, guidance)
    return (lab, sp.canvas_image(lab.points, lab.labels), _describe(lab), sp.training_figure(tr.losses), fig, md,
            score_replay.status(meta), name, int(T))


# ---------------------------------------------------------------------------- the reverse process
def _draw_like(lab: Lab, label: int | None):
    """Fresh draws of the data (a preset's distribution; a drawn or uploaded set resampled), for the floor."""
    if lab.name in PRESETS:
        def draw(n, seed):
            pts, labels = preset_points(lab.name, min(n * (8 if label is not None else 1), 20_000), seed)
            return (pts if label is None else pts[labels == label])[:n]
        return draw
    pool = lab.points if label is None else lab.points[lab.labels == label]
    return lambda n, seed: pool[np.random.default_rng(seed).integers(0, len(pool), n)]


def _kind(sampler: str, eta: float) -> str:
    """Which process a sampler discretises."""
    if sampler in ("euler", "heun", "dpm++2m") or (sampler == "ddim" and eta == 0):
        return "the probability-flow ODE"
    return "the reverse SDE" if sampler == "ddpm" or eta >= 1 else f"between ODE and SDE (eta = {eta:g})"


def sample_particles(lab, schedule_name, T, sampler, steps, eta, particles, seed, label=CLASSES[0], guidance=1.0,
                     use_exact=False):
    """Particles from N(0, I) to the data, streamed: (lab, paths figure, readout, scrubber update dict) about
    every FRAME_S while the sampler runs, then the whole run, then its distance to the data (figure None:
    unchanged). `use_exact`
    runs the sampler on the exact score instead of the network (what a perfectly trained one would do)."""
    lab = _require(lab)
    s = schedule_of(schedule_name, T)
    k = _cls(label)
    if use_exact:
        den, who = ExactDenoiser(s, lab.points, lab.labels, null_label=8), (
            f"the exact score (it sums over all {len(lab.points):,} data points for every particle at every step: far slower "
            "than the network)")
    elif lab.trainer is not None and lab.schedule_key == (s.name, s.num_timesteps):
        den, who = lab.trainer.eps, f"the network ({lab.trainer.step:,} steps)"
    else:
        raise ValueError("Train the network for this schedule first (or tick 'use the exact score').")
    pool = lab.points if k is None else lab.points[lab.labels == k]
    kind = _kind(str(sampler), float(eta))
    last = time.perf_counter()
    for run in particle_path_steps(den, s, str(sampler), int(steps), float(eta), int(particles), int(seed), k, float(guidance)):
        K, done = len(run["t"]) - 1, len(run["paths"]) - 1
        if done < K and time.perf_counter() - last >= FRAME_S:
            fig = sp.paths_figure(run["paths"], done, pool, f"step {done} of {K} · {kind}")
            yield lab, fig, f"{sampler}: step {done} of {K}, {kind}, driven by {who}…", {"maximum": K, "value": done}
            last = time.perf_counter()
    run = dict(run, who=who, data=pool, kind=kind)  # the last step's arrays are the whole run: nothing writes them again
    lab.run = run
    yield lab, scrub_particles(lab, K), f"{sampler}, {K} steps: {kind}, driven by {who}. Measuring the distance to the data…", {
        "maximum": K, "value": K}
    m = run["metrics"] = distance_and_floor(run["paths"][-1], _draw_like(lab, k), seed=int(seed))
    md = (f"{sampler}, {K} steps: {kind}, driven by {who}. Sliced Wasserstein distance to the data "
          f"**{m['distance']:.3f}**; two draws of the data itself at N = {m['n']}: {m['floor']:.3f} "
          f"(ratio **{m['ratio']:.2f}x**).")
    if use_exact:
        md += (f" The exact score is that of these {len(lab.points):,} points themselves: at time t each is blurred into "
               "a Gaussian of width √(1 − ᾱ_t), and as t → 0 the blur shrinks to nothing, so following the score brings "
               "every particle onto one of the points: the samples are copies of the data, not new points "
               "(memorisation). A set of copies is itself a draw of the data, so its distance comes out about at the "
               "floor, by chance a little above or below. A trained network learns a smoother field and makes new "
               "points.")
    yield lab, None, md, {"maximum": K, "value": K}


def scrub_particles(lab, k):
    """The particles at step k of the last run (0 = x_T)."""
    if lab is None or lab.run is None:
        raise ValueError("Run the reverse process first (Sample).")
    run = lab.run
    K = len(run["paths"]) - 1
    k = int(np.clip(int(k), 0, K))
    t = run["t"][k]
    where = "x_T ~ N(0, I)" if k == 0 else ("the end: samples" if k == K else f"after step {k} of {K} (t = {t:g})")
    return sp.paths_figure(run["paths"], k, run["data"], f"{where} · {run['kind']}")
