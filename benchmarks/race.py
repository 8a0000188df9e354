"""The race's targets: diffusion, a GAN and a VAE trained together on 2D data. Prints figures; asserts nothing.

    python benchmarks/race.py                      # both parts
    python benchmarks/race.py --only app           # the app over HTTP: frames, time to 8/8 modes
    python benchmarks/race.py --only seeds --record  # 10 seeds at the default settings -> assets/race_figures.json

- app: a cold `python app.py`, one race on the ring of 8 through `/race_train` (read as a browser reads it,
  server-sent events): the gap between streamed
  frames (target at most 500 ms) and the wall time until the diffusion model covers all 8 modes
  (target within 30 s);
- seeds: at the default settings, for each of 10 seeds, `--steps` training steps of each model on the
  ring of 8, then coverage, the distance to the data (with its floor) and stability (the spread of the
  distance over the last 5 measurements); mean and spread over the seeds. `--record` writes them to
  assets/race_figures.json, which the Learn tab's race lesson reads.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from diffusion_core.data.points2d import preset_points  # noqa: E402
from diffusion_core.evaluation.coverage2d import modes_of  # noqa: E402
from diffusion_core.evaluation.measured_figures import RACE_FIGURES, write_figures  # noqa: E402
from diffusion_core.maths.schedules import make_schedule  # noqa: E402
from diffusion_core.evaluation.race_measures import measure_race, race_stability
from diffusion_core.training.race_2d import MODELS, Race  # noqa: E402

RING = "ring of 8 Gaussians"


def row(label: str, value: float, unit: str, target: float | None = None) -> None:
    verdict = "" if target is None else f"  target <= {target:g} {unit}: " + ("met" if value <= target else "MISSED")
    print(f"{label:60s} {value:9.3f} {unit}{verdict}", flush=True)


def app_part(seconds: float) -> None:
    import json

    from server import AppServer, stream_frame_times

    with AppServer() as server:
        times, frames = stream_frame_times(server.url, "race_train",
                                           [RING, 0, 1e-2, 1e-3, 1, False, 0.0, 1e-3, 1.0, seconds, "step"], "bench-race")
        gaps = [b - a for a, b in zip(times, times[1:])]  # the first: from the request to the first frame
        full = None
        for at, frame in zip(times[1:], frames):
            text = json.dumps(frame)  # the status line names each model's measured modes
            if "diffusion 8/8" in text:
                full = at - times[0]
                break
        row("race: gap between streamed frames (median)", 1000 * statistics.median(gaps[1:]), "ms", 500)
        row("race: gap between streamed frames (95th percentile)", 1000 * float(np.percentile(gaps[1:], 95)), "ms", 500)
        row("race: gap between streamed frames (max, after the first)", 1000 * max(gaps[1:]), "ms", 500)
        print(f"  {sum(g > 0.5 for g in gaps[1:])} of {len(gaps) - 1} gaps over 500 ms: "
              + ", ".join(f"{1000 * g:.0f} ms" for g in gaps[1:] if g > 0.5), flush=True)
        row("race: first frame after Train (a cold race)", 1000 * gaps[0], "ms")
        row("race: wall time until diffusion covers 8/8 modes", full if full is not None else float("inf"), "s", 30)


def one_seed(seed: int, steps: int) -> dict:
    pts, labels = preset_points(RING, 2000, seed)
    centres, radius = modes_of(RING, pts, labels)
    race = Race(make_schedule("cosine", 1000), pts, labels, centres, radius, seed=seed, name=RING)
    while race.step < steps:
        race.steps(50)
        if race.step % 250 == 0 or race.step >= steps:  # every 250 steps, and always at the end
            measure_race(race, 1000, seed=seed)
    last = race.history[-1]
    out = {m: {"modes_hit": last[m]["modes_hit"], "near_share": last[m]["near_share"], "distance": last[m]["distance"],
               "stability": race_stability(race, m), "ms_per_step": 1000 * race.seconds[m] / race.step,
               "nfe_per_sample": race.nfe_per_sample[m]} for m in MODELS}
    out["floor"] = last["floor"]
    return out


def seeds_part(seeds: int, steps: int, record: bool) -> None:
    torch.set_num_threads(1)
    runs = []
    for seed in range(seeds):
        start = time.perf_counter()
        runs.append(one_seed(seed, steps))
        print(f"  seed {seed}: " + "; ".join(f"{m} {runs[-1][m]['modes_hit']}/8, d {runs[-1][m]['distance']:.3f}" for m in MODELS)
              + f" ({time.perf_counter() - start:.0f} s)", flush=True)
    summary = {"command": "python benchmarks/race.py --only seeds --record", "data": RING, "seeds": seeds,
               "steps": steps, "created": time.strftime("%Y-%m-%d %H:%M:%S"), "models": {}}
    for m in MODELS:
        fig = {}
        for key in ("modes_hit", "near_share", "distance", "stability", "ms_per_step"):
            values = [r[m][key] for r in runs]
            fig[key] = {"mean": float(np.mean(values)), "std": float(np.std(values)), "min": float(np.min(values)),
                        "max": float(np.max(values))}
        fig["all_modes_share"] = float(np.mean([r[m]["modes_hit"] == 8 for r in runs]))
        fig["nfe_per_sample"] = int(max(r[m]["nfe_per_sample"] for r in runs))  # counted while sampling
        summary["models"][m] = fig
        print(f"{m:10s} modes {fig['modes_hit']['mean']:.1f} ± {fig['modes_hit']['std']:.1f} (all 8 in "
              f"{100 * fig['all_modes_share']:.0f}% of seeds); distance {fig['distance']['mean']:.3f} ± "
              f"{fig['distance']['std']:.3f}; stability {fig['stability']['mean']:.3f} ± {fig['stability']['std']:.3f}; "
              f"{fig['ms_per_step']['mean']:.1f} ms/step", flush=True)
    summary["floor"] = float(np.mean([r["floor"] for r in runs]))
    print(f"floor (two draws of the data): {summary['floor']:.3f}")
    if record:
        write_figures(RACE_FIGURES, summary)
        print(f"recorded in {RACE_FIGURES.relative_to(ROOT)}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--only", choices=("app", "seeds"))
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--record", action="store_true")
    args = p.parse_args()
    if args.only in (None, "app"):
        app_part(args.seconds)
    if args.only in (None, "seeds"):
        seeds_part(args.seeds, args.steps, args.record)


if __name__ == "__main__":
    main()
