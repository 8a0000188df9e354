"""Train the MNIST judge classifier: `python -m diffusion_core.train classifier [options]`.

Cross-entropy, AdamW, one-cycle learning rate, random shifts of up to 2 pixels as augmentation.
Reports the test-set accuracy and writes it into the exported JSON.
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from diffusion_core.networks.classifier import Classifier, ClassifierConfig
from diffusion_core.data.mnist import load_mnist, to_model_space
from diffusion_core.training.training_utils import add_common_args, run_facts, start_run


def add_classifier_args(p: argparse.ArgumentParser) -> None:
    add_common_args(p, epochs=3, lr=3e-3, export_hint="assets/classifier_mnist")


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by up to max_shift pixels (zero padding = background -1)."""
    n = x.shape[0]
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    rows = (dy.view(n, 1) + torch.arange(28).view(1, 28)).view(n, 1, 28, 1).expand(n, 1, 28, 28 + 2 * max_shift)
    out = padded.gather(2, rows.to(x.device))
    cols = (dx.view(n, 1) + torch.arange(28).view(1, 28)).view(n, 1, 1, 28).expand(n, 1, 28, 28)
    return out.gather(3, cols.to(x.device))


@torch.no_grad()
def accuracy(model, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = sum((model(x[k:k + batch]).argmax(1) == y[k:k + batch]).sum().item() for k in range(0, len(x), batch))
    return correct / len(x)


def train_classifier(args):
    device, x, y, g = start_run(args)  # (N, 1, 28, 28) in [-1, 1], (N,)
    model = Classifier(ClassifierConfig()).to(device)
    steps = int(args.epochs) * (len(x) // args.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps)
    start = time.time()
    bar = tqdm(total=steps, desc="classifier", mininterval=5)
    for _ in range(int(args.epochs)):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        for k in range(0, len(x) - args.batch_size + 1, args.batch_size):
            idx = perm[k:k + args.batch_size].to(device)
            loss = F.cross_entropy(model(random_shift(x[idx], 2, g)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    bar.close()
    wall = time.time() - start
    test_images, test_labels = load_mnist("test", args.data_dir)
    acc = accuracy(model, torch.from_numpy(to_model_space(test_images)).to(device), torch.from_numpy(test_labels).to(device))
    print(f"test accuracy {acc:.4f} after {wall:.0f} s")
    if args.export:
        from diffusion_core.networks.pretrained import save_pretrained

        meta = {"kind": "classifier", "config": model.config.to_dict(),
                "training": run_facts(args, wall, device),
                "metrics": {"test_accuracy": acc}}
        save_pretrained(model.cpu().eval(), args.export, meta)
        print(f"exported to {args.export}.safetensors")
    return model
