"""Training speed of the DiT: the trainer's own step (`train_dit.train_step`: t drawn, noising, the loss,
backward, clipping, AdamW, EMA), eager and under each torch.compile mode, and how often a step makes the
host wait for the GPU (issue "A stronger DiT": the GPU minutes of a lease should go to training).

    python benchmarks/train_speed.py                           # CUDA when present: every mode, batch 512
    python benchmarks/train_speed.py --device cpu --batch 64 --steps 5 --modes eager,default

Prints, per mode: ms per step, steps/s and digits/s over `--steps` timed steps after the warm-up (compiling
included there, and its time printed), and on CUDA the host waits per step, counted by CUDA's sync debug
mode (0 expected: nothing in the step reads back to the host). The digits are random: only their shape
matters here. Modes: eager, default, reduce-overhead (CUDA graphs; CUDA only), max-autotune-no-cudagraphs.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from diffusion_core.maths.objective import loss_weights  # noqa: E402
from diffusion_core.maths.schedules import make_schedule  # noqa: E402
from diffusion_core.networks import runtime  # noqa: E402
from diffusion_core.networks.dit import DiT, PRESETS  # noqa: E402
from diffusion_core.training.train_dit import (COMPILE_MODES, compiled, make_optimizer, train_step,  # noqa: E402
                                               training_in_bf16)
from diffusion_core.training.training_utils import EMA  # noqa: E402


def host_waits(step, device: torch.device) -> int | None:
    """How many times one call of `step()` made the host wait for the device (CUDA only; None elsewhere)."""
    if device.type != "cuda":
        return None
    torch.cuda.synchronize(device)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message).lower() for w in caught)


def measure(mode: str, preset: str, batch: int, steps: int, warmup: int, device: torch.device) -> dict:
    """One mode's figures: a fresh model and optimiser, `warmup` untimed steps, then `steps` timed ones."""
    torch.manual_seed(0)
    schedule = make_schedule("cosine", 1000)
    model = DiT(PRESETS[preset]).to(device)
    ema = EMA(model, 0.9995)
    opt = make_optimizer(model, device, lr=1e-4)
    weights = loss_weights(schedule, "min-snr").to(device)
    x0 = torch.rand(batch, 1, 28, 28, device=device) * 2 - 1
    labels = torch.randint(0, 10, (batch,), device=device)
    net = model if mode == "eager" else compiled(model, mode)
    use_bf16 = training_in_bf16(device)

    def step():
        return train_step(net, model, opt, ema, schedule, weights, x0, model.y_embedder.drop(labels), 1e-4, use_bf16)

    start = time.perf_counter()
    for _ in range(warmup):
        step()
    runtime.synchronize(device)
    warm_s = time.perf_counter() - start
    waits = host_waits(step, device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    runtime.synchronize(device)
    per_step = (time.perf_counter() - start) / steps
    return {"mode": mode, "ms_per_step": 1000 * per_step, "steps_per_s": 1 / per_step, "digits_per_s": batch / per_step,
            "warmup_s": warm_s, "host_waits_per_step": waits}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--preset", default="medium", choices=sorted(PRESETS))
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--steps", type=int, default=200, help="timed steps per mode")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (compiling happens there)")
    p.add_argument("--modes", default=None, help="comma-separated; default: eager and every compile mode on CUDA, eager and default elsewhere")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    modes = args.modes.split(",") if args.modes else ["eager", *(m for m in COMPILE_MODES if device.type == "cuda" or m == "default")]
    unknown = [m for m in modes if m != "eager" and m not in COMPILE_MODES]
    if unknown:
        raise SystemExit(f"unknown mode(s) {', '.join(unknown)}; choose from eager, {', '.join(COMPILE_MODES)}")
    print(f"# DiT training step: preset {args.preset}, batch {args.batch}, {runtime.device_name(device)}, "
          f"torch {torch.__version__}", flush=True)
    print(f"{'mode':28s} {'ms/step':>9s} {'steps/s':>9s} {'digits/s':>10s} {'warm-up s':>10s} {'host waits/step':>16s}")
    for mode in modes:
        try:
            r = measure(mode, args.preset, args.batch, args.steps, args.warmup, device)
        except Exception as exc:  # a compile mode this torch or device lacks: say so and go on
            print(f"{mode:28s} failed: {type(exc).__name__}: {str(exc)[:200]}", flush=True)
            continue
        waits = "-" if r["host_waits_per_step"] is None else str(r["host_waits_per_step"])
        print(f"{mode:28s} {r['ms_per_step']:9.2f} {r['steps_per_s']:9.1f} {r['digits_per_s']:10.0f} "
              f"{r['warmup_s']:10.1f} {waits:>16s}", flush=True)


if __name__ == "__main__":
    main()
