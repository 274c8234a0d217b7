"""Experience replay of old fakes (Shrivastava et al. 2017; the CycleGAN image pool).

A buffer of `size` past fake *samples* (not whole batches) feeds D. While it fills, fakes are
stored and used as they are. Once full, each
fake of the D batch is, with probability p, swapped with a random stored one: D sees the
old sample and the new one takes its slot. Slots of one batch are distinct (a random
permutation), so the update is order-independent and deterministic on every device.
Only D's inputs change; G's step uses its fresh fakes. The buffer and its fill count are
saved in checkpoints. Unconditional GANs only: old fakes are stored without their labels or
codes, so class-conditional nets and tricks with `uses_sample_info` are a ConfigError.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from gangrid.errors import ConfigError
from gangrid.tricks import Trick, register_trick
from gangrid.tricks._checks import require_unconditional, run_key

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


class ReplayBuffer:
    """A fixed-size pool of samples with CycleGAN's query rule, vectorised."""

    def __init__(self, size: int, p: float, device: torch.device | str = "cpu") -> None:
        self.size, self.p, self.device = size, p, torch.device(device)
        self.buffer: torch.Tensor | None = None
        self.count = 0  # filled slots (a Python int: no host sync)

    def query(self, fake: torch.Tensor) -> torch.Tensor:
        """The batch D sees for this batch of new fakes; stores the new fakes (detached). The new fakes
        D sees keep their graph (the unrolled GAN's look-ahead differentiates through them)."""
        new = fake.detach()
        if self.buffer is None:
            self.buffer = torch.empty(self.size, *fake.shape[1:], dtype=fake.dtype, device=fake.device)
        b = fake.shape[0]
        if self.count < self.size:  # filling: store what fits, use the new fakes unchanged
            n = min(b, self.size - self.count)
            self.buffer[self.count : self.count + n] = new[:n]
            self.count += n
            return fake
        slots = torch.randperm(self.size, device=fake.device)[:b]
        swap = torch.rand(b, device=fake.device) < self.p
        mask = swap.view(b, *([1] * (fake.dim() - 1)))
        old = self.buffer[slots]
        out = torch.where(mask, old, fake)
        self.buffer[slots] = torch.where(mask, new, old)
        return out

    def state_dict(self) -> dict[str, Any]:
        """Buffer contents and fill count."""
        return {} if self.buffer is None else {"buffer": self.buffer, "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore `state_dict()` (empty = nothing stored yet)."""
        if state:
            self.buffer = state["buffer"].to(self.device, copy=True)
            self.count = int(state["count"])


@register_trick("replay")
class Replay(Trick):
    """size: samples kept (>= the batch size); p: swap probability (0.5)."""

    defaults = {"size": 512, "p": 0.5}
    order = 15  # first input transform: the buffer holds raw fakes

    def check(self) -> None:
        self.require(isinstance(self.hp["size"], int) and self.hp["size"] >= 1, "size", "must be an integer >= 1")
        self.require(0 <= self.hp["p"] <= 1, "p", "must be in [0, 1]")

    def setup(self, trainer: "Trainer") -> None:
        if self.hp["size"] < trainer.batch_size:
            raise ConfigError(f"{run_key(trainer, 'replay')}.size {self.hp['size']} "
                              f"is smaller than train.batch_size {trainer.batch_size}")
        require_unconditional(trainer, "replay")
        self.pool = ReplayBuffer(self.hp["size"], self.hp["p"], trainer.device)

    def d_inputs(self, trainer: "Trainer", real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return real, self.pool.query(fake)

    def state_dict(self) -> dict[str, Any]:
        return self.pool.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pool.load_state_dict(state)
