"""The measured three-way comparison: diffusion (DiT) vs GAN vs VAE on the same MNIST
(`python -m diffusion_core.compare` writes it to assets/comparison.json).

For each model, on the same N requested labels (balanced) and the same seed: quality (Frechet
distance in the judge classifier's features, with the real-vs-real floor; requested-label
accuracy), diversity (precision / recall with k-NN manifolds; within-class spread relative to real
digits; class coverage), training stability (from the per-step loss logs in assets/), and cost
(parameters, network evaluations per sample, ms per sample for a batch of 16 on this machine), with
what each model's training cost: images seen, epochs, hardware and wall time. Besides the three shipped
models, a column for the same DiT trained with the same trainer on the GAN's budget of images
(`assets/dit_matched/`), so the verdict can say what holds at equal budget and what only at the shipped
ones. Re-run it whenever a model changes; the app shows the JSON it writes.
"""
from __future__ import annotations

import csv
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from diffusion_core.evaluation.quality import evaluate_samples
from diffusion_core.pipelines.generation import generate, nfe_per_sample, parse_labels
from diffusion_core.data.mnist import to_uint8
from diffusion_core.networks.pretrained import load_pretrained
from diffusion_core.paths import ASSETS_DIR, shown_path
from diffusion_core.settings import sampling

KINDS = ("dit", "gan", "vae")  # the shipped models (the Compare tab samples them live)
MATCHED = "dit_matched"  # the same DiT and trainer, trained from scratch on the GAN's budget of images
REPORT_KINDS = ("dit", MATCHED, "gan", "vae")  # the columns of the measured table
MATCHED_DIR = ASSETS_DIR / MATCHED  # its weights: dit_mnist.safetensors / .json, loaded as a "dit"
LOSS_COLUMN = {"dit": "loss", MATCHED: "loss", "gan": "g_loss", "vae": "neg_elbo"}
MODEL_NAMES = {"dit": "Diffusion (DiT)", MATCHED: "Diffusion (DiT), the GAN's budget", "gan": "GAN (DCGAN, non-saturating)",
               "vae": "VAE (conv, Bernoulli)"}
SHORT_NAMES = {"dit": "the DiT", MATCHED: "the DiT at the GAN's budget", "gan": "the GAN", "vae": "the VAE"}
MNIST_TRAIN = 60_000  # digits in MNIST's training set: images seen / this = epochs


def read_loss_log(kind: str, assets_dir: Path = ASSETS_DIR) -> dict[str, np.ndarray]:
    path = MATCHED_DIR / "dit_loss.csv" if kind == MATCHED and Path(assets_dir) == ASSETS_DIR else Path(assets_dir) / f"{kind}_loss.csv"
    if not path.exists():
        return {}
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]} if rows else {}


def read_report(path=None) -> dict:
    """The measured comparison (assets/comparison.json, written by `run`); a ValueError that says how to
    make it when it is missing or broken."""
    p = path or ASSETS_DIR / "comparison.json"
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"The comparison report {shown_path(p)} is missing or broken ({type(exc).__name__}); "
                         "run python -m diffusion_core.compare") from None


def stability(kind: str, log: dict[str, np.ndarray]) -> dict:
    """Scale-free measures of how steady the main loss is over the last 20% of training:
    its coefficient of variation, and the share of spikes (> 1.5x the median of the last 100 values)."""
    col = LOSS_COLUMN[kind]
    if col not in log or len(log[col]) < 20:
        return {"loss": col, "cv_last20": None, "spike_share": None}
    y = log[col]
    tail = y[int(0.8 * len(y)):]
    med = np.array([np.median(y[max(0, i - 100):i]) if i else y[0] for i in range(len(y))])
    spikes = np.abs(y[1:]) > 1.5 * np.abs(med[1:]) + 1e-12
    return {"loss": col, "cv_last20": float(np.std(tail) / (abs(np.mean(tail)) + 1e-12)), "spike_share": float(spikes.mean())}


