"""The DiT trainer: a tiny run lowers the loss, resumes from its checkpoint, records its weighting, and its
checkpoint travels in parts (the GPU recipe); its step copies nothing between host and device, its loss log
reads losses back in batches, and the training-speed benchmark times that same step."""
import csv
import json

import pytest
import torch

from diffusion_core.train import train_main


def test_tiny_overfit_run_lowers_the_loss(tmp_path):
    out = tmp_path / "run"
    train_main(["dit", "--preset", "test", "--steps", "150", "--limit-data", "16", "--batch-size", "16",
                "--lr", "3e-3", "--warmup", "10", "--sample-every", "0", "--out", str(out), "--export", str(tmp_path / "w")])
    rows = list(csv.DictReader(open(out / "loss.csv")))
    first = sum(float(r["loss"]) for r in rows[:3]) / 3
    last = sum(float(r["loss"]) for r in rows[-3:]) / 3
    assert last < 0.6 * first, (first, last)
    assert (tmp_path / "w.safetensors").exists() and (tmp_path / "w.json").exists()


def test_training_resumes_from_checkpoint(tmp_path):
    args = ["dit", "--preset", "test", "--limit-data", "16", "--sample-every", "0", "--out", str(tmp_path / "run")]
    train_main(args + ["--steps", "20", "--batch-size", "8"])
    train_main(args + ["--steps", "30", "--batch-size", "4", "--export", str(tmp_path / "w" / "dit_mnist")])
    steps = [int(r["step"]) for r in csv.DictReader(open(tmp_path / "run" / "loss.csv"))]
    assert steps == list(range(10, 31, 10))
    assert torch.load(tmp_path / "run" / "ckpt.pt", weights_only=False)["step"] == 30
    # the images seen add up over stages of different batch sizes (the comparison's training budget)
    training = json.loads((tmp_path / "w" / "dit_mnist.json").read_text())["training"]
    assert training["images_seen"] == 20 * 8 + 10 * 4 and training["epochs"] == round(200 / 60000, 2)
    train_main(["dit", "--preset", "test", "--limit-data", "16", "--sample-every", "0", "--out", str(tmp_path / "next"),
                "--steps", "5", "--batch-size", "2", "--init-from", str(tmp_path / "w" / "dit_mnist"),
                "--export", str(tmp_path / "w2")])
    assert json.loads((tmp_path / "w2.json").read_text())["training"]["images_seen"] == 200 + 5 * 2


def test_min_snr_training_runs_and_records_its_weighting(tmp_path):
    train_main(["dit", "--preset", "test", "--steps", "20", "--limit-data", "16", "--batch-size", "8", "--sample-every", "0",
                "--loss-weighting", "min-snr", "--out", str(tmp_path / "run"), "--export", str(tmp_path / "w")])
    meta = json.loads((tmp_path / "w.json").read_text())
    assert meta["training"]["loss_weighting"] == "min-snr" and meta["training"]["snr_gamma"] == 5.0


