"""Every library path the app calls, on a GPU, with its figure beside the CPU's (issue "Ready for real
deployments"). One command for a lent GPU machine: it imports no gradio and no plotly, needs no network,
and reads MNIST from a folder inside the working tree.

    python benchmarks/gpu_check.py                     # CUDA when present, and the CPU beside it
    python benchmarks/gpu_check.py --device cpu --quick  # fewer repeats and users: a smoke test of the script
    python benchmarks/gpu_check.py --out $OUT          # also write the figures as JSON there

Checks, each printed with its time on the device and on the CPU: the forward process; a streamed reverse
run through the shared batcher (bf16 autocast on CUDA) and its agreement with float32; the attention and
adaLN internals; SDEdit; the DiT's, GAN's and VAE's sampling; 30 concurrent generations through the
cross-user batcher; the speed targets (one guided 16-digit step, 16 x 20 guided steps); a short training
run of the DiT.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from diffusion_core.app.reverse import attention_view as av  # noqa: E402
from diffusion_core.pipelines import denoising as rl  # noqa: E402
from diffusion_core.networks import runtime  # noqa: E402
from diffusion_core.pipelines import sdedit as sd  # noqa: E402
from diffusion_core.maths.forward import q_sample  # noqa: E402
from diffusion_core.pipelines.generation import app_batcher, app_denoiser, generate  # noqa: E402
from diffusion_core.networks.pretrained import load_pretrained  # noqa: E402
from diffusion_core.maths.samplers import sample, step_grid  # noqa: E402
from diffusion_core.networks.loaded import loaded  # noqa: E402
from bench_models import speed_case  # noqa: E402  (benchmarks/ is the script's folder)
from diffusion_core.maths.schedules import make_schedule  # noqa: E402
from diffusion_core.settings import sampling

DATA_DIRS = (ROOT / "data" / "mnist", ROOT / "tests" / "fixtures" / "mnist")  # a copy of MNIST travels in data/mnist
RESULTS: list[dict] = []


def timed(fn, device: torch.device, reps: int = 3) -> float:
    """Median seconds of fn() over `reps` runs after one warm-up, synchronising CUDA."""
    fn()
    runtime.synchronize(device)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        runtime.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(name: str, figures: dict, unit: str, target: float | None = None, note: str = "") -> None:
    cells = "  ".join(f"{dev}: {v:9.4f} {unit}" for dev, v in figures.items())
    verdict = ""
    if target is not None:
        best = min(figures.values())
        verdict = f"  (target <= {target} {unit}: {'met' if best <= target else 'MISSED'} on the fastest)"
    print(f"{name:48s} {cells}{verdict}{('  ' + note) if note else ''}", flush=True)
    RESULTS.append({"check": name, "unit": unit, **figures, "note": note})


def check_forward(devices, reps):
    s = make_schedule("cosine", 1000)
    figs = {}
    for dev in devices:
        x0 = torch.rand(256, 3, 64, 64, device=dev) * 2 - 1
        noise = torch.randn_like(x0)
        t = torch.randint(0, 1000, (256,), device=dev)
        figs[dev.type] = 1000 * timed(lambda: q_sample(s, x0, t, noise), dev, reps)
    report("forward process: 256 images 64x64, q_sample", figs, "ms")


def settings_default():
    return sampling(loaded("dit").meta, label="mixed 0-9", seed=0, images=16)


def check_reverse(devices, reps):
    figs, first = {}, {}
    for dev in devices:
        pre = loaded("dit", dev)

        def run():
            app_batcher(pre, dev).clear_cache()
            return rl.run_trajectory(settings_default(), pre, dev)

        figs[dev.type] = timed(run, dev, reps)
        first[dev.type] = run().ms[0]
    report("reverse: default 16 digits, streamed, batched", figs, "s", 1.5)
    report("reverse: its first step", first, "ms")
    if len(devices) > 1:  # the app's precision on the device against float32 on the CPU
        gpu, cpu = (rl.run_trajectory(settings_default(), loaded("dit", d), d) for d in devices)
        eps_g, eps_c = (np.asarray(t.eps[0], np.float32) for t in (gpu, cpu))
        rel = float(np.linalg.norm(eps_g - eps_c) / np.linalg.norm(eps_c))
        report("reverse: first predicted noise, device vs CPU", {"relative difference": rel}, "",
               note=f"device runs {'bf16' if runtime.uses_bf16(devices[0]) else 'float32'}")


def check_internals(devices, reps):
    figs, figs_sd = {}, {}
    x = np.random.default_rng(0).standard_normal((28, 28)).astype(np.float32)
    digit = np.zeros((28, 28), np.float32)
    digit[6:22, 12:16] = 1
    for dev in devices:
        pre = loaded("dit", dev)
        figs[dev.type] = 1000 * timed(lambda: av.internals(pre.model, x, 500.0, 3), dev, reps)
        figs_sd[dev.type] = 1000 * timed(lambda: sd.sdedit(pre, digit, 7, 600, 20, 0, 2.0, 0.0), dev, reps)
    report("inside the DiT: attention and adaLN of one image", figs, "ms")
    report("SDEdit: noise to t* = 600, 20 DDIM steps back", figs_sd, "ms")


def check_models(devices, reps):
    labels = np.arange(16) % 10
    for kind in ("dit", "gan", "vae"):
        figs = {}
        for dev in devices:
            pre = load_pretrained(kind, device=dev)
            figs[dev.type] = 1000 * timed(lambda: generate(kind, labels, 0, None, dev, pre), dev, reps)
        report(f"{kind.upper()}: 16 digits", figs, "ms")


def check_batcher(devices, users):
    figs, shared = {}, {}
    for dev in devices:
        pre = loaded("dit", dev)
        batcher = app_batcher(pre, dev)
        batcher.clear_cache()
        base = batcher.rows_evaluated
        start = time.perf_counter()
        threads = [threading.Thread(target=rl.run_trajectory, args=(sampling(pre.meta, seed=1000 + i), pre, dev)) for i in range(users)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        runtime.synchronize(dev)
        figs[dev.type] = time.perf_counter() - start
        shared[dev.type] = batcher.rows_evaluated - base
    report(f"batcher: {users} concurrent generations, a seed each", figs, "s", 12)
    report("batcher: rows the network evaluated for them", shared, "rows")


def check_speed(devices, reps):
    step, full = {}, {}
    for dev in devices:
        pre, schedule, guided, x, y, t = speed_case(dev)
        with torch.inference_mode():
            step[f"{dev.type} float32"] = 1000 * timed(lambda: guided(x, t, y=y), dev, reps * 3)
            full[f"{dev.type} float32"] = timed(lambda: sample("ddim", guided, x, step_grid("ddim", schedule, 20, "leading"), {"y": y},
                                                               clip_x0=1.0), dev, reps)
        with app_denoiser(pre, 3.0, dev) as (_, app_guided), torch.no_grad():
            name = f"{dev.type} app ({'bf16' if runtime.uses_bf16(dev) else 'float32'})"

            def one():
                app_guided.batcher.clear_cache()
                return app_guided(x, t, y=y)

            step[name] = 1000 * timed(one, dev, reps * 3)
    report("DiT: one guided step, 16 digits", step, "ms", 80)
    report("DiT: 16 digits x 20 guided DDIM steps", full, "s", 1.5)


def check_training(devices, steps):
    from diffusion_core import train

    figs = {}
    data = next((d for d in DATA_DIRS if (d / "train-images-idx3-ubyte.gz").exists() or (d / "train-images-idx3-ubyte").exists()))
    for dev in devices:
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            train.train_main(["dit", "--out", out, "--steps", str(steps), "--warmup", "10", "--sample-every", "0",
                        "--data-dir", str(data), "--limit-data", "2000", "--device", dev.type, "--loss-weighting", "min-snr"])
            runtime.synchronize(dev)
            figs[dev.type] = 1000 * (time.perf_counter() - start) / steps
    report(f"DiT training: {steps} steps of 128 digits (incl. start-up)", figs, "ms/step", note=f"data: {data.relative_to(ROOT)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--no-cpu", action="store_true", help="the device only, no CPU column")
    p.add_argument("--quick", action="store_true", help="fewer repeats and users (a smoke test)")
    p.add_argument("--out", default=None, help="a folder for gpu_check.json")
    args = p.parse_args()
    dev = torch.device(args.device)
    devices = [dev] + ([] if args.no_cpu or dev.type == "cpu" else [torch.device("cpu")])
    reps = 1 if args.quick else 3
    print(f"# GPU check: {', '.join(runtime.device_name(d) for d in devices)}; torch {torch.__version__}", flush=True)
    check_forward(devices, reps)
    check_reverse(devices, reps)
    check_internals(devices, reps)
    check_models(devices, reps)
    check_batcher(devices, 4 if args.quick else 30)
    check_speed(devices, reps)
    check_training(devices, 5 if args.quick else 60)
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "gpu_check.json").write_text(json.dumps({"devices": [runtime.device_name(d) for d in devices],
                                                                   "torch": torch.__version__, "results": RESULTS}, indent=2))


if __name__ == "__main__":
    main()
