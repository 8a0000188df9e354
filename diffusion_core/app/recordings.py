"""The recorded runs' files (`assets/recorded/*.npz`, written by `python -m diffusion_core.record_runs`): one
writer and one cached reader, shared by the race's and the score lab's replays.

A recording is a compressed npz: named float16/float32 arrays, and `meta`, JSON text with the settings, the
machine and the date. Nothing in it is pickled, so a broken or hostile file reads as "no recording".
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np


def write_recording(path: Path, meta: dict, **arrays: np.ndarray) -> None:
    """Write `arrays` and `meta` (as JSON text) to `path`, its folder made if needed."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)


@lru_cache(maxsize=4)
def read_recording(path: str) -> dict | None:
    """The recording's arrays and its meta (a dict), read once per path; None when the file is missing or broken."""
    try:
        with np.load(path, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
        out["meta"] = json.loads(str(out["meta"]))
        return out
    except (OSError, ValueError, KeyError):
        return None
