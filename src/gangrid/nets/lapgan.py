"""LAPGAN (Denton et al. 2015): a Laplacian-pyramid cascade of conditional GANs.

The pyramid (Burt & Adelson 1983): d = blur with the 5-tap binomial kernel [1, 4, 6, 4, 1] / 16
(separable, reflected borders) then keep every second pixel; u = insert zeros between pixels then
the same blur times 4. An image I_0 = x has Gaussian levels I_{k+1} = d(I_k) and band-pass levels
h_k = I_k - u(I_{k+1}), k = 0..K-1; I_K is the coarse residual. Reconstruction
I_k = u(I_{k+1}) + h_k is exact by construction.

The cascade: G_K(z) draws a coarse image I_K; each finer level k draws the band-pass residual of
the upsampled coarser image, h_k = G_k(z_k, l_k) with l_k = u(I_{k+1}) (z_k: a noise plane), and
I_k = l_k + h_k. Sampling runs it coarse to fine (`LaplacianGenerator.forward`).

Training, as in the paper, trains the levels independently on real images: D_k sees the pair
(h_k, l_k) of a real image's pyramid against (G_k(z_k, l_k), l_k) with the same real low-pass l_k,
and D_K the real coarse image I_K against G_K(z). The `laplacian_levels` trick (implied by the
presets) feeds both through the GAN loop: it packs each side's per-level pairs into one flat
tensor (`PyramidLayout`) that the level discriminators unpack; their logits (B, K + 1) go into the
run's loss together, so every level gets its own loss (levels share no parameters). Without the
trick, D analyses whatever image it gets into its pyramid (the cascade's fakes then train all
levels jointly: a departure, not the paper).

Preset keys: levels (K band-pass levels; the coarse image is res / 2^K px), g_ch / d_ch
(conv widths of the level nets), hidden (width of the coarse MLPs).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gangrid.nets import DataSpec, DOut, register_family, require
from gangrid.nets.blocks import check_image, preset_name

BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def blur(x: torch.Tensor) -> torch.Tensor:
    """Separable 5-tap binomial blur of each channel, borders reflected."""
    c = x.shape[1]
    k = BINOMIAL.to(x.dtype).to(x.device)
    x = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="reflect"), k.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    return F.conv2d(F.pad(x, (0, 0, 2, 2), mode="reflect"), k.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)


def down(x: torch.Tensor) -> torch.Tensor:
    """d: blur, then every second pixel (half the size)."""
    return blur(x)[:, :, ::2, ::2]


def up(x: torch.Tensor) -> torch.Tensor:
    """u: zeros between the pixels, then the blur times 4 (twice the size)."""
    b, c, h, w = x.shape
    z = x.new_zeros(b, c, 2 * h, 2 * w)
    z[:, :, ::2, ::2] = x
    return 4.0 * blur(z)


def gaussian_levels(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """[I_0 = x, I_1 = d(x), ..., I_K]."""
    out = [x]
    for _ in range(levels):
        out.append(down(out[-1]))
    return out


def analyse(x: torch.Tensor, levels: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The Laplacian pyramid of x: (band-pass levels [h_0 .. h_{K-1}], finest first; coarse residual I_K)."""
    g = gaussian_levels(x, levels)
    return [g[k] - up(g[k + 1]) for k in range(levels)], g[-1]


def synthesise(bands: list[torch.Tensor], coarse: torch.Tensor) -> torch.Tensor:
    """The image of a Laplacian pyramid: I_k = u(I_{k+1}) + h_k, from the coarse residual to I_0."""
    image = coarse
    for h in reversed(bands):
        image = up(image) + h
    return image


class PyramidLayout:
    """Packs a pyramid's per-level D inputs [h_0, l_0, ..., h_{K-1}, l_{K-1}, I_K] into one flat (B, N)
    tensor and back (the discriminators' input format)."""

    def __init__(self, channels: int, res: int, levels: int) -> None:
        self.shapes = [(channels, res >> k, res >> k) for k in range(levels) for _ in (0, 1)]
        self.shapes.append((channels, res >> levels, res >> levels))

    def pack(self, parts: list[torch.Tensor]) -> torch.Tensor:
        """(B, N) from the parts, in layout order."""
        return torch.cat([p.reshape(p.shape[0], -1) for p in parts], dim=1)

    def unpack(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """The parts of a packed tensor, each (B, C, H, W)."""
        sizes = [c * h * w for c, h, w in self.shapes]
        return [p.reshape(p.shape[0], *s) for p, s in zip(flat.split(sizes, dim=1), self.shapes)]


def mlp(d_in: int, hidden: int, d_out: int, act: nn.Module) -> nn.Sequential:
    """Two hidden layers of `hidden` units."""
    return nn.Sequential(nn.Linear(d_in, hidden), act, nn.Linear(hidden, hidden), act, nn.Linear(hidden, d_out))


class CoarseGenerator(nn.Module):
    """G_K: z -> MLP (ReLU) -> a coarse image (tanh)."""

    def __init__(self, z_dim: int, channels: int, size: int, hidden: int) -> None:
        super().__init__()
        self.shape = (channels, size, size)
        self.net = mlp(z_dim, hidden, channels * size * size, nn.ReLU())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(z)).view(z.shape[0], *self.shape)


