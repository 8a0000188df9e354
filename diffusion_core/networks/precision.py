"""The DiT at three numeric precisions, for the cost lab: float32 (as trained), bfloat16 (the app's path on a
CPU with native bf16, `runtime.inference_model` under autocast) and int8 (PyTorch's dynamic quantization).

int8 here is `torch.ao.quantization.quantize_dynamic` on the Linear layers that run once per token (each
block's qkv, attention output and the two MLP layers: where the compute is): their weights are stored as 8-bit
integers with one scale per matrix, and each call quantizes its input on the fly (an affine map of reals to
integers, Jacob et al. 2018); the adaLN layers (once per image), the embedders and the output layer stay
float32. PyTorch has deprecated `torch.ao`'s quantized tensors and plans to remove them; where they are gone,
`int8_available()` is False and asking for int8 raises a ValueError that says so, while float32 and bfloat16
keep working.

    net = precision_net(model, "int8")   # net(x, t, y) -> eps in float32, (N, 1, 28, 28)
"""
from __future__ import annotations

import copy
import functools
import io
import warnings

import torch
import torch.nn as nn

from diffusion_core.networks import runtime

PRECISIONS = ("float32", "bfloat16", "int8")
PER_TOKEN = ("attn.qkv", "attn.proj", "mlp.0", "mlp.2")  # a block's Linear layers that run on every token


def int8_available() -> bool:
    """Whether this torch still has the dynamic int8 quantization (`torch.ao.quantization.quantize_dynamic`)."""
    try:
        from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic  # noqa: F401
    except ImportError:
        return False
    return bool(getattr(torch.backends, "quantized", None) and torch.backends.quantized.supported_engines)


def check_precision(name) -> str:
    """`name` if it is one of PRECISIONS (and int8 works in this torch), else a ValueError that says why."""
    name = str(name)
    if name not in PRECISIONS:
        raise ValueError(f"Precision must be one of {', '.join(PRECISIONS)}; got {name[:30]!r}.")
    if name == "int8" and not int8_available():
        raise ValueError("int8 is not available in this PyTorch (torch.ao quantized tensors are gone or the CPU has no "
                         "quantized engine); float32 and bfloat16 still work.")
    return name


def per_token_linears(model: nn.Module) -> list[str]:
    """The names of the DiT's per-token Linear layers (`PER_TOKEN` in every block), in order."""
    return [f"blocks.{i}.{part}" for i in range(len(model.blocks)) for part in PER_TOKEN]


def bf16_copy(model: nn.Module) -> nn.Module:
    """A frozen copy of `model` with bf16 Linear weights: the app's own (`runtime.inference_model`) on a CPU with
    fast bf16, else one made the same way (slower than float32 there: bf16 is emulated)."""
    shared = runtime.inference_model(model, "cpu")
    if shared is not model:
        return shared
    fast = copy.deepcopy(model).eval().requires_grad_(False)
    for module in fast.modules():
        if isinstance(module, nn.Linear):
            module.to(torch.bfloat16)
    return fast


def int8_copy(model: nn.Module) -> nn.Module:
    """A frozen copy of `model` whose per-token Linear layers are dynamically quantized to int8."""
    from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

    fast = copy.deepcopy(model).eval().requires_grad_(False)
    spec = {name: default_dynamic_qconfig for name in per_token_linears(fast)}
    with warnings.catch_warnings():  # torch.ao's deprecation notice: the module docstring says what it means here
        warnings.simplefilter("ignore")
        return quantize_dynamic(fast, spec, dtype=torch.qint8)


@functools.lru_cache(maxsize=8)
def model_at(model: nn.Module, name: str) -> nn.Module:
    """`model` as it runs at precision `name`: itself (float32), a copy with bf16 Linear weights (bfloat16, run
    under autocast by `precision_net`) or its int8 copy; copies are made once per model."""
    name = check_precision(name)
    if name == "float32":
        return model
    if name == "bfloat16":
        return bf16_copy(model)
    return int8_copy(model)


def precision_net(model: nn.Module, name: str):
    """net(x, t, y) -> eps (float32) of `model` at precision `name` on the CPU (bfloat16: under bf16 autocast)."""
    fast = model_at(model, name)
    cast = name == "bfloat16"

    def net(x, t, y, **kwargs):
        with warnings.catch_warnings(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=cast):
            warnings.simplefilter("ignore")  # quantized ops repeat torch.ao's deprecation notice
            return fast(x, t, y, **kwargs).float()

    return net


def weight_bytes(model: nn.Module) -> int:
    """The size of `model`'s weights as saved: the bytes of its serialised state dict (int8 weights are
    stored packed, with their scales)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.save(model.state_dict(), buffer)
    return buffer.tell()
