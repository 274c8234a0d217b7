"""Build-time checks shared by tricks: does D have a layer, do G/D consume labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from gangrid.errors import ConfigError

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def run_key(trainer: "Trainer", trick: str) -> str:
    """`tricks of run <name>: <trick>`, the prefix of a trick's build-time error."""
    return f"tricks of run {trainer.config['run']['name']}: {trick}"


def require_module(trainer: "Trainer", cls: type, trick: str, option: str) -> None:
    """ConfigError unless D contains a `cls` layer (i.e. the arch family honoured `option`)."""
    if not any(isinstance(m, cls) for m in trainer.d.modules()):
        raise ConfigError(
            f"{run_key(trainer, trick)} needs the discriminator option '{option}', "
            f"which arch family '{trainer.config['arch'].get('family')}' does not support"
        )


@torch.no_grad()
def _needs_labels(net: torch.nn.Module, x: torch.Tensor) -> bool:
    was_training = net.training
    net.eval()  # no batch-norm statistics or power-iteration updates
    try:
        net(x, None)
    except ValueError:  # the families' convention: "conditional ... needs labels y"
        return True
    except (RuntimeError, TypeError):
        return False  # another shape (e.g. structured latents): not a label question
    finally:
        net.train(was_training)
    return False


def d_needs_labels(trainer: "Trainer") -> bool:
    """True when the run's discriminator is class-conditional (it refuses to score without labels)."""
    if not trainer.data.n_classes:
        return False
    return _needs_labels(trainer.d, torch.zeros(1, *trainer.data.shape, device=trainer.device))


def require_unconditional(trainer: "Trainer", trick: str) -> None:
    """ConfigError when G or D is class-conditional, or another trick of the run pairs fakes with
    per-sample side information (labels, latent codes): `trick` changes which fake sits where."""
    others = [t.name for t in trainer.hooks.tricks if getattr(t, "uses_sample_info", False)]
    if others:
        raise ConfigError(f"{run_key(trainer, trick)} cannot be combined with {', '.join(others)} "
                          f"(they pair each fake with its label or code)")
    if not trainer.data.n_classes:
        return
    d_probe = torch.zeros(1, *trainer.data.shape, device=trainer.device)
    g_probe = torch.zeros(1, trainer.z_dim, device=trainer.device)
    if _needs_labels(trainer.d, d_probe) or _needs_labels(trainer.g, g_probe):
        raise ConfigError(f"{run_key(trainer, trick)} needs an unconditional GAN, but arch "
                          f"'{trainer.config['arch'].get('name')}' uses class labels")
