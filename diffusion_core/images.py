"""Small image helpers: grids, nearest-neighbour upscaling, PNG writing (via Pillow)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def to_display(x, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    """Float array (..., H, W) in [lo, hi] -> uint8, clipped."""
    x = (np.asarray(x, dtype=np.float32) - lo) / (hi - lo)
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling of (H, W) or (H, W, C): pixels stay crisp."""
    if factor <= 1:
        return img
    return img.repeat(factor, axis=0).repeat(factor, axis=1)


def grid(images: np.ndarray, nrow: int, pad: int = 2, pad_value: int = 40) -> np.ndarray:
    """uint8 (N, H, W) -> one (rows*(H+pad)+pad, nrow*(W+pad)+pad) uint8 image, row-major."""
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    rows = (n + nrow - 1) // nrow
    out = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad) + images.shape[3:], pad_value, dtype=np.uint8)
    for k in range(n):
        r, c = divmod(k, nrow)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = images[k]
    return out


def save_png_grid(x: np.ndarray, path, nrow: int = 10, scale: int = 2) -> None:
    """Model-space images (N, 1, H, W) in [-1, 1] -> a PNG grid."""
    imgs = to_display(x[:, 0])
    Image.fromarray(upscale(grid(imgs, nrow), scale)).save(Path(path))
