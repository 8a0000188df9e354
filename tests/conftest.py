"""Shared fixtures: the running app (in-process, on a free loopback port) and a headless browser."""
import os
import shutil
import socket
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
FIXTURE_MNIST = Path(__file__).resolve().parent / "fixtures" / "mnist"


def _use_the_fixture_without_full_mnist() -> None:
    """A fresh clone (no ../shared, no MNIST_DIR, nothing cached): the tests read the committed fixture of
    4,000 real digits, and never download."""
    from diffusion_core.data import mnist

    os.environ.setdefault(mnist.NO_DOWNLOAD_ENV, "1")
    if not any(mnist._complete(d) for d in mnist.data_dirs()):
        os.environ["MNIST_DIR"] = str(FIXTURE_MNIST)


_use_the_fixture_without_full_mnist()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    import app

    demo = app.build_demo()
    port = free_port()
    app.launch(demo, server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium driven by playwright (never `playwright install`)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30000)  # a generation on a busy 2-core CI machine can take seconds

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    assert exe, "Debian's chromium is needed for the browser tests (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


def pytest_collection_modifyitems(config, items):
    """Every test that uses the headless browser is marked `browser` (the quick inner loop is
    `pytest -m "not browser and not slow"`)."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


def drag_slider(page, elem_id: str, start: float, end: float, steps: int = 8) -> None:
    """Drag the range input of the slider `#elem_id` with the mouse from `start` to `end` (fractions of
    its width), as a user does: the page sends `input` events on the way."""
    slider = page.locator(f"#{elem_id} input[type=range]")
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + start * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + end * box["width"], y, steps=steps)
    page.mouse.up()
