"""Every place on disk the project reads or writes, in one module.

- `ROOT`: the checkout; `ASSETS_DIR`: the shipped weights, reports, photos and sample digits
  (`DIFFUSION_CLASSROOM_WEIGHTS_DIR` points the weights elsewhere, see `pretrained`).
- `WORK_DIR`: this process's scratch folder, `<base>/<pid>` under `DIFFUSION_CLASSROOM_WORK_DIR`
  (else `<system temp>/diffusion_classroom`). It holds `EXPORT_DIR` (the files a user downloads:
  schedules, GIFs) and `UPLOAD_DIR` (Gradio's cache of uploads and outputs: the app points
  `GRADIO_TEMP_DIR` there). `reset_work_dir()` at start-up removes what processes that no longer run
  left behind, so nothing piles up across restarts.
- `rooms_db_path()`: the classroom's database, `$DIFFUSION_CLASSROOM_DB`, else in `ROOMS_DIR` under the
  base folder, which `reset_work_dir()` keeps: a class outlives a restart of the app.

`shown_path(p)` is how a path appears in a message to a user: relative to the checkout, or only
its name, never the server's absolute layout. `prune(folder, max_bytes, max_age_s)` keeps a folder
within a size and an age.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = ROOT / "assets"
WORK_ENV = "DIFFUSION_CLASSROOM_WORK_DIR"
WORK_BASE = Path(os.environ.get(WORK_ENV) or Path(tempfile.gettempdir()) / "diffusion_classroom")
WORK_DIR = WORK_BASE / str(os.getpid())
EXPORT_DIR = WORK_DIR / "exports"
UPLOAD_DIR = WORK_DIR / "gradio"
ROOMS_DB_ENV = "DIFFUSION_CLASSROOM_DB"
ROOMS_DIR = WORK_BASE / "rooms"


def shown_path(path) -> str:
    """`path` as a user may see it: relative to the checkout when inside it, else its name only."""
    p = Path(str(path))
    try:
        return p.resolve().relative_to(ROOT).as_posix()
    except (ValueError, OSError):
        return p.name


def rooms_db_path() -> Path:
    """Where the classroom's rooms, polls and answers are kept (a Space's persistent `/data/...` when set)."""
    return Path(os.environ.get(ROOMS_DB_ENV) or ROOMS_DIR / "classroom.sqlite3")


def export_path(name: str) -> Path:
    """Where an export called `name` is written: one file per name, overwritten by the next export of
    the same name and content key (so repeated exports do not pile up)."""
    EXPORT_DIR.mkdir(parents=True, exist_ok=True)
    return EXPORT_DIR / name


def files_under(folder: Path) -> list[tuple[float, int, Path]]:
    """(mtime, size, path) of every file below `folder`, oldest first."""
    out = []
    for dirpath, _, names in os.walk(folder):
        for n in names:
            p = Path(dirpath) / n
            try:
                st = p.stat()
            except OSError:  # removed meanwhile
                continue
            out.append((st.st_mtime, st.st_size, p))
    return sorted(out)


def folder_bytes(folder: Path) -> int:
    return sum(size for _, size, _ in files_under(folder))


def prune(folder: Path, max_bytes: int, max_age_s: float, now: float | None = None) -> int:
    """Delete files older than `max_age_s`, then the oldest ones until the folder holds at most
    `max_bytes`; empty sub-folders go too. Returns the bytes freed."""
    now = time.time() if now is None else now
    files = files_under(folder)
    total = sum(size for _, size, _ in files)
    freed = 0
    for mtime, size, p in files:
        if now - mtime <= max_age_s and total - freed <= max_bytes:
            break
        try:
            p.unlink()
            freed += size
        except OSError:
            pass
    for dirpath, _, _ in sorted(os.walk(folder), key=lambda w: -len(w[0])):
        if Path(dirpath) != Path(folder):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass
    return freed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def reset_work_dir() -> None:
    """Start with an empty scratch folder, and remove those of processes that have ended (and any
    loose files an older version left in the base folder)."""
    WORK_BASE.mkdir(parents=True, exist_ok=True)
    for entry in WORK_BASE.iterdir():
        mine = entry == WORK_DIR
        if entry == ROOMS_DIR:  # the classroom's database outlives the process
            continue
        if entry.is_dir() and entry.name.isdigit() and not mine and _running(int(entry.name)):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
    EXPORT_DIR.mkdir(parents=True, exist_ok=True)
    UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
