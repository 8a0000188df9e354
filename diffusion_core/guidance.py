"""Classifier-free guidance (Ho & Salimans 2022, eq. 6) as a wrapper around a denoiser:

    eps_guided = eps(x, t, null) + s (eps(x, t, y) - eps(x, t, null)),

with the conditional and unconditional predictions computed in one batched network call.
s = 1 is the plain conditional model (one call, no unconditional half); s = 0 is unconditional.
"""
from __future__ import annotations

import torch


class CFGDenoiser:
    """Wraps `model(x, t, y) -> eps` into `denoiser(x, t, y=labels) -> guided eps`.

    x (N, C, H, W), t (N,), y (N,) int64 labels; labels equal to `null_label` are unconditional
    rows and are passed through unguided (their two halves would be identical).
    """

    def __init__(self, model, scale: float = 1.0, null_label: int = 10):
        if not -1.0 <= float(scale) <= 50.0:
            raise ValueError(f"Guidance scale must be between -1 and 50, got {scale}.")
        self.model = model
        self.scale = float(scale)
        self.null_label = int(null_label)
        self.calls = 0  # network evaluations (batched calls)

    def __call__(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        self.calls += 1
        if y is None:
            y = torch.full((x.shape[0],), self.null_label, dtype=torch.long, device=x.device)
        if self.scale == 1.0:
            return self.model(x, t, y, **kwargs)
        null = torch.full_like(y, self.null_label)
        eps = self.model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, null]), **kwargs)  # (2N, ...)
        if isinstance(eps, tuple):  # (eps, internals) when the model returns internals
            eps = eps[0]
        cond, uncond = eps.chunk(2)
        guided = uncond + self.scale * (cond - uncond)
        return torch.where((y == self.null_label).view(-1, *([1] * (x.ndim - 1))), uncond, guided)
