"""The score lab's targets, over the real HTTP API of `python app.py` in its own process (a cold start),
read as a browser reads it (server-sent events; `server.stream_frame_times`).
Prints figures with their targets; asserts nothing.

    python benchmarks/score_lab.py [--data "ring of 8 Gaussians" "two moons"] [--budget 15]

- training: from a cold start in the app, seconds of training until the sample distance (sliced
  Wasserstein, N = 2000, the default sampler: DDPM 100 steps, the reverse SDE) is within 2x the
  data-vs-data floor (target: at most 15 s); the probability-flow ODE (DDIM, eta 0, 50 steps) beside it;
- a t-slider move (field + cloud redrawn): median and worst of 30 through the API (target 150 ms);
- the gap between streamed training frames and between streamed sampling frames (target at most 250 ms),
  and one sampling call's time.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import AppServer, stream_frame_times  # noqa: E402

VIEW = ("cosine", 1000)
ALL = "all (unconditional)"


def row(label: str, value: float, unit: str, target: float | None = None) -> None:
    verdict = "" if target is None else f"  target <= {target:g} {unit}: " + ("met" if value <= target else "MISSED")
    print(f"{label:62s} {value:9.3f} {unit}{verdict}", flush=True)


def ratio_of(frame) -> float:
    return float(re.search(r"ratio \*\*([0-9.]+)x", json.dumps(frame, ensure_ascii=False)).group(1))


def gaps_of(times: list[float]) -> list[float]:
    return [b - a for a, b in zip(times, times[1:])]


def train_until(url: str, data: str, budget: float, slice_s: float = 2.5) -> str:
    """Train in slices of `slice_s` seconds until the SDE's samples are within 2x the floor; the session."""
    session = f"bench-{data}"
    stream_frame_times(url, "score_data", [data, 0], session)
    trained, frame_gaps, final_gaps, found, sample_gaps = 0.0, [], [], None, []
    while trained < budget + 1e-9:
        times, frames = stream_frame_times(url, "score_train", [*VIEW, 1e-2, slice_s, 500, ALL, 1], session)
        gaps = gaps_of(times)  # the first: from the request to the first frame
        frame_gaps += gaps[1:-2]  # between frames while training (the last two: the score-error curve, the field)
        final_gaps += gaps[-2:]
        trained = float(re.search(r"([0-9.]+) s of training", json.dumps(frames[-1])).group(1))
        times, frames = stream_frame_times(url, "score_sample", [*VIEW, "ddpm", 100, 0, 2000, 0, ALL, 1, False], session)
        sample_gaps += gaps_of(times)  # the particles stream as they move (the first: request to first frame)
        sde, sample_s = ratio_of(frames[-1]), times[-1] - times[0]
        ode = ratio_of(stream_frame_times(url, "score_sample", [*VIEW, "ddim", 50, 0, 2000, 0, ALL, 1, False], session)[1][-1])
        print(f"  {data}: {trained:5.1f} s trained: SDE (DDPM 100) {sde:.2f}x the floor, "
              f"ODE (DDIM 50) {ode:.2f}x; one sampling call {sample_s:.2f} s", flush=True)
        if found is None and sde <= 2.0:
            found = trained
            break
    row(f"{data}: training seconds until within 2x the floor (SDE)", found if found is not None else float("inf"), "s", 15)
    if frame_gaps:
        row(f"{data}: gap between streamed training frames (median)", 1000 * statistics.median(frame_gaps), "ms", 250)
        row(f"{data}: gap between streamed training frames (95th percentile)", 1000 * float(np.percentile(frame_gaps, 95)), "ms", 250)
        row(f"{data}: gap between streamed training frames (max)", 1000 * max(frame_gaps), "ms", 250)
        over = sum(g > 0.25 for g in frame_gaps)
        print(f"  {data}: {over} of {len(frame_gaps)} gaps over 250 ms: "
              + ", ".join(f"{1000 * g:.0f} ms" for g in frame_gaps if g > 0.25), flush=True)
        row(f"{data}: the last two frames (score-error curve, field), worst gap", 1000 * max(final_gaps), "ms", 250)
    if sample_gaps:
        row(f"{data}: gap between streamed sampling frames (DDPM 100, N = 2000; max)", 1000 * max(sample_gaps), "ms", 250)
    return session


def field_latency(url: str, session: str, what: str, n: int = 30) -> None:
    times = []
    for i in range(n):
        start = time.perf_counter()
        stream_frame_times(url, "score_field", [*VIEW, 30 + 31 * i, ALL, 1], session)
        times.append(time.perf_counter() - start)
    row(f"t-slider move, field + cloud redrawn ({what}; median of {n})", 1000 * statistics.median(times), "ms", 150)
    row(f"t-slider move ({what}; worst of {n})", 1000 * max(times), "ms")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", nargs="*", default=["ring of 8 Gaussians", "two moons"])
    p.add_argument("--budget", type=float, default=15.0)
    args = p.parse_args()
    with AppServer() as server:
        stream_frame_times(server.url, "score_data", ["two moons", 0], "bench-untrained")
        field_latency(server.url, "bench-untrained", "exact score only")
        for data in args.data:
            trained = train_until(server.url, data, args.budget)
        field_latency(server.url, trained, "exact and learned score")
        print(f"server peak memory (VmHWM): {server.peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
