"""A recorded race, replayed at once: the lesson's settings trained once on a quiet machine
(`python -m diffusion_core.record_runs`), every measured frame kept small (float16 samples, the GAN's
discriminator on a grid, its gradient arrows, the VAE's manifold), so a teacher with four minutes scrubs through
it without waiting for a live run on a shared CPU. "Train" beside it runs the same race live.

The file (`assets/recorded/race.npz`): arrays `<model>_samples` (F, n, 2), `d_logits` (F, G, G), `arrow_starts`,
`arrow_vectors` (F, A, 2), `manifold` (F, M, M, 2), `data` (D, 2), and `meta`: JSON text with the settings,
the machine, the date, each frame's history row (step, wall_s, floor, per model: distance, modes) and the losses.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from diffusion_core.app import frame_files
from diffusion_core.app.recordings import read_recording, write_recording
from diffusion_core.app.race import race_frames as rf
from diffusion_core.app.race import race_plots as rp
from diffusion_core.paths import ASSETS_DIR
from diffusion_core.training.race_2d import MODELS

RECORDING = ASSETS_DIR / "recorded" / "race.npz"


def capture(race, data: np.ndarray, d_logits: np.ndarray, arrows: tuple, manifold: np.ndarray) -> dict:
    """One frame of a race just measured (its history's last row keeps the samples)."""
    row = race.history[-1]
    return {"samples": {m: row["samples"][m].astype(np.float16) for m in MODELS}, "d_logits": d_logits.astype(np.float16),
            "arrows": (arrows[0].astype(np.float16), arrows[1].astype(np.float16)), "manifold": manifold.astype(np.float16),
            "row": {k: v for k, v in row.items() if k != "samples"}}


def save_race(path: Path, frames: list[dict], race, data: np.ndarray, meta: dict) -> None:
    """Write a recording of `frames` (from `capture`) with the race's losses and `meta`."""
    arrays = {f"{m}_samples": np.stack([f["samples"][m] for f in frames]) for m in MODELS}
    arrays.update(d_logits=np.stack([f["d_logits"] for f in frames]), manifold=np.stack([f["manifold"] for f in frames]),
                  arrow_starts=np.stack([f["arrows"][0] for f in frames]), arrow_vectors=np.stack([f["arrows"][1] for f in frames]),
                  data=data.astype(np.float16))
    meta = {**meta, "rows": [f["row"] for f in frames], "losses": {m: race.losses[m] for m in MODELS}}
    write_recording(path, meta, **arrays)


def race_recording() -> dict | None:
    """The shipped recording (None when it is missing or broken)."""
    return read_recording(str(RECORDING))


def frames() -> int:
    """How many frames the recording holds (0 without one)."""
    rec = race_recording()
    return len(rec["meta"]["rows"]) if rec else 0


def replay_race(k, by: str = "step") -> tuple[tuple, tuple, str]:
    """Frame k of the recorded race: (the three panels' pictures, the three measures figures so far, a status line)."""
    rec = race_recording()
    if rec is None:
        raise ValueError(f"The recorded race ({RECORDING.name}) is missing or broken; train one live instead.")
    rows, meta = rec["meta"]["rows"], rec["meta"]
    k = int(np.clip(int(k), 0, len(rows) - 1))
    row = rows[k]
    samples = {m: rec[f"{m}_samples"][k].astype(np.float32) for m in MODELS}
    titles = {m: f"{m}: {row[m]['modes_hit']}/{row[m]['modes']} modes, distance {row[m]['distance']:.2f}" for m in MODELS}
    pictures = rf.samples_images(rec["data"].astype(np.float32), samples, titles, rec["d_logits"][k].astype(np.float32),
                                 (rec["arrow_starts"][k].astype(np.float32), rec["arrow_vectors"][k].astype(np.float32)),
                                 rec["manifold"][k].astype(np.float32))
    losses = {m: [p for p in meta["losses"][m] if p[0] <= row["step"]] for m in MODELS}
    status = (f"Recorded race, frame {k + 1} of {len(rows)}: step {row['step']:,}, {row['wall_s']:.0f} s of training on "
              f"{meta['machine']} ({meta['created']}; {meta['settings']}) · modes: "
              + ", ".join(f"{m} {row[m]['modes_hit']}/{row[m]['modes']}" for m in MODELS))
    return tuple(frame_files.write(p) for p in pictures), rp.measures_figures(rows[: k + 1], losses, by), status
