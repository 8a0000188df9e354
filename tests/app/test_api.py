"""Every named endpoint of the app, called through gradio_client over loopback."""
import json

import pytest
from gradio_client import Client, handle_file
from PIL import Image

from diffusion_core.data.images_io import image_choices
from diffusion_core.maths.schedules import make_schedule

DIGIT = image_choices()[0]
PHOTO = "Photo: chelsea"
SPEC = json.dumps({"name": "cosine", "T": 1000, "rescale": False})


@pytest.fixture(scope="module")
def client(app_url, tmp_path_factory):
    return Client(app_url, verbose=False, download_files=str(tmp_path_factory.mktemp("dl")))


def test_api_lists_the_endpoints(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    for n in ("/forward", "/histogram", "/forward_from_alpha_bar", "/plots", "/source_images", "/strip", "/checks", "/fix",
              "/custom_schedule", "/export_csv", "/export_config", "/export_gif", "/named_spec", "/new_noise"):
        assert n in names, n


def test_named_spec(client):
    spec = json.loads(client.predict("linear", 500, True, api_name="/named_spec"))
    assert spec == {"name": "linear", "T": 500, "rescale": True}


def test_forward_and_its_inverse(client):
    img, md, ab = client.predict(DIGIT, None, SPEC, 600, "closed form q(x_t | x_0)", 0.99, 1, api_name="/forward")
    assert ab == pytest.approx(make_schedule("cosine", 1000).alpha_bar(600), abs=1e-5)
    assert Image.open(img).size == (280, 280) and "t = 600" in md
    img2, md2, t = client.predict(DIGIT, None, SPEC, ab, "closed form q(x_t | x_0)", 0.99, 1, api_name="/forward_from_alpha_bar")
    assert t == 600


def test_forward_on_a_photo_is_colour(client):
    img, *_ = client.predict(PHOTO, None, SPEC, 100, "closed form q(x_t | x_0)", 0.99, 0, api_name="/forward")
    assert Image.open(img).mode == "RGB"
    fig = client.predict(PHOTO, None, SPEC, 100, "closed form q(x_t | x_0)", 0.99, 0, api_name="/histogram")
    assert fig is not None


def test_source_images_and_upload(client, tmp_path):
    path = tmp_path / "up.png"
    Image.new("RGB", (640, 480), (200, 30, 30)).save(path)
    x0, noise, msg = client.predict(None, handle_file(str(path)), 0, api_name="/source_images")
    assert "512 x 384" in msg and "your upload" in msg


def test_bad_upload_gives_a_message(client, tmp_path):
    path = tmp_path / "fake.png"
    path.write_bytes(b"definitely not a png")
    _, _, msg = client.predict(None, handle_file(str(path)), 0, api_name="/source_images")
    assert "not an image" in msg


def test_strip_plots_checks_fix(client):
    strip_img, caption = client.predict(DIGIT, None, SPEC, ["linear"], "equal log-SNR", 6, 0, api_name="/strip")
    assert "linear" in caption and Image.open(strip_img).size[0] > 500
    fig = client.predict(SPEC, ["linear"], 300, api_name="/plots")
    assert fig is not None
    md, *_ = client.predict(json.dumps({"name": "scaled_linear", "T": 1000, "rescale": False}), api_name="/checks")
    assert "not pure noise" in md
    fixed = client.predict(json.dumps({"name": "linear", "T": 50, "rescale": False}), "more_steps", api_name="/fix")
    assert json.loads(fixed)["T"] == 800  # 200 would still leave 36% of the image in x_T


def test_custom_schedule_ok_and_broken(client):
    spec, msg = client.predict("0.01 0.02 0.03", "betas (one per step)", None, SPEC, api_name="/custom_schedule")
    assert json.loads(spec)["betas"] == [0.01, 0.02, 0.03] and "T = 3" in msg
    spec, msg = client.predict("0.1, nan", "betas (one per step)", None, SPEC, api_name="/custom_schedule")
    assert spec == SPEC and "finite" in msg


def test_exports(client):
    assert open(client.predict(SPEC, api_name="/export_csv")).readline().startswith("t,beta")
    assert json.load(open(client.predict(SPEC, api_name="/export_config")))["num_train_timesteps"] == 1000
    assert Image.open(client.predict(DIGIT, None, SPEC, 0, api_name="/export_gif")).n_frames > 2


def test_new_noise_gives_a_seed(client):
    assert 0 <= int(client.predict(api_name="/new_noise")) < 2**31


def test_out_of_range_arguments_get_a_clear_error(client):
    with pytest.raises(Exception, match="Unknown schedule"):
        client.predict(json.dumps({"name": "wobbly", "T": 10}), ["linear"], 3, api_name="/plots")
    # an absurd t is refused by the slider's own bounds, with a message, and the server stays up
    with pytest.raises(Exception, match="greater than maximum"):
        client.predict(DIGIT, None, SPEC, 10**9, "closed form q(x_t | x_0)", 0.99, 0, api_name="/forward")
    with pytest.raises(Exception, match="not in the list of choices"):
        client.predict("a cat picture", None, SPEC, 5, "closed form q(x_t | x_0)", 0.99, 0, api_name="/forward")
    _, md, _ = client.predict(DIGIT, None, SPEC, 1000, "closed form q(x_t | x_0)", 0.99, 0, api_name="/forward")
    assert "t = 999" in md
