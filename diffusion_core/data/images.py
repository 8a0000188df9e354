"""Small image helpers: grids, nearest-neighbour upscaling, captions, colour maps for signed values, digit
grids as the app shows them, PNG writing (via Pillow)."""
from __future__ import annotations

from functools import lru_cache
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


@lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


@lru_cache(maxsize=512)
def text_block(text: str, width: int, height: int, size: int = 13, align: str = "center") -> np.ndarray:
    """uint8 (height, width, 3): dark text on white, centred (or left-aligned) in the block (cached, read-only:
    the same labels are drawn again and again)."""
    from PIL import ImageDraw

    block = Image.new("RGB", (max(width, 1), max(height, 1)), (255, 255, 255))
    draw = ImageDraw.Draw(block)
    font = _font(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (width - (right - left)) / 2 - left if align == "center" else 4 - left
    draw.text((x, (height - (bottom - top)) / 2 - top), text, fill=(30, 30, 30), font=font)
    out = np.asarray(block)
    out.setflags(write=False)
    return out


def rgb(img: np.ndarray) -> np.ndarray:
    """uint8 (H, W) or (H, W, 3) -> (H, W, 3)."""
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img


def labelled_grid(cells: list[list[np.ndarray]], cell_labels: list[list[str]] | None = None,
                  row_labels: list[str] | None = None, pad: int = 4, size: int = 13, row_label_width: int = 0) -> np.ndarray:
    """Rows of uint8 cells (each (H, W) or (H, W, 3), all the same size) as one image on white, each cell's
    label under it and each row's label on its left: grey (H', W') when every cell is grey (a third of
    the bytes to encode), else RGB."""
    if all(c.ndim == 2 for row in cells for c in row):
        return labelled_grid([[rgb(c) for c in row] for row in cells], cell_labels, row_labels, pad, size,
                             row_label_width)[..., 0].copy()
    h, w = cells[0][0].shape[:2]
    line = size + 6 if cell_labels else 0
    label_w = row_label_width or ((max(len(s) for s in row_labels) * size * 0.55 + 12) if row_labels else 0)
    label_w = int(label_w)
    rows = []
    for r, row in enumerate(cells):
        blocks = [text_block(row_labels[r], label_w, h + line, size, align="left")] if row_labels else []
        for c, cell in enumerate(row):
            col = [rgb(cell)]
            if cell_labels:
                col.append(text_block(cell_labels[r][c], w, line, size))
            blocks += [np.concatenate(col, axis=0), np.full((h + line, pad, 3), 255, np.uint8)]
        rows += [np.concatenate(blocks, axis=1)]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, pad), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(rows, axis=0)


def caption_below(img: np.ndarray, text: str, size: int = 14) -> np.ndarray:
    """`img` (uint8, grey or RGB) with a line of text under it, as RGB."""
    img = rgb(img)
    return np.concatenate([img, text_block(text, img.shape[1], size + 8, size)], axis=0)


@lru_cache(maxsize=4)
def lut(name: str) -> np.ndarray:
    """A matplotlib colormap as a (256, 3) uint8 table."""
    import matplotlib

    return (matplotlib.colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).astype(np.uint8)


def colorize(x: np.ndarray, lo: float, hi: float, cmap: str = "RdBu_r") -> np.ndarray:
    """Float (..., H, W) -> uint8 (..., H, W, 3) through a colormap over [lo, hi]."""
    return lut(cmap)[to_display(x, lo, hi)]


def layout_for(n: int) -> tuple[int, int]:
    """(columns, upscale factor) so that 1-16 digits fill about 340 px."""
    cols = 1 if n == 1 else 2 if n <= 4 else 4
    return cols, {1: 12, 2: 6}.get(cols, 3)


def digit_grid(x: np.ndarray, lo: float = -1.0, hi: float = 1.0, signed: bool = False, labels=None) -> np.ndarray:
    """(N, 28, 28) floats -> one upscaled uint8 grid (grey for images, a blue-red map for signed values);
    with `labels` (N strings), each digit's label under it."""
    x = np.asarray(x, dtype=np.float32)
    cols, factor = layout_for(len(x))
    cells = colorize(x, lo, hi) if signed else to_display(x, lo, hi)
    if labels is not None:
        big = [upscale(c, factor) for c in cells]
        rows = [big[k:k + cols] for k in range(0, len(big), cols)]
        names = [list(labels[k:k + cols]) for k in range(0, len(big), cols)]
        return labelled_grid(rows, names, pad=2, size=12)
    if signed:
        return upscale(grid(cells, cols, pad_value=255), factor)
    return upscale(grid(cells, cols), factor)
