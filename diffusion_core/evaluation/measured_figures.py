"""The measured figures in assets/, written by the benchmarks and read by the lessons and the model cards:
one reader and one writer, so a figure is quoted only as it was recorded.

- `DIT_FIGURES`: `benchmarks/dit_quality.py --record <key>` stores one run's rows under a key:
  {command, weights_steps, created, rows: [{sampler, steps, guidance, guidance_min_t, spacing, eta, n, seed,
  passes, accuracy, frechet_distance, frechet_distance_real_floor, frechet_ratio_to_floor, precision,
  recall, ...}]}.
- `RACE_FIGURES`: `benchmarks/race.py --only seeds --record`; `TEXT_FIGURES`: `benchmarks/text_quality.py
  --record`; `COST_FIGURES`: `benchmarks/cost_lab.py --record` (each a whole-file summary, written by
  `write_figures`; the cost lab's schema is `evaluation/cost_report.py`).

Every write goes to a temporary file beside the target, then replaces it in one step (`os.replace`), so the
app never reads a half-written file while a benchmark records.

A missing or unreadable file reads as "not measured" (None or {}), never as an error: a lesson then says
so instead of failing.
"""
from __future__ import annotations

import json
import os
import stat
import tempfile
import time
from functools import lru_cache
from pathlib import Path

from diffusion_core.paths import ASSETS_DIR

DIT_FIGURES = ASSETS_DIR / "dit_figures.json"
RACE_FIGURES = ASSETS_DIR / "race_figures.json"
TEXT_FIGURES = ASSETS_DIR / "text_figures.json"
COST_FIGURES = ASSETS_DIR / "cost_figures.json"


@lru_cache(maxsize=8)
def _read_json(path: str, stamp: tuple[int, int]) -> dict:
    """The parsed file; `stamp` (modification time in ns, size) only keys the cache, so a rewrite is read again."""
    return json.loads(Path(path).read_text())


def read_measured(path: Path) -> dict | None:
    """A measured JSON (read again when its time stamp or size changes); None when missing or unreadable."""
    try:
        st = Path(path).stat()
        data = _read_json(str(path), (st.st_mtime_ns, st.st_size))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def figures_on_disk(path: Path) -> dict:
    """What a figures file holds, for code that writes from it (the recorder, the model cards): {} when the
    file is absent; a ValueError when it exists but cannot be read, where the tolerant reader's "not
    measured" would make a writer lose what it holds."""
    every = read_measured(path)
    if every is None and Path(path).exists():
        raise ValueError(f"{Path(path).name} exists but cannot be read (not a readable JSON object); fix or remove it first.")
    return every or {}


def write_figures(path: Path, data: dict) -> None:
    """Write `data` as the whole of the figures file at `path`, atomically: serialised first (a value JSON
    cannot hold raises before the file is touched), then a temporary file in the same folder replaces it,
    with the old file's permissions (0644 for a new one: mkstemp's own 0600 would hide it from an app run
    by another user)."""
    text = json.dumps(data, indent=2) + "\n"
    path = Path(path)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dit_figures(key: str | None = None, path: Path = DIT_FIGURES):
    """The DiT's recorded measurement under `key` (None when not measured), or with no key all of them ({})."""
    every = read_measured(path) or {}
    return every if key is None else every.get(key)


def dit_figure_row(key: str, path: Path = DIT_FIGURES, **match) -> dict | None:
    """The first row recorded under `key` whose fields equal `match` (e.g. sampler="ddim"); None if none."""
    for row in (dit_figures(key, path) or {}).get("rows", []):
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def record_dit_figures(key: str, rows: list[dict], command: str, weights_steps: int, path: Path = DIT_FIGURES) -> None:
    """Store one run's rows under `key`, beside the others, with the command that measured them and the
    training step of the weights measured. A file that exists but cannot be read is left as it is (ValueError,
    `figures_on_disk`): writing over it would lose the other records."""
    every = dict(figures_on_disk(path))
    every[key] = {"command": command, "weights_steps": weights_steps, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
                  "rows": rows}
    write_figures(path, every)
