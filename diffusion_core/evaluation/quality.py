"""How good generated digits are, judged by the shipped MNIST classifier (`python -m diffusion_core.evaluate`
runs it on a file of samples).

Reports, for N samples with requested labels:
- accuracy: the share the classifier reads as the requested digit;
- Frechet distance in the classifier's feature space against the 10,000 MNIST test digits, with the
  real-vs-real floor: the same distance for N real training digits with the same labels (what a
  perfect generator would score at this N), and the ratio of the two;
- class coverage: how many digits appear among the predictions (at least 1% of the samples each),
  and the normalised entropy of the predicted-class histogram;
- precision / recall (k = 3 nearest neighbours) against N real test digits, and within-class
  diversity relative to real digits'.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from diffusion_core.evaluation.metrics import frechet_distance, gaussian_stats, precision_recall, within_class_diversity
from diffusion_core.data.mnist import load_mnist, to_model_space
from diffusion_core.networks.pretrained import load_pretrained


@lru_cache(maxsize=2)
def _classifier():
    return load_pretrained("classifier").model


@torch.no_grad()
def classify(images_uint8: np.ndarray, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, D) float64, predicted labels (N,)) for uint8 digits (N, 28, 28)."""
    model = _classifier()
    x = torch.from_numpy(to_model_space(np.asarray(images_uint8, dtype=np.uint8)))
    feats, preds = [], []
    for k in range(0, len(x), batch):
        f = model.features(x[k:k + batch])
        feats.append(f.double().numpy())
        preds.append(model.head(f).argmax(1).numpy())
    return np.concatenate(feats), np.concatenate(preds)


@lru_cache(maxsize=2)
def _test_reference(data_dir: str | None):
    images, labels = load_mnist("test", data_dir)
    feats, _ = classify(images)
    return feats, labels, gaussian_stats(feats)


@lru_cache(maxsize=2)
def _train_set(data_dir: str | None):
    return load_mnist("train", data_dir)


def real_like(labels: np.ndarray, seed: int, data_dir: str | None) -> np.ndarray:
    """Real training digits with exactly the given labels, drawn without replacement."""
    images, train_labels = _train_set(data_dir)
    rng = np.random.default_rng(seed)
    out = np.empty((len(labels), 28, 28), dtype=np.uint8)
    for c in np.unique(labels):
        pos = np.flatnonzero(labels == c)
        pool = np.flatnonzero(train_labels == c)
        out[pos] = images[rng.choice(pool, size=len(pos), replace=len(pos) > len(pool))]
    return out


def validate_samples(images, labels) -> tuple[np.ndarray, np.ndarray]:
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"images must be N x 28 x 28, got {images.shape}.")
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 (0-255), got {images.dtype}.")
    if labels.shape != (images.shape[0],) or labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() > 9:
        raise ValueError("labels must be N integers from 0 to 9.")
    if len(images) < 20:
        raise ValueError("Need at least 20 samples to evaluate.")
    return images, labels.astype(np.int64)


def evaluate_samples(images, labels, seed: int = 0, data_dir: str | None = None) -> dict:
    images, labels = validate_samples(images, labels)
    n = len(images)
    feats, preds = classify(images)
    test_feats, test_labels, (mu_t, s_t) = _test_reference(data_dir)
    fd = frechet_distance(*gaussian_stats(feats), mu_t, s_t)
    real = real_like(labels, seed, data_dir)
    real_feats, _ = classify(real)
    floor = frechet_distance(*gaussian_stats(real_feats), mu_t, s_t)
    rng = np.random.default_rng(seed + 1)
    ref_idx = rng.choice(len(test_feats), size=min(n, len(test_feats)), replace=False)
    k = min(3, n - 1)
    precision, recall = precision_recall(test_feats[ref_idx], feats, k=k)
    floor_p, floor_r = precision_recall(test_feats[ref_idx], real_feats, k=k)
    hist = np.bincount(preds, minlength=10) / n
    nz = hist[hist > 0]
    diversity = within_class_diversity(feats, preds)
    real_div = within_class_diversity(real_feats, labels)
    return {
        "n": n,
        "accuracy": float((preds == labels).mean()),
        "frechet_distance": fd,
        "frechet_distance_real_floor": floor,
        "frechet_ratio_to_floor": fd / floor if floor > 0 else float("inf"),
        "classes_covered": int((hist >= 0.01).sum()),
        "class_entropy": float(-(nz * np.log(nz)).sum() / np.log(10)),
        "predicted_histogram": [round(float(h), 4) for h in hist],
        "precision": precision, "recall": recall,
        "precision_real_floor": floor_p, "recall_real_floor": floor_r,
        "diversity": diversity, "diversity_relative_to_real": diversity / real_div if real_div > 0 else 0.0,
    }


def format_report(r: dict) -> str:
    return "\n".join([
        f"samples                     {r['n']}",
        f"requested-label accuracy    {100 * r['accuracy']:.2f}%",
        f"Frechet distance            {r['frechet_distance']:.3f}   (real-vs-real floor at N={r['n']}: {r['frechet_distance_real_floor']:.3f}; ratio {r['frechet_ratio_to_floor']:.2f}x)",
        f"class coverage              {r['classes_covered']}/10 classes, normalised entropy {r['class_entropy']:.3f}",
        f"precision / recall (k=3)    {r['precision']:.3f} / {r['recall']:.3f}   (real floor {r['precision_real_floor']:.3f} / {r['recall_real_floor']:.3f})",
        f"diversity vs real           {r['diversity_relative_to_real']:.3f}",
    ])
