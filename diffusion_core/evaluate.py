"""Evaluate generated digits with the shipped MNIST classifier (the measures are in
`evaluation.quality`):

    python -m diffusion_core.evaluate SAMPLES.npz [--json report.json]
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from diffusion_core.evaluation.quality import evaluate_samples, format_report
from diffusion_core.networks.pretrained import WeightsError


def evaluate_main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m diffusion_core.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("samples", help=".npz with images (uint8 N x 28 x 28) and labels (int N)")
    p.add_argument("--json", default=None, help="also write the report here")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args(argv)
    try:
        with np.load(args.samples) as z:
            images, labels = z["images"], z["labels"]
        report = evaluate_samples(images, labels, args.seed, args.data_dir)
    except (OSError, KeyError, ValueError, WeightsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_report(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(evaluate_main())
