"""The measured three-way comparison: diffusion (DiT) vs GAN vs VAE on the same MNIST
(`python -m diffusion_core.compare` writes it to assets/comparison.json).

For each model, on the same N requested labels (balanced) and the same seed: quality (Frechet
distance in the judge classifier's features, with the real-vs-real floor; requested-label
accuracy), diversity (precision / recall with k-NN manifolds; within-class spread relative to real
digits; class coverage), training stability (from the per-step loss logs in assets/), and cost
(parameters, network evaluations per sample, ms per sample for a batch of 16 on this machine,
training time). Re-run it whenever a model changes; the app shows the JSON it writes.
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

KINDS = ("dit", "gan", "vae")
LOSS_COLUMN = {"dit": "loss", "gan": "g_loss", "vae": "neg_elbo"}


def read_loss_log(kind: str, assets_dir: Path = ASSETS_DIR) -> dict[str, np.ndarray]:
    path = Path(assets_dir) / f"{kind}_loss.csv"
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


def measure(kind: str, n: int, seed: int) -> dict:
    pre = load_pretrained(kind)
    labels = parse_labels("balanced", n)
    images = generate(kind, labels, seed, pretrained=pre)
    report = evaluate_samples(to_uint8(images.numpy()), labels, seed=seed)
    training = pre.meta.get("training", {})
    entry = {
        "model": {"dit": "Diffusion (DiT)", "gan": "GAN (DCGAN, non-saturating)", "vae": "VAE (conv, Bernoulli)"}[kind],
        "parameters": int(sum(p.numel() for p in pre.model.parameters())),
        "nfe_per_sample": nfe_per_sample(kind, pre.meta),
        "ms_per_sample_cpu": ms_per_sample(kind, pre),
        "training_time_s": training.get("wall_time_s"),
        "training_hardware": training.get("hardware", training.get("device")),
        "stability": stability(kind, read_loss_log(kind)),
        **report,
    }
    if kind == "dit":
        entry["sampling"] = sampling(pre.meta).recipe()
    return entry


def verdict(models: dict) -> str:
    """What the numbers support: who wins quality, diversity and speed, and what each paid in training."""
    names = {k: v["model"].split(" ")[0] for k, v in models.items()}
    best_fd = min(models, key=lambda k: models[k]["frechet_distance"])
    best_recall = max(models, key=lambda k: models[k]["recall"])
    fastest = min(models, key=lambda k: models[k]["ms_per_sample_cpu"])
    slowest = max(models, key=lambda k: models[k]["ms_per_sample_cpu"])
    ratio = models[slowest]["ms_per_sample_cpu"] / models[fastest]["ms_per_sample_cpu"]
    others = [k for k in models if k != best_fd]
    cost = " and ".join(f"{models[k]['training_time_s'] / 60:.0f} for the {names[k]}" for k in others)
    return (f"{names[best_fd]} gives the most realistic digits (Frechet distance {models[best_fd]['frechet_distance']:.2f}), "
            f"{names[best_recall]} covers the most of the real variety (recall {models[best_recall]['recall']:.2f}), "
            f"and {names[fastest]} is the fastest, {ratio:.0f}x quicker per sample than {names[slowest]}. "
            f"Not a like-for-like race: {names[best_fd]} trained {models[best_fd]['training_time_s'] / 60:.0f} minutes "
            f"against {cost}, {where_trained(models, names)}.")


def where_trained(models: dict, names: dict) -> str:
    """'on the same kind of CPU', or each model's training hardware where they differ (a GPU stage, say)."""
    hardware = {k: str(v.get("training_hardware") or "") for k, v in models.items()}
    if all("cpu" in h.lower() and not any(g in h.lower() for g in ("gpu", "cuda", "nvidia")) for h in hardware.values()):
        return "on the same kind of CPU"
    return "on different hardware (" + " | ".join(f"{names[k]}: {h or 'not recorded'}" for k, h in hardware.items()) + ")"


def run_comparison(n: int = 1000, seed: int = 0, kinds=KINDS) -> dict:
    torch.manual_seed(seed)
    models = {k: measure(k, n, seed) for k in kinds}
    return {
        "n": n, "seed": seed, "labels": "balanced",
        "machine": f"{platform.machine()} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}",
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "models": models,
        "verdict": verdict(models) if len(models) > 1 else "",
    }
