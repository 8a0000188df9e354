"""Inside the Transformer: attention maps by layer and head, where one patch attends, and the
adaLN-Zero modulation (shift, scale, gate) against the timestep.

The DiT sees a 28x28 digit as 7x7 tokens of 4x4 pixels (Peebles & Xie 2023, sec. 3.2). Token q's
attention row in layer l, head h is softmax(Q K^T / sqrt(d))[q] (Vaswani et al. 2017, eq. 1): 49
weights summing to 1, shown here as a 7x7 heat map over the image.

With guidance the sampler runs the network twice (conditional and unconditional); the maps shown
are the conditional pass's (the unconditional one for unconditional images).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from diffusion_core.networks.dit import DiT, MODULATION_NAMES
from diffusion_core.data.images import to_display, upscale
from diffusion_core.data.images import lut

if TYPE_CHECKING:  # plotly is imported where a figure is made: the library runs without it
    import plotly.graph_objects as go

CELL = 40  # pixels per patch in the big overlay (7 patches -> 280 px)


@torch.no_grad()
def internals(model: DiT, x_t: np.ndarray, t: float, label: int) -> dict:
    """One forward pass on one image x_t (28, 28) at timestep t with class `label`.
    Returns `attention` float32 (depth, heads, T, T) and `modulation` float32 (depth, 6, D)."""
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(x_t, np.float32), device=device).view(1, 1, 28, 28)
    tt = torch.tensor([float(t)], device=device)
    y = torch.tensor([int(label)], device=device)
    _, inner = model(x, tt, y, return_internals=True)
    attn = torch.stack([a[0] for a in inner["attention"]]).float().cpu().numpy()  # (depth, H, T, T)
    return {"attention": attn, "modulation": inner["modulation"][0].float().cpu().numpy()}


def patch_at(x: float, y: float, grid: int = 7, size: int = 7 * CELL) -> int:
    """The token index (row-major) under pixel (x, y) of the overlay image."""
    col = int(min(max(x, 0), size - 1) // (size / grid))
    row = int(min(max(y, 0), size - 1) // (size / grid))
    return row * grid + col


def _heat(weights: np.ndarray, grid: int) -> np.ndarray:
    """(T,) attention weights -> (grid, grid) scaled to [0, 1] by their maximum."""
    w = np.asarray(weights, np.float64).reshape(grid, grid)
    return w / max(w.max(), 1e-12)


def overlay(image: np.ndarray, weights: np.ndarray, patch: int, grid: int = 7, alpha: float = 0.6) -> np.ndarray:
    """The digit (28, 28) in [-1, 1] in grey, the attention heat map of `patch` blended over it,
    the patch grid drawn, and the query patch outlined in green: uint8 (280, 280, 3)."""
    px = CELL * grid // image.shape[0]  # upscale factor of the image (10)
    grey = upscale(to_display(np.asarray(image, np.float32).clip(-1, 1)), px)
    grey = np.repeat(grey[..., None], 3, axis=2).astype(np.float32)
    heat = lut("inferno")[to_display(upscale(_heat(weights, grid), CELL), 0, 1)].astype(np.float32)
    out = (1 - alpha) * grey + alpha * heat
    out[::CELL, :] = out[:, ::CELL] = 90  # patch grid
    out[-1, :] = out[:, -1] = 90
    r, c = divmod(int(patch), grid)
    y0, x0 = r * CELL, c * CELL
    green = np.array([40, 220, 80], np.float32)
    for d in range(3):
        out[y0 + d, x0:x0 + CELL] = out[y0 + CELL - 1 - d, x0:x0 + CELL] = green
        out[y0:y0 + CELL, x0 + d] = out[y0:y0 + CELL, x0 + CELL - 1 - d] = green
    return out.clip(0, 255).astype(np.uint8)


def head_grid(attention: np.ndarray, patch: int, cell: int = 8, pad: int = 4) -> np.ndarray:
    """Where `patch` attends in every layer (rows, first at the top) and head (columns):
    uint8 RGB, each map a 7x7 heat map scaled to its own maximum."""
    depth, heads, T, _ = attention.shape
    grid = int(round(T**0.5))
    size = grid * cell
    out = np.full((depth * (size + pad) + pad, heads * (size + pad) + pad, 3), 255, np.uint8)
    for layer in range(depth):
        for h in range(heads):
            m = lut("inferno")[to_display(upscale(_heat(attention[layer, h, patch], grid), cell), 0, 1)]
            r0, c0 = pad + layer * (size + pad), pad + h * (size + pad)
            out[r0:r0 + size, c0:c0 + size] = m
    return out


def attention_summary(attention: np.ndarray, layer: int, head: int, patch: int) -> str:
    """A sentence on the chosen map: how peaked it is and where it looks most."""
    w = attention[layer, head, patch]
    grid = int(round(len(w) ** 0.5))
    top = int(np.argmax(w))
    entropy = float(-(w * np.log(np.maximum(w, 1e-12))).sum())
    r, c = divmod(patch, grid)
    tr, tc = divmod(top, grid)
    return (f"Patch (row {r + 1}, column {c + 1}), layer {layer + 1}, head {head + 1}: the largest weight, "
            f"{w[top]:.2f}, goes to patch (row {tr + 1}, column {tc + 1}); "
            f"effective number of patches attended exp(entropy) = {np.exp(entropy):.1f} of {len(w)}.")


@torch.no_grad()
def modulation_by_t(model: DiT, label: int, ts: np.ndarray) -> np.ndarray:
    """RMS over channels of every block's six adaLN-Zero vectors for class `label` at timesteps ts:
    float32 (len(ts), depth, 6). They depend on (t, y) only, not on the image."""
    device = next(model.parameters()).device
    t = torch.as_tensor(np.asarray(ts, np.float32), device=device)
    y = torch.full((len(ts),), int(label), device=device, dtype=torch.long)
    c = model.t_embedder(t) + model.y_embedder(y)  # (K, D)
    mods = [block.adaLN_modulation(c).view(len(ts), 6, -1) for block in model.blocks]  # each (K, 6, D)
    return torch.stack(mods, dim=1).pow(2).mean(-1).sqrt().float().cpu().numpy()


def modulation_figure(model: DiT, label: int, t_now: float | None = None, num: int = 50,
                      num_timesteps: int = 1000) -> go.Figure:
    """Shift, scale and gate magnitudes against t, one line per block, attention branch on top and
    MLP branch below; a dotted line at the current step's t."""
    from plotly.subplots import make_subplots  # here, not at the top: the library runs without plotly (the GPU check)

    ts = np.linspace(0, num_timesteps - 1, num)
    m = modulation_by_t(model, label, ts)  # (K, depth, 6)
    fig = make_subplots(rows=2, cols=3, shared_xaxes=True, horizontal_spacing=0.06, vertical_spacing=0.12,
                        subplot_titles=[n.replace("_", " ") for n in MODULATION_NAMES])
    depth = m.shape[1]
    colors = [f"hsl({int(240 - 200 * i / max(depth - 1, 1))},70%,45%)" for i in range(depth)]
    for j, name in enumerate(MODULATION_NAMES):
        row, col = divmod(j, 3)
        for layer in range(depth):
            fig.add_scatter(x=ts, y=m[:, layer, j], mode="lines", line=dict(color=colors[layer], width=1.5),
                            name=f"block {layer + 1}", legendgroup=str(layer), showlegend=j == 0, row=row + 1, col=col + 1)
        if t_now is not None:
            fig.add_vline(x=float(t_now), line=dict(color="grey", dash="dot"), row=row + 1, col=col + 1)
    fig.update_layout(height=420, margin=dict(l=40, r=10, t=40, b=40),
                      title="adaLN-Zero: RMS of each modulation vector against t (top: attention branch, bottom: MLP)")
    fig.update_xaxes(title_text="timestep t", row=2)
    return fig
