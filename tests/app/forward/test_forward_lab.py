"""The forward-process lab's library side: image loading (bad uploads included), the linked
controls, chain mode, strips, checks, custom schedules and exports."""
import io
import json

import numpy as np
import pytest
from PIL import Image

from diffusion_core.app.forward import forward_lab as lab
from diffusion_core.app.forward import custom_specs as cs
from diffusion_core.app.forward import forward_ui as fui
from diffusion_core.data.images_io import ImageError, image_choices, load_choice, load_upload, display_image
from diffusion_core.maths.schedules import CLEAN, make_schedule


def png_bytes(arr, mode=None, **save):
    buf = io.BytesIO()
    (Image.fromarray(arr, mode) if mode else Image.fromarray(arr)).save(buf, format=save.pop("format", "PNG"), **save)
    return buf.getvalue()


def test_bundled_images_load_in_range():
    for choice in image_choices():
        x = load_choice(choice)
        assert x.dtype == np.float32 and x.ndim == 3 and x.shape[2] in (1, 3)
        assert -1 <= x.min() and x.max() <= 1 and max(x.shape[:2]) <= 512
    assert load_choice(image_choices()[0]).shape == (28, 28, 1)


def test_uploads_of_many_kinds_become_float_images(tmp_path):
    rgb = (np.random.default_rng(0).random((300, 900, 3)) * 255).astype(np.uint8)
    x = load_upload(png_bytes(rgb))
    assert x.shape == (171, 512, 3)  # long side scaled to 512, aspect kept
    grey16 = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16)
    assert load_upload(png_bytes(grey16, "I;16")).shape == (64, 64, 1)
    cmyk = Image.new("CMYK", (40, 30), (0, 255, 0, 0))
    buf = io.BytesIO()
    cmyk.save(buf, format="JPEG")
    assert load_upload(buf.getvalue()).shape == (30, 40, 3)
    rgba = np.zeros((20, 20, 4), dtype=np.uint8)
    assert load_upload(png_bytes(rgba)).max() == pytest.approx(1.0)  # transparent -> white
    frames = [Image.new("L", (16, 16), v) for v in (0, 255)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    assert load_upload(buf.getvalue()).max() == pytest.approx(-1.0)  # the first frame
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes(rgb[:50, :50]))
    assert load_upload(str(path)).shape == (50, 50, 3)


@pytest.mark.parametrize("data,match", [
    (b"", "empty"),
    (b"this is not an image at all", "not an image"),
    (png_bytes(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))[:2000], "damaged or truncated"),
])
def test_bad_uploads_give_clear_messages(data, match):
    with pytest.raises(ImageError, match=match):
        load_upload(data)


def test_huge_images_are_refused_before_decoding():
    # a 10000 x 10000 PNG header on little data: refused from its declared size
    big = Image.new("1", (10000, 10000))
    buf = io.BytesIO()
    big.save(buf, format="PNG")
    with pytest.raises(ImageError, match="megapixels"):
        load_upload(buf.getvalue())


def test_display_image_upscales_small_images_with_nearest_neighbour():
    x = np.array([[[-1.0], [1.0]], [[1.0], [-1.0]]], dtype=np.float32)
    out = display_image(x, min_side=8)
    assert out.shape == (8, 8) and set(np.unique(out)) == {0, 255}
    assert (out[:4, :4] == 0).all() and (out[:4, 4:] == 255).all()


def test_noise_is_fixed_per_seed_so_scrubbing_is_smooth():
    x0 = load_choice(image_choices()[0])
    s = make_schedule("cosine", 1000)
    a, b = lab.closed_form(x0, s, 300, 5), lab.closed_form(x0, s, 301, 5)
    assert np.abs(a - b).mean() < 0.01  # neighbouring t: nearly the same picture
    assert not np.allclose(lab.closed_form(x0, s, 300, 6), a)


def test_chain_extends_to_the_same_result_and_matches_closed_form_statistics():
    x0 = np.full((64, 64, 1), 0.6, dtype=np.float32)
    direct, _ = lab.chain(x0, 0.98, 40, seed=3)
    first, cache = lab.chain(x0, 0.98, 25, seed=3)
    extended, _ = lab.chain(x0, 0.98, 40, seed=3, cache=cache)
    np.testing.assert_allclose(extended, direct, rtol=1e-6)
    big = np.full((256, 256, 1), 0.6, dtype=np.float32)
    x, _ = lab.chain(big, 0.98, 40, seed=4)
    assert x.mean() == pytest.approx(0.6 * 0.98**20, abs=0.01)
    assert x.std() == pytest.approx(np.sqrt(1 - 0.98**40), rel=0.02)


