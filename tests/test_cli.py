"""The sampling and evaluation command lines, on the shipped weights."""
import json

import numpy as np
import pytest

from diffusion_core import evaluate
from diffusion_core import sample as sample_cli
from diffusion_core.data.mnist import load_mnist


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
