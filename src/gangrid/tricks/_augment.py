"""Differentiable, batched augmentations (DiffAugment, Zhao et al. 2020; CR-GAN, Zhang et al. 2020).

Every op draws its randomness per sample from the global torch RNG on the
tensor's device (no host syncs, checkpointed RNG state) and is differentiable
with respect to its input, so it can sit between G and D. Images are
(B, C, H, W) in [-1, 1]; 2-D points are (B, F).

The ops follow the reference implementation (github.com/mit-han-lab/
data-efficient-gans, DiffAugment_pytorch.py): translation by up to `ratio` of
the side with zero padding, a cutout square of `ratio` of the side set to 0,
and colour = brightness + U(-0.5, 0.5), saturation x U(0, 2), contrast x
U(0.5, 1.5). Zero is mid-grey in [-1, 1], so translation and cutout stay in
range; colour can leave [-1, 1], as in the reference code (`color(..., clamp=True)`
clamps back to the data range).
"""

from __future__ import annotations

import torch


def _rand(x: torch.Tensor, *shape: int) -> torch.Tensor:
    return torch.rand(x.shape[0], *shape, dtype=x.dtype, device=x.device)


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by integers in [-r, r] pixels (r = round(ratio * side)), filling with 0:
    out[b, :, i, j] = x[b, :, i + ty_b, j + tx_b] where that lies inside the image, else 0."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (b, 1), device=x.device)
    tx = torch.randint(-sw, sw + 1, (b, 1), device=x.device)
    rows = torch.arange(h, device=x.device) + ty  # (b, h) source rows
    cols = torch.arange(w, device=x.device) + tx  # (b, w) source columns
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = x[batch, :, rows.clamp(0, h - 1)[:, :, None], cols.clamp(0, w - 1)[:, None, :]]  # (b, h, w, c)
    return out.permute(0, 3, 1, 2) * inside[:, None].to(x.dtype)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Set a square of round(ratio * side) pixels at a random centre (clipped at the borders) to 0."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (b, 1), device=x.device) - ch // 2
    cx = torch.randint(0, w + (1 - cw % 2), (b, 1), device=x.device) - cw // 2
    ar_h = torch.arange(h, device=x.device)
    ar_w = torch.arange(w, device=x.device)
    in_rows = (ar_h >= cy) & (ar_h < cy + ch)  # (b, h)
    in_cols = (ar_w >= cx) & (ar_w < cx + cw)  # (b, w)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
    return x * keep[:, None].to(x.dtype)


def color(x: torch.Tensor, clamp: bool = False) -> torch.Tensor:
    """Random brightness, saturation and contrast per image (clamped to [-1, 1] when `clamp`)."""
    x = x + (_rand(x, 1, 1, 1) - 0.5)
    mean_c = x.mean(dim=1, keepdim=True)
    x = (x - mean_c) * (_rand(x, 1, 1, 1) * 2) + mean_c
    mean_all = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean_all) * (_rand(x, 1, 1, 1) + 0.5) + mean_all
    return x.clamp(-1.0, 1.0) if clamp else x


def hflip(x: torch.Tensor, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability p."""
    flip = (_rand(x, 1, 1, 1) < p).to(x.dtype)
    return flip * x.flip(3) + (1 - flip) * x


def shift_points(x: torch.Tensor, scale: float) -> torch.Tensor:
    """The translation of 2-D (or F-D) points: each coordinate moves by U(-scale, scale)."""
    return x + (torch.rand_like(x) * 2 - 1) * scale


IMAGE_POLICIES = {"translation": translation, "cutout": cutout, "color": color}
