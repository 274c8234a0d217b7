"""BEGAN's equilibrium (Berthelot et al. 2017) on an auto-encoder D with reconstruction loss L (its energy):

  L_D = L(x) - k_t L(G(z_D))             (the `energy` loss gives L(x); this trick adds -k_t L(G(z_D)))
  L_G = L(G(z_G))                        (the `energy` loss)
  k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z_G))), 0, 1)
  M_global = L(x) + |gamma L(x) - L(G(z_G))|   (the paper's convergence measure)

k_t starts at `k0` (0 in the paper) and is updated once per iteration, after the G step, from the
last D step's L(x) and the G step's L(G(z_G)). k_t and M_global are logged every logged step
(`began_k`, `began_m_global`: DVCLive curves, `dvc plots show`). gamma is the diversity ratio
E[L(G(z))] / E[L(x)] the controller holds (0.5 in the paper's figures; 0.3 to 0.7 studied);
lambda_k = 0.001 as in the paper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from gangrid.tricks import DBatch, GBatch, Trick, register_trick
from gangrid.tricks._energy import require_energy_d

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def k_update(k: torch.Tensor, loss_real: torch.Tensor, loss_fake: torch.Tensor, gamma: float, lambda_k: float) -> torch.Tensor:
    """k_{t+1} = clip(k_t + lambda_k (gamma L(x) - L(G(z))), 0, 1)."""
    return (k + lambda_k * (gamma * loss_real - loss_fake)).clamp(0.0, 1.0)


def m_global(loss_real: torch.Tensor, loss_fake: torch.Tensor, gamma: float) -> torch.Tensor:
    """BEGAN's convergence measure L(x) + |gamma L(x) - L(G(z))|."""
    return loss_real + (gamma * loss_real - loss_fake).abs()


@register_trick("began")
class Began(Trick):
    """gamma: diversity ratio; lambda_k: k's learning rate; k0: its start value."""

    defaults = {"gamma": 0.5, "lambda_k": 0.001, "k0": 0.0}

    def __init__(self, **hp: Any) -> None:
        super().__init__(**hp)
        self.k = torch.tensor(float(self.hp["k0"]))
        self.loss_real = torch.zeros(())
        self.loss_fake = torch.zeros(())

    def check(self) -> None:
        self.require(0.0 < self.hp["gamma"] <= 1.0, "gamma", "must lie in (0, 1]")
        self.require(self.hp["lambda_k"] >= 0, "lambda_k", "must be >= 0")
        self.require(0.0 <= self.hp["k0"] <= 1.0, "k0", "must lie in [0, 1]")

    def setup(self, trainer: "Trainer") -> None:
        require_energy_d(trainer, self.name)
        self.k = self.k.to(trainer.device)

    def d_penalties(self, trainer: "Trainer", batch: DBatch) -> dict[str, torch.Tensor]:
        self.loss_real = (-batch.real_logits).float().mean().detach()
        return {"began": -self.k * (-batch.fake_logits.float()).mean()}

    def g_penalties(self, trainer: "Trainer", batch: GBatch) -> dict[str, torch.Tensor]:
        self.loss_fake = (-batch.fake_logits).float().mean().detach()
        return {}

    def after_g_step(self, trainer: "Trainer") -> None:
        self.k = k_update(self.k, self.loss_real, self.loss_fake, float(self.hp["gamma"]), float(self.hp["lambda_k"]))

    def log_values(self, trainer: "Trainer") -> dict[str, torch.Tensor]:
        return {"began_k": self.k.detach(), "began_m_global": m_global(self.loss_real, self.loss_fake, float(self.hp["gamma"]))}

    def state_dict(self) -> dict[str, Any]:
        return {"k": self.k.detach().clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "k" in state:
            self.k = state["k"].to(self.k.device).clone()
