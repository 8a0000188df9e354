"""The race measured as it trains: each model's samples against the data (the score lab's sliced
Wasserstein distance, with two draws of the data as its floor) and the data's modes (coverage), and the
stability of a model as the spread of its distance over the last measurements."""
from __future__ import annotations

import time

import numpy as np

from diffusion_core.evaluation.coverage2d import coverage
from diffusion_core.evaluation.distance2d import sliced_wasserstein
from diffusion_core.training.race_2d import Race


def measure_race(race: Race, n: int = 1000, seed: int = 0) -> dict:
    """{step, wall_s, floor, samples, <model>: {distance, modes_hit, modes, near_share}}, appended to
    `race.history` (only the newest row keeps its samples)."""
    out = race.samples(n, seed)
    rng = np.random.default_rng(seed)
    ref = race.points[rng.integers(0, len(race.points), n)]
    other = race.points[rng.integers(0, len(race.points), n)]
    row = {"step": race.step, "wall_s": time.perf_counter() - race.start,
           "floor": sliced_wasserstein(other, ref, seed=seed), "samples": out}
    for name, pts in out.items():
        row[name] = {"distance": sliced_wasserstein(pts, ref, seed=seed), **coverage(pts, race.centres, race.radius)}
    if race.history:
        race.history[-1].pop("samples", None)
    race.history.append(row)
    return row


def race_stability(race: Race, name: str, last: int = 5) -> float:
    """The spread (standard deviation) of a model's distance over its last `last` measurements."""
    values = [row[name]["distance"] for row in race.history[-last:]]
    return float(np.std(values)) if len(values) > 1 else float("nan")
