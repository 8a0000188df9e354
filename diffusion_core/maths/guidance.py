"""Classifier-free guidance (Ho & Salimans 2022, eq. 6) as a wrapper around a denoiser:

    eps_guided = eps(x, t, null) + s (eps(x, t, y) - eps(x, t, null)),

with the conditional and unconditional predictions computed in one batched network call.
s = 1 is the plain conditional model (one call, no unconditional half); s = 0 is unconditional.

`min_t` limits guidance to the noisier steps, t >= min_t, and uses the plain conditional prediction
below it (guidance in a limited interval, Kynkaenniemi et al. 2024, "Applying Guidance in a Limited
Interval Improves Sample and Distribution Quality in Diffusion Models", sec. 3; they cut both ends;
on the MNIST DiT the high-noise end decides the digit's class, so only the low end is cut here:
`benchmarks/dit_quality.py --guidance-min-t` measures it). Steps below min_t cost one network pass.
"""
from __future__ import annotations

import torch


class CFGDenoiser:
    """Wraps `model(x, t, y) -> eps` into `denoiser(x, t, y=labels) -> guided eps`.

    x (N, C, H, W), t (N,), y (N,) int64 labels; labels equal to `null_label` are unconditional
    rows and are passed through unguided (their two halves would be identical).
    """

    def __init__(self, model, scale: float = 1.0, null_label: int = 10, min_t: float = 0.0):
        if not -1.0 <= float(scale) <= 50.0:
            raise ValueError(f"Guidance scale must be between -1 and 50, got {scale}.")
        if not 0.0 <= float(min_t) <= 1e6:
            raise ValueError(f"Guidance's lowest timestep must be 0 or more, got {min_t}.")
        self.model = model
        self.scale = float(scale)
        self.null_label = int(null_label)
        self.min_t = float(min_t)
        self.calls = 0  # network evaluations (batched calls)
        self.passes = 0  # network passes per image: 2 for a guided call (conditional + unconditional), else 1

    def guided_rows(self, t: torch.Tensor, n: int) -> torch.Tensor:
        """bool (n,): the rows whose timestep is guided (t >= min_t)."""
        rows = torch.as_tensor(t).reshape(-1) >= self.min_t
        return rows.expand(n) if rows.numel() == 1 else rows

    def __call__(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        self.calls += 1
        if y is None:
            y = torch.full((x.shape[0],), self.null_label, dtype=torch.long, device=x.device)
        rows = self.guided_rows(t, x.shape[0])  # (N,)
        if self.scale == 1.0 or not bool(rows.any()):
            self.passes += 1
            return self.model(x, t, y, **kwargs)
        self.passes += 2
        null = torch.full_like(y, self.null_label)
        eps = self.model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, null]), **kwargs)  # (2N, ...)
        if isinstance(eps, tuple):  # (eps, internals) when the model returns internals
            eps = eps[0]
        cond, uncond = eps.chunk(2)
        guided = uncond + self.scale * (cond - uncond)
        shape = (-1, *([1] * (x.ndim - 1)))
        guided = torch.where(rows.to(guided.device).view(shape), guided, cond)
        return torch.where((y == self.null_label).view(shape), uncond, guided)