def ms_per_sample(kind: str, pre, repeats: int = 3, batch: int = 16) -> float:
    labels = np.arange(batch) % 10
    times = []
    for r in range(repeats + 1):
        start = time.perf_counter()
        generate(kind, labels, seed=r, pretrained=pre, batch_size=batch)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times[1:])) / batch  # the first run warms up


def load_for_report(kind: str):
    """The weights a report column measures: a shipped model, or the DiT trained on the GAN's budget."""
    return load_pretrained("dit", assets_dir=MATCHED_DIR) if kind == MATCHED else load_pretrained(kind)


def training_budget(training: dict) -> dict:
    """What a model's training cost, from its JSON's "training": images seen (its `images_seen`, else steps x
    batch size), epochs of MNIST's 60,000 training digits, the hardware and the wall time."""
    seen = training.get("images_seen")
    if seen is None and isinstance(training.get("batch_size"), int):
        seen = int(training["steps"]) * training["batch_size"]
    threads = training.get("threads")
    hardware = str(training.get("hardware", training.get("device", "not recorded")))
    if hardware.lower() == "cpu":
        hardware = "CPU" + (f" ({threads} thread{'s' if threads != 1 else ''})" if threads else "")
    return {"images_seen": seen, "epochs": None if seen is None else round(seen / MNIST_TRAIN, 2), "hardware": hardware,
            "wall_time_s": training.get("wall_time_s"), "wall_time_parts": training.get("wall_time_parts"),
            "steps": training.get("steps")}


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 600 else f"{seconds / 60:.0f} min"


def wall_text(budget: dict) -> str:
    """A training's wall time, part by part where it ran on more than one kind of hardware: '638 min on CPU
    (stages 1-8) + 5.5 min on NVIDIA H200 (stage 10)'; '' when not recorded."""
    if budget.get("wall_time_parts"):
        return " + ".join(f"{minutes(p['wall_time_s'])} on {p['hardware']} ({p['what']})" for p in budget["wall_time_parts"])
    return minutes(budget["wall_time_s"]) if budget.get("wall_time_s") else ""


def measure(kind: str, n: int, seed: int) -> dict:
    pre = load_for_report(kind)
    model_kind = "dit" if kind == MATCHED else kind
    labels = parse_labels("balanced", n)
    images = generate(model_kind, labels, seed, pretrained=pre)
    report = evaluate_samples(to_uint8(images.numpy()), labels, seed=seed)
    budget = training_budget(pre.meta.get("training", {}))
    entry = {
        "model": MODEL_NAMES[kind],
        "parameters": int(sum(p.numel() for p in pre.model.parameters())),
        "nfe_per_sample": nfe_per_sample(model_kind, pre.meta),
        "ms_per_sample_cpu": ms_per_sample(model_kind, pre),
        "training": budget,
        "training_time_s": budget["wall_time_s"],
        "training_hardware": budget["hardware"],
        "stability": stability(kind, read_loss_log(kind)),
        **report,
    }
    if model_kind == "dit":
        entry["sampling"] = sampling(pre.meta).recipe()
    return entry


# The rows a verdict weighs, each on its own: (what, report key, which is best, format)
VERDICT_ROWS = (("the lowest Fréchet distance", "frechet_distance", min, "{:.2f}"),
                ("the highest precision (fidelity)", "precision", max, "{:.3f}"),
                ("the highest recall (coverage)", "recall", max, "{:.3f}"),
                ("the highest accuracy on the asked digit", "accuracy", max, "{:.1%}"))


def budget_text(m: dict) -> str:
    """'0.24 M images (4 epochs), CPU (x86_64, 1 thread), 15 min' from a report entry."""
    b = m.get("training") or {}
    seen = f"{b['images_seen'] / 1e6:.2f} M images ({b['epochs']:g} epochs)" if b.get("images_seen") else "images not recorded"
    if b.get("wall_time_parts"):
        return f"{seen}, {wall_text(b)}"
    wall = f", {wall_text(b)}" if wall_text(b) else ""
    return f"{seen}, {m.get('training_hardware') or 'hardware not recorded'}{wall}"


