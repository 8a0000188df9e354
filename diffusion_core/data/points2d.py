"""Two-dimensional data for the score lab: named toy distributions, points a user draws, and a CSV.

Every set is float32 points (N, 2) with int64 labels (N,) (the mode or class a point came from; 0 for
an unlabelled set), scaled to about unit standard deviation, as the variance-preserving forward
process expects of its data (x_T ~ N(0, I) is then on the same scale as the data).
"""
from __future__ import annotations

import csv
import io
import math

import numpy as np

MAX_POINTS = 20_000  # an uploaded or drawn set larger than this is refused (the exact score is O(N) per point)
MIN_POINTS = 2
LIMIT = 6.0  # coordinates beyond +-LIMIT (after scaling) are refused as out of the plane


def _ring(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A ring of 8 Gaussians (radius 2, std 0.12), each mode its own class (GAN Lab's, Srivastava et al. 2017)."""
    k = rng.integers(0, 8, n)
    angle = 2 * np.pi * k / 8
    x = np.stack([2 * np.cos(angle), 2 * np.sin(angle)], 1) + 0.12 * rng.standard_normal((n, 2))
    return x, k


def _moons(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's make_moons), noise 0.05, one class per moon."""
    k = rng.integers(0, 2, n)
    a = np.pi * rng.random(n)
    x = np.where(k[:, None] == 0, np.stack([np.cos(a), np.sin(a)], 1), np.stack([1 - np.cos(a), 0.5 - np.sin(a)], 1))
    return (x - [0.5, 0.25]) * 1.6 + 0.05 * rng.standard_normal((n, 2)), k


def _spiral(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A two-armed spiral, one class per arm."""
    k = rng.integers(0, 2, n)
    r = np.sqrt(rng.random(n)) * 2.2
    a = 2.2 * r + np.pi * k
    return np.stack([r * np.cos(a), r * np.sin(a)], 1) + 0.06 * rng.standard_normal((n, 2)), k


def _checkerboard(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform on the dark squares of a 4x4 board over [-2, 2]^2, one class per row of squares."""
    cell = rng.integers(0, 8, n)
    row, col = cell // 2, 2 * (cell % 2) + (cell // 2) % 2
    x = np.stack([col - 2 + rng.random(n), row - 2 + rng.random(n)], 1)
    return x, row


def _smiley(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two eyes and a smile: three classes."""
    k = rng.choice(3, n, p=[0.2, 0.2, 0.6])
    eye = np.stack([np.where(k == 0, -0.8, 0.8), np.full(n, 0.9)], 1) + 0.15 * rng.standard_normal((n, 2))
    a = np.pi * (1.15 + 0.7 * rng.random(n))
    smile = np.stack([1.6 * np.cos(a), 1.6 * np.sin(a) + 0.4], 1) + 0.07 * rng.standard_normal((n, 2))
    return np.where((k == 2)[:, None], smile, eye), k


def _two_gaussians(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A mixture of two Gaussians, weights 0.7 / 0.3, one class each."""
    k = (rng.random(n) < 0.3).astype(np.int64)
    centre = np.where(k[:, None] == 0, [-1.0, -0.5], [1.3, 0.8])
    std = np.where(k[:, None] == 0, 0.45, 0.25)
    return centre + std * rng.standard_normal((n, 2)), k


PRESETS = {
    "ring of 8 Gaussians": _ring,
    "two moons": _moons,
    "spiral": _spiral,
    "checkerboard": _checkerboard,
    "smiley": _smiley,
    "two Gaussians": _two_gaussians,
}


def preset_points(name: str, n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n points of a named preset (a fresh draw for each seed): (float32 (n, 2), int64 (n,))."""
    if name not in PRESETS:
        raise ValueError(f"Unknown data set {str(name)[:40]!r}; choose one of: {', '.join(PRESETS)}.")
    if not MIN_POINTS <= int(n) <= MAX_POINTS:
        raise ValueError(f"The number of points must be between {MIN_POINTS} and {MAX_POINTS}, got {n}.")
    x, k = PRESETS[name](int(n), np.random.default_rng(int(seed)))
    return x.astype(np.float32), np.asarray(k, dtype=np.int64)


def checked_points(points, labels=None) -> tuple[np.ndarray, np.ndarray]:
    """Points from a user (drawn or uploaded) as (float32 (N, 2), int64 (N,)), or a ValueError that says
    what is wrong: too few or too many, not two numbers each, not finite, or far outside the plane."""
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError("Points must be pairs of numbers (x, y).")
    if len(x) < MIN_POINTS:
        raise ValueError(f"A data set needs at least {MIN_POINTS} points to have a spread; this one has {len(x)}.")
    if len(x) > MAX_POINTS:
        raise ValueError(f"At most {MAX_POINTS:,} points, please; this set has {len(x):,}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("Some coordinates are not numbers (NaN or infinite).")
    if np.abs(x).max() > LIMIT:
        raise ValueError(f"Keep the points within -{LIMIT:g} .. {LIMIT:g} on both axes (the plane the lab shows).")
    if np.ptp(x, axis=0).max() < 1e-6:
        raise ValueError("All the points are in one place: the data needs a spread.")
    k = np.zeros(len(x), dtype=np.int64) if labels is None else np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(k) != len(x) or np.any(k < 0) or np.any(k > 9):
        raise ValueError("Labels must be whole numbers 0 .. 9, one per point.")
    return x.astype(np.float32), k


def parse_points_csv(text: str, max_chars: int = 2_000_000) -> tuple[np.ndarray, np.ndarray]:
    """Points from CSV text: rows of `x,y` or `x,y,label`, an optional header row. Parsed as numbers,
    never evaluated; a bad row is named by its line number."""
    if len(text) > max_chars:
        raise ValueError(f"The file is too large ({len(text):,} characters; at most {max_chars:,}).")
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if rows and not _is_number(rows[0][0]):
        rows = rows[1:]  # a header
    if len(rows) > MAX_POINTS:
        raise ValueError(f"At most {MAX_POINTS:,} points, please; this file has {len(rows):,} rows.")
    pts, labels = [], []
    for line, r in enumerate(rows, start=1):
        if len(r) not in (2, 3) or not all(_is_number(c) for c in r):
            raise ValueError(f"Row {line} is not 'x,y' or 'x,y,label' numbers: {','.join(r)[:40]!r}.")
        pts.append((float(r[0]), float(r[1])))
        labels.append(float(r[2]) if len(r) == 3 else 0.0)
    lab = np.asarray(labels)
    if np.any(lab != np.round(lab)):
        raise ValueError("Labels must be whole numbers 0 .. 9.")
    return checked_points(np.asarray(pts).reshape(-1, 2), lab.astype(np.int64))


def _is_number(s: str) -> bool:
    try:
        return math.isfinite(float(s)) or s.strip().lower() in ("nan", "inf", "-inf")
    except ValueError:
        return False


def num_classes(labels: np.ndarray) -> int:
    """How many classes a labelled set has (1: unlabelled)."""
    return int(labels.max()) + 1 if len(labels) else 1
