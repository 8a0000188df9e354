"""Mode coverage of 2D samples: how many of a data set's modes the samples reach, and how many samples
land near any mode (the "high-quality share" of Srivastava et al. 2017, VEEGAN, on the ring of 8).

A mode is hit when at least `min_share` of the samples lie within `radius` of its centre (VEEGAN: within
3 standard deviations; here 3 x 0.12 on the ring). For a labelled set without fixed centres the class
means serve, with a radius from the spread of each class.
"""
from __future__ import annotations

import numpy as np

MODE_CENTRES = {  # presets whose modes are compact blobs: their centres and a radius
    "ring of 8 Gaussians": ([[2 * np.cos(2 * np.pi * k / 8), 2 * np.sin(2 * np.pi * k / 8)] for k in range(8)], 0.36),
    "two Gaussians": ([[-1.0, -0.5], [1.3, 0.8]], 0.9),
}


def modes_of(name: str, points: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """(centres (K, 2), radius) for a data set: fixed for blob presets, else the class means and twice
    the median distance of a class's points to its mean."""
    if name in MODE_CENTRES:
        centres, radius = MODE_CENTRES[name]
        return np.asarray(centres, np.float64), float(radius)
    ks = np.unique(labels)
    centres = np.stack([points[labels == k].mean(0) for k in ks])
    spread = np.median([np.median(np.linalg.norm(points[labels == k] - c, axis=1)) for k, c in zip(ks, centres)])
    return centres, 2.0 * float(spread)


def coverage(samples, centres, radius: float, min_share: float | None = None) -> dict:
    """{modes_hit, modes, near_share}: the modes with at least `min_share` of the samples (default: a
    quarter of a fair share, 1 / (4 K)) within `radius`, and the share of samples within `radius` of any."""
    x = np.asarray(samples, np.float64)
    c = np.asarray(centres, np.float64)
    if not len(x):
        return {"modes_hit": 0, "modes": len(c), "near_share": 0.0}
    d = np.linalg.norm(x[:, None, :] - c[None], axis=2)  # (N, K)
    nearest, dist = d.argmin(1), d.min(1)
    near = dist <= radius
    share = np.bincount(nearest[near], minlength=len(c)) / len(x)
    floor = (1.0 / (4 * len(c))) if min_share is None else min_share
    return {"modes_hit": int((share >= floor).sum()), "modes": len(c), "near_share": float(near.mean())}

