"""Pictures handed to the page as files we encode ourselves, faster than the web framework's default.

Gradio encodes every image output as a PNG at zlib level 6 (6.6 ms for a 16-digit grid here) or as
lossy WebP. Written here instead: PNG at level 1 (1.8 ms, 15% larger) for frames that stream, JPEG
(quality 90) for large colour photos (~50x faster than PNG on noise). The framework copies each file
into its cache at once, so only the latest `KEEP` files are kept in the scratch folder.
"""
from __future__ import annotations

import threading
import uuid
from collections import deque
from pathlib import Path

import numpy as np
from PIL import Image

from diffusion_core.paths import export_path

KEEP = 256
_recent: deque[Path] = deque()  # files awaiting removal (not per-user state: a bounded queue of paths)
_lock = threading.Lock()


def write(u8: np.ndarray, kind: str = "png") -> str:
    """Write uint8 (H, W) or (H, W, 3) as a PNG (compress level 1) or a JPEG; returns its path."""
    path = export_path(f"frame_{uuid.uuid4().hex}.{'jpg' if kind == 'jpg' else 'png'}")
    im = Image.fromarray(np.ascontiguousarray(u8))
    if kind == "jpg":
        im.save(path, quality=90)
    else:
        im.save(path, compress_level=1)
    with _lock:
        _recent.append(path)
        while len(_recent) > KEEP:
            _recent.popleft().unlink(missing_ok=True)
    return str(path)
