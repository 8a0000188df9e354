"""Where the models run: CUDA when present (with bf16 autocast), Hugging Face ZeroGPU through
`spaces.GPU` when the `spaces` package is installed, otherwise the CPU, without complaint.

`DIFFUSION_CLASSROOM_DEVICE=cpu` (or `cuda`, `cuda:1`) overrides the choice.

On a CPU with native bf16 arithmetic (AVX512-BF16 or AMX) the interactive sampling runs under bf16
autocast too: on this project's 2-core AMD EPYC one guided 16-digit DiT step took 37 ms instead of
62 ms (`python benchmarks/run_all.py` prints both), with a 0.6% relative difference in the predicted noise.
`DIFFUSION_CLASSROOM_CPU_BF16=0` (or `1`) overrides the detection. The sampling CLI and the
evaluation stay in float32.

`DIFFUSION_CLASSROOM_SERVE_PRECISION=int8` serves the app's generations on a CPU from the DiT's int8 copy
(`networks/precision.py`, dynamic quantization of the per-token Linear layers) instead; `float32` forces
float32; `auto` (the default) is the above. The cost lab measures what each costs and keeps.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import os
import platform

import torch

try:  # Hugging Face ZeroGPU: present on Spaces that ask for it, absent everywhere else
    import spaces  # type: ignore
except ImportError:  # the normal case
    spaces = None

DEVICE_ENV = "DIFFUSION_CLASSROOM_DEVICE"
CPU_BF16_ENV = "DIFFUSION_CLASSROOM_CPU_BF16"
SERVE_PRECISION_ENV = "DIFFUSION_CLASSROOM_SERVE_PRECISION"
SERVE_PRECISIONS = ("auto", "float32", "int8")


_IN_ZERO_GPU = {"call": False}  # set inside a ZeroGPU call (its own worker process), never in the main one


def pick_device() -> torch.device:
    """The override when set, else CUDA when available, else the CPU. On ZeroGPU the main process stays
    on the CPU (CUDA is only touched inside a `zero_gpu` call)."""
    if spaces is not None and not _IN_ZERO_GPU["call"]:
        return torch.device("cpu")
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
    kind = {"int8": ", int8", "bfloat16": ", bf16"}.get(serving_precision(device), "")
    return f"CPU ({platform.machine() or 'unknown'}, {torch.get_num_threads()} threads{kind})"


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU does bf16 arithmetic natively (AVX512-BF16 or AMX tiles); without it bf16 is
    emulated and slower than float32. `DIFFUSION_CLASSROOM_CPU_BF16=0|1` overrides."""
    forced = os.environ.get(CPU_BF16_ENV, "").strip().lower()
    if forced in ("0", "1", "false", "true", "no", "yes"):
        return forced in ("1", "true", "yes")
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):  # private helpers: absent in other torch builds
        return False


def uses_bf16(device: torch.device) -> bool:
    """Whether `autocast(device)` runs the model in bf16."""
    device = torch.device(device)
    return device.type == "cuda" or (device.type == "cpu" and cpu_has_fast_bf16())


def serve_precision_setting() -> str:
    """`DIFFUSION_CLASSROOM_SERVE_PRECISION` (one of SERVE_PRECISIONS; unset: auto), or a ValueError that says why."""
    value = os.environ.get(SERVE_PRECISION_ENV, "").strip().lower() or "auto"
    if value not in SERVE_PRECISIONS:
        raise ValueError(f"{SERVE_PRECISION_ENV} must be one of {', '.join(SERVE_PRECISIONS)}; got {value[:30]!r}.")
    return value


def serving_precision(device: torch.device) -> str:
    """The precision the app's generations run at on `device`: "int8" or "float32" where the setting asks (int8 on
    a CPU only: the dynamic quantization has no GPU kernels), else "bfloat16" where `uses_bf16`, else "float32"."""
    device = torch.device(device)
    try:
        wanted = serve_precision_setting()
    except ValueError:
        wanted = "auto"  # the app refuses to start with a bad value (`app.py`); a library caller gets the default
    if wanted == "int8" and device.type == "cpu":
        return "int8"
    if wanted == "float32":
        return "float32"
    return "bfloat16" if uses_bf16(device) else "float32"


def autocast(device: torch.device):
    """bf16 autocast on CUDA and on CPUs with native bf16 (the DiT's matmuls run in bf16 there);
    nothing elsewhere, where bf16 is slower than float32."""
    device = torch.device(device)
    if uses_bf16(device):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def inference_model(model: torch.nn.Module, device_type: str) -> torch.nn.Module:
    """`model` as the interactive sampler runs it under `autocast`: itself, or on a CPU with fast bf16 a
    frozen copy whose Linear weights are stored in bf16. Autocast would otherwise cast every weight
    again at each call: one guided 16-digit step measured 50 ms that way against 38 ms with the copy."""
    if device_type != "cpu" or not cpu_has_fast_bf16():
        return model
    return _bf16_copy(model)


@functools.lru_cache(maxsize=4)
def _bf16_copy(model: torch.nn.Module) -> torch.nn.Module:
    fast = copy.deepcopy(model).eval().requires_grad_(False)
    for module in fast.modules():
        if isinstance(module, torch.nn.Linear):
            module.to(torch.bfloat16)
    return fast


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock timings per step are honest."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


class GPUUnavailable(RuntimeError):
    """ZeroGPU refused the call (quota used up, queue full, no GPU free); the message says why."""


REFUSALS = ("quota", "queue", "zerogpu", "no gpu", "gpu task aborted", "gpu is not available")


def on_zero_gpu() -> bool:
    return spaces is not None


def zero_gpu(gen_fn, duration):
    """`gen_fn` (a generator function) as a ZeroGPU call when on ZeroGPU: `spaces.GPU(duration=...)`,
    where `duration(*args)` is the seconds this call needs (short calls are scheduled first); inside it
    the models run on CUDA and what it yields must be CPU data (numpy, text). A refusal by ZeroGPU
    raises GPUUnavailable (the caller falls back to the CPU). Elsewhere `gen_fn` unchanged."""
    if spaces is None:
        return gen_fn

    @functools.wraps(gen_fn)
    def inside(*args, **kwargs):
        _IN_ZERO_GPU["call"] = True
        try:
            yield from gen_fn(*args, **kwargs)
        finally:
            _IN_ZERO_GPU["call"] = False

    decorated = spaces.GPU(duration=duration)(inside)

    @functools.wraps(gen_fn)
    def outside(*args, **kwargs):
        try:
            yield from decorated(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - only ZeroGPU's refusals become GPUUnavailable
            if any(word in str(exc).lower() for word in REFUSALS) and not isinstance(exc, ValueError):
                raise GPUUnavailable(str(exc)[:200]) from exc
            raise

    return outside
