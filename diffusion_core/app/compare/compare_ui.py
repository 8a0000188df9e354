"""The compare tab: diffusion (DiT) vs GAN vs VAE on the same digit class and seed.

Samples side by side with their measured time and network evaluations, latent interpolation for
each, the three training-loss curves, and the measured comparison table from
`assets/comparison.json` (written by `python -m diffusion_core.compare`), with its verdict.
"""
from __future__ import annotations

import time
from functools import lru_cache

import numpy as np
import plotly.graph_objects as go

from diffusion_core.app import plane_figures as pf
from diffusion_core.evaluation.comparison import KINDS, read_loss_log, read_report, wall_text
from diffusion_core.pipelines import backends
from diffusion_core.pipelines.generation import generate, guided_range, nfe_per_sample
from diffusion_core.app.wording import cache_note
from diffusion_core.settings import sampling
from diffusion_core.pipelines.interpolation import interpolate
from diffusion_core.networks.loaded import loaded
from diffusion_core.data.images import digit_grid, grid, to_display, upscale
from diffusion_core.data.images_io import digit_choices

NAMES = {"dit": "Diffusion (DiT)", "gan": "GAN", "vae": "VAE"}


def startup_notice() -> str:
    """A banner for the top of the page when any shipped model or the bundled digits cannot load ("" when all do)."""
    problems = [] if digit_choices() else [
        "**Sample digits**: assets/sample_digits.npz is missing or broken; the image menu offers the photos only "
        "and SDEdit is unavailable. Restore the file from the repository."]
    for kind in KINDS:
        try:
            loaded(kind)
        except Exception as exc:  # noqa: BLE001 - each failure is named to the user
            problems.append(f"**{NAMES[kind]}**: {exc}")
    if not problems:
        return ""
    return ("**Some parts could not be loaded**; the forward-process and schedule lab works without them.\n\n- "
            + "\n- ".join(problems))


def _digit(label) -> int:
    try:
        d = int(label)
    except (TypeError, ValueError):
        raise ValueError("Choose a digit from 0 to 9.") from None
    if not 0 <= d <= 9:
        raise ValueError("Choose a digit from 0 to 9.")
    return d


