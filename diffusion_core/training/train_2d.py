"""Live training of the score lab's 2D denoiser: seconds on a CPU, a few steps at a time.

The objective is the DiT's, called the same way (`maths.objective.training_losses`: x_t from
`maths.forward.q_sample`, eps-prediction MSE, Ho et al. 2020 eq. 14); the label is dropped 10% of the
time so one network is also the unconditional model (Ho & Salimans 2022), as in `train_dit`. A
`Trainer2D` keeps the network, the optimiser and the loss history, so a UI can run `steps(k)` in
small slices (train, pause, step) and read the model in between.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from diffusion_core.maths.objective import training_losses
from diffusion_core.maths.schedules import NoiseSchedule
from diffusion_core.networks.mlp2d import MLP2D, MLP2DConfig
from diffusion_core.networks.threads import on_one_thread
from diffusion_core.training.training_utils import EMA

LABEL_DROP = 0.1  # classifier-free guidance's condition dropout
EMA_DECAY = 0.995  # the samplers use the weights' moving average, as the DiT's do
MAX_LR = 0.1


class DivergedError(ValueError):
    """The loss became NaN or exploded: the learning rate is too high."""


@dataclass
class Trainer2D:
    """A 2D denoiser in training. points (M, 2) float32 data, labels (M,) int64 in 0 .. 7."""

    schedule: NoiseSchedule
    points: np.ndarray
    labels: np.ndarray
    lr: float = 3e-3
    batch_size: int = 256
    width: int = 64
    seed: int = 0
    model: MLP2D = field(init=False)
    step: int = 0
    losses: list = field(default_factory=list)  # (step, mean loss) per slice
    seconds: float = 0.0  # training time so far

    def __post_init__(self):
        if not 0 < float(self.lr) <= MAX_LR:
            raise ValueError(f"The learning rate must be above 0 and at most {MAX_LR}, got {self.lr}.")
        torch.manual_seed(self.seed)
        self.model = MLP2D(MLP2DConfig(width=int(self.width), num_classes=8))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=float(self.lr))
        self.ema = EMA(self.model, EMA_DECAY)
        self.generator = torch.Generator().manual_seed(self.seed)
        self.x0 = torch.from_numpy(np.asarray(self.points, np.float32))
        self.y = torch.from_numpy(np.clip(np.asarray(self.labels, np.int64), 0, 7))

    @on_one_thread  # a tiny network: see networks.threads
    def steps(self, k: int) -> float:
        """Train k more steps; returns their mean loss. Raises DivergedError when the loss blows up
        (the model is then left where it was before the slice)."""
        self.model.train()
        backup, step0 = {n: p.detach().clone() for n, p in self.model.state_dict().items()}, self.step
        start, total, g = time.perf_counter(), 0.0, self.generator
        T = self.schedule.num_timesteps
        for _ in range(int(k)):
            idx = torch.randint(0, len(self.x0), (self.batch_size,), generator=g)
            t = torch.randint(0, T, (self.batch_size,), generator=g)
            y = torch.where(torch.rand(self.batch_size, generator=g) < LABEL_DROP, self.model.null_label, self.y[idx])
            noise = torch.randn(self.batch_size, 2, generator=g)
            loss = training_losses(self.model, self.schedule, self.x0[idx], t, y, noise=noise)["loss"].mean()
            if not torch.isfinite(loss) or loss.item() > 1e3:
                self.model.load_state_dict(backup)
                self.step = step0
                self.opt = torch.optim.Adam(self.model.parameters(), lr=float(self.lr))
                raise DivergedError(f"The loss diverged at step {self.step} (learning rate {self.lr:g}): "
                                    "lower the learning rate and train again.")
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            self.ema.update(self.model)
            total += loss.item()
            self.step += 1
        self.model.eval()
        self.seconds += time.perf_counter() - start
        mean = total / max(int(k), 1)
        self.losses.append((self.step, mean))
        return mean

    @torch.no_grad()
    def eps(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The trained ε_θ(x_t, t, y) of the weights' moving average (no gradients): what the samplers call."""
        return self.ema.model(x, t, y)
