"""Loading images for the forward-process lab: bundled MNIST digits and photos, and user uploads.

Every image becomes float32 (H, W, C) in [-1, 1] with C = 1 (grey) or 3 (colour), at most
`MAX_SIDE` pixels on its long side. Uploads are checked: size on disk, decompression bombs,
formats Pillow cannot read, 16-bit, CMYK, palette and alpha images, animated files (first frame).
Any problem raises `ImageError` with a message meant for the person who uploaded the file.

Memory is bounded before anything is decoded: the pixel count and the decoded size are read from the
header (at most 100 MB of decoded pixels: a 6300 x 6300 RGBA PNG of 170 KB would be 159 MB), JPEGs
decode straight at a reduced scale (`draft`), one upload decodes at a time, and a large image is
shrunk in its own mode before any conversion (a 5000 x 5000 RGBA PNG costs its 100 MB of decoded
pixels once, not the ~450 MB of converting it at full size).
"""
from __future__ import annotations

import ctypes
import io
import os
import threading
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from diffusion_core.paths import ASSETS_DIR

MAX_SIDE = 512  # photos are downscaled to this long side
MAX_FILE_BYTES = 20 * 2**20
MAX_PIXELS = 40_000_000  # refuse to decode more (10000 x 10000 is 100 M)
MAX_DECODED_BYTES = 100 * 2**20  # Pillow's pixels in memory (RGB and RGBA take 4 bytes a pixel): 25 MP in colour
PHOTOS = ("chelsea", "coffee", "astronaut")
_DECODE_GATE = threading.BoundedSemaphore(1)  # uploads decoded at once, each up to MAX_DECODED_BYTES


class ImageError(ValueError):
    """An image that cannot be used, with the reason in plain words."""


@lru_cache(maxsize=1)
def sample_digits() -> tuple[np.ndarray, np.ndarray]:
    """The bundled MNIST test digits: (uint8 (20, 28, 28), int64 labels (20,)); empty arrays when the
    file is missing or broken (the app then offers the photos only, and says so)."""
    try:
        with np.load(ASSETS_DIR / "sample_digits.npz") as z:
            images, labels = z["images"].copy(), z["labels"].copy().astype(np.int64)
        if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
            raise ValueError("unexpected shapes")
        return images.astype(np.uint8), labels
    except (OSError, ValueError, KeyError):
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)


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


def release_memory() -> None:
    """Give freed memory back to the system (glibc keeps a thread's freed heap otherwise: after six large
    uploads decoded on six server threads, 900 MB stayed resident). A no-op where there is no glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def decoded_bytes(im: Image.Image) -> int:
    """The memory Pillow takes for `im`'s pixels: 4 bytes a pixel for multi-band modes, else the
    band's own size."""
    per_pixel = 4 if len(im.getbands()) > 1 else {"I;16": 2, "I;16B": 2, "I;16L": 2, "I": 4, "F": 4}.get(im.mode, 1)
    return im.size[0] * im.size[1] * per_pixel


def shrink(im: Image.Image, side: int = MAX_SIDE) -> Image.Image:
    """`im` reduced by a whole factor in its own mode (box filter) until its long side is at most
    2 x `side`; the exact resize to `side` happens after conversion, on the small image."""
    factor = max(im.size) // (2 * side)
    if factor < 2:
        return im
    try:
        return im.reduce(factor)
    except (ValueError, NotImplementedError):  # a mode reduce() does not handle (P, 1, ...): convert first
        return im.convert("RGBA" if "transparency" in im.info or im.mode in ("PA", "LA") else "RGB").reduce(factor)


def _pil_to_float(im: Image.Image) -> np.ndarray:
    if getattr(im, "is_animated", False):
        im.seek(0)  # animated GIF / PNG / WebP: the first frame
    exif = im.getexif()
    im = shrink(im)  # before anything that copies the image
    if exif.get(0x0112, 1) != 1:  # an EXIF orientation to apply
        im.info["exif"] = exif.tobytes()
        im = ImageOps.exif_transpose(im)
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
        if im.format == "JPEG":
            im.draft(im.mode, (MAX_SIDE, MAX_SIDE))  # decode at 1/2, 1/4 or 1/8 scale straight away
        if decoded_bytes(im) > MAX_DECODED_BYTES:
            raise ImageError(f"That image is {w} x {h} pixels in mode {im.mode}: {decoded_bytes(im) / 2**20:.0f} MB once "
                             f"decoded, over this app's {MAX_DECODED_BYTES // 2**20} MB. Save a smaller copy (at most "
                             f"5000 x 5000 in colour) and upload that.")
        with _DECODE_GATE:
            try:
                im.load()
                return _pil_to_float(im)
            finally:
                if decoded_bytes(im) > 16 * 2**20:
                    del im
                    release_memory()
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("That file is not an image this app can read (try PNG, JPEG, GIF, BMP or WebP).") from None
    except Image.DecompressionBombError:
        raise ImageError(f"That image is too large to decode safely (over {MAX_PIXELS // 1_000_000} megapixels).") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"That image file is damaged or truncated and cannot be read ({type(exc).__name__}).") from None


def display_image(x: np.ndarray, min_side: int = 280) -> np.ndarray:
    """float (H, W, C) in [-1, 1] -> uint8 (H', W') or (H', W', 3), nearest-neighbour upscaled so
    small images (MNIST's 28 px) show crisp at `min_side` px or more."""
    u8 = np.clip(np.rint((np.asarray(x, dtype=np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)
    if u8.ndim == 3 and u8.shape[2] == 1:
        u8 = u8[..., 0]
    k = max(1, min_side // max(u8.shape[:2]))
    return u8.repeat(k, axis=0).repeat(k, axis=1) if k > 1 else u8
