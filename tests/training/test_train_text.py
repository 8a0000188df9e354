"""The text trainer: a tiny run lowers the loss (both kinds), resumes from its checkpoint, and exports
weights that load back."""
import csv
import json
import math

import pytest
import torch
from safetensors.torch import load_file

from diffusion_core.data import names_corpus as nc
from diffusion_core.maths.masking import MaskingSchedule
from diffusion_core.networks.text_dit import TextDiT, TextDiTConfig
from diffusion_core.train import train_main
from diffusion_core.training.train_text import sequence_losses

TINY = ["text", "--limit-data", "64", "--batch-size", "32", "--hidden-size", "32", "--depth", "2", "--warmup", "10",
        "--lr", "3e-3"]


def fixed_loss(stem, kind) -> float:
    """Nats per character on the 64 training names, with fixed mask rates and masks."""
    meta = json.loads(open(f"{stem}.json").read())
    model = TextDiT(TextDiTConfig.from_dict(meta["config"]))
    model.load_state_dict(load_file(f"{stem}.safetensors"))
    x0 = torch.from_numpy(nc.as_tokens("train")[:64]).repeat(8, 1)
    with torch.no_grad():
        return sequence_losses(model.eval(), kind, x0, MaskingSchedule(), torch.Generator().manual_seed(0)).mean().item() / nc.SEQ_LEN


@pytest.mark.slow
def test_a_tiny_overfit_run_lowers_the_loss(tmp_path):
    for kind in ("diffusion", "ar"):
        out, stem = tmp_path / kind, tmp_path / f"w_{kind}"
        train_main(TINY + ["--kind", kind, "--steps", "150", "--out", str(out), "--export", str(stem)])
        assert fixed_loss(stem, kind) < 0.5 * math.log(len(nc.VOCAB))  # a fresh model scores log V (test_masking)
        meta = json.loads((tmp_path / f"w_{kind}.json").read_text())
        assert meta["kind"] == ("text_mdlm" if kind == "diffusion" else "text_ar") and meta["config"]["causal"] == (kind == "ar")


def test_training_resumes_from_its_checkpoint(tmp_path):
    train_main(TINY + ["--steps", "40", "--out", str(tmp_path)])
    train_main(TINY + ["--steps", "60", "--out", str(tmp_path)])
    steps = [int(r["step"]) for r in csv.DictReader(open(tmp_path / "loss.csv"))]
    assert steps == [20, 40, 60]


def test_each_stage_of_a_resumed_run_is_recorded_and_named_in_the_card(tmp_path):
    from diffusion_core.text_model_cards import text_card

    train_main(TINY + ["--steps", "20", "--out", str(tmp_path / "run")])
    train_main(TINY + ["--steps", "40", "--out", str(tmp_path / "run"), "--export", str(tmp_path / "w")])
    meta = json.loads((tmp_path / "w.json").read_text())
    history = meta["training"]["history"]
    assert [h["steps"] for h in history] == ["0 -> 20", "20 -> 40"]
    assert all(h["command"].startswith("python -m diffusion_core.train text") for h in history)
    figures = json.loads(open("assets/text_figures.json").read())
    card = text_card("text_mdlm", meta, figures)
    assert all(h["command"] in card for h in history)
    assert f"{figures['bits_per_char']['diffusion_nelbo']:.3f}" in card and f"{figures['bits_per_char']['autoregressive_nll']:.3f}" in card


def test_the_export_is_the_checkpoint_that_scored_best_on_the_validation_split(tmp_path):
    """Chosen on validation names (neither trained on nor held out), every score kept; a resumed run keeps
    competing against the best so far."""
    from diffusion_core.training.train_text import validation_bits

    args = TINY + ["--kind", "ar", "--out", str(tmp_path / "run"), "--validate-every", "10"]
    train_main(args + ["--steps", "20"])
    train_main(args + ["--steps", "40", "--export", str(tmp_path / "w")])
    scores = [line.split(",") for line in (tmp_path / "run" / "validation.csv").read_text().split()]
    assert [int(s) for s, _ in scores] == [10, 20, 30, 40]
    best_step, best_bits = min(((int(s), float(b)) for s, b in scores), key=lambda r: r[1])
    meta = json.loads((tmp_path / "w.json").read_text())
    chosen = meta["training"]["selected"]
    assert (chosen["split"], chosen["step"], chosen["last_step"]) == ("validation", best_step, 40)
    assert chosen["bits_per_char"] == pytest.approx(best_bits, abs=1e-4) and meta["training"]["steps"] == best_step
    model = TextDiT(TextDiTConfig.from_dict(meta["config"]))
    model.load_state_dict(load_file(str(tmp_path / "w.safetensors")))
    valid = torch.from_numpy(nc.as_tokens("validation"))
    assert validation_bits(model.eval(), "ar", valid, MaskingSchedule()) == pytest.approx(best_bits, abs=1e-4)
