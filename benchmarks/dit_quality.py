"""Quality of the shipped DiT at given sampling settings (issue target, at the default sampler with
at most 20 steps and the default guidance: >= 97% of 1000 class-conditional samples classified as
the requested digit, and a Frechet distance within 3x the real-vs-real floor at N = 1000).

    python benchmarks/dit_quality.py [--n 1000] [--guidance 3] [--sampler ddim] [--steps 20]
    python benchmarks/dit_quality.py --guidance 1,2,3,4        # a sweep
    python benchmarks/dit_quality.py --guidance 3,4 --guidance-min-t 0,400,500   # guidance only where t >= ...
    python benchmarks/dit_quality.py --precision app           # as the reverse tab samples (bf16 where the CPU has it)
    python benchmarks/dit_quality.py --n 300 --guidance 4 --guidance-min-t 0,500 --record guidance_interval
                                    # also store the rows in assets/dit_figures.json under that key (the lessons read it)

Prints one line per setting; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from diffusion_core import runtime  # noqa: E402
from diffusion_core.evaluate import evaluate_samples  # noqa: E402
from diffusion_core.generation import SamplingOptions, dit_settings, generate, parse_labels  # noqa: E402
from diffusion_core.mnist import to_uint8  # noqa: E402
from diffusion_core.paths import ASSETS_DIR  # noqa: E402
from diffusion_core.pretrained import load_pretrained  # noqa: E402

FIGURES = ASSETS_DIR / "dit_figures.json"


def record(key: str, rows: list[dict], argv: list[str], pre) -> None:
    """Store a run's rows under `key` in assets/dit_figures.json, with the command and the weights' step."""
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures[key] = {"command": "python benchmarks/dit_quality.py " + " ".join(argv), "weights_steps": pre.meta["training"]["steps"],
                    "created": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": rows}
    FIGURES.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"recorded under {key!r} in {FIGURES.name}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--guidance", default=None, help="one value or a comma list (default: the model's)")
    p.add_argument("--guidance-min-t", default=None, help="one value or a comma list (default: the model's)")
    p.add_argument("--sampler", default=None, help="one sampler or a comma list (default: the model's)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--record", default=None, help="store the rows in assets/dit_figures.json under this key")
    p.add_argument("--precision", choices=["fp32", "app"], default="fp32",
                   help="fp32 (the sampling CLI's) or app: the reverse tab's (bf16 weights under autocast where the CPU has bf16)")
    args = p.parse_args()
    pre = load_pretrained("dit")
    app = args.precision == "app"
    if app:
        print(f"precision: as the app runs it on {runtime.device_name(torch.device('cpu'))}")
    labels = parse_labels("balanced", args.n)
    scales = [None] if args.guidance is None else [float(g) for g in args.guidance.split(",")]
    min_ts = [None] if args.guidance_min_t is None else [float(v) for v in args.guidance_min_t.split(",")]
    samplers = [None] if args.sampler is None else args.sampler.split(",")
    rows = []
    for sampler, g, min_t in [(s, g, m) for s in samplers for m in min_ts for g in scales]:
        opts = SamplingOptions(sampler=sampler, steps=args.steps, guidance=g, guidance_min_t=min_t)
        cfg = dit_settings(pre.meta, opts)
        start = time.perf_counter()
        images = generate("dit", labels, args.seed, opts, pretrained=pre, app_precision=app)
        wall = time.perf_counter() - start
        r = evaluate_samples(to_uint8(images.numpy()), labels, seed=args.seed)
        ok_acc = r["accuracy"] >= 0.97
        ok_fd = r["frechet_ratio_to_floor"] <= 3.0
        print(f"{cfg['sampler']} {cfg['steps']} steps, guidance {cfg['guidance']} (t >= {cfg['guidance_min_t']:g}): accuracy {100 * r['accuracy']:.2f}% "
              f"({'met' if ok_acc else 'MISSED'} >= 97%), FD {r['frechet_distance']:.3f} vs floor "
              f"{r['frechet_distance_real_floor']:.3f} = {r['frechet_ratio_to_floor']:.2f}x ({'met' if ok_fd else 'MISSED'} <= 3x), "
              f"P/R {r['precision']:.3f}/{r['recall']:.3f}, coverage {r['classes_covered']}/10, N={args.n}, "
              f"sampling {wall:.0f} s", flush=True)
        rows.append({**{k: cfg[k] for k in ("sampler", "steps", "guidance", "guidance_min_t", "spacing", "eta")}, "n": args.n,
                     "seed": args.seed, **{k: r[k] for k in ("accuracy", "frechet_distance", "frechet_distance_real_floor",
                                                             "frechet_ratio_to_floor", "precision", "recall")}})
    if args.record:
        record(args.record, rows, sys.argv[1:], pre)


if __name__ == "__main__":
    main()
