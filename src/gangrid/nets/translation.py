"""Networks of image-to-image translation: U-Net and ResNet generators, PatchGAN discriminator.

pix2pix (Isola et al. 2017): U-Net generator whose decoder
concatenates the encoder feature map of the same resolution (C64-C128-C256-C512...
encoder, LeakyReLU 0.2, no norm on the outermost and innermost encoder layers; decoder
ReLU, ConvT, norm, dropout 0.5 in the `dropout_layers` innermost decoder layers, tanh
output). The paper keeps dropout on at test time (its only source of noise), so the
dropout layers here stay active in eval mode unless `dropout_at_test: false`.

CycleGAN (Zhu et al. 2017): ResNet generator c7s1-64,
two stride-2 convs, `n_blocks` residual blocks (6 at 128 px, 9 at 256 px; Conv-IN-ReLU-
Conv-IN + x, reflection padding), two ConvT, c7s1-C, tanh; instance norm.

PatchGAN: C64 (stride 2, no norm) - `d_layers - 1` more stride-2 convs (channels x2, at
most x8) - one stride-1 conv - a stride-1 conv to one logit per patch, kernel `d_kernel`,
LeakyReLU 0.2. Receptive field 1 + (k - 1)(3 * 2^n - 1): 70 x 70 for n = 3, k = 4
(a 30 x 30 grid at 256 px); for small images use fewer layers (n = 1: 16 px, n = 0: 7 px).

Families (registered in `gangrid.nets`): `pix2pix` (G = {"ab": U-Net}, D = {"ab":
PatchGAN on concat(input, output)}) and `cyclegan` (G = {"ab": G, "ba": F}, D = {"ab":
D_B, "ba": D_A}, unconditional). Both nets are `Directions` (a ModuleDict keyed by
translation direction). The generator type is an arch option (`g: unet | resnet`), as
in the reference implementation, so both families can use either generator.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gangrid.errors import ConfigError
from gangrid.nets import DataSpec, DOut, register_family, require
from gangrid.nets.common import NORMS, dcgan_init, norm2d

TRANSLATION_KINDS = ("paired", "unpaired")
GENERATORS = ("unet", "resnet")


class InferenceDropout(nn.Module):
    """Dropout that stays on in eval mode when `at_test` (pix2pix's source of stochasticity)."""

    def __init__(self, p: float, at_test: bool = True) -> None:
        super().__init__()
        self.p, self.at_test = p, at_test

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.p, training=self.training or self.at_test)

    def extra_repr(self) -> str:
        return f"p={self.p}, at_test={self.at_test}"


def _bias(norm: str) -> bool:
    """Convs followed by batch norm need no bias (its shift replaces it)."""
    return norm != "batch"


class UNetGenerator(nn.Module):
    """pix2pix's U-Net: `depth` stride-2 encoder convs and a mirrored decoder with concatenating skips."""

    def __init__(self, c_in: int, c_out: int, ngf: int = 64, depth: int = 8, norm: str = "batch",
                 dropout: float = 0.5, dropout_layers: int = 3, dropout_at_test: bool = True, max_mult: int = 8) -> None:
        super().__init__()
        self.depth = depth
        self.channels = [ngf * min(2**i, max_mult) for i in range(depth)]
        ch, bias = self.channels, _bias(norm)
        self.down = nn.ModuleList()
        for i in range(depth):
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            layers.append(nn.Conv2d(c_in if i == 0 else ch[i - 1], ch[i], 4, 2, 1, bias=bias or i == 0))
            if 0 < i < depth - 1:  # no norm on the outermost and on the innermost (1 x 1 at full depth) layer
                layers.append(norm2d(norm, ch[i]))
            self.down.append(nn.Sequential(*layers))
        self.up = nn.ModuleList()  # up[i] maps level i (resolution / 2^(i+1)) to level i - 1
        for i in range(depth):
            c_up = ch[i] if i == depth - 1 else 2 * ch[i]  # innermost: no skip to concatenate
            if i == 0:
                layers = [nn.ReLU(), nn.ConvTranspose2d(c_up, c_out, 4, 2, 1), nn.Tanh()]
            else:
                layers = [nn.ReLU(), nn.ConvTranspose2d(c_up, ch[i - 1], 4, 2, 1, bias=bias), norm2d(norm, ch[i - 1])]
                if dropout > 0 and depth - 1 - i < dropout_layers:
                    layers.append(InferenceDropout(dropout, dropout_at_test))
            self.up.append(nn.Sequential(*layers))

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The encoder's feature maps, outermost first (the skips)."""
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
        return skips

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = self.encode(x)
        h = self.up[-1](skips[-1])
        for i in range(self.depth - 2, -1, -1):
            h = self.up[i](torch.cat([h, skips[i]], dim=1))
        return h


