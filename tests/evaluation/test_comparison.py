"""The quality measures on real digits and noise, and the comparison report."""
import json

import numpy as np
import pytest

from diffusion_core.data.mnist import load_mnist
from diffusion_core.evaluation import comparison, quality
from diffusion_core.networks.pretrained import ASSETS_DIR


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


def test_shipped_comparison_report_schema():
    report = json.loads((ASSETS_DIR / "comparison.json").read_text())
    assert set(report["models"]) == {"dit", "dit_matched", "gan", "vae"} and report["verdict"]
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


def test_the_model_cards_are_written_from_the_shipped_json_and_report():
    from diffusion_core import model_cards

    report = json.loads((ASSETS_DIR / "comparison.json").read_text())
    for kind in ("dit", "gan", "vae"):
        meta = json.loads((ASSETS_DIR / f"{kind}_mnist.json").read_text())
        text = model_cards.card(kind, meta, report["models"][kind], report)
        assert text.startswith("# ") and "## Measured" in text and f"{report['models'][kind]['accuracy']:.2%}" in text
    s = report["models"]["dit"]["sampling"]  # the setting the table was measured at, named in the card
    text = model_cards.card("dit", json.loads((ASSETS_DIR / "dit_mnist.json").read_text()), report["models"]["dit"], report)
    assert f"{s['sampler']}, {s['steps']} steps, {s['spacing']} spacing, guidance {s['guidance']}" in text


def test_the_fast_preset_is_within_ten_passes_and_its_card_quotes_its_measured_rows():
    from diffusion_core import model_cards
    from diffusion_core.pipelines.generation import nfe_per_sample
    from diffusion_core.settings import presets, sampling

    meta = json.loads((ASSETS_DIR / "dit_mnist.json").read_text())
    assert "fast" in presets(meta)
    assert nfe_per_sample("dit", meta, sampling(meta, "fast")) <= 10
    rows = json.loads((ASSETS_DIR / "dit_figures.json").read_text())["fast_preset"]["rows"]
    text = "\n".join(model_cards.preset_lines(meta))
    assert all(f"accuracy {100 * r['accuracy']:.1f}%" in text and f"{r['frechet_ratio_to_floor']:.2f}x" in text for r in rows)


def test_the_card_judges_the_default_against_the_stronger_dit_targets_from_its_measured_rows(monkeypatch):
    from diffusion_core import model_cards

    rows = [{"seed": 0, "n": 1000, "accuracy": 0.992, "frechet_ratio_to_floor": 2.09, "recall": 0.878},
            {"seed": 1, "n": 1000, "accuracy": 0.983, "frechet_ratio_to_floor": 1.76, "recall": 0.895}]
    monkeypatch.setattr(model_cards, "dit_figures", lambda key=None: {"default_preset": {"command": "cmd", "rows": rows}}.get(key))
    text = " ".join(model_cards.target_lines())
    assert "accuracy >= 99% at every seed: MISSED" in text and "<= 2x the real floor: MISSED" in text
    assert "recall >= 0.85: met" in text and "seed 1: 98.3%, 1.76x, 0.895" in text
    rows[1].update(accuracy=0.995, frechet_ratio_to_floor=1.5)
    rows[0].update(frechet_ratio_to_floor=1.9)
    assert "MISSED" not in " ".join(model_cards.target_lines())
    monkeypatch.setattr(model_cards, "dit_figures", lambda key=None: None if key else {})
    assert "not measured yet" in " ".join(model_cards.target_lines())


def test_the_verdict_says_so_when_the_models_trained_on_different_hardware():
    def model(name, fd, hardware):
        return {"model": name, "frechet_distance": fd, "precision": 0.8, "recall": 0.8, "accuracy": 0.9,
                "ms_per_sample_cpu": 1.0, "nfe_per_sample": 1, "training_time_s": 60.0, "training_hardware": hardware}

    same = {"gan": model("GAN", 2.0, "cpu"), "vae": model("VAE", 3.0, "CPU (x86_64, 2 threads)")}
    assert "), all on the same kind of CPU: " in comparison.verdict(same)
    mixed = {**same, "dit": model("Diffusion", 1.0, "CPU for stages 1-8; NVIDIA H200 for stage 10")}
    text = comparison.verdict(mixed)
    assert "), on different hardware: " in text and "NVIDIA H200" in text and "same kind of CPU" not in text


def test_the_cards_are_not_rewritten_from_a_broken_figures_file(tmp_path, monkeypatch):
    """A tolerant reader would read it as "not measured" and the cards would lose their quality figures."""
    from diffusion_core import model_cards

    broken = tmp_path / "dit_figures.json"
    broken.write_text('{"default_preset": ')
    monkeypatch.setattr(model_cards, "DIT_FIGURES", broken)
    monkeypatch.setattr(model_cards, "ASSETS_DIR", tmp_path)  # nothing is written even if it went on
    with pytest.raises(SystemExit, match="cannot be read"):
        model_cards.model_cards_main()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dit_figures.json"]
