"""Sampling CLI: write generated digits to an .npz.

    python -m diffusion_core.sample --model dit --n 1000 --seed 0 --out samples.npz \\
        [--sampler ddim --steps 20 --guidance 3 --guidance-min-t 500 --spacing trailing --labels balanced|0..9]

The file holds `images` (uint8, N x 28 x 28, white digit on black as in MNIST) and `labels`
(int64, N: the requested digits). `--model gan|vae` uses the rival models.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from diffusion_core.pipelines.generation import SamplingOptions, generate, parse_labels
from diffusion_core.data.mnist import to_uint8
from diffusion_core.networks.pretrained import WeightsError
from diffusion_core.maths.samplers import SAMPLERS, SPACINGS


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m diffusion_core.sample", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="dit", choices=["dit", "gan", "vae"])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="samples.npz")
    p.add_argument("--labels", default="balanced", help="'balanced', one digit, or a comma list of digits")
    p.add_argument("--sampler", choices=SAMPLERS, default=None, help="DiT only (default: the model's)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--guidance", type=float, default=None)
    p.add_argument("--guidance-min-t", type=float, default=None,
                   help="guide only the steps with t >= this (0: every step; default: the model's)")
    p.add_argument("--spacing", choices=SPACINGS, default=None)
    p.add_argument("--eta", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=250)
    p.add_argument("--device", default="cpu")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        labels = parse_labels(args.labels, args.n)
        opts = SamplingOptions(args.sampler, args.steps, args.guidance, args.spacing, args.eta, args.batch_size,
                               guidance_min_t=args.guidance_min_t)
        start = time.perf_counter()
        images = generate(args.model, labels, args.seed, opts, device=args.device)
        wall = time.perf_counter() - start
    except (ValueError, WeightsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    np.savez_compressed(args.out, images=to_uint8(images.numpy()), labels=labels.astype(np.int64))
    print(f"wrote {args.n} samples to {args.out} in {wall:.1f} s ({1000 * wall / args.n:.1f} ms per sample)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