class ResnetBlock(nn.Module):
    """Conv3-norm-ReLU-(dropout)-Conv3-norm with reflection padding, plus the identity."""

    def __init__(self, channels: int, norm: str, dropout: float = 0.0) -> None:
        super().__init__()
        bias = _bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias),
                                   norm2d(norm, channels), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm2d(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator: c7s1, `n_down` stride-2 convs, `n_blocks` residual blocks, `n_down` ConvT, c7s1, tanh."""

    def __init__(self, c_in: int, c_out: int, ngf: int = 64, n_blocks: int = 9, norm: str = "instance",
                 n_down: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        bias = _bias(norm)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(c_in, ngf, 7, bias=bias), norm2d(norm, ngf), nn.ReLU()]
        for i in range(n_down):
            m = 2**i
            layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, 2, 1, bias=bias), norm2d(norm, ngf * m * 2), nn.ReLU()]
        m = 2**n_down
        layers += [ResnetBlock(ngf * m, norm, dropout) for _ in range(n_blocks)]
        for i in range(n_down):
            m = 2 ** (n_down - i)
            layers += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, 2, 1, output_padding=1, bias=bias),
                       norm2d(norm, ngf * m // 2), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, c_out, 7), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _padding(kernel: int) -> int:
    return (kernel - 1) // 2


def receptive_field(n_layers: int, kernel: int = 4) -> int:
    """Receptive field (pixels) of one PatchGAN output: 1 + (k - 1)(3 * 2^n - 1); 70 for n=3, k=4."""
    return 1 + (kernel - 1) * (3 * 2**n_layers - 1)


def patch_grid(size: int, n_layers: int, kernel: int = 4) -> int:
    """Side of the PatchGAN output grid for an input of side `size` (30 for 256 px, n=3, k=4)."""
    p = _padding(kernel)
    for _ in range(n_layers):
        size = (size + 2 * p - kernel) // 2 + 1
    for _ in range(2):
        size = size + 2 * p - kernel + 1
    return size


class PatchDiscriminator(nn.Module):
    """PatchGAN: a grid of real/fake logits, one per overlapping patch of the input."""

    def __init__(self, c_in: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch", kernel: int = 4,
                 max_mult: int = 8) -> None:
        super().__init__()
        p, bias = _padding(kernel), _bias(norm)
        layers: list[nn.Module] = []
        c_prev = c_in
        for i in range(n_layers + 1):  # n_layers stride-2 convs, then one stride-1 conv
            c = ndf * min(2**i, max_mult)
            layers.append(nn.Conv2d(c_prev, c, kernel, 2 if i < n_layers else 1, p, bias=bias or i == 0))
            if i > 0:
                layers.append(norm2d(norm, c))
            layers.append(nn.LeakyReLU(0.2))
            c_prev = c
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(c_prev, 1, kernel, 1, p)
        self.n_layers, self.kernel = n_layers, kernel

    @property
    def receptive_field(self) -> int:
        """Receptive field of one output logit, in input pixels."""
        return receptive_field(self.n_layers, self.kernel)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOut:
        f = self.body(x)
        return DOut(self.head(f), f.mean(dim=(2, 3)))


class Directions(nn.ModuleDict):
    """Networks keyed by translation direction: "ab" (A -> B) and, for CycleGAN, "ba" (B -> A).

    For discriminators the key is the direction whose outputs they judge: D["ab"] is
    D_B (domain B), D["ba"] is D_A.
    """

    conditional: bool = False  # discriminators: do they see concat(input, output)?


# --- families ---------------------------------------------------------------------------------

FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "pix2pix": {"g": "unet", "norm": "batch", "dropout": 0.5, "conditional_d": True},
    "cyclegan": {"g": "resnet", "norm": "instance", "dropout": 0.0, "conditional_d": False},
}
COMMON_DEFAULTS: dict[str, Any] = {
    "g_ch": 64, "d_ch": 64, "depth": None, "dropout_layers": 3, "dropout_at_test": True, "n_blocks": None,
    "n_down": 2, "d_layers": 3, "d_kernel": 4,
}


def arch_options(family: str, cfg: dict[str, Any], data: DataSpec) -> dict[str, Any]:
    """The family's options with defaults filled in (U-Net depth: down to 1 x 1; ResNet blocks: 9 from 256 px, else 6)."""
    opts = {**COMMON_DEFAULTS, **FAMILY_DEFAULTS[family], **{k: v for k, v in cfg.items() if k in COMMON_DEFAULTS
                                                           or k in FAMILY_DEFAULTS[family]}}
    side = min(data.shape[1:]) if len(data.shape) == 3 else 0
    if opts["depth"] is None:
        opts["depth"] = max(1, int(math.log2(side))) if side else 1
    if opts["n_blocks"] is None:
        opts["n_blocks"] = 9 if side >= 256 else 6
    return opts


BOOKKEEPING_KEYS = ("name", "family", "z_dim")


def _check(family: str, cfg: dict[str, Any], data: DataSpec) -> None:
    key = f"archs.{cfg.get('name', '<arch>')}"
    known = set(COMMON_DEFAULTS) | set(FAMILY_DEFAULTS[family]) | set(BOOKKEEPING_KEYS)
    unknown = sorted(set(cfg) - known)
    require(not unknown, f"{key}: unknown option(s) {', '.join(unknown)} for family '{family}' "
                         f"(known: {', '.join(sorted(known - set(BOOKKEEPING_KEYS)))})")
    require(len(data.shape) == 3, f"{key}: family '{family}' needs images, not {data.kind} data")
    o = arch_options(family, cfg, data)
    _, h, w = data.shape
    require(o["g"] in GENERATORS, f"{key}.g: unknown generator '{o['g']}' (known: {', '.join(GENERATORS)})")
    require(o["norm"] in NORMS, f"{key}.norm: unknown norm '{o['norm']}' (known: {', '.join(NORMS)})")
    for name in ("g_ch", "d_ch", "depth", "n_down", "d_kernel"):
        require(isinstance(o[name], int) and o[name] >= 1, f"{key}.{name}: must be an integer >= 1 (got {o[name]!r})")
    for name in ("n_blocks", "d_layers", "dropout_layers"):
        require(isinstance(o[name], int) and o[name] >= 0, f"{key}.{name}: must be an integer >= 0 (got {o[name]!r})")
    require(0 <= o["dropout"] < 1, f"{key}.dropout: must be in [0, 1) (got {o['dropout']!r})")
    if o["g"] == "unet":
        f = 2 ** o["depth"]
        require(h % f == 0 and w % f == 0, f"{key}.depth: a U-Net of depth {o['depth']} needs sides divisible by {f} (images are {h}x{w})")
    else:
        f = 2 ** o["n_down"]
        require(h % f == 0 and w % f == 0 and min(h, w) > 3,
                f"{key}.n_down: a ResNet generator with {o['n_down']} downsamplings needs sides divisible by {f} (images are {h}x{w})")
        require(min(h, w) // f > 1, f"{key}.n_down: {o['n_down']} downsamplings leave {min(h, w) // f} px for the residual blocks")
    grid = patch_grid(min(h, w), o["d_layers"], o["d_kernel"])
    require(grid >= 1, f"{key}.d_layers: a PatchGAN with {o['d_layers']} stride-2 layers has no output at {h}x{w} px")
    if family == "cyclegan":
        require(not o["conditional_d"], f"{key}.conditional_d: CycleGAN's discriminators are unconditional")


def require_translation_data(family: str, cfg: dict[str, Any], data: DataSpec) -> None:
    """ConfigError unless the nets are built for an image-to-image set (a study with kind: translation)."""
    if data.kind not in TRANSLATION_KINDS:
        raise ConfigError(f"archs.{cfg.get('name', '<arch>')}: family '{family}' translates images; use it in a "
                          f"study with kind: translation on a paired or unpaired dataset (this data is '{data.kind}')")


def make_generator(o: dict[str, Any], c_in: int, c_out: int) -> nn.Module:
    """A U-Net or ResNet generator from resolved arch options."""
    if o["g"] == "unet":
        return UNetGenerator(c_in, c_out, o["g_ch"], o["depth"], o["norm"], o["dropout"], o["dropout_layers"],
                             o["dropout_at_test"])
    return ResnetGenerator(c_in, c_out, o["g_ch"], o["n_blocks"], o["norm"], o["n_down"], o["dropout"])


def make_discriminator(o: dict[str, Any], channels: int) -> PatchDiscriminator:
    """A PatchGAN from resolved arch options."""
    return PatchDiscriminator(channels, o["d_ch"], o["d_layers"], o["norm"], o["d_kernel"])


def _build(family: str, cfg: dict[str, Any], data: DataSpec, directions: tuple[str, ...]) -> tuple[nn.Module, nn.Module]:
    require_translation_data(family, cfg, data)
    _check(family, cfg, data)
    o = arch_options(family, cfg, data)
    c = data.shape[0]
    g = Directions({d: make_generator(o, c, c) for d in directions})
    d = Directions({k: make_discriminator(o, 2 * c if o["conditional_d"] else c) for k in directions})
    d.conditional = bool(o["conditional_d"])
    dcgan_init(g)
    dcgan_init(d)
    return g, d


@register_family("pix2pix", check=lambda cfg, data: _check("pix2pix", cfg, data), study_kind="translation")
def build_pix2pix(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """pix2pix: G = {"ab": U-Net}, D = {"ab": PatchGAN on concat(input, output)} (paired data)."""
    return _build("pix2pix", cfg, data, ("ab",))


@register_family("cyclegan", check=lambda cfg, data: _check("cyclegan", cfg, data), study_kind="translation")
def build_cyclegan(cfg: dict[str, Any], data: DataSpec) -> tuple[nn.Module, nn.Module]:
    """CycleGAN: G = {"ab": G, "ba": F} (ResNet), D = {"ab": D_B, "ba": D_A} (unconditional PatchGANs)."""
    return _build("cyclegan", cfg, data, ("ab", "ba"))


TRANSLATION_FAMILIES = ("pix2pix", "cyclegan")
