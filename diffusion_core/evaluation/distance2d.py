"""How far a cloud of generated 2D points is from the data: the sliced Wasserstein distance.

SW_2(a, b)² = E_θ W_2²(θ·a, θ·b) over directions θ on the circle, each 1D W_2 computed from sorted
projections (Rabin et al. 2011; Bonneel et al. 2015). With equal sizes the sorted samples pair up
exactly. The floor is the same distance between two independent draws of the data at the same N:
what a perfect sampler scores at that N (finite samples never score 0).
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def sliced_wasserstein(a, b, projections: int = 256, seed: int = 0) -> float:
    """SW_2 between point clouds a (N, 2) and b (M, 2); unequal sizes are compared through quantiles."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or not len(a) or not len(b):
        raise ValueError("Both clouds must be non-empty (N, D) arrays of the same D.")
    theta = np.random.default_rng(seed).standard_normal((a.shape[1], projections))
    theta /= np.linalg.norm(theta, axis=0, keepdims=True)
    pa, pb = np.sort(a @ theta, axis=0), np.sort(b @ theta, axis=0)
    if len(pa) != len(pb):
        q = (np.arange(max(len(pa), len(pb))) + 0.5) / max(len(pa), len(pb))
        pa = np.quantile(pa, q, axis=0)
        pb = np.quantile(pb, q, axis=0)
    return float(np.sqrt(((pa - pb) ** 2).mean()))


def distance_and_floor(samples, draw: Callable[[int, int], np.ndarray], seed: int = 0) -> dict:
    """{distance, floor, ratio}: SW between `samples` (N, 2) and a fresh data draw `draw(n, seed)`, and
    between two fresh draws (the floor at this N)."""
    n = len(samples)
    ref, other = draw(n, 10_000 + seed), draw(n, 20_000 + seed)
    d, floor = sliced_wasserstein(samples, ref, seed=seed), sliced_wasserstein(other, ref, seed=seed)
    return {"distance": d, "floor": floor, "ratio": d / floor if floor > 0 else float("inf"), "n": n}
