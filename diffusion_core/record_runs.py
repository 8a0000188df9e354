"""Record the runs the Learn tab replays at once: the race of lesson 9 and the score-lab training of lesson 8, each
at its lesson's settings, trained once here (on a quiet machine: the wall times are part of the record).

    python -m diffusion_core.record_runs [--race-steps 2000] [--score-steps 4000]

writes assets/recorded/race.npz (`app.race.race_replay`) and assets/recorded/score.npz (`app.score.score_replay`).
"""
from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from diffusion_core.app.race import race_replay, race_ui
from diffusion_core.app.score import score_replay, score_ui
from diffusion_core.evaluation.race_measures import measure_race

DATA = "ring of 8 Gaussians"  # lessons 8 and 9 both use it, seed 0


def machine() -> str:
    return f"{platform.machine()} CPU, torch {torch.__version__}"


def record_race(steps: int, every: int) -> None:
    race = race_ui.new_race(DATA, 0)[0]
    data = race.points[:: max(1, len(race.points) // race_ui.SHOWN_DATA)]
    frames = []
    while race.step < steps:
        race.steps(every)
        measure_race(race, race_ui.MEASURE_N)
        _, logits, arrows = race_ui._gan_views(race)
        frames.append(race_replay.capture(race, data, logits, arrows, race_ui._manifold(race)))
        print(f"race: step {race.step}, " + ", ".join(f"{m} {race.history[-1][m]['modes_hit']}/8" for m in ("diffusion", "gan", "vae")),
              flush=True)
    race_replay.save_race(race_replay.RECORDING, frames, race, data,
                     {"settings": f"{DATA}, seed 0, the race tab's defaults", "machine": machine(),
                      "created": time.strftime("%Y-%m-%d %H:%M"), "command": "python -m diffusion_core.record_runs"})
    print(f"wrote {race_replay.RECORDING} ({race_replay.RECORDING.stat().st_size / 1e3:.0f} kB, {len(frames)} frames)")


def record_score(steps: int, snapshots: int) -> None:
    lab = score_ui.load_preset(DATA, 0)[0]
    trainer = score_ui._trainer(lab, score_ui.schedule_of("cosine", 1000), 1e-2)
    marks = sorted({int(round(v)) for v in np.geomspace(steps / 40, steps, snapshots)})
    kept = []
    for mark in marks:
        while trainer.step < mark:
            trainer.steps(min(50, mark - trainer.step))
        kept.append({"step": trainer.step, "seconds": round(trainer.seconds, 2),
                     "weights": {k: v.detach().clone() for k, v in trainer.ema.model.state_dict().items()}})
        print(f"score lab: step {trainer.step}, loss {trainer.losses[-1][1]:.4f}", flush=True)
    score_replay.save_training(score_replay.RECORDING, trainer, DATA, kept,
                      {"machine": machine(), "created": time.strftime("%Y-%m-%d %H:%M"),
                       "command": "python -m diffusion_core.record_runs"})
    print(f"wrote {score_replay.RECORDING} ({score_replay.RECORDING.stat().st_size / 1e3:.0f} kB, {len(kept)} snapshots)")


def record_main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m diffusion_core.record_runs", description=__doc__.splitlines()[0])
    p.add_argument("--race-steps", type=int, default=2000)
    p.add_argument("--race-every", type=int, default=100, help="training steps between recorded frames")
    p.add_argument("--score-steps", type=int, default=4000)
    p.add_argument("--snapshots", type=int, default=8)
    args = p.parse_args(argv)
    record_race(args.race_steps, args.race_every)
    record_score(args.score_steps, args.snapshots)
    return 0


if __name__ == "__main__":
    raise SystemExit(record_main())
