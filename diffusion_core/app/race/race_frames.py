"""The race's three panels as pictures, drawn with numpy and PIL: what streams while the models train.

A browser draws a picture in about a millisecond, where re-rendering three plotly panels of a few thousand
points, a heat map and arrows takes it a large part of a second on a slow client; frames it cannot draw in time
pile up, and the page falls behind the training it shows. So every frame of a live race (and every frame of
the recorded one) is three pictures, a few tens of kB in all, drawn here in about 20 ms:
- each panel the plane [-EXTENT, EXTENT]^2 with the data in grey and the model's samples in its colour;
- the GAN's panel over its discriminator D(x) (red: "fake", blue: "real") with the generator's gradient as
  arrows with heads; the VAE's over its decoder manifold (the image of a grid of latents);
- each panel's title above it (the measured modes and distance once there are some).
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from diffusion_core.data.images import lut, text_block
from diffusion_core.training.race_2d import MODELS

EXTENT = 4.0
PANEL = 300  # pixels per panel side
TITLE = 22  # pixels of each panel's title
COLOURS = {"diffusion": (214, 39, 40), "gan": (44, 160, 44), "vae": (148, 103, 189)}
DATA = (175, 175, 175)
MANIFOLD = (200, 180, 225)


def to_px(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plane points (n, 2) -> pixel columns and rows of a panel (n,) each (y up)."""
    xy = np.asarray(xy, np.float64)
    px = (xy[:, 0] / EXTENT + 1) / 2 * (PANEL - 1)
    py = (1 - (xy[:, 1] / EXTENT + 1) / 2) * (PANEL - 1)
    return px, py


def dots(img: np.ndarray, xy: np.ndarray, colour: tuple, r: int = 1) -> None:
    """Squares of side 2r + 1 at each point inside the panel, in place."""
    if not len(xy):
        return
    px, py = (np.round(v).astype(int) for v in to_px(xy))
    inside = (px >= r) & (px < PANEL - r) & (py >= r) & (py < PANEL - r)
    px, py = px[inside], py[inside]
    for dx in range(-r, r + 1):
        for dy in range(-r, r + 1):
            img[py + dy, px + dx] = colour


def heat(d_logits: np.ndarray, opacity: float = 0.55) -> np.ndarray:
    """D(x) = sigmoid(logit) on a grid (G, G) (row 0 at the bottom) -> a panel background, red to blue over white."""
    colours = lut("RdBu")[np.clip((255 / (1 + np.exp(-d_logits))).round(), 0, 255).astype(int)][::-1]  # (G, G, 3), top row first
    big = np.asarray(Image.fromarray(colours.astype(np.uint8)).resize((PANEL, PANEL), Image.BILINEAR), np.float32)
    return (255 * (1 - opacity) + opacity * big).astype(np.uint8)


def draw_arrows(draw: ImageDraw.ImageDraw, starts: np.ndarray, vectors: np.ndarray, colour=(0, 0, 0), head: float = 4.0) -> None:
    """Arrows starts -> starts + vectors (plane units), each a line and a triangle at its tip."""
    x0, y0 = to_px(starts)
    x1, y1 = to_px(starts + vectors)
    for a, b, c, d in zip(x0, y0, x1, y1):
        draw.line([(a, b), (c, d)], fill=colour, width=1)
        length = float(np.hypot(c - a, d - b))
        if length < 1e-6:
            continue
        ux, uy = (c - a) / length, (d - b) / length
        draw.polygon([(c, d), (c - head * ux + 0.6 * head * uy, d - head * uy - 0.6 * head * ux),
                      (c - head * ux - 0.6 * head * uy, d - head * uy + 0.6 * head * ux)], fill=colour)


def draw_lines(draw: ImageDraw.ImageDraw, polylines: np.ndarray, colour: tuple) -> None:
    """Polylines (L, P, 2) in plane units."""
    for line in polylines:
        px, py = to_px(line)
        draw.line(list(zip(px, py)), fill=colour, width=1)


def panel(model: str, data: np.ndarray, samples: np.ndarray | None, title: str, d_logits=None, g_arrows=None,
          manifold=None) -> np.ndarray:
    """One model's panel with its title above: uint8 (TITLE + PANEL, PANEL, 3)."""
    img = heat(d_logits) if d_logits is not None else np.full((PANEL, PANEL, 3), 255, np.uint8)
    if manifold is not None:
        pil = Image.fromarray(img)
        draw_lines(ImageDraw.Draw(pil), np.concatenate([manifold, manifold.transpose(1, 0, 2)]), MANIFOLD)
        img = np.array(pil)
    dots(img, data, DATA, r=1)
    if samples is not None:
        dots(img, samples, COLOURS[model], r=1)
    if g_arrows is not None:
        pil = Image.fromarray(img)
        draw_arrows(ImageDraw.Draw(pil), *g_arrows)
        img = np.array(pil)
    img[[0, -1], :] = 200  # a thin frame
    img[:, [0, -1]] = 200
    return np.concatenate([text_block(title, PANEL, TITLE, 12), img], axis=0)


def samples_images(data: np.ndarray, samples: dict, titles: dict, d_logits=None, g_arrows=None, manifold=None) -> list[np.ndarray]:
    """The three panels, one picture each (side by side on a wide screen, one per row on a phone): uint8
    (TITLE + PANEL, PANEL, 3) per model, in MODELS order."""
    extras = {"gan": dict(d_logits=d_logits, g_arrows=g_arrows), "vae": dict(manifold=manifold)}
    return [panel(m, data, samples.get(m), titles[m], **extras.get(m, {})) for m in MODELS]
