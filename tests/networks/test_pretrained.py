"""Weights: round trip, the Hugging Face Hub path against a local fake hub cache (no network),
the offline fallback, and clear errors for corrupt, missing or mismatched files."""
import json
import shutil

import pytest
import torch

from diffusion_core.networks.dit import DiT, PRESETS
from diffusion_core.networks.pretrained import HUB_ENV, WeightsError, load_pretrained, save_pretrained


@pytest.fixture()
def saved(tmp_path):
    torch.manual_seed(0)
    model = DiT(PRESETS["test"])
    for p in model.parameters():
        p.data.normal_(0, 0.05)
    meta = {"kind": "dit", "config": model.config.to_dict(), "schedule": {"name": "cosine", "num_timesteps": 1000}}
    save_pretrained(model, tmp_path / "assets" / "dit_mnist", meta)
    return model, tmp_path / "assets"


def fake_hub_cache(root, repo, files):
    """Lay files out as huggingface_hub's cache does: models--owner--name/{refs/main, snapshots/<rev>/}."""
    rev = "0123456789abcdef0123456789abcdef01234567"
    base = root / ("models--" + repo.replace("/", "--"))
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(rev)
    snap = base / "snapshots" / rev
    snap.mkdir(parents=True)
    for f in files:
        shutil.copy(f, snap / f.name)
    return root


def test_round_trip_gives_identical_outputs(saved):
    model, assets = saved
    loaded = load_pretrained("dit", assets_dir=assets)
    x, t, y = torch.randn(2, 1, 28, 28), torch.tensor([3.0, 700.0]), torch.tensor([1, 10])
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x, t, y), model.eval()(x, t, y))
    assert not loaded.model.training and loaded.meta["schedule"]["name"] == "cosine"


def test_hub_path_reads_a_local_fake_repo(saved, tmp_path, monkeypatch):
    model, assets = saved
    cache = fake_hub_cache(tmp_path / "hub", "teacher/diffusion-classroom",
                           [assets / "dit_mnist.safetensors", assets / "dit_mnist.json"])
    monkeypatch.setenv(HUB_ENV, "teacher/diffusion-classroom")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    loaded = load_pretrained("dit")
    assert loaded.source == "hub:teacher/diffusion-classroom"
    torch.testing.assert_close(loaded.model.pos_embed, model.pos_embed)
    for name, p in model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[name], p)


def test_hub_failure_falls_back_to_bundled_assets(tmp_path, monkeypatch):
    monkeypatch.setenv(HUB_ENV, "nobody/not-there")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.warns(UserWarning, match="bundled"):
        loaded = load_pretrained("dit")
    assert loaded.source.endswith("dit_mnist.safetensors")


def test_shipped_dit_weights_load_and_are_small():
    loaded = load_pretrained("dit")
    from diffusion_core.networks.pretrained import ASSETS_DIR

    assert (ASSETS_DIR / "dit_mnist.safetensors").stat().st_size < 50 * 2**20
    assert loaded.meta["training"]["steps"] > 0
    assert isinstance(loaded.model, DiT)


def test_corrupt_weights_give_a_clear_error(saved):
    _, assets = saved
    path = assets / "dit_mnist.safetensors"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(WeightsError, match="corrupt or truncated"):
        load_pretrained("dit", assets_dir=assets)
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(WeightsError, match="corrupt"):
        load_pretrained("dit", assets_dir=assets)


def test_missing_files_give_a_clear_error(saved):
    _, assets = saved
    (assets / "dit_mnist.safetensors").unlink()
    with pytest.raises(WeightsError, match="missing.*retrain"):
        load_pretrained("dit", assets_dir=assets)
    (assets / "dit_mnist.json").unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_pretrained("dit", assets_dir=assets)


def test_mismatched_config_and_broken_json_give_clear_errors(saved):
    _, assets = saved
    meta_path = assets / "dit_mnist.json"
    meta = json.loads(meta_path.read_text())
    meta["config"]["hidden_size"] = 64
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(WeightsError, match="do not fit"):
        load_pretrained("dit", assets_dir=assets)
    meta_path.write_text("{ not json")
    with pytest.raises(WeightsError, match="not valid JSON"):
        load_pretrained("dit", assets_dir=assets)


def test_nan_weights_are_refused(saved):
    model, assets = saved
    with torch.no_grad():
        model.final_layer.linear.weight[0, 0] = float("nan")
    save_pretrained(model, assets / "dit_mnist", json.loads((assets / "dit_mnist.json").read_text()))
    with pytest.raises(WeightsError, match="NaN"):
        load_pretrained("dit", assets_dir=assets)


def test_unknown_kind():
    with pytest.raises(WeightsError, match="Unknown model"):
        load_pretrained("unet")
