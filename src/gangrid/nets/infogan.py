"""InfoGAN (Chen et al. 2016): structured latent codes and a Q head.

G's input is [noise, c] with c = one-hot categorical codes (`categorical`, e.g. [10]) and
continuous codes U(-1, 1) (`continuous`, e.g. 2); the generator defines its prior through
`sample_latent`, which the Trainer and the sample stage use. The noise size is train.z_dim.
D shares its conv body with Q (as in the paper): a real/fake head, and `info_head(features)`
-> (categorical logits per code, means of the continuous codes). The mutual-information
term is the `infogan_mi` trick (implied by the presets): the cross-entropy of the
categorical codes plus the Gaussian negative log-likelihood (fixed std 1, as the authors'
code) of the continuous codes, minimised by D/Q and by G.

`latent_traversal` varies one continuous code along the columns for each category of the
first categorical code (rows) at fixed noise: the figure of the paper.

Preset keys: categorical (list of category counts, [10]), continuous (2), q_hidden (128),
g_ch / d_ch (64), g_norm / d_norm, upsample, attention, dropout, mbstd, mbdisc.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gangrid.nets import DataSpec, DOut, register_family, require
from gangrid.nets.blocks import check_conv_resolution, check_image, conv_encoder, conv_generator, preset_name


class InfoGenerator(nn.Module):
    """G([noise, one-hot categorical codes, continuous codes]); y is ignored."""

    def __init__(self, net: nn.Module, noise_dim: int, categorical: list[int], continuous: int) -> None:
        super().__init__()
        self.net = net
        self.noise_dim, self.categorical, self.continuous = noise_dim, list(categorical), continuous

    @property
    def code_dim(self) -> int:
        """Size of the structured part of the latent vector."""
        return sum(self.categorical) + self.continuous

    def make_latent(self, noise: torch.Tensor, cats: list[torch.Tensor], cont: torch.Tensor) -> torch.Tensor:
        """Assemble [noise, one-hot(cats), cont] (the inverse of `split_codes`)."""
        hots = [F.one_hot(c.long(), k).to(noise.dtype) for c, k in zip(cats, self.categorical)]
        return torch.cat([noise, *hots, cont.to(noise.dtype)], dim=1)

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The prior: noise N(0, I), categorical codes uniform over categories, continuous U(-1, 1).
        With a `generator` it draws on the CPU (identical samples on every device)."""
        device = torch.device("cpu") if generator is not None else next(self.parameters()).device
        noise = torch.randn(n, self.noise_dim, generator=generator, device=device)
        cats = [torch.randint(k, (n,), generator=generator, device=device) for k in self.categorical]
        cont = torch.rand(n, self.continuous, generator=generator, device=device) * 2 - 1
        return self.make_latent(noise, cats, cont)

    def split_codes(self, z: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """(noise, category indices per categorical code, continuous codes) of latent vectors."""
        noise, rest = z[:, : self.noise_dim], z[:, self.noise_dim :]
        cats, pos = [], 0
        for k in self.categorical:
            cats.append(rest[:, pos : pos + k].argmax(1))
            pos += k
        return noise, cats, rest[:, pos:]

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z)

    @torch.no_grad()
    def figures(self, seed: int = 0) -> dict[str, tuple[torch.Tensor, int]]:
        """Latent traversals, one per continuous code: {name: (model-space images, columns)}."""
        if not self.continuous:
            return {"traversal_categories": latent_traversal(self, seed=seed)}
        return {f"traversal_c{j}": latent_traversal(self, j, seed=seed) for j in range(self.continuous)}


