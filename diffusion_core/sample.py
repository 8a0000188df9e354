"""Sampling CLI: write generated digits to an .npz.

    python -m diffusion_core.sample --model dit --n 1000 --seed 0 --out samples.npz \\
        [--preset fast] [--sampler ddim --steps 20 --guidance 3 --guidance-min-t 500 --spacing trailing]
        [--labels balanced|0..9]

Sampling settings left out come from the model's recommended setting (or `--preset`, when its JSON has
one); each is checked against `settings.LIMITS`, the same limits as the reverse tab's controls.

The file holds `images` (uint8, N x 28 x 28, white digit on black as in MNIST) and `labels`
(int64, N: the requested digits). `--model gan|vae` uses the rival models.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from diffusion_core.data.mnist import to_uint8
from diffusion_core.networks.pretrained import WeightsError, load_pretrained
from diffusion_core.pipelines.generation import generate, parse_labels
from diffusion_core.settings import LIMITS, SAMPLING_KEYS, sampling


def _setting(name: str):
    """An argparse type that reads one sampling setting as `settings.check` allows it."""
    lim = LIMITS[name]
    return {"int": lambda v: int(round(float(v))), "float": float}.get(lim.kind, str)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m diffusion_core.sample", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="dit", choices=["dit", "gan", "vae"])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="samples.npz")
    p.add_argument("--labels", default="balanced", help="'balanced', one digit, or a comma list of digits")
    p.add_argument("--preset", default="default", help="a named setting of the model's JSON (DiT only)")
    for name in SAMPLING_KEYS:
        lim = LIMITS[name]
        bounds = f"one of {', '.join(lim.choices)}" if lim.kind == "choice" else f"{lim.low:g} to {lim.high:g}"
        p.add_argument("--" + name.replace("_", "-"), type=_setting(name), default=None,
                       help=f"DiT only: {lim.label}, {bounds} (default: the model's)")
    p.add_argument("--batch-size", type=int, default=250)
    p.add_argument("--device", default="cpu")
    return p


def sample_main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        labels = parse_labels(args.labels, args.n)
        pre = load_pretrained(args.model, device=args.device)
        s = None
        if args.model == "dit":
            s = sampling(pre.meta, args.preset, **{name: getattr(args, name) for name in SAMPLING_KEYS})
        start = time.perf_counter()
        images = generate(args.model, labels, args.seed, s, device=args.device, pretrained=pre,
                          batch_size=args.batch_size)
        wall = time.perf_counter() - start
    except (ValueError, WeightsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    np.savez_compressed(args.out, images=to_uint8(images.numpy()), labels=labels.astype(np.int64))
    print(f"wrote {args.n} samples to {args.out} in {wall:.1f} s ({1000 * wall / args.n:.1f} ms per sample)")
    return 0


if __name__ == "__main__":
    sys.exit(sample_main())