class BandGenerator(nn.Module):
    """G_k: (noise plane, l_k) -> conv3 [BN ReLU] x 2 -> conv3 -> the band-pass residual h_k (linear output)."""

    def __init__(self, channels: int, ch: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels + 1, ch, 3, 1, 1), nn.BatchNorm2d(ch), nn.ReLU(True),
            nn.Conv2d(ch, ch, 3, 1, 1), nn.BatchNorm2d(ch), nn.ReLU(True),
            nn.Conv2d(ch, channels, 3, 1, 1))

    def forward(self, low: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(low.shape[0], 1, low.shape[2], low.shape[3], device=low.device, dtype=low.dtype)
        return self.net(torch.cat([low, noise], dim=1))


class LaplacianGenerator(nn.Module):
    """The cascade: `forward` samples coarse to fine; `level_fakes` draws every level's fake on a real batch's pyramid."""

    def __init__(self, z_dim: int, channels: int, res: int, levels: int, ch: int, hidden: int) -> None:
        super().__init__()
        self.z_dim, self.levels = z_dim, levels
        self.coarse = CoarseGenerator(z_dim, channels, res >> levels, hidden)
        self.bands = nn.ModuleList([BandGenerator(channels, ch) for _ in range(levels)])  # finest first
        self.layout = PyramidLayout(channels, res, levels)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        image = self.coarse(z)
        for k in reversed(range(self.levels)):
            low = up(image)
            image = low + self.bands[k](low)
        return image

    def level_fakes(self, real: torch.Tensor) -> torch.Tensor:
        """Packed [G_0(l_0), l_0, ..., G_{K-1}(l_{K-1}), l_{K-1}, G_K(z)], l_k = u(I_{k+1}) of the real batch, z ~ N(0, I)."""
        g = gaussian_levels(real, self.levels)
        parts: list[torch.Tensor] = []
        for k in range(self.levels):
            low = up(g[k + 1])
            parts += [self.bands[k](low), low]
        z = torch.randn(real.shape[0], self.z_dim, device=real.device, dtype=real.dtype)
        return self.layout.pack(parts + [self.coarse(z)])


def pack_real(real: torch.Tensor, layout: PyramidLayout, levels: int) -> torch.Tensor:
    """Packed [h_0, l_0, ..., h_{K-1}, l_{K-1}, I_K] of a real batch's Laplacian pyramid."""
    g = gaussian_levels(real, levels)
    parts: list[torch.Tensor] = []
    for k in range(levels):
        low = up(g[k + 1])
        parts += [g[k] - low, low]
    return layout.pack(parts + [g[-1]])


class BandDiscriminator(nn.Module):
    """D_k: (h, l) -> conv3 LReLU -> conv4 stride 2 LReLU -> linear logit."""

    def __init__(self, channels: int, size: int, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(2 * channels, ch, 3, 1, 1), nn.LeakyReLU(0.2, True),
                                  nn.Conv2d(ch, 2 * ch, 4, 2, 1), nn.LeakyReLU(0.2, True), nn.Flatten())
        self.head = nn.Linear(2 * ch * (size // 2) ** 2, 1)

    def forward(self, band: torch.Tensor, low: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.body(torch.cat([band, low], dim=1))
        return self.head(f).flatten(), f


class LaplacianDiscriminator(nn.Module):
    """One discriminator per level on the packed pyramid; logits (B, K + 1), features concatenated."""

    def __init__(self, channels: int, res: int, levels: int, ch: int, hidden: int) -> None:
        super().__init__()
        self.levels = levels
        self.layout = PyramidLayout(channels, res, levels)
        self.bands = nn.ModuleList([BandDiscriminator(channels, res >> k, ch) for k in range(levels)])
        size = res >> levels
        self.coarse = nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size, hidden), nn.LeakyReLU(0.2, True),
                                    nn.Linear(hidden, hidden), nn.LeakyReLU(0.2, True))
        self.coarse_head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        if x.dim() == 4:  # an image: score its own pyramid
            x = pack_real(x, self.layout, self.levels)
        parts = self.layout.unpack(x)
        logits, feats = [], []
        for k, d in enumerate(self.bands):
            logit, f = d(parts[2 * k], parts[2 * k + 1])
            logits.append(logit)
            feats.append(f)
        f = self.coarse(parts[-1])
        logits.append(self.coarse_head(f).flatten())
        feats.append(f)
        return DOut(torch.stack(logits, dim=1), torch.cat(feats, dim=1))


def check_lapgan(cfg: dict[str, Any], data: DataSpec) -> None:
    """Square images whose side halves `levels` times to a coarse image of at least 4 px."""
    _, res = check_image(cfg, data, "lapgan")
    name, levels = preset_name(cfg, "lapgan"), int(cfg.get("levels", 2))
    require(levels >= 1, f"archs.{name}.levels: must be >= 1, got {levels}")
    require(res % (1 << levels) == 0 and (res >> levels) >= 4,
            f"archs.{name}.levels: {res} px halves {levels} times to less than 4 px (or not evenly); use fewer levels")


@register_family("lapgan", check=check_lapgan)
def build_lapgan(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build the Laplacian cascade generator and the per-level discriminators."""
    c, res, levels = data.shape[0], data.shape[1], int(cfg.get("levels", 2))
    hidden = int(cfg.get("hidden", 256))
    g = LaplacianGenerator(int(cfg["z_dim"]), c, res, levels, int(cfg.get("g_ch", 64)), hidden)
    d = LaplacianDiscriminator(c, res, levels, int(cfg.get("d_ch", 32)), hidden)
    return g, d
