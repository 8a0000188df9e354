"""A recorded score-lab training, replayed at once: the lesson's data trained once on a quiet machine
(`python -m diffusion_core.record_runs`), the network's weights (their moving average, float16) kept at a few
points of the training with the loss so far. Scrubbing through it puts that network in the session's lab, so
the learned field at any t and the samplers work at once; Train goes on from it live.

The file (`assets/recorded/score.npz`): `points` (M, 2), `labels` (M,), one array per parameter `param:<name>`
(S, ...) over the S snapshots, and `meta`: JSON text with the data's name, the schedule, the learning rate, each
snapshot's step and training seconds, the losses, the machine and the date.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from diffusion_core.app.recordings import read_recording, write_recording
from diffusion_core.maths.schedules import make_schedule
from diffusion_core.paths import ASSETS_DIR
from diffusion_core.training.train_2d import Trainer2D

RECORDING = ASSETS_DIR / "recorded" / "score.npz"


def save_training(path: Path, trainer: Trainer2D, name: str, snapshots: list[dict], meta: dict) -> None:
    """Write the recording: `snapshots` are {"step", "seconds", "weights": the EMA state dict} in order."""
    arrays = {f"param:{k}": np.stack([s["weights"][k].float().numpy().astype(np.float16) for s in snapshots])
              for k in snapshots[0]["weights"]}
    meta = {**meta, "name": name, "schedule": [trainer.schedule.name, trainer.schedule.num_timesteps], "lr": trainer.lr,
            "width": trainer.width, "steps": [s["step"] for s in snapshots], "seconds": [s["seconds"] for s in snapshots],
            "losses": trainer.losses}
    write_recording(path, meta, points=trainer.points.astype(np.float32), labels=trainer.labels.astype(np.int8), **arrays)


def training_recording() -> dict | None:
    """The shipped recording (None when it is missing or broken)."""
    return read_recording(str(RECORDING))


def snapshots() -> int:
    rec = training_recording()
    return len(rec["meta"]["steps"]) if rec else 0


def trainer_at(k: int) -> tuple[Trainer2D, dict]:
    """A trainer holding the recorded network of snapshot k (weights and their average alike; a fresh optimiser,
    so Train goes on from there), with the losses up to that point; and the recording's meta."""
    rec = training_recording()
    if rec is None:
        raise ValueError(f"The recorded training ({RECORDING.name}) is missing or broken; train live instead.")
    meta = rec["meta"]
    k = int(np.clip(int(k), 0, len(meta["steps"]) - 1))
    name, T = meta["schedule"]
    tr = Trainer2D(make_schedule(name, int(T)), rec["points"], rec["labels"].astype(np.int64), lr=meta["lr"],
                   width=meta["width"])
    state = {key[len("param:"):]: torch.from_numpy(rec[key][k].astype(np.float32)) for key in rec if key.startswith("param:")}
    tr.model.load_state_dict(state)
    tr.ema.model.load_state_dict(state)
    tr.step, tr.seconds = int(meta["steps"][k]), float(meta["seconds"][k])
    tr.losses = [tuple(p) for p in meta["losses"] if p[0] <= tr.step]
    return tr, {**meta, "k": k}


def status(meta: dict) -> str:
    k = meta["k"]
    return (f"Recorded training, snapshot {k + 1} of {len(meta['steps'])}: step {meta['steps'][k]:,}, "
            f"{meta['seconds'][k]:.1f} s of training on {meta['machine']} ({meta['created']}; {meta['name']}, "
            f"{meta['schedule'][0]} T = {meta['schedule'][1]}, learning rate {meta['lr']:g}). Train goes on from here, live.")
