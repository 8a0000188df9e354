"""MNIST where a user is: the folders it is looked for in, the download from a mirror (a local fake one
here, no network) with its checksums and its offline message, and the committed fixture of real digits."""
import gzip
import hashlib
import http.server
import shutil
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from diffusion_core.data import mnist
from diffusion_core import paths

FIXTURE = paths.ROOT / "tests" / "fixtures" / "mnist"
NAMES = mnist.FILES["train"] + mnist.FILES["test"]


@pytest.fixture()
def mirror(tmp_path):
    """A loopback HTTP server serving a folder; returns (its URL, the folder)."""
    root = tmp_path / "mirror"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", root
    server.shutdown()


def md5_of_fixture() -> dict:
    return {n: hashlib.md5(gzip.decompress((FIXTURE / f"{n}.gz").read_bytes())).hexdigest() for n in NAMES}


def test_the_fixture_holds_real_digits_of_every_class():
    images, labels = mnist.load_mnist("train", FIXTURE)
    assert images.shape == (2000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).min() > 150 and 0.12 < images.mean() / 255 < 0.14  # MNIST's mean pixel: 0.1307
    test_images, _ = mnist.load_mnist("test", FIXTURE)
    assert test_images.shape == (2000, 28, 28) and not np.array_equal(test_images[:10], images[:10])


def test_the_search_order_and_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    dirs = mnist.data_dirs("given")
    assert dirs == [Path("given"), tmp_path / "mine", mnist.SHARED_DIR, tmp_path / "cache" / "diffusion_classroom" / "mnist"]
    shutil.copytree(FIXTURE, mnist.cache_dir())  # only the cache has them
    monkeypatch.setattr(mnist, "SHARED_DIR", tmp_path / "no-shared")
    assert mnist.find("test") == mnist.cache_dir()


def test_download_from_a_mirror_checks_every_file(tmp_path, mirror):
    url, root = mirror
    for n in NAMES:
        shutil.copy(FIXTURE / f"{n}.gz", root / f"{n}.gz")
    dest = mnist.download(tmp_path / "cache", mirrors=[url], md5=md5_of_fixture())
    images, labels = mnist.load_mnist("train", dest)
    np.testing.assert_array_equal(images, mnist.load_mnist("train", FIXTURE)[0])
    assert not list(dest.glob("*.part"))


def test_a_damaged_file_is_refused_and_the_next_mirror_used(tmp_path, mirror):
    url, root = mirror
    bad = root / "bad"
    (bad).mkdir()
    for n in NAMES:
        shutil.copy(FIXTURE / f"{n}.gz", root / f"{n}.gz")
        (bad / f"{n}.gz").write_bytes(gzip.compress(b"\0\0\x08\x01" + b"\0\0\0\x02" + b"xx"))  # wrong content
    dest = mnist.download(tmp_path / "cache", mirrors=[url + "bad/", url], md5=md5_of_fixture())
    assert mnist.load_mnist("test", dest)[0].shape == (2000, 28, 28)
    with pytest.raises(mnist.MNISTUnavailable, match="checksum mismatch"):
        mnist.download(tmp_path / "other", mirrors=[url + "bad/"], md5=md5_of_fixture())


def test_offline_gives_a_message_that_says_what_to_do(tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/"  # nothing listens there once closed
    with pytest.raises(mnist.MNISTUnavailable, match="Offline\\? Copy the four files"):
        mnist.download(tmp_path / "cache", mirrors=[closed], md5=md5_of_fixture(), timeout=2)
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache2"))
    monkeypatch.setattr(mnist, "SHARED_DIR", tmp_path / "no-shared")
    monkeypatch.setenv(mnist.NO_DOWNLOAD_ENV, "1")
    with pytest.raises(mnist.MNISTUnavailable, match="MNIST_DIR"):
        mnist.load_mnist("test")


def test_the_published_checksums_are_the_ones_in_the_data_readme():
    readme = mnist.SHARED_DIR / "README.md"
    if not readme.exists():
        pytest.skip("../shared is not beside this checkout")
    text = readme.read_text()
    for name, digest in mnist.MD5.items():
        assert f"{digest}  {name}" in text
