"""Where the models run: CUDA when present (with bf16 autocast), Hugging Face ZeroGPU through
`spaces.GPU` when the `spaces` package is installed, otherwise the CPU, without complaint.

`DIFFUSION_CLASSROOM_DEVICE=cpu` (or `cuda`, `cuda:1`) overrides the choice.
"""
from __future__ import annotations

import contextlib
import os
import platform

import torch

try:  # Hugging Face ZeroGPU: present on Spaces that ask for it, absent everywhere else
    import spaces  # type: ignore
except ImportError:  # the normal case
    spaces = None

DEVICE_ENV = "DIFFUSION_CLASSROOM_DEVICE"


def pick_device() -> torch.device:
    """The override when set, else CUDA when available, else the CPU."""
    wanted = os.environ.get(DEVICE_ENV, "").strip()
    if wanted:
        dev = torch.device(wanted)
        if dev.type == "cuda" and not torch.cuda.is_available():
            return torch.device("cpu")
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_name(device: torch.device) -> str:
    """What the UI shows: the GPU's name, or the CPU with its thread count."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}" + (" (ZeroGPU)" if spaces is not None else "")
    return f"CPU ({platform.machine() or 'unknown'}, {torch.get_num_threads()} threads)"


def autocast(device: torch.device):
    """bf16 autocast on CUDA (the DiT's matmuls run in bf16 there); nothing on the CPU, where bf16
    is slower than float32 on most processors."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock timings per step are honest."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def gpu(fn=None, *, duration: int = 60):
    """Decorator: `spaces.GPU(duration=...)` on ZeroGPU (works for generator functions too),
    the function unchanged everywhere else."""

    def wrap(f):
        return spaces.GPU(duration=duration)(f) if spaces is not None else f

    return wrap(fn) if fn is not None else wrap