class InfoDiscriminator(nn.Module):
    """Conv encoder with a real/fake head and the Q head (categorical logits, continuous means)."""

    def __init__(self, cfg: dict[str, Any], data: DataSpec, categorical: list[int], continuous: int) -> None:
        super().__init__()
        self.encoder = conv_encoder(cfg, data)
        self.head = nn.Linear(self.encoder.out_dim, 1)
        hidden = int(cfg.get("q_hidden", 128))
        self.q = nn.Sequential(nn.Linear(self.encoder.out_dim, hidden), nn.LeakyReLU(0.2, True),
                               nn.Linear(hidden, sum(categorical) + continuous))
        self.categorical = list(categorical)

    def info_head(self, features: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Q(c | x): logits of each categorical code and the means of the continuous codes."""
        out = self.q(features)
        logits, pos = [], 0
        for k in self.categorical:
            logits.append(out[:, pos : pos + k])
            pos += k
        return logits, out[:, pos:]

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        h = self.encoder(x)
        return DOut(self.head(h).squeeze(1), h)


def mutual_information_loss(q: tuple[list[torch.Tensor], torch.Tensor], codes: tuple[torch.Tensor, list[torch.Tensor], torch.Tensor],
                            cont_weight: float = 1.0) -> torch.Tensor:
    """-(lower bound of I(c; G(z, c))) up to the constant H(c): sum of the categorical cross-entropies
    plus cont_weight * the Gaussian NLL (std 1, constant dropped) of the continuous codes."""
    logits, means = q
    _, cats, cont = codes
    loss = sum((F.cross_entropy(l, c) for l, c in zip(logits, cats)), torch.zeros((), device=means.device))
    if cont.shape[1]:
        loss = loss + cont_weight * 0.5 * (cont - means).pow(2).sum(1).mean()
    return loss


@torch.no_grad()
def latent_traversal(g: InfoGenerator, code: int = 0, steps: int = 8, span: float = 2.0, seed: int = 0) -> tuple[torch.Tensor, int]:
    """Images (rows x steps, C, H, W) and the column count: row r fixes the first categorical
    code to category r (one row if there is none), column j sets continuous code `code` to
    -span + 2 span j / (steps - 1); noise and the other codes are fixed (0 for continuous).
    Without continuous codes, columns are different noise vectors."""
    gen = torch.Generator().manual_seed(seed)
    device = next(g.parameters()).device
    rows = g.categorical[0] if g.categorical else 1
    n = rows * steps
    noise = torch.randn(1, g.noise_dim, generator=gen).expand(n, -1).clone()
    if not g.continuous:
        noise = torch.randn(steps, g.noise_dim, generator=gen).repeat(rows, 1)
    cats = [torch.zeros(n, dtype=torch.long) for _ in g.categorical]
    if g.categorical:
        cats[0] = torch.arange(rows).repeat_interleave(steps)
    cont = torch.zeros(n, g.continuous)
    if g.continuous:
        cont[:, code] = torch.linspace(-span, span, steps).repeat(rows)
    z = g.make_latent(noise, cats, cont).to(device)
    return g(z), steps


def check_infogan(cfg: dict[str, Any], data: DataSpec) -> None:
    """Square images at a conv-stack resolution; at least one code; positive category counts."""
    _, res = check_image(cfg, data, "infogan")
    check_conv_resolution(cfg, res, "infogan")
    name = preset_name(cfg, "infogan")
    cats = cfg.get("categorical", [10])
    require(isinstance(cats, list) and all(isinstance(k, int) and k >= 2 for k in cats),
            f"archs.{name}.categorical: expected a list of category counts >= 2, got {cats!r}")
    cont = cfg.get("continuous", 2)
    require(isinstance(cont, int) and cont >= 0, f"archs.{name}.continuous: expected an integer >= 0, got {cont!r}")
    require(bool(cats) or cont > 0, f"archs.{name}: InfoGAN needs at least one categorical or continuous code")


@register_family("infogan", check=check_infogan, figures=True)
def build_infogan(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """Build the InfoGAN generator (structured prior) and the discriminator with its Q head."""
    cats, cont = [int(k) for k in cfg.get("categorical", [10])], int(cfg.get("continuous", 2))
    noise_dim = int(cfg["z_dim"])
    g = InfoGenerator(conv_generator(cfg, data, noise_dim + sum(cats) + cont), noise_dim, cats, cont)
    return g, InfoDiscriminator(cfg, data, cats, cont)
