"""MNIST from the original IDX files (gzipped or not), as numpy arrays, wherever a user has them.

IDX layout (LeCun et al.): big-endian magic (0x00000803 for images, 0x00000801 for labels), then
the sizes; images are N x 28 x 28 uint8, white digit on black.

Where the files are looked for, in order (`data_dirs()`): the folder given to the call, `$MNIST_DIR`,
`../shared/data/mnist` beside the checkout, and the user's cache folder
(`$XDG_CACHE_HOME` or `~/.cache`, then `diffusion_classroom/mnist`). When none holds them,
`download()` fetches the four files from a public mirror into the cache, with a progress bar, and
checks each against MNIST's published MD5 (of the uncompressed file); offline, it says what to do.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from diffusion_core.paths import ROOT

SHARED_DIR = ROOT.parent / "shared" / "data" / "mnist"
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# MD5 of the uncompressed files, as published with MNIST (and in ../shared/data/mnist/README.md).
MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
# Public mirrors of the four gzipped files (the ones torchvision uses).
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")
MIRROR_ENV = "DIFFUSION_CLASSROOM_MNIST_MIRROR"  # a mirror to try first (a local one in the tests)
NO_DOWNLOAD_ENV = "DIFFUSION_CLASSROOM_NO_DOWNLOAD"


class MNISTUnavailable(FileNotFoundError):
    """The MNIST files are nowhere to be found and could not be downloaded; the message says what to do."""


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "diffusion_classroom" / "mnist"


def data_dirs(data_dir=None) -> list[Path]:
    """Where MNIST is looked for, in order."""
    dirs = [Path(data_dir)] if data_dir is not None else []
    if os.environ.get("MNIST_DIR"):
        dirs.append(Path(os.environ["MNIST_DIR"]))
    return dirs + [SHARED_DIR, cache_dir()]


def default_data_dir() -> Path:
    """The first folder of `data_dirs()` that holds all four files (else the cache folder)."""
    return next((d for d in data_dirs() if _complete(d)), cache_dir())


def _file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.exists():
            return candidate
    return None


def _complete(folder: Path, split: str | None = None) -> bool:
    names = FILES[split] if split else FILES["train"] + FILES["test"]
    return all(_file(folder, n) for n in names)


def _read(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        return f.read()


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


def _fetch(url: str, dest: Path, md5: str, timeout: float) -> None:
    """Download `url` (gzipped) to `dest` with a progress bar; keep it only if its uncompressed MD5 is `md5`."""
    from tqdm import tqdm

    tmp = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as out:
        total = int(r.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, leave=False) as bar:
            for block in iter(lambda: r.read(1 << 16), b""):
                out.write(block)
                bar.update(len(block))
    try:
        digest = hashlib.md5(gzip.decompress(tmp.read_bytes())).hexdigest()
    except (OSError, EOFError):
        digest = "not gzip"
    if digest != md5:
        tmp.unlink(missing_ok=True)
        raise ValueError(f"checksum mismatch for {dest.name} from {url} ({digest} instead of {md5})")
    os.replace(tmp, dest)


def download(dest: Path | None = None, mirrors=None, md5: dict | None = None, timeout: float = 30.0) -> Path:
    """Fetch the four gzipped IDX files into `dest` (the cache folder), trying each mirror in turn and
    checking every file's MD5. Raises MNISTUnavailable, with what to do, when no mirror delivers."""
    dest = Path(dest or cache_dir())
    md5 = md5 or MD5
    first = [os.environ[MIRROR_ENV]] if os.environ.get(MIRROR_ENV) else []
    mirrors = list(mirrors or first + list(MIRRORS))
    dest.mkdir(parents=True, exist_ok=True)
    for name in FILES["train"] + FILES["test"]:
        if _file(dest, name):
            continue
        problems = []
        for mirror in mirrors:
            try:
                _fetch(mirror.rstrip("/") + f"/{name}.gz", dest / f"{name}.gz", md5[name], timeout)
                break
            except (urllib.error.URLError, OSError, ValueError) as exc:
                problems.append(f"{mirror}: {getattr(exc, 'reason', exc)}")
        else:
            raise MNISTUnavailable(_missing_message(problems))
    return dest


def _missing_message(problems: list[str]) -> str:
    where = ", ".join(str(d) for d in data_dirs())
    tried = ("; tried downloading: " + " | ".join(problems)) if problems else ""
    return (f"The MNIST files (train-images-idx3-ubyte.gz and the other three) were not found in {where}{tried}. "
            f"Offline? Copy the four files into one of those folders, or set MNIST_DIR to a folder that has them.")


def find(split: str, data_dir=None, allow_download: bool = True) -> Path:
    """The folder holding `split`'s two files, downloading MNIST into the cache when none does."""
    for folder in data_dirs(data_dir):
        if _complete(folder, split):
            return folder
    if not allow_download or os.environ.get(NO_DOWNLOAD_ENV, "").strip() in ("1", "true", "yes"):
        raise MNISTUnavailable(_missing_message([]))
    return download()


def load_mnist(split: str = "train", data_dir: str | Path | None = None, allow_download: bool = True):
    """Returns (images uint8 (N, 28, 28), labels int64 (N,))."""
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = find(split, data_dir, allow_download)
    img_name, lab_name = FILES[split]
    images = parse_idx(_read(_file(root, img_name)))
    labels = parse_idx(_read(_file(root, lab_name))).astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise ValueError("MNIST images and labels differ in count.")
    return images, labels


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped IDX file (the format `parse_idx` reads)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def to_model_space(images_uint8: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] (N, 28, 28) -> float32 [-1, 1] (N, 1, 28, 28), the range the models use."""
    return (images_uint8.astype(np.float32) / 127.5 - 1.0)[:, None]


def to_uint8(x) -> np.ndarray:
    """Model space [-1, 1] (N, 1, H, W) or (N, H, W) -> uint8 (N, H, W), clipped."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 4:
        x = x[:, 0]
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)