def _seed(value, name: str = "Seed") -> int:
    """A seed box's value as an int in 0 .. 2^31 - 1, or a ValueError saying so."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (0 <= v < 2**31) or v != int(v):
        raise ValueError(f"{name} must be a whole number from 0 to 2^31 - 1, got {str(value)[:20]}.")
    return int(v)


def samples_and_costs(label, seed, n=8) -> tuple[list[np.ndarray], dict]:
    """n samples of one digit from each model, timed: ([DiT grid, GAN grid, VAE grid], {kind: (ms per
    sample now, network evaluations per sample, share of the DiT's network rows served by the shared
    batcher's cache of recent identical rows: 0 here, the DiT's rows are always computed, so the timing a
    lesson points at is the network's; 0 for the others)}). The DiT samples at its recommended setting."""
    d, n, seed = _digit(label), int(n), _seed(seed)
    if not 1 <= n <= 16:
        raise ValueError("Use between 1 and 16 samples.")
    images, costs = [], {}
    for kind in KINDS:
        pre = loaded(kind)
        start = time.perf_counter()
        if kind == "dit":  # on the generation backend, batched with the reverse tab's runs, never answered from their cache
            x, reused = backends.active().images(np.full(n, d), seed, fresh=True)
        else:
            x, reused = generate(kind, np.full(n, d), seed=seed, pretrained=pre)[:, 0].numpy(), 0.0
        ms = (time.perf_counter() - start) * 1000 / n
        costs[kind] = (ms, nfe_per_sample(kind, pre.meta), reused)
        images.append(digit_grid(x))
    return images, costs


def side_by_side(label, seed, n=8):
    """(DiT grid, GAN grid, VAE grid, timing table): `samples_and_costs` for the compare tab."""
    images, costs = samples_and_costs(label, seed, n)
    rows = ["| model | ms per sample (measured now) | network evaluations per sample |", "| --- | --- | --- |"]
    rows += [f"| {NAMES[kind]} | {ms:.2f}{cache_note(reused)} | {nfe} |" for kind, (ms, nfe, reused) in costs.items()]
    s = sampling(loaded("dit").meta)
    rows.append(f"\nDiT setting: {s.sampler}, {s.steps} steps, guidance {s.guidance:g}{guided_range(s)}, {s.spacing} spacing.")
    return (*images, "\n".join(rows))


def interpolations(label, seed_a, seed_b, frames=8):
    """(DiT strip, GAN strip, VAE strip): the path between two latents (slerp) decoded by each model.
    For the DiT the latent is x_T, decoded by deterministic DDIM."""
    d = _digit(label)
    seed_a, seed_b = _seed(seed_a, "Seed A"), _seed(seed_b, "Seed B")
    return tuple(interpolation_strip(backends.active().interpolate(d, seed_a, seed_b, int(frames)) if kind == "dit" else
                                     interpolate(kind, loaded(kind), d, seed_a, seed_b, frames=int(frames))[:, 0].numpy())
                 for kind in KINDS)


def interpolation_strip(x: np.ndarray) -> np.ndarray:
    """(F, 28, 28) in [-1, 1] -> one row of digits, upscaled 3x."""
    return upscale(grid(to_display(x), len(x)), 3)


CURVE_POINTS = 300  # points per loss curve sent to the browser


def dit_loss_title() -> str:
    """The DiT panel's title: its loss, and from which step it was Min-SNR weighted (its JSON's stages)."""
    try:
        history = loaded("dit").meta.get("training", {}).get("history", [])
    except Exception:  # noqa: BLE001 - the banner names a broken model
        history = []
    stage = next((h for h in history if "min-snr" in h.get("command", "")), None)
    return f"DiT: eps-MSE (Min-SNR weighted from step {str(stage['steps']).split('-')[0]})" if stage else "DiT: eps-MSE"


LOSS_PANELS = {"dit": ("loss",), "gan": ("g_loss", "d_loss"), "vae": ("neg_elbo",)}


@lru_cache(maxsize=1)
def loss_figures() -> tuple[go.Figure, go.Figure, go.Figure]:
    """The three training-loss curves from assets/*_loss.csv, one figure each (their scales differ; side by side
    on a wide screen, one per row on a phone), on log axes whose ticks read as numbers."""
    titles = {"dit": dit_loss_title(), "gan": "GAN: generator and discriminator", "vae": "VAE: BCE + KL, its training loss"}
    figs = []
    for kind in KINDS:
        log, traces, values = read_loss_log(kind), [], []
        for name in LOSS_PANELS[kind]:
            y = log[name]
            w = max(1, len(y) // 200)  # light smoothing so a curve reads at a glance; raw values in the CSV
            smooth = np.convolve(y, np.ones(w) / w, mode="valid")
            keep = slice(None, None, max(1, len(smooth) // CURVE_POINTS))  # the page holds (and clones) every point
            traces.append(go.Scatter(x=log["step"][w - 1:][keep], y=smooth[keep], mode="lines", name=f"{kind} {name}"))
            values.append(smooth)
        yaxis = pf.log_axis(np.concatenate(values)) if kind == "dit" else {}
        figs.append(go.Figure(traces, dict(title=dict(text=titles[kind], font=dict(size=13)), height=300, yaxis=yaxis,
                                          xaxis=dict(title="step"), margin=dict(l=45, r=10, t=40, b=40),
                                          legend=dict(orientation="h", y=-0.3))))
    return tuple(figs)


# How each row of the table is read: (label, value of a model's report, text, which is best, what it means)
ROWS = (
    ("**Quality**: Fréchet distance", lambda v: v["frechet_distance"], "{:.2f}", min,
     "lower is better; real digits against real digits score {floor:.2f}"),
    ("**Quality**: classified as the asked digit", lambda v: v["accuracy"], "{:.1%}", max, ""),
    ("**Fidelity**: precision", lambda v: v["precision"], "{:.3f}", max,
     "share of samples that look like some real digit; real digits against real digits score {pfloor:.2f}, and a value "
     "above that means samples sit in the middle of the real digits' region, as averaged (mean) images do, so higher "
     "is not always better"),
    ("**Coverage**: recall", lambda v: v["recall"], "{:.3f}", max,
     "share of real digits that some sample looks like; real digits against real digits score {rfloor:.2f}"),
    ("**Diversity** within a class, relative to real", lambda v: v["diversity_relative_to_real"], "{:.2f}",
     lambda vals: min(vals, key=lambda x: abs(x - 1)),
     "1 = as spread out as real digits of a class; further from 1 either way is further from the data (bold: nearest 1)"),
    ("**Mode coverage**: classes produced", lambda v: v["classes_covered"], "{} of 10", max, ""),
    ("**Stability**: loss wobble over the last 20% of training", lambda v: v["stability"]["cv_last20"], "{:.3f}", None,
     "the spread of each model's own loss as a share of its mean (CV): small = its training had settled. The losses "
     "differ ({losses}), so compare a column with itself, not across"),
    ("**Stability**: share of sudden loss jumps", lambda v: v["stability"]["spike_share"], "{:.3f}", None,
     "share of logged steps where the model's own loss leapt; 0 = none"),
    ("**Cost**: network evaluations per sample", lambda v: v["nfe_per_sample"], "{}", min, ""),
    ("**Cost**: ms per sample (CPU)", lambda v: v["ms_per_sample_cpu"], "{:.2f}", min, "timed when the table was measured"),
    ("**Training**: images seen", lambda v: v["training"]["images_seen"] / 1e6, "{:.2f} M", None,
     "training steps x batch size, every stage"),
    ("**Training**: epochs", lambda v: v["training"]["epochs"], "{:g}", None, "passes over MNIST's 60,000 training digits"),
    ("**Training**: hardware", lambda v: v["training_hardware"], "{}", None, ""),
    ("**Training**: wall time", lambda v: wall_text(v["training"]), "{}", None,
     "on the hardware named: a GPU minute and a CPU minute are not the same budget"),
    ("**Size**: parameters", lambda v: v["parameters"] / 1e6, "{:.2f} M", None, ""),
)


def comparison_table(report: dict | None = None) -> str:
    """The diffusion-vs-GAN-vs-VAE table with the report's measured numbers (the DiT trained on the GAN's budget
    beside them), the best value of each comparable row in bold, what each row means, what each model's training
    cost, and the verdict row by row."""
    from diffusion_core.evaluation.comparison import LOSS_COLUMN, REPORT_KINDS, verdict

    r = report or read_report()
    m = {k: r["models"][k] for k in REPORT_KINDS if k in r["models"]}
    kinds = list(m)
    first = next(iter(m.values()))
    floor, pfloor, rfloor = (first.get(k, float("nan")) for k in ("frechet_distance_real_floor", "precision_real_floor",
                                                                 "recall_real_floor"))
    losses = ", ".join(sorted({LOSS_COLUMN.get(k, "loss").replace("_", " ") for k in kinds}))
    lines = ["| | " + " | ".join(m[k]["model"] for k in kinds) + " | what it means |",
             "| --- | " + " | ".join("---" for _ in kinds) + " | --- |"]
    for label, value, fmt, best, meaning in ROWS:
        try:
            vals = [value(m[k]) for k in kinds]
        except (KeyError, TypeError):  # a report from before the row existed
            continue
        top = best(vals) if best else None
        cells = [(f"**{fmt.format(v)}**" if best and v == top else fmt.format(v)) for v in vals]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {meaning.format(floor=floor, pfloor=pfloor, rfloor=rfloor, losses=losses)} |")
    foot = (f"\n\nMeasured on {r['n']} samples per model (seed {r['seed']}, {r['machine']}, {r['created']}). "
            f"Bold: the best of a row where the row can be compared across models.\n\n**Verdict**: {verdict(m)}")
    return "\n".join(lines) + foot
