"""MNIST from the original IDX files (gzipped or not), as numpy arrays.

IDX layout (LeCun et al.): big-endian magic (0x00000803 for images, 0x00000801 for labels), then
the sizes; images are N x 28 x 28 uint8, white digit on black.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def default_data_dir() -> Path:
    """$MNIST_DIR, else ../shared/data/mnist next to the checkout."""
    return Path(os.environ.get("MNIST_DIR", DEFAULT_DIR))


def _read(path: Path) -> bytes:
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.exists():
            opener = gzip.open if candidate.suffix == ".gz" else open
            with opener(candidate, "rb") as f:
                return f.read()
    raise FileNotFoundError(f"MNIST file {path.name}(.gz) not found in {path.parent}")


def parse_idx(data: bytes) -> np.ndarray:
    """Parse an IDX byte string into a uint8 array of its declared shape."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError("Not an unsigned-byte IDX file (bad magic number).")
    ndim = data[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    expected = int(np.prod(dims))
    if len(data) - header != expected:
        raise ValueError(f"IDX file is truncated or padded: expected {expected} bytes of data, found {len(data) - header}.")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load_mnist(split: str = "train", data_dir: str | Path | None = None):
    """Returns (images uint8 (N, 28, 28), labels int64 (N,))."""
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    img_name, lab_name = FILES[split]
    images = parse_idx(_read(root / img_name))
    labels = parse_idx(_read(root / lab_name)).astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise ValueError("MNIST images and labels differ in count.")
    return images, labels


def to_model_space(images_uint8: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] (N, 28, 28) -> float32 [-1, 1] (N, 1, 28, 28), the range the models use."""
    return (images_uint8.astype(np.float32) / 127.5 - 1.0)[:, None]


def to_uint8(x) -> np.ndarray:
    """Model space [-1, 1] (N, 1, H, W) or (N, H, W) -> uint8 (N, H, W), clipped."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 4:
        x = x[:, 0]
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)