def test_a_checkpoint_travels_in_parts_and_joins_back(tmp_path):
    """What the GPU recipe returns: the checkpoint split into files under a size, joined again here."""
    from diffusion_core.training.training_utils import join_checkpoint, save_checkpoint, split_checkpoint

    state = {"model": {"w": torch.randn(300_000)}, "ema": {"w": torch.randn(300_000)}, "opt": {"m": torch.randn(300_000)},
             "step": 7}
    save_checkpoint(tmp_path / "run" / "ckpt.pt", **state)
    size = (tmp_path / "run" / "ckpt.pt").stat().st_size
    parts = split_checkpoint(tmp_path / "run" / "ckpt.pt", tmp_path / "back", max_bytes=1_000_000)  # each entry ~1.2 MB
    assert len(parts) == -(-size // 1_000_000) and all(p.stat().st_size <= 1_000_000 for p in parts)
    (tmp_path / "run" / "ckpt.pt").unlink()
    for p in parts[:-1]:
        p.rename(tmp_path / "run" / p.name)
    with pytest.raises(Exception):  # a piece missing: the joined file does not load
        join_checkpoint(tmp_path / "run")
    parts[-1].rename(tmp_path / "run" / parts[-1].name)
    joined = torch.load(join_checkpoint(tmp_path / "run"), weights_only=False)
    assert joined["step"] == 7 and torch.equal(joined["opt"]["m"], state["opt"]["m"])
    assert not list((tmp_path / "run").glob("ckpt.pt.part*"))


def test_the_learning_rate_can_decay_over_the_time_limit_instead_of_the_steps():
    from argparse import Namespace

    from diffusion_core.training.train_dit import lr_at

    args = Namespace(lr=1e-3, warmup=10, steps=1000)
    assert lr_at(0, args, 0.5) == pytest.approx(1e-4)  # warm-up first, whatever the time
    assert lr_at(500, args) == pytest.approx(lr_at(20, args, 490 / 990))
    assert lr_at(20, args, 1.0) == pytest.approx(1e-4) and lr_at(20, args, 0.0) == pytest.approx(1e-3)


def test_a_training_step_copies_nothing_between_host_and_device():
    """On a GPU, a copy between host and device waits for the kernels queued before it. The "meta" device holds
    no data: a copy from it to the host raises there, and a watch on every operation catches a copy from the
    host to it (an op that takes a host tensor and returns a meta one). The trainer's whole step (t drawn,
    noising, Min-SNR weights, backward, clipping, AdamW, EMA) passes both once its first step has cached the
    schedule's table on the device. Before, it copied t to the host and two coefficients back every step.
    (AdamW is the foreach kind here: the trainer's fused one runs on CUDA only.)"""
    from torch.utils._python_dispatch import TorchDispatchMode

    from diffusion_core.maths.objective import loss_weights
    from diffusion_core.maths.schedules import make_schedule
    from diffusion_core.networks.dit import DiT, PRESETS
    from diffusion_core.training.train_dit import train_step
    from diffusion_core.training.training_utils import EMA

    class HostToDevice(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.copies = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            inputs = [a for a in (*args, *(kwargs or {}).values()) if isinstance(a, torch.Tensor)]
            if isinstance(out, torch.Tensor) and out.device.type == "meta" and any(
                    a.device.type == "cpu" and a.dim() > 0 for a in inputs):
                self.copies.append(str(func))
            return out

    schedule = make_schedule("cosine", 1000)
    model = DiT(PRESETS["test"]).to("meta")
    ema = EMA(model, 0.999)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, foreach=True)
    weights = loss_weights(schedule, "min-snr").to("meta")
    x0 = torch.empty(8, 1, 28, 28, device="meta")
    labels = torch.zeros(8, dtype=torch.long, device="meta")
    train_step(model, model, opt, ema, schedule, weights, x0, model.y_embedder.drop(labels), 1e-4, False)  # caches the table
    with HostToDevice() as watch:
        loss = train_step(model, model, opt, ema, schedule, weights, x0, model.y_embedder.drop(labels), 1e-4, False)
    assert watch.copies == []
    assert loss.device.type == "meta" and next(ema.model.parameters()).device.type == "meta"


def test_the_training_speed_benchmark_times_the_trainers_own_step():
    """`benchmarks/train_speed.py` runs `train_step` as the trainer does (a smoke test of the script: its
    figures are positive and agree with each other)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import train_speed

    r = train_speed.measure("eager", "test", batch=8, steps=2, warmup=1, device=torch.device("cpu"))
    assert r["ms_per_step"] > 0 and r["digits_per_s"] == pytest.approx(8 * r["steps_per_s"])
    assert r["host_waits_per_step"] is None  # counted on CUDA only


def test_the_loss_log_holds_device_losses_and_writes_them_in_order(tmp_path):
    """The DiT trainer logs a loss tensor every 10 steps without reading it back; the log reads `hold` rows'
    tensors back in one copy, and a flush (at each checkpoint) writes what is held."""
    from diffusion_core.training.training_utils import LossLog

    path = tmp_path / "loss.csv"
    log = LossLog(path, ["step", "loss", "lr"], hold=3)
    read = lambda: list(csv.reader(path.read_text().splitlines()))[1:]
    log.write(step=10, loss=torch.tensor(0.5), lr="1e-4")
    log.write(step=20, loss=torch.tensor([0.25]), lr="1e-4")
    assert read() == []
    log.write(step=30, loss=torch.tensor(0.125, dtype=torch.float64), lr="9e-5")
    assert read() == [["10", "0.500000", "1e-4"], ["20", "0.250000", "1e-4"], ["30", "0.125000", "9e-5"]]
    log.write(step=40, loss="0.1")
    log.flush()
    assert read()[-1] == ["40", "0.1", ""] and log.last["step"] == 40
