"""The memory one training step of the DiT takes, against the batch size, with and without activation
checkpointing (`DiT.checkpointing`), each measured in a fresh process so no measurement inherits another's.

On the CPU: the process builds the model, its AdamW optimiser and a batch, runs one warm-up step (so the
optimiser's state and the gradients exist), and then measures the next step's peak resident memory above what
it held before that step (Linux's VmHWM, reset through /proc/self/clear_refs before the step; where that is
missing, the rise of `getrusage`'s ru_maxrss). glibc is told to hand big blocks straight back to the system
(`MALLOC_MMAP_THRESHOLD_`), so memory freed by the warm-up step is not counted as held. What is left is the
step's own cost: the activations kept for the backward pass and the temporaries, which grow with the batch;
checkpointing keeps only each block's input and recomputes the rest (Chen et al. 2016).
On a GPU: torch's peak allocated memory above what was allocated before the step.

    python -m diffusion_core.evaluation.train_memory --batch 64 [--checkpointing] [--device cuda]   # prints JSON
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "65536"}
ROOT = Path(__file__).resolve().parents[2]


def _status_mb(field: str) -> float | None:
    """A field of /proc/self/status (VmRSS, VmHWM) in MB; None where there is no such file."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset this process's peak resident memory (VmHWM) to its current size; False where Linux does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure_here(batch: int, checkpointing: bool, preset: str = "medium", device: str = "cpu") -> dict:
    """The measurement, in this process (call it in a fresh one: `peak_step_memory`)."""
    import torch

    from diffusion_core.maths.objective import loss_weights
    from diffusion_core.maths.schedules import make_schedule
    from diffusion_core.networks.dit import DiT, PRESETS
    from diffusion_core.training.train_dit import make_optimizer, train_step

    dev = torch.device(device)
    torch.manual_seed(0)
    model = DiT(PRESETS[preset]).to(dev).train()
    model.checkpointing = checkpointing
    opt = make_optimizer(model, dev, 1e-4)
    schedule, weights = make_schedule("cosine", 1000), loss_weights(make_schedule("cosine", 1000), "min-snr").to(dev)
    x0, y = torch.rand(batch, 1, 28, 28, device=dev) * 2 - 1, torch.randint(0, 11, (batch,), device=dev)

    def step():
        train_step(model, model, opt, None, schedule, weights, x0, y, 1e-4, False)

    step()  # warm-up: AdamW's state and the gradients now exist
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        before = torch.cuda.memory_allocated(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        step()
        torch.cuda.synchronize(dev)
        peak, method = (torch.cuda.max_memory_allocated(dev) - before) / 2**20, "torch.cuda.max_memory_allocated"
        return {"batch": batch, "checkpointing": checkpointing, "step_mb": round(peak, 1), "held_mb": round(before / 2**20, 1),
                "method": method, "device": torch.cuda.get_device_name(dev)}
    held = _status_mb("VmRSS")
    if held is not None and _reset_peak():
        step()
        peak, method = _status_mb("VmHWM") - held, "VmHWM after clear_refs, minus VmRSS before the step"
    else:
        start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        step()
        peak, method = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - start, "rise of ru_maxrss"
    return {"batch": batch, "checkpointing": checkpointing, "step_mb": round(peak, 1),
            "held_mb": round(held or 0.0, 1), "method": method, "device": "cpu"}


def peak_step_memory(batch: int, checkpointing: bool, preset: str = "medium", device: str = "cpu",
                     timeout: float = 600) -> dict:
    """`measure_here` in a fresh Python process: {batch, checkpointing, step_mb (what the step adds at its peak),
    held_mb (the process before the step: torch, the model, its gradients and AdamW's state), method, device}."""
    cmd = [sys.executable, "-m", "diffusion_core.evaluation.train_memory", "--batch", str(int(batch)),
           "--preset", preset, "--device", device] + (["--checkpointing"] if checkpointing else [])
    done = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **MALLOC_ENV}, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"the memory measurement failed: {done.stderr.strip()[-300:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def train_memory_main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--checkpointing", action="store_true")
    p.add_argument("--preset", default="medium")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    print(json.dumps(measure_here(args.batch, args.checkpointing, args.preset, args.device)))
    return 0


if __name__ == "__main__":
    raise SystemExit(train_memory_main())
