"""A short recovery fine-tune of a changed DiT (a pruned one, `networks/pruning.py`) with the shipped trainer's
own code: `train_dit.train_step` (the objective of `maths/objective.py`, Min-SNR weighted as the shipped model
was), `make_optimizer` (AdamW), `lr_at` (warm-up, then a cosine decay to 10%), the label dropped to the null
class as in training, gradients clipped. A few hundred steps on MNIST let the kept units take over the work of
the removed ones. `benchmarks/cost_lab.py` runs it and records what it took.

    tuned, log = recovery_tune(pruned, schedule, images, labels, steps=300)
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from diffusion_core.data.mnist import to_model_space
from diffusion_core.maths.objective import loss_weights
from diffusion_core.maths.schedules import NoiseSchedule
from diffusion_core.networks.dit import DiT
from diffusion_core.training.train_dit import lr_at, make_optimizer, train_step
from diffusion_core.training.training_utils import infinite_batches

TUNE = {"lr": 2e-4, "warmup": 20, "batch_size": 64, "weighting": "min-snr", "gamma": 5.0}  # the defaults


def recovery_tune(model: DiT, schedule: NoiseSchedule, images: np.ndarray, labels: np.ndarray, steps: int = 300,
                  seed: int = 0, lr: float = TUNE["lr"], batch_size: int = TUNE["batch_size"]) -> tuple[DiT, dict]:
    """Train `model` in place for `steps` optimiser steps on uint8 digits `images` (N, 28, 28) with `labels` (N,),
    on the CPU; returns (model in eval mode, {steps, batch_size, lr, seconds, first_loss, last_loss}), the losses
    averaged over the first and last tenth of the steps."""
    if steps < 1 or len(images) < batch_size:
        raise ValueError(f"A fine-tune needs at least one step and {batch_size} digits; got {steps} and {len(images)}.")
    torch.manual_seed(seed)
    data = torch.from_numpy(to_model_space(images))                               # (N, 1, 28, 28) in [-1, 1]
    targets = torch.from_numpy(np.asarray(labels, dtype=np.int64))               # (N,)
    weights = loss_weights(schedule, TUNE["weighting"], TUNE["gamma"])            # (T,)
    opt = make_optimizer(model, torch.device("cpu"), lr)
    plan = argparse.Namespace(lr=lr, warmup=min(TUNE["warmup"], steps), steps=steps)
    batches = infinite_batches(len(data), batch_size, torch.Generator().manual_seed(seed))
    model.train()
    losses, start = [], time.perf_counter()
    for step in range(steps):
        idx = next(batches)
        y = model.y_embedder.drop(targets[idx])
        loss = train_step(model, model, opt, None, schedule, weights, data[idx], y, lr_at(step, plan), False)
        losses.append(float(loss.detach()))
    tenth = max(1, steps // 10)
    return model.eval(), {"steps": steps, "batch_size": batch_size, "lr": lr, "seconds": round(time.perf_counter() - start, 1),
                          "first_loss": float(np.mean(losses[:tenth])), "last_loss": float(np.mean(losses[-tenth:]))}
