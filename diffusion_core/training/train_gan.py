"""Train the class-conditional GAN: `python -m diffusion_core.train gan [options]`.

Non-saturating BCE loss, label planes into the discriminator, Adam(2e-4, betas 0.5/0.999) as in
DCGAN, one D step per G step. The per-step losses (D, G, and the mean scores on real and fake digits) go to a
CSV that the app plots as "training stability".
"""
from __future__ import annotations

import argparse
import time

import torch
from tqdm import tqdm

from diffusion_core.networks.gan import Discriminator, GANConfig, Generator, d_bce_loss, g_bce_loss
from diffusion_core.training.training_utils import add_common_args, fresh_log, infinite_batches, run_facts, start_run


def add_gan_args(p: argparse.ArgumentParser) -> None:
    add_common_args(p, epochs=4, lr=2e-4, export_hint="assets/gan_mnist")
    p.add_argument("--log", default="assets/gan_loss.csv", help="per-step loss log (CSV)")


def train_gan(args):
    device, x_all, y_all, g = start_run(args)  # (N, 1, 28, 28) in [-1, 1], (N,)
    config = GANConfig()
    G, D = Generator(config).to(device), Discriminator(config).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    steps = int(args.epochs * len(x_all) / args.batch_size)
    batches = infinite_batches(len(x_all), args.batch_size, g)
    log = fresh_log(args.log, ["step", "d_loss", "g_loss", "d_real", "d_fake", "wall_time"])
    start = time.time()
    for step in tqdm(range(1, steps + 1), desc="gan", mininterval=5):
        idx = next(batches).to(device)
        x, y = x_all[idx], y_all[idx]
        z = torch.randn(len(idx), config.z_dim, generator=g).to(device)
        fake_y = torch.randint(0, 10, (len(idx),), generator=g).to(device)
        fake = G(z, fake_y)
        real_scores, fake_scores = D(x, y), D(fake.detach(), fake_y)
        d_loss = d_bce_loss(real_scores, fake_scores)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = g_bce_loss(D(fake, fake_y))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        if log:
            log.write(step=step, d_loss=f"{d_loss.item():.5f}", g_loss=f"{g_loss.item():.5f}",
                      d_real=f"{real_scores.mean().item():.4f}", d_fake=f"{fake_scores.mean().item():.4f}",
                      wall_time=f"{time.time() - start:.1f}")
    wall = time.time() - start
    print(f"trained {steps} steps in {wall:.0f} s")
    if args.export:
        from diffusion_core.networks.pretrained import save_pretrained

        meta = {"kind": "gan", "config": config.to_dict(), "loss": "non-saturating BCE", "discriminator": "label planes, batch norm",
                "training": run_facts(args, wall, device, steps=steps)}
        save_pretrained(G.cpu().eval(), args.export, meta)
        print(f"exported generator to {args.export}.safetensors")
    return G
