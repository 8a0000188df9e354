"""Sample-quality metrics on feature vectors (numpy, float64).

- Frechet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, eq. 6):
  d^2 = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2}).
- Precision and recall with k-NN manifolds (Kynkäänniemi et al. 2019, eq. 1-2): a sample counts as
  "precise" if it falls inside the k-NN ball of some real point; a real point is "recalled" if it
  falls inside the k-NN ball of some generated point.
- Diversity: the mean pairwise feature distance within a class, relative to real data's.
"""
from __future__ import annotations

import numpy as np


def _sqrtm_psd(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError("Need at least two feature vectors (N, D) to fit a Gaussian.")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(mu1, s1, mu2, s2) -> float:
    """Squared Frechet distance between N(mu1, s1) and N(mu2, s2). tr((S1 S2)^{1/2}) is computed as
    tr((A S2 A)^{1/2}) with A = S1^{1/2}, a symmetric PSD matrix with the same eigenvalues."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    a = _sqrtm_psd(np.asarray(s1, np.float64))
    m = a @ np.asarray(s2, np.float64) @ a
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def frechet_distance_features(f1: np.ndarray, f2: np.ndarray) -> float:
    return frechet_distance(*gaussian_stats(f1), *gaussian_stats(f2))


def _pairwise_sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0.0)


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest neighbour in the same set (itself excluded)."""
    if k < 1 or k >= len(x):
        raise ValueError(f"k must be between 1 and N-1 = {len(x) - 1}.")
    d = _pairwise_sq(x, x)
    np.fill_diagonal(d, np.inf)
    return np.sqrt(np.partition(d, k - 1, axis=1)[:, k - 1])


def coverage_of(queries: np.ndarray, support: np.ndarray, k: int) -> float:
    """Share of `queries` inside at least one k-NN ball of `support` (Kynkäänniemi et al. 2019, eq. 1)."""
    radii = knn_radii(support, k)
    d = np.sqrt(_pairwise_sq(queries, support))
    return float((d <= radii[None, :]).any(axis=1).mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """(precision, recall): precision = fake inside the real manifold, recall = real inside the fake one."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    return coverage_of(fake, real, k), coverage_of(real, fake, k)


def mean_pairwise_distance(x: np.ndarray) -> float:
    x = np.asarray(x, np.float64)
    if len(x) < 2:
        return 0.0
    d = np.sqrt(_pairwise_sq(x, x))
    return float(d.sum() / (len(x) * (len(x) - 1)))


def within_class_diversity(features: np.ndarray, labels: np.ndarray) -> float:
    """Mean over classes of the mean pairwise feature distance among that class's samples."""
    values = [mean_pairwise_distance(features[labels == c]) for c in np.unique(labels) if (labels == c).sum() >= 2]
    return float(np.mean(values)) if values else 0.0
