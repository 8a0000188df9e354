"""Loading images for the forward-process lab: bundled MNIST digits and photos, and user uploads.

Every image becomes float32 (H, W, C) in [-1, 1] with C = 1 (grey) or 3 (colour), at most
`MAX_SIDE` pixels on its long side. Uploads are checked: size on disk, decompression bombs,
formats Pillow cannot read, 16-bit, CMYK, palette and alpha images, animated files (first frame).
Any problem raises `ImageError` with a message meant for the person who uploaded the file.
"""
from __future__ import annotations

import io
import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .pretrained import ASSETS_DIR

MAX_SIDE = 512  # photos are downscaled to this long side
MAX_FILE_BYTES = 20 * 2**20
MAX_PIXELS = 40_000_000  # refuse to decode more (10000 x 10000 is 100 M)
PHOTOS = ("chelsea", "coffee", "astronaut")


class ImageError(ValueError):
    """An image that cannot be used, with the reason in plain words."""


@lru_cache(maxsize=1)
def sample_digits() -> tuple[np.ndarray, np.ndarray]:
    """The bundled MNIST test digits: (uint8 (20, 28, 28), int64 labels (20,))."""
    with np.load(ASSETS_DIR / "sample_digits.npz") as z:
        return z["images"].copy(), z["labels"].copy()


def digit_choices() -> list[str]:
    _, labels = sample_digits()
    seen: dict[int, int] = {}
    out = []
    for lab in labels:
        seen[lab] = seen.get(lab, 0) + 1
        out.append(f"MNIST digit {lab} (#{seen[lab]})")
    return out


def image_choices() -> list[str]:
    return digit_choices() + [f"Photo: {p}" for p in PHOTOS]


def to_float(arr: np.ndarray) -> np.ndarray:
    """uint8 (H, W) or (H, W, C) -> float32 (H, W, C) in [-1, 1]."""
    a = arr.astype(np.float32) / 127.5 - 1.0
    return a[..., None] if a.ndim == 2 else a


def load_choice(choice: str) -> np.ndarray:
    """A bundled image by its menu name."""
    if choice in digit_choices():
        return to_float(sample_digits()[0][digit_choices().index(choice)])
    for p in PHOTOS:
        if choice == f"Photo: {p}":
            return _pil_to_float(Image.open(ASSETS_DIR / "photos" / f"{p}.jpg"))
    raise ImageError(f"Unknown image {choice!r}.")


def _pil_to_float(im: Image.Image) -> np.ndarray:
    im = ImageOps.exif_transpose(im)
    if getattr(im, "is_animated", False):
        im.seek(0)  # animated GIF / PNG / WebP: the first frame
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16/32-bit grey: scale by its own range
        a = np.asarray(im, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(a)
        im = Image.fromarray(a.astype(np.uint8), "L")
    elif im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im).convert("RGB")
    elif im.mode not in ("L", "RGB"):
        im = im.convert("RGB")  # CMYK, YCbCr, P, 1, F ...
    if max(im.size) > MAX_SIDE:
        im.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
    arr = np.asarray(im)
    if arr.ndim == 3 and np.allclose(arr[..., 0], arr[..., 1]) and np.allclose(arr[..., 1], arr[..., 2]):
        arr = arr[..., 0]  # a grey picture stored as RGB
    return to_float(arr)


def load_upload(data) -> np.ndarray:
    """An uploaded file (a path, or bytes) as float32 (H, W, C) in [-1, 1]."""
    if data is None:
        raise ImageError("No file was uploaded.")
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.is_file():
            raise ImageError("The uploaded file could not be found; please upload it again.")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImageError(f"That file is {path.stat().st_size / 2**20:.0f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB.")
        data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"That file is too large; the limit is {MAX_FILE_BYTES // 2**20} MB.")
    if not data:
        raise ImageError("The uploaded file is empty.")
    try:
        with warnings.catch_warnings():  # we refuse oversized images ourselves, with a message
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise ImageError(f"That image is {w} x {h} pixels; images up to {MAX_PIXELS // 1_000_000} megapixels are accepted.")
        im.load()
        return _pil_to_float(im)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("That file is not an image this app can read (try PNG, JPEG, GIF, BMP or WebP).") from None
    except Image.DecompressionBombError:
        raise ImageError(f"That image is too large to decode safely (over {MAX_PIXELS // 1_000_000} megapixels).") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"That image file is damaged or truncated and cannot be read ({type(exc).__name__}).") from None


def to_display(x: np.ndarray, min_side: int = 280) -> np.ndarray:
    """float (H, W, C) in [-1, 1] -> uint8 (H', W') or (H', W', 3), nearest-neighbour upscaled so
    small images (MNIST's 28 px) show crisp at `min_side` px or more."""
    u8 = np.clip(np.rint((np.asarray(x, dtype=np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)
    if u8.ndim == 3 and u8.shape[2] == 1:
        u8 = u8[..., 0]
    k = max(1, min_side // max(u8.shape[:2]))
    return u8.repeat(k, axis=0).repeat(k, axis=1) if k > 1 else u8
