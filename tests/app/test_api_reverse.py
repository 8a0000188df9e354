"""Every endpoint of the reverse-process tab through gradio_client, and two users at once."""
import threading

import pytest
from gradio_client import Client
from PIL import Image

GEN = ("mixed 0-9", 3, "ddim", 0, 8, 0, 4, "leading")  # label, guidance, sampler, eta, steps, seed, images, spacing


@pytest.fixture(scope="module")
def client(app_url, tmp_path_factory):
    c = Client(app_url, verbose=False, download_files=str(tmp_path_factory.mktemp("dl")))
    job = c.submit(*GEN, api_name="/generate")
    outs = list(job)
    assert "Done: 8 steps" in job.outputs()[-1][2]
    assert len(outs) >= 2  # streamed, not one final answer
    return c


def test_endpoints_are_listed(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    for n in ("/generate", "/scrub", "/play", "/attention", "/modulation", "/moments", "/sdedit",
              "/export_trajectory_gif", "/model_status"):
        assert n in names, n


def test_generate_output_is_the_image_grid(client):
    xt, x0, status = client.predict(*GEN[:-2], 1, "leading", api_name="/generate")
    w, h = Image.open(x0).size
    assert w == 28 * 12 + 2 and h > 28 * 12  # one digit, upscaled 12x (nearest neighbour), "asked: 0" under it
    xt7, x07, _ = client.predict("7", 3, "ddim", 0, 8, 0, 1, "leading", api_name="/generate")
    assert Image.open(x07).size == ((28 + 4) * 12, (28 + 4) * 12)  # one class asked for all: no labels
    assert "network passes" in status and ("CPU" in status or "GPU" in status)


def test_scrub_moments_play_and_gif(client):
    client.predict(*GEN, api_name="/generate")
    *imgs, caption = client.predict(3, api_name="/scrub")
    assert "Step 3 of 8" in caption and len(imgs) == 4
    assert client.predict(2, api_name="/moments") is not None
    frames = list(client.submit(api_name="/play"))
    assert len(frames) >= 2
    gif = client.predict(api_name="/export_trajectory_gif")
    assert Image.open(gif).n_frames == 9


def test_attention_and_modulation(client):
    client.predict(*GEN, api_name="/generate")
    overlay, heads, text = client.predict(4, 2, 3, 2, 0, api_name="/attention")
    assert Image.open(overlay).size == (280, 280)
    assert "Patch (row 1, column 1), layer 3, head 2" in text
    assert client.predict(4, 2, api_name="/modulation") is not None


def test_sdedit_and_model_status(client):
    row, noise, path, caption, plot = client.predict("MNIST digit 3 (#1)", "8", 400, 5, 0, 3, 0, api_name="/sdedit")
    assert "denoised as an **8**" in caption and "t* = 400" in caption and "5 DDIM steps" in caption
    assert "DiT:" in client.predict(api_name="/model_status")


def test_bad_reverse_input_gets_a_message(client):
    with pytest.raises(Exception, match="maximum"):
        client.predict("mixed 0-9", 3, "ddim", 0, 20, 0, 99, "leading", api_name="/generate")
    with pytest.raises(Exception, match="not in the list of choices|Choose one"):
        client.predict("MNIST digit 42", "8", 400, 5, 0, 3, 0, api_name="/sdedit")
    fresh = Client(client.src, verbose=False)
    with pytest.raises(Exception, match="Generate first"):
        fresh.predict(3, api_name="/scrub")


def test_two_users_generating_at_once_both_finish(app_url):
    results, errors = {}, []

    def user(i):
        try:
            c = Client(app_url, verbose=False)
            results[i] = c.predict("7", 3, "ddim", 0, 10, i, 8, "leading", api_name="/generate")[2]
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not errors and len(results) == 2
    assert all("Done: 10 steps" in r for r in results.values())