def test_linked_t_and_alpha_bar_agree():
    spec = json.dumps({"name": "linear", "T": 1000, "rescale": False})
    _, md, ab, _ = fui.forward_view(image_choices()[0], None, spec, 400, fui.MODES[0], 0.99, 0)
    s = make_schedule("linear", 1000)
    assert ab == pytest.approx(s.alpha_bar(400), abs=1e-6)
    assert "t = 400" in md
    _, _, t, _ = fui.forward_from_alpha_bar(image_choices()[0], None, spec, ab, fui.MODES[0], 0.99, 0)
    assert t == 400


def test_odd_slider_values_are_clamped_not_crashing():
    spec = json.dumps(lab.DEFAULT_SPEC)
    for t in (-5, 10**9, float("nan"), None, "abc", 12.7):
        img, md, _, _ = fui.forward_view(image_choices()[0], None, spec, t, fui.MODES[0], 0.99, 0)
        assert img.shape == (280, 280)


def test_equal_log_snr_strip_lands_on_the_same_log_snr():
    a, b = make_schedule("cosine", 1000), make_schedule("linear", 1000)
    ts = lab.strip_timesteps([a, b], 6, "log_snr")
    for k in range(2, 5):
        assert a.log_snr_at(ts[0][k]) == pytest.approx(b.log_snr_at(ts[1][k]), abs=0.1)
    even = lab.strip_timesteps([a], 5, "t")
    assert even == [[CLEAN, 0, 333, 666, 999]]  # the clean image first, then t = 0 .. T-1 evenly


def test_strip_has_one_row_per_schedule():
    spec = json.dumps(lab.DEFAULT_SPEC)
    img, caption = fui.schedule_strip(image_choices()[0], None, spec, ["linear", "scaled_linear"], "equal log-SNR", 5, 0)
    assert img.ndim == 2 and caption.count("- **") == 3  # a grey digit: a grey strip
    assert img.shape[0] > 3 * 100
    # each row carries its schedule's name on the left (dark text on white), each frame its t underneath
    left, below = img[:112, :60], img[112:130, 200:260]
    assert (left < 128).any() and (left == 255).mean() > 0.5 and (below < 128).any()


def test_checks_offer_the_fixes_and_the_fixes_work():
    spec = json.dumps({"name": "scaled_linear", "T": 1000, "rescale": False})
    md, rescale, more = fui.checks(spec)
    assert "not pure noise" in md and rescale and not more
    fixed = json.loads(fui.apply_fix(spec, "rescale_zero_snr"))
    assert fixed == {"name": "scaled_linear", "T": 1000, "rescale": True}
    short = json.dumps({"name": "linear", "T": 50, "rescale": False})
    assert fui.checks(short)[2]
    assert fui.more_steps_target(short) == 800  # 4x, and 4x again: at 200 x_T still keeps 36% of the image
    longer = json.loads(fui.apply_fix(short, "more_steps"))
    assert longer["T"] == 800 and not fui.checks(json.dumps(longer))[2]
    assert fui.more_steps_target(json.dumps({"name": "linear", "T": 100000, "rescale": False})) is None


def test_custom_schedules_from_text_and_files(tmp_path):
    spec, msg = cs.custom_schedule("0.01, 0.02, 0.05, 0.1", "betas (one per step)", None)
    assert json.loads(spec)["betas"] == [0.01, 0.02, 0.05, 0.1] and "T = 4" in msg
    cfg = tmp_path / "scheduler_config.json"
    cfg.write_text(json.dumps({"beta_schedule": "scaled_linear", "num_train_timesteps": 100,
                               "beta_start": 0.00085, "beta_end": 0.012}))
    spec, _ = cs.custom_schedule("", None, str(cfg))
    assert len(json.loads(spec)["betas"]) == 100
    with pytest.raises(ValueError, match="must be < 1"):
        cs.custom_schedule("0.1, 1.5", "betas (one per step)", None)
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ValueError, match="not text"):
        cs.custom_schedule("", None, str(binary))


def test_exports(tmp_path):
    spec = json.dumps({"name": "linear", "T": 100, "rescale": False})
    csv_path = fui.export_csv(spec)
    assert open(csv_path).readline().startswith("t,beta")
    cfg = json.load(open(fui.export_config(spec)))
    assert cfg["num_train_timesteps"] == 100 and len(cfg["trained_betas"]) == 100
    gif = Image.open(fui.export_forward_gif(image_choices()[0], None, spec, 0, 6))
    assert gif.format == "GIF" and gif.n_frames >= 6


@pytest.mark.parametrize("spec", ['{"name": "nope", "T": 10}', '{"name": "linear", "T": 0}', "not json", "[1, 2]"])
def test_bad_specs_raise_value_error(spec):
    with pytest.raises(ValueError):
        lab.schedule_from_spec(spec)
