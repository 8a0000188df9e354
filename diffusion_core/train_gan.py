"""Train the class-conditional GAN: `python -m diffusion_core.train gan [options]`.

Hinge loss, spectral-norm projection discriminator, Adam(2e-4, betas 0.0/0.9) as in SN-GAN, one D
step per G step. The per-step losses (D, G, and the mean scores on real and fake digits) go to a
CSV that the app plots as "training stability".
"""
from __future__ import annotations

import argparse
import time

import torch
from tqdm import tqdm

from .gan import Discriminator, GANConfig, Generator, d_hinge_loss, g_hinge_loss
from .mnist import load_mnist, to_model_space
from .training_utils import LossLog, infinite_batches, pick_device, seed_everything


def add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=None)
    p.add_argument("--epochs", type=float, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--limit-data", type=int, default=0)
    p.add_argument("--log", default="assets/gan_loss.csv", help="per-step loss log (CSV)")
    p.add_argument("--export", default=None, help="e.g. assets/gan_mnist")


def train(args):
    seed_everything(args.seed)
    device = pick_device(args.device)
    images, labels = load_mnist("train", args.data_dir)
    if args.limit_data:
        images, labels = images[: args.limit_data], labels[: args.limit_data]
    x_all = torch.from_numpy(to_model_space(images)).to(device)
    y_all = torch.from_numpy(labels).to(device)
    config = GANConfig()
    G, D = Generator(config).to(device), Discriminator(config).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.0, 0.9))
    g = torch.Generator().manual_seed(args.seed)
    steps = int(args.epochs * len(x_all) / args.batch_size)
    batches = infinite_batches(len(x_all), args.batch_size, g)
    log = LossLog(args.log, ["step", "d_loss", "g_loss", "d_real", "d_fake", "wall_time"]) if args.log else None
    if log:
        log.path.write_text(",".join(log.fields) + "\n")  # a fresh run starts a fresh log
    start = time.time()
    for step in tqdm(range(1, steps + 1), desc="gan", mininterval=5):
        idx = next(batches).to(device)
        x, y = x_all[idx], y_all[idx]
        z = torch.randn(len(idx), config.z_dim, generator=g).to(device)
        fake_y = torch.randint(0, 10, (len(idx),), generator=g).to(device)
        fake = G(z, fake_y)
        real_scores, fake_scores = D(x, y), D(fake.detach(), fake_y)
        d_loss = d_hinge_loss(real_scores, fake_scores)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = g_hinge_loss(D(fake, fake_y))
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
        from .pretrained import save_pretrained

        meta = {"kind": "gan", "config": config.to_dict(), "loss": "hinge", "discriminator": "spectral norm, projection",
                "training": {"steps": steps, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                             "seed": args.seed, "wall_time_s": round(wall, 1), "device": str(device),
                             "threads": torch.get_num_threads()}}
        save_pretrained(G.cpu().eval(), args.export, meta)
        print(f"exported generator to {args.export}.safetensors")
    return G
