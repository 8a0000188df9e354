"""Bad input through the real API: broken and odd uploads, hostile schedule text, out-of-range
arguments. Each gets a clear message (or, for odd but valid files, a picture), and the server stays up."""
import json

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

SPEC = json.dumps({"name": "cosine", "T": 1000, "rescale": False})
MODE = "closed form q(x_t | x_0)"
DIGIT = "MNIST digit 0 (#1)"


@pytest.fixture(scope="module")
def client(app_url, tmp_path_factory):
    return Client(app_url, verbose=False, download_files=str(tmp_path_factory.mktemp("dl")))


def still_up(client):
    _, md, _ = client.predict(DIGIT, None, SPEC, 123, MODE, 0.99, 0, api_name="/forward")
    assert "t = 123" in md


def _png(path, img):
    img.save(path)
    return path


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


UPLOADS = {
    # name: (maker(tmp_path) -> path, what the message must say)
    "truncated.png": (lambda d: _write(d / "truncated.png", _png(d / "full.png", Image.fromarray(
        np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))).read_bytes()[:300]), "truncated"),
    "huge.png": (lambda d: _png(d / "huge.png", Image.new("L", (10000, 10000), 0)), "up to 40 megapixels"),
    "bytes.png": (lambda d: _write(d / "bytes.png", b"\x00\x01garbage" * 100), "not an image"),
    "empty.png": (lambda d: _write(d / "empty.png", b""), "empty"),
    "animated.gif": (lambda d: Image.new("P", (40, 30), 1).save(d / "animated.gif", save_all=True, append_images=[
        Image.new("P", (40, 30), k) for k in (2, 3)]) or d / "animated.gif", "your upload"),
    "16bit.png": (lambda d: _png(d / "16bit.png", Image.fromarray(np.arange(0, 60000, 15, dtype=np.uint16).reshape(50, 80))), "your upload"),
    "cmyk.jpg": (lambda d: Image.new("CMYK", (60, 40), (0, 200, 200, 0)).save(d / "cmyk.jpg") or d / "cmyk.jpg", "your upload"),
}


@pytest.mark.parametrize("name", sorted(UPLOADS))
def test_uploads(client, tmp_path, name):
    make, expected = UPLOADS[name]
    path = make(tmp_path)
    x0, _, msg = client.predict(None, handle_file(str(path)), 0, api_name="/source_images")
    assert expected in msg.lower() or expected in msg, msg
    if expected == "your upload":  # odd but valid: it is shown, and it noises
        assert Image.open(x0).size[0] > 0
        img, md, _ = client.predict(None, handle_file(str(path)), SPEC, 500, MODE, 0.99, 0, api_name="/forward")
        assert "t = 500" in md
    still_up(client)


@pytest.mark.parametrize("text, kind, expected", [
    ("nan, 0.1", "betas (one per step)", "finite"),
    ("-0.1, 0.2", "betas (one per step)", "must be > 0"),
    ("inf", "betas (one per step)", "finite"),
    ("０.１, ٠.٢, 🙂", "betas (one per step)", "not a number"),
    ("", "betas (one per step)", "no numbers"),
    ("0.9, 0.5, 0.99", "alpha_bar (one per step)", "decreas"),
    ("{\"beta_schedule\": \"__import__('os')\"}", "diffusers scheduler_config.json", "beta_schedule"),
    ("{not json", "diffusers scheduler_config.json", "JSON"),
    ("beta\n0.1\nabc", "CSV with a beta column", "not a number"),
    ("0.01," * 200001, "betas (one per step)", "more than this tool handles"),
])
def test_schedule_text(client, text, kind, expected):
    spec, msg = client.predict(text, kind, None, SPEC, api_name="/custom_schedule")
    assert spec == SPEC, "a broken schedule must leave the current one in place"
    assert msg.startswith("**Not loaded**") and expected.lower() in msg.lower(), msg
    still_up(client)


@pytest.mark.parametrize("args, api, expected", [
    (("linear", 10**9, False), "/named_spec", "from 1 to 100000"),
    (("linear", 0, False), "/named_spec", "from 1 to 100000"),
    ((DIGIT, None, SPEC, -5, MODE, 0.99, 0), "/forward", "minimum"),
    ((DIGIT, None, "{broken", 5, MODE, 0.99, 0), "/forward", "not valid JSON"),
    ((DIGIT, None, json.dumps({"name": "linear", "T": 10**12}), 5, MODE, 0.99, 0), "/forward", "more than this tool handles"),
    (("mixed 0-9", 3, "ddim", 0, 0, 0, 4, "leading"), "/generate", "minimum"),
    (("mixed 0-9", 99, "ddim", 0, 10, 0, 4, "leading"), "/generate", "maximum"),
    (("mixed 0-9", 3, "plms", 0, 10, 0, 4, "leading"), "/generate", "not in the list"),
    (("mixed 0-9", 3, "ddim", 0, 10, 0, 4, "leading", 5000), "/generate", "maximum"),
    (("MNIST digit 3 (#1)", "8", 5000, 5, 0, 3, 0), "/sdedit", "maximum"),
    (("11", 0, 4), "/compare_samples", "not in the list"),
])
def test_out_of_range_arguments(client, args, api, expected):
    with pytest.raises(Exception, match=f"(?i){expected}"):
        client.predict(*args, api_name=api)
    still_up(client)
