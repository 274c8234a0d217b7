"""Adversarial losses on discriminator logits, registered by name (minimisation form).

Each loss is a pair: `d(real, fake, targets)` for the discriminator and
`g(fake)` for the generator. `targets` carries the real/fake labels that
label-smoothing and label-noise tricks change; losses without labels (hinge,
Wasserstein) ignore it. Hyperparameters the literature pairs with a loss
(WGAN's RMSprop and clipping, WGAN-GP's penalty and n_critic) live in its
params.yaml preset, not here. `pix2pix` and `cyclegan` are the exact adversarial
objectives of those papers' reference code, scale factors included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F

from gangrid.registry import Registry


@dataclass
class Targets:
    """Discriminator labels for real and fake samples: scalars or per-sample tensors."""

    real: float | torch.Tensor = 1.0
    fake: float | torch.Tensor = 0.0


def _like(target: float | torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(target, dtype=logits.dtype, device=logits.device)
    if t.dim() == 1 and logits.dim() > 1:
        t = t.view(-1, *([1] * (logits.dim() - 1)))
    return t.expand_as(logits)


class GanLoss(Protocol):
    """A registered loss: the discriminator's and the generator's objective."""

    def d(self, real: torch.Tensor, fake: torch.Tensor, targets: Targets) -> torch.Tensor: ...

    def g(self, fake: torch.Tensor) -> torch.Tensor: ...


LOSSES: Registry[GanLoss] = Registry("loss")


def bce_d(real: torch.Tensor, fake: torch.Tensor, targets: Targets) -> torch.Tensor:
    """-E[t_r log D(x) + (1-t_r) log(1-D(x))] - E[t_f log D(G(z)) + (1-t_f) log(1-D(G(z)))]."""
    return F.binary_cross_entropy_with_logits(real, _like(targets.real, real)) + F.binary_cross_entropy_with_logits(
        fake, _like(targets.fake, fake)
    )


@LOSSES.register("minimax")
class Minimax:
    """Goodfellow et al. 2014 with the saturating generator loss E log(1 - D(G(z)))."""

    d = staticmethod(bce_d)

    @staticmethod
    def g(fake: torch.Tensor) -> torch.Tensor:
        return -F.softplus(fake).mean()  # log(1 - sigmoid(l)) = -softplus(l)


@LOSSES.register("ns")
class NonSaturating:
    """Goodfellow et al. 2014 with the non-saturating generator loss -E log D(G(z))."""

    d = staticmethod(bce_d)

    @staticmethod
    def g(fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake).mean()  # -log sigmoid(l) = softplus(-l)


@LOSSES.register("lsgan")
class LeastSquares:
    """Mao et al. 2017 (a=0, b=1, c=1): D 1/2 E(D(x)-1)^2 + 1/2 E D(G(z))^2; G 1/2 E(D(G(z))-1)^2."""

    @staticmethod
    def d(real: torch.Tensor, fake: torch.Tensor, targets: Targets) -> torch.Tensor:
        return 0.5 * ((real - _like(targets.real, real)) ** 2).mean() + 0.5 * ((fake - _like(targets.fake, fake)) ** 2).mean()

    @staticmethod
    def g(fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((fake - 1.0) ** 2).mean()


@LOSSES.register("wasserstein")
class Wasserstein:
    """Arjovsky et al. 2017 critic loss E C(G(z)) - E C(x); G -E C(G(z)). Lipschitz constraint via tricks."""

    @staticmethod
    def d(real: torch.Tensor, fake: torch.Tensor, targets: Targets) -> torch.Tensor:
        return fake.mean() - real.mean()

    @staticmethod
    def g(fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


@LOSSES.register("hinge")
class Hinge:
    """Lim & Ye 2017 / Miyato et al. 2018: D E relu(1 - D(x)) + E relu(1 + D(G(z))); G -E D(G(z))."""

    @staticmethod
    def d(real: torch.Tensor, fake: torch.Tensor, targets: Targets) -> torch.Tensor:
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()

    @staticmethod
    def g(fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


@LOSSES.register("energy")
class Energy:
    """Energy-based GANs (EBGAN, Zhao et al. 2017; BEGAN, Berthelot et al. 2017) on an auto-encoder D whose
    logits are minus the energy E (its reconstruction error): D E_x E(x) = -E l(x); G E_z E(G(z)) = -E l(G(z)).
    D's push on the fakes is its paper's term, a trick: EBGAN's margin [m - E(G(z))]^+ (ebgan_margin),
    BEGAN's -k_t E(G(z)) (began)."""

    @staticmethod
    def d(real: torch.Tensor, fake: torch.Tensor, targets: Targets) -> torch.Tensor:
        return -real.mean()

    @staticmethod
    def g(fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


@LOSSES.register("pix2pix")
class Pix2Pix:
    """Isola et al. 2017 (and their code): the cGAN loss with D's objective halved ("we divide the
    objective by 2 while optimizing D"): D 1/2 [BCE(D(a, b), 1) + BCE(D(a, G(a)), 0)]; G BCE(D(a, G(a)), 1)."""

    @staticmethod
    def d(real: torch.Tensor, fake: torch.Tensor, targets: Targets) -> torch.Tensor:
        return 0.5 * bce_d(real, fake, targets)

    g = staticmethod(NonSaturating.g)


@LOSSES.register("cyclegan")
class CycleGan:
    """Zhu et al. 2017 (and their code): least squares as a plain MSE, G E(D(G(a)) - 1)^2 (no 1/2, so it
    weighs 1 against cycle 10 and identity 5); D 1/2 [E(D(b) - 1)^2 + E D(G(a))^2] (the code halves D)."""

    d = staticmethod(LeastSquares.d)

    @staticmethod
    def g(fake: torch.Tensor) -> torch.Tensor:
        return ((fake - 1.0) ** 2).mean()


def get_loss(name: str, key: str = "") -> GanLoss:
    """The loss registered as `name`."""
    return LOSSES.get(name, key)()
