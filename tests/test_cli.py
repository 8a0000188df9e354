"""The sampling and evaluation command lines, interpolation and the comparison report, on the
shipped weights."""
import json

import numpy as np
import pytest
import torch

from diffusion_core import evaluate
from diffusion_core.evaluation import comparison, quality
from diffusion_core import sample as sample_cli
from diffusion_core.pipelines.generation import parse_labels
from diffusion_core.pipelines.interpolation import interpolate, slerp
from diffusion_core.data.mnist import load_mnist
from diffusion_core.networks.pretrained import ASSETS_DIR, load_pretrained
from diffusion_core.settings import sampling


@pytest.mark.parametrize("model,extra", [("dit", ["--steps", "2", "--sampler", "ddim"]), ("gan", []), ("vae", [])])
def test_sample_cli_writes_a_valid_npz(tmp_path, model, extra):
    out = tmp_path / "s.npz"
    assert sample_cli.sample_main(["--model", model, "--n", "12", "--seed", "1", "--out", str(out)] + extra) == 0
    with np.load(out) as z:
        assert z["images"].dtype == np.uint8 and z["images"].shape == (12, 28, 28)
        assert z["labels"].dtype == np.int64 and list(z["labels"][:10]) == list(range(10))
        # white digit on black, as in MNIST: the border is dark
        assert z["images"][:, 0, :].mean() < 60


def test_sample_cli_labels_and_errors(tmp_path, capsys):
    out = tmp_path / "s.npz"
    assert sample_cli.sample_main(["--model", "gan", "--n", "5", "--labels", "7", "--out", str(out)]) == 0
    assert set(np.load(out)["labels"]) == {7}
    assert sample_cli.sample_main(["--model", "gan", "--n", "5", "--labels", "12", "--out", str(out)]) == 2
    assert "digits from 0 to 9" in capsys.readouterr().err
    assert sample_cli.sample_main(["--n", "2", "--steps", "2", "--guidance-min-t", "500", "--out", str(out)]) == 0
    assert sample_cli.sample_main(["--n", "2", "--steps", "2", "--guidance-min-t", "-5", "--out", str(out)]) == 2
    assert "lowest guided t" in capsys.readouterr().err


def test_parse_labels():
    assert list(parse_labels("balanced", 12)) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    assert list(parse_labels("3,5", 3)) == [3, 5, 3]
    with pytest.raises(ValueError):
        parse_labels("x", 3)


@pytest.mark.slow
def test_evaluate_scores_real_digits_at_the_floor_and_noise_far_away(tmp_path):
    images, labels = load_mnist("test")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(images), 300, replace=False)
    real = quality.evaluate_samples(images[idx], labels[idx])
    assert real["accuracy"] > 0.97
    assert real["frechet_ratio_to_floor"] < 1.6
    assert real["classes_covered"] == 10
    noise = rng.integers(0, 256, size=(300, 28, 28), dtype=np.uint8)
    bad = quality.evaluate_samples(noise, labels[idx])
    assert bad["frechet_distance"] > 10 * real["frechet_distance"]
    assert bad["accuracy"] < 0.3


def test_evaluate_cli(tmp_path, capsys):
    images, labels = load_mnist("test")
    path = tmp_path / "real.npz"
    np.savez(path, images=images[:200], labels=labels[:200])
    assert evaluate.evaluate_main([str(path), "--json", str(tmp_path / "r.json")]) == 0
    printed = capsys.readouterr().out
    assert "requested-label accuracy" in printed and "real-vs-real floor" in printed
    assert json.loads((tmp_path / "r.json").read_text())["n"] == 200
    np.savez(tmp_path / "bad.npz", images=images[:50].astype(np.float32), labels=labels[:50])
    assert evaluate.evaluate_main([str(tmp_path / "bad.npz")]) == 2


def test_slerp_endpoints_and_norm():
    a, b = torch.randn(2, 64, generator=torch.Generator().manual_seed(0)).chunk(2)
    torch.testing.assert_close(slerp(a, b, 0.0), a)
    torch.testing.assert_close(slerp(a, b, 1.0), b)
    mid = slerp(a, b, 0.5)
    assert abs(mid.norm() - (a.norm() + b.norm()) / 2) < 0.15 * a.norm()


@pytest.mark.parametrize("kind", ["gan", "vae", "dit"])
def test_interpolation_starts_and_ends_at_the_two_seeds(kind):
    pre = load_pretrained(kind)
    frames = interpolate(kind, pre, 3, seed_a=1, seed_b=2, frames=4, s=sampling(pre.meta, steps=3))
    assert frames.shape == (4, 1, 28, 28)
    again = interpolate(kind, pre, 3, seed_a=1, seed_b=2, frames=4, s=sampling(pre.meta, steps=3))
    assert torch.equal(frames, again)
    other = interpolate(kind, pre, 3, seed_a=1, seed_b=5, frames=4, s=sampling(pre.meta, steps=3))
    torch.testing.assert_close(frames[0], other[0])  # same start
    assert not torch.allclose(frames[-1], other[-1])  # different end


def test_shipped_comparison_report_schema():
    report = json.loads((ASSETS_DIR / "comparison.json").read_text())
    assert set(report["models"]) == {"dit", "gan", "vae"} and report["verdict"]
    for m in report["models"].values():
        for key in ("accuracy", "frechet_distance", "frechet_distance_real_floor", "precision", "recall",
                    "diversity_relative_to_real", "parameters", "nfe_per_sample", "ms_per_sample_cpu",
                    "training_time_s", "stability", "classes_covered"):
            assert key in m, key
        assert 0 <= m["accuracy"] <= 1 and m["parameters"] > 0 and m["nfe_per_sample"] >= 1


def test_comparison_runs_end_to_end_on_a_small_n():
    report = comparison.run_comparison(n=30, seed=0, kinds=("gan", "vae"))
    assert set(report["models"]) == {"gan", "vae"}
    assert "fastest" in report["verdict"]
    assert report["models"]["gan"]["stability"]["loss"] == "g_loss"


def test_stability_measure_separates_steady_from_spiky():
    steady = {"loss": np.full(500, 1.0) + np.random.default_rng(0).normal(0, 0.01, 500)}
    spiky = {"loss": steady["loss"].copy()}
    spiky["loss"][::25] = 5.0
    a, b = comparison.stability("dit", steady), comparison.stability("dit", spiky)
    assert a["spike_share"] == 0 and b["spike_share"] > 0.03
    assert b["cv_last20"] > 5 * a["cv_last20"]