def row_winners(models: dict, kinds: list[str]) -> str:
    """Each verdict row's best model among `kinds`, with every model's value: 'the lowest Fréchet distance:
    the DiT (6.56; the GAN 24.29, the VAE 31.53); ...'."""
    parts = []
    for what, key, best, fmt in VERDICT_ROWS:
        top = best(kinds, key=lambda k: models[k][key])
        others = ", ".join(f"{SHORT_NAMES.get(k, k)} {fmt.format(models[k][key])}" for k in kinds if k != top)
        caveat = ""
        if key == "precision" and models[top][key] > models[top].get("precision_real_floor", 1.0):
            caveat = (f", above the {models[top]['precision_real_floor']:.3f} that real digits score against real digits: "
                      "its samples sit in the middle of the real digits' region, prototypical rather than varied")
        parts.append(f"{what}: {SHORT_NAMES.get(top, top)} ({fmt.format(models[top][key])}{caveat}; {others})")
    return "; ".join(parts)


def verdict(models: dict) -> str:
    """What the numbers support, row by row: at the shipped budgets, and at equal budget (the DiT trained on
    the GAN's images) when the report has that column; then the cost per sample. No single 'best model':
    the rows disagree (precision against recall, say), and the budgets differ by an order of magnitude."""
    shipped = [k for k in KINDS if k in models]
    parts = []
    if len(shipped) > 1:
        parts.append("At the shipped budgets (" + "; ".join(f"{SHORT_NAMES[k]}: {budget_text(models[k])}" for k in shipped)
                     + f"), {where_trained(models, shipped)}: " + row_winners(models, shipped) + ".")
    if MATCHED in models and "gan" in models:
        pair = [MATCHED, "gan"]
        parts.append(f"At equal budget ({SHORT_NAMES[MATCHED]}: {budget_text(models[MATCHED])}; {SHORT_NAMES['gan']}: "
                     f"{budget_text(models['gan'])}): " + row_winners(models, pair) + ".")
    timed = [k for k in shipped if models[k].get("ms_per_sample_cpu")]  # the shipped models: what a user runs
    if len(timed) > 1:
        fastest = min(timed, key=lambda k: models[k]["ms_per_sample_cpu"])
        slowest = max(timed, key=lambda k: models[k]["ms_per_sample_cpu"])
        fast, slow = models[fastest], models[slowest]
        ratio = slow["ms_per_sample_cpu"] / fast["ms_per_sample_cpu"]
        per_pass = (slow["ms_per_sample_cpu"] / slow["nfe_per_sample"]) / (fast["ms_per_sample_cpu"] / fast["nfe_per_sample"])
        parts.append(f"Per sample, {SHORT_NAMES.get(fastest, fastest)} is the fastest, about {ratio:.0f}x quicker than "
                     f"{SHORT_NAMES.get(slowest, slowest)}: {slow['nfe_per_sample']} network passes against "
                     f"{fast['nfe_per_sample']}, each of {SHORT_NAMES.get(slowest, slowest)}'s passes also about "
                     f"{per_pass:.0f}x costlier.")
    return " ".join(parts)


def where_trained(models: dict, kinds: list[str]) -> str:
    """'all on the same kind of CPU', or 'on different hardware' where they differ (a GPU stage, say)."""
    hardware = [str(models[k].get("training_hardware") or "").lower() for k in kinds]
    if all("cpu" in h and not any(g in h for g in ("gpu", "cuda", "nvidia")) for h in hardware):
        return "all on the same kind of CPU"
    return "on different hardware"


def run_comparison(n: int = 1000, seed: int = 2, kinds=REPORT_KINDS) -> dict:
    """Every model of `kinds` measured at N = n on the same requested labels and seed. The default seed, 2, is
    one no sampling setting of the DiT was chosen on (its sweeps used seeds 0 and 1)."""
    torch.manual_seed(seed)
    models = {k: measure(k, n, seed) for k in kinds}
    return {
        "n": n, "seed": seed, "labels": "balanced",
        "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "models": models,
        "verdict": verdict(models) if len(models) > 1 else "",
    }
