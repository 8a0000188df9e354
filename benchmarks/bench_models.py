"""Speed of the shipped models. Issue targets on the 2-core CPU: DiT, 16 digits x 20 steps with
guidance <= 1.5 s and one step for 16 digits <= 80 ms; GAN and VAE, 16 digits <= 50 ms.
Prints figures; asserts nothing.

    python benchmarks/bench_models.py [--device cpu|cuda] [--repeats 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from diffusion_core.pipelines.generation import dit_denoiser  # noqa: E402
from diffusion_core.networks.pretrained import load_pretrained  # noqa: E402
from diffusion_core.maths.samplers import sample, step_grid  # noqa: E402


def timed(fn, repeats: int, sync) -> list[float]:
    fn()  # warm-up
    sync()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - start)
    return out


def speed_case(dev: torch.device, guidance: float = 3.0):
    """The case the speed targets name: the shipped DiT guided at every step, 16 mixed digits from one
    seed's x_T, at t = 500. Returns (pretrained, schedule, guided denoiser, x (16, 1, 28, 28), y (16,), t (16,))."""
    pre = load_pretrained("dit", device=dev)
    schedule, guided = dit_denoiser(pre, guidance)
    x = torch.randn(16, 1, 28, 28, generator=torch.Generator().manual_seed(0)).to(dev)
    y = (torch.arange(16) % 10).to(dev)
    return pre, schedule, guided, x, y, torch.full((16,), 500.0, device=dev)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--guidance", type=float, default=3.0)
    args = p.parse_args()
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    pre, schedule, guided, x, y, t = speed_case(dev, args.guidance)
    name = torch.cuda.get_device_name(0) if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; model {sum(p.numel() for p in pre.model.parameters()):,} parameters")
    _, plain = dit_denoiser(pre, 1.0)
    rows = []
    with torch.inference_mode():
        for label, den in (("guided (batch 32)", guided), ("unguided (batch 16)", plain)):
            step = timed(lambda: den(x, t, y=y), args.repeats * 4, sync)
            rows.append((f"one step, 16 digits, {label}", statistics.median(step) * 1000, "ms", 80 if "guided (" in label else None))
        for sampler in ("ddim", "dpm++2m"):
            full = timed(lambda: sample(sampler, guided, x, step_grid(sampler, schedule, args.steps, "trailing"), {"y": y}), args.repeats, sync)
            rows.append((f"16 digits x {args.steps} steps, {sampler}, guidance {args.guidance}", statistics.median(full), "s", 1.5))
    g = torch.Generator().manual_seed(0)
    for kind in ("gan", "vae"):
        try:
            rival = load_pretrained(kind, device=dev).model
        except Exception as exc:  # noqa: BLE001 - a missing rival is reported, not fatal
            print(f"{kind}: not available ({exc})")
            continue
        with torch.inference_mode():
            ts = timed(lambda: rival.sample(16, y, generator=g), args.repeats * 4, sync)
        rows.append((f"{kind.upper()}: 16 digits", statistics.median(ts) * 1000, "ms", 50))
    for label, value, unit, target in rows:
        verdict = "" if target is None else (f"  target <= {target} {unit}: " + ("met" if value <= target else "MISSED"))
        print(f"{label:55s} {value:8.3f} {unit}{verdict}")


if __name__ == "__main__":
    main()
