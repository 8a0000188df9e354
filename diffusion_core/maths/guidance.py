"""Classifier-free guidance (Ho & Salimans 2022, eq. 6) as a wrapper around a denoiser:

    eps_guided = eps(x, t, null) + s (eps(x, t, y) - eps(x, t, null)),

with the conditional and unconditional predictions computed in one batched network call.
s = 1 is the plain conditional model (one call, no unconditional half); s = 0 is unconditional.

Guidance in a limited interval (Kynkäänniemi et al. 2024, "Applying Guidance in a Limited Interval Improves
Sample and Distribution Quality in Diffusion Models", sec. 3): guide only where min_t <= t <= max_t and use the
plain conditional prediction outside it. The paper finds guidance harmful at the highest noise levels and
largely unnecessary at the lowest, and guides a middle interval; `max_t >= NO_UPPER` (the default) leaves
the interval open at the top, so the one-sided form "t >= min_t" is its special case. Steps outside the
interval cost one network pass. `benchmarks/dit_quality.py --guidance-min-t ... --guidance-max-t ...`
measures it on this model.
"""
from __future__ import annotations

import torch

NO_UPPER = 1000  # a max_t at or above the last timestep of a 1000-step schedule: no upper limit


def check_interval(min_t: float, max_t: float) -> tuple[float, float]:
    """(min_t, max_t) as floats, or a ValueError that says what is wrong with the interval."""
    min_t, max_t = float(min_t), float(max_t)
    if not 0.0 <= min_t <= 1e6:
        raise ValueError(f"Guidance's lowest timestep must be 0 or more, got {min_t:g}.")
    if not 0.0 <= max_t <= 1e6:
        raise ValueError(f"Guidance's highest timestep must be 0 or more, got {max_t:g}.")
    if min_t > max_t:
        raise ValueError(f"Guidance's interval is empty: t ≥ {min_t:g} and t ≤ {max_t:g} never both hold. "
                         "Lower the first or raise the second.")
    return min_t, max_t


def guided_rows(t: torch.Tensor, n: int, min_t: float, max_t: float) -> torch.Tensor:
    """bool (n,): the rows whose timestep lies in the guided interval min_t <= t <= max_t."""
    t = torch.as_tensor(t).reshape(-1)
    rows = (t >= min_t) & (t <= max_t)
    return rows.expand(n) if rows.numel() == 1 else rows


def combine(cond: torch.Tensor, uncond: torch.Tensor, scale: float, rows: torch.Tensor, y: torch.Tensor,
            null_label: int) -> torch.Tensor:
    """The guided eps (eq. 6) on `rows`, the conditional eps elsewhere, the unconditional eps for rows whose
    label is already the null class. cond, uncond (N, ...); rows, y (N,)."""
    shape = (-1, *([1] * (cond.ndim - 1)))
    guided = uncond + scale * (cond - uncond)
    guided = torch.where(rows.to(guided.device).view(shape), guided, cond)
    return torch.where((y.to(guided.device) == null_label).view(shape), uncond, guided)


class CFGDenoiser:
    """Wraps `model(x, t, y) -> eps` into `denoiser(x, t, y=labels) -> guided eps`.

    x (N, C, H, W), t (N,), y (N,) int64 labels; labels equal to `null_label` are unconditional
    rows and are passed through unguided (their two halves would be identical).
    """

    def __init__(self, model, scale: float = 1.0, null_label: int = 10, min_t: float = 0.0,
                 max_t: float = NO_UPPER):
        if not -1.0 <= float(scale) <= 50.0:
            raise ValueError(f"Guidance scale must be between -1 and 50, got {scale}.")
        self.model = model
        self.scale = float(scale)
        self.null_label = int(null_label)
        self.min_t, self.max_t = check_interval(min_t, max_t)
        self.calls = 0  # network evaluations (batched calls)
        self.passes = 0  # network passes per image: 2 for a guided call (conditional + unconditional), else 1

    def __call__(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        self.calls += 1
        if y is None:
            y = torch.full((x.shape[0],), self.null_label, dtype=torch.long, device=x.device)
        rows = guided_rows(t, x.shape[0], self.min_t, self.max_t)  # (N,)
        if self.scale == 1.0 or not bool(rows.any()):
            self.passes += 1
            return self.model(x, t, y, **kwargs)
        self.passes += 2
        null = torch.full_like(y, self.null_label)
        eps = self.model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, null]), **kwargs)  # (2N, ...)
        if isinstance(eps, tuple):  # (eps, internals) when the model returns internals
            eps = eps[0]
        cond, uncond = eps.chunk(2)
        return combine(cond, uncond, self.scale, rows, y, self.null_label)
