"""Train the class-conditional VAE: `python -m diffusion_core.train vae [options]`.

Maximises the ELBO (Bernoulli likelihood on [0, 1] intensities, 16-d Gaussian latent) with Adam.
The per-step negative ELBO, reconstruction and KL terms (nats per image) go to a CSV.
"""
from __future__ import annotations

import argparse
import time

import torch
from tqdm import tqdm

from diffusion_core.training.training_utils import add_common_args, fresh_log, infinite_batches, run_facts, start_run
from diffusion_core.networks.vae import VAE, VAEConfig, negative_elbo


def add_vae_args(p: argparse.ArgumentParser) -> None:
    add_common_args(p, epochs=10, lr=1e-3, export_hint="assets/vae_mnist")
    p.add_argument("--log", default="assets/vae_loss.csv", help="per-step loss log (CSV)")


def train_vae(args):
    device, x_all, y_all, g = start_run(args, unit_range=True)  # (N, 1, 28, 28) in [0, 1], (N,)
    config = VAEConfig()
    model = VAE(config).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = int(args.epochs * len(x_all) / args.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=args.lr * 0.1)
    batches = infinite_batches(len(x_all), args.batch_size, g)
    log = fresh_log(args.log, ["step", "neg_elbo", "recon", "kl", "wall_time"])
    start = time.time()
    for step in tqdm(range(1, steps + 1), desc="vae", mininterval=5):
        idx = next(batches).to(device)
        logits, mu, logvar = model(x_all[idx], y_all[idx], generator=g)
        loss, recon, kl = negative_elbo(logits, x_all[idx], mu, logvar)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log:
            log.write(step=step, neg_elbo=f"{loss.item():.4f}", recon=f"{recon.item():.4f}", kl=f"{kl.item():.4f}",
                      wall_time=f"{time.time() - start:.1f}")
    wall = time.time() - start
    print(f"trained {steps} steps in {wall:.0f} s, final -ELBO {loss.item():.2f} nats")
    if args.export:
        from diffusion_core.networks.pretrained import save_pretrained

        meta = {"kind": "vae", "config": config.to_dict(), "likelihood": "Bernoulli on [0, 1] intensities",
                "training": run_facts(args, wall, device, steps=steps)}
        save_pretrained(model.cpu().eval(), args.export, meta)
        print(f"exported to {args.export}.safetensors")
    return model
