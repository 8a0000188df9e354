"""Diffusion, a GAN and a VAE trained at once on the same 2D data, the same batches and the same number
of steps (the race of the comparison lab).

Each model has the batch size, the optimiser (Adam) and the data of the others; `Race.steps(k)` runs k
steps of each and times each separately (its cost per step); `Race.samples(n)` draws from the three (the
diffusion model with DDPM, the reverse SDE, at `diffusion_steps`: its network evaluations per sample).
`evaluation.race_measures` scores them as they train and keeps the rows in `Race.history`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from diffusion_core.maths.samplers import sample, step_grid
from diffusion_core.maths.schedules import NoiseSchedule
from diffusion_core.networks.threads import on_one_thread
from diffusion_core.networks.rivals2d import GAN2D, VAE2D, d_loss, g_loss, vae_loss
from diffusion_core.training.train_2d import DivergedError, Trainer2D

MODELS = ("diffusion", "gan", "vae")


def _check(name: str, loss: torch.Tensor, lr: float) -> None:
    if not torch.isfinite(loss) or loss.item() > 1e6:
        raise DivergedError(f"The {name} diverged (learning rate {lr:g}): its loss is {loss.item():.3g}. "
                            "Lower its learning rate and start again.")


@dataclass
class GANTrainer2D:
    points: np.ndarray
    lr: float = 1e-3
    d_steps: int = 1  # discriminator steps per generator step
    spectral_norm: bool = False
    r1: float = 0.0  # R1 penalty weight on real points (Mescheder et al. 2018, eq. 9)
    batch_size: int = 256
    seed: int = 0
    losses: list = field(default_factory=list)  # (step, d loss, g loss)

    def __post_init__(self):
        torch.manual_seed(self.seed + 1)
        self.model = GAN2D(spectral_norm=self.spectral_norm)
        self.opt_g = torch.optim.Adam(self.model.generator.parameters(), lr=self.lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.model.discriminator.parameters(), lr=self.lr, betas=(0.5, 0.999))
        self.x = torch.from_numpy(np.asarray(self.points, np.float32))
        self.g = torch.Generator().manual_seed(self.seed + 1)
        self.step = 0

    def one_step(self) -> tuple[float, float]:
        D = self.model.discriminator
        for _ in range(int(self.d_steps)):
            real = self.x[torch.randint(0, len(self.x), (self.batch_size,), generator=self.g)].requires_grad_(self.r1 > 0)
            fake = self.model.sample(self.batch_size, self.g).detach()
            real_logits = D(real)
            loss_d = d_loss(real_logits, D(fake))
            if self.r1 > 0:
                grad, = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
                loss_d = loss_d + 0.5 * self.r1 * grad.pow(2).sum(1).mean()
            _check("GAN's discriminator", loss_d, self.lr)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            self.opt_d.step()
        loss_g = g_loss(D(self.model.sample(self.batch_size, self.g)))
        _check("GAN's generator", loss_g, self.lr)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        self.step += 1
        return loss_d.item(), loss_g.item()

    @torch.no_grad()
    def samples(self, n: int, seed: int = 0) -> np.ndarray:
        return self.model.sample(n, torch.Generator().manual_seed(seed)).numpy()


@dataclass
class VAETrainer2D:
    points: np.ndarray
    lr: float = 1e-3
    beta: float = 1.0
    batch_size: int = 256
    seed: int = 0

    def __post_init__(self):
        if not 0 <= float(self.beta) <= 1e4:
            raise ValueError(f"beta must be between 0 and 10000, got {self.beta}.")
        torch.manual_seed(self.seed + 2)
        self.model = VAE2D()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        self.x = torch.from_numpy(np.asarray(self.points, np.float32))
        self.g = torch.Generator().manual_seed(self.seed + 2)
        self.step = 0

    def one_step(self) -> float:
        x = self.x[torch.randint(0, len(self.x), (self.batch_size,), generator=self.g)]
        loss, _, _ = vae_loss(self.model, x, float(self.beta), self.g)
        _check("VAE", loss, self.lr)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        return loss.item()

    @torch.no_grad()
    def samples(self, n: int, seed: int = 0) -> np.ndarray:
        return self.model.sample(n, torch.Generator().manual_seed(seed)).numpy()


@dataclass
class Race:
    """The three in training on `points` (M, 2) with `labels`; `centres`, `radius`: the data's modes."""

    schedule: NoiseSchedule
    points: np.ndarray
    labels: np.ndarray
    centres: np.ndarray
    radius: float
    lr: dict = field(default_factory=lambda: {"diffusion": 1e-2, "gan": 1e-3, "vae": 1e-3})
    gan_d_steps: int = 1
    gan_spectral_norm: bool = False
    gan_r1: float = 0.0
    vae_beta: float = 1.0
    diffusion_steps: int = 50  # sampling steps when measuring (DDPM, the reverse SDE: 1 network evaluation each)
    seed: int = 0
    name: str = ""  # the data's name
    history: list = field(default_factory=list)  # one dict per measurement
    seconds: dict = field(default_factory=lambda: dict.fromkeys(MODELS, 0.0))  # training time of each
    losses: dict = field(default_factory=lambda: {m: [] for m in MODELS})  # (step, loss) per slice
    nfe_per_sample: dict = field(default_factory=dict)  # network evaluations per sample, counted by the last `samples`

    def __post_init__(self):
        for name, lr in self.lr.items():
            if not 0 < float(lr) <= 1.0:
                raise ValueError(f"The {name} learning rate must be above 0 and at most 1, got {lr}.")
        self.diffusion = Trainer2D(self.schedule, self.points, self.labels, lr=self.lr["diffusion"], seed=self.seed)
        self.gan = GANTrainer2D(self.points, self.lr["gan"], self.gan_d_steps, self.gan_spectral_norm, self.gan_r1, seed=self.seed)
        self.vae = VAETrainer2D(self.points, self.lr["vae"], self.vae_beta, seed=self.seed)
        self.step = 0
        self.start = time.perf_counter()

    @on_one_thread  # tiny networks: see networks.threads
    def steps(self, k: int) -> None:
        """k training steps of each model, each timed on its own."""
        t0 = time.perf_counter()
        d = self.diffusion.steps(k)
        t1 = time.perf_counter()
        gan = [self.gan.one_step() for _ in range(k)]
        t2 = time.perf_counter()
        vae = [self.vae.one_step() for _ in range(k)]
        t3 = time.perf_counter()
        for name, dt in zip(MODELS, (t1 - t0, t2 - t1, t3 - t2)):
            self.seconds[name] += dt
        self.step += k
        self.losses["diffusion"].append((self.step, d))
        self.losses["gan"].append((self.step, float(np.mean([g for _, g in gan]))))
        self.losses["vae"].append((self.step, float(np.mean(vae))))

    @on_one_thread
    def samples(self, n: int, seed: int = 0, diffusion_steps: int | None = None) -> dict[str, np.ndarray]:
        """n samples of each model (n, 2); counts the network evaluations each sample took into `nfe_per_sample`."""
        x = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))
        steps = int(diffusion_steps or self.diffusion_steps)
        calls = [0]

        def counted(x_t, t, **cond):
            calls[0] += 1
            return self.diffusion.eps(x_t, t, **cond)

        with torch.no_grad():
            diff = sample("ddpm", counted, x, step_grid("ddpm", self.schedule, steps, "trailing"),
                          {"y": torch.full((n,), 8)}, generator=torch.Generator().manual_seed(seed + 1), clip_x0=4.0).numpy()
        self.nfe_per_sample = {"diffusion": calls[0], "gan": 1, "vae": 1}  # the GAN's generator, the VAE's decoder: one pass
        return {"diffusion": diff, "gan": self.gan.samples(n, seed), "vae": self.vae.samples(n, seed)}

    @property
    def nbytes(self) -> int:
        """About what the race holds (a store's budget counts it): data, three networks with optimisers, history."""
        params = sum(p.numel() for m in (self.diffusion.model, self.gan.model, self.vae.model) for p in m.parameters())
        return int(self.points.nbytes + 16 * params + 200 * len(self.history) + 24_000)
