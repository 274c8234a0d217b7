"""Unrolled GAN (Metz et al. 2017): G is updated against D after k look-ahead D steps.

The surrogate loss is f_K(theta_G, theta_D) = f(theta_G, theta_D^K(theta_G, theta_D)), theta_D^k+1 =
theta_D^k - eta * grad D-loss(theta_G, theta_D^k). Its gradient has two terms: G's gradient through
the K-th D's weights, and the term through the K updates themselves (d theta_D^K / d theta_G), which
the paper credits for the mode-seeking behaviour.

`second_order: true` (the default, the paper's method) builds the K updates as a differentiable
graph: D's loss is evaluated with torch.func-style reparametrised weights, its gradient taken with
create_graph, and D's own optimiser's update rule (Adam / RMSprop / SGD, from its current state)
applied functionally (`_diffopt`); the G step then runs against theta_D^K and its backward goes
through the updates. `second_order: false` (preset `unrolled_fo`) is the first-order variant of most
reimplementations: k ordinary D updates in place, G's gradient through the K-th D's weights only.

Both unroll on the iteration's batch, as the paper's reference code does (its unrolled updates
reuse the minibatch the D update uses): the last D step's real batch and the G step's fakes, z and
labels; every D hook of the other tricks runs in each look-ahead step (penalties, augmentation,
clipping in the first-order variant). The look-ahead leaves no trace: it draws no data, runs no
extra G forward (so G's BatchNorm statistics and StyleGAN's w_avg are untouched), and D's weights,
buffers, gradients and optimiser state as well as the state of the other D-step tricks (the replay
buffer, feature matching's real batch) are put back bit-exactly once the G step is done.
The second-order variant cannot differentiate through in-place D updates (grad_clip, weight_clip):
it refuses them; use `unrolled_fo` there.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator

import torch
from torch import nn
from torch.nn.utils.stateless import _reparametrize_module

from gangrid.errors import ConfigError
from gangrid.tricks import D_STEP_HOOKS, Trick, overrides, register_trick
from gangrid.tricks._checks import run_key
from gangrid.tricks._diffopt import RULES, functional_step

if TYPE_CHECKING:
    from gangrid.kinds.gan.trainer import GanTrainer as Trainer


def _clone(tree: Any) -> Any:
    """A copy of a state tree whose tensors are cloned (lists, tuples and dicts copied, other values shared)."""
    if torch.is_tensor(tree):
        return tree.detach().clone()
    if isinstance(tree, dict):
        return {k: _clone(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_clone(v) for v in tree)
    return tree


class Snapshot:
    """A copy of a module's buffers (and, with `weights`, its parameters, their gradients and its
    optimiser's state), put back in place by `restore` (same tensors, bit-exact)."""

    def __init__(self, module: nn.Module, optimizer: torch.optim.Optimizer, weights: bool) -> None:
        self.params = list(module.parameters()) if weights else []
        self.tensors = self.params + list(module.buffers())
        with torch.no_grad():
            self.saved = [t.detach().clone() for t in self.tensors]
        self.grads = [p.grad for p in self.params]
        self.optimizer = optimizer
        self.opt_state = _clone(dict(optimizer.state)) if weights else None

    @torch.no_grad()
    def restore(self) -> None:
        """Put back the saved values, gradients and optimiser state."""
        if self.tensors:
            torch._foreach_copy_(self.tensors, self.saved)
        for p, g in zip(self.params, self.grads):
            p.grad = g
        if self.opt_state is not None:
            self.optimizer.state.clear()
            self.optimizer.state.update(self.opt_state)


class TrickStates:
    """The attributes and checkpoint state of the tricks whose D-step hooks the look-ahead runs."""

    def __init__(self, tricks: list[Trick]) -> None:
        self.saved = [(t, dict(vars(t)), _clone(t.state_dict())) for t in tricks]

    def restore(self) -> None:
        """Put every trick back as it was (attributes, then its state_dict)."""
        for trick, attrs, state in self.saved:
            vars(trick).update(attrs)
            trick.load_state_dict(_clone(state))


@contextlib.contextmanager
def reparametrized(module: nn.Module, tensors: dict[str, torch.Tensor]) -> Iterator[None]:
    """Inside, `module`'s parameters named in `tensors` are those tensors (graph and all): torch.func's
    functional_call, held open across several calls."""
    with _reparametrize_module(module, tensors):
        yield


@register_trick("unrolled")
class Unrolled(Trick):
    """k: look-ahead D steps before each G step (5 in the paper); second_order: differentiate through
    the k updates (the paper) or not (first-order variant)."""

    defaults = {"k": 5, "second_order": True}
    order = 70

    def check(self) -> None:
        self.require(isinstance(self.hp["k"], int) and self.hp["k"] >= 1, "k", "must be an integer >= 1")
        self.require(isinstance(self.hp["second_order"], bool), "second_order", "must be true or false")

    def setup(self, trainer: "Trainer") -> None:
        self.others = [t for t in trainer.hooks.tricks if t is not self and any(overrides(t, h) for h in D_STEP_HOOKS)]
        trainer._d_params()  # list D's parameters now: inside the look-ahead they are swapped for tensors
        if not self.hp["second_order"]:
            return
        in_place = [t.name for t in self.others if overrides(t, "before_d_optim") or overrides(t, "after_d_step")]
        if in_place:
            raise ConfigError(f"{run_key(trainer, 'unrolled')}: second_order cannot differentiate through the in-place D "
                              f"updates of {', '.join(in_place)}; use second_order: false (preset unrolled_fo)")
        if trainer.opt_d is not None and type(trainer.opt_d) not in RULES:
            raise ConfigError(f"{run_key(trainer, 'unrolled')}: second_order has no differentiable update for "
                              f"{type(trainer.opt_d).__name__}")

    def g_step_context(self, trainer: "Trainer", fake: torch.Tensor, z: torch.Tensor,
                       y_fake: torch.Tensor | None) -> contextlib.AbstractContextManager[None]:
        return self.look_ahead(trainer, fake, z, y_fake)

    @contextlib.contextmanager
    def look_ahead(self, trainer: "Trainer", fake: torch.Tensor, z: torch.Tensor,
                   y_fake: torch.Tensor | None) -> Iterator[None]:
        """D after k look-ahead steps on the iteration's batch, for the G step inside; then D as it was."""
        real = (trainer.last_real, trainer.last_y)
        d_saved = Snapshot(trainer.d, trainer.opt_d, weights=not self.hp["second_order"])
        others = TrickStates(self.others)
        try:
            if self.hp["second_order"]:
                unrolled = self.unroll(trainer, real, fake, y_fake, z)
                others.restore()
                with reparametrized(trainer.d, unrolled):
                    yield
            else:
                for _ in range(self.hp["k"]):
                    trainer.d_step(fake, y_fake, z, real=real)
                others.restore()
                yield
        finally:
            d_saved.restore()

    def unroll(self, trainer: "Trainer", real: tuple[torch.Tensor, torch.Tensor | None], fake: torch.Tensor,
               y_fake: torch.Tensor | None, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """theta_D^k as tensors with a graph to G's parameters (through `fake`), by name."""
        named = [(n, p) for n, p in trainer.d.named_parameters() if p.requires_grad]
        names, originals = [n for n, _ in named], [p for _, p in named]
        params = [p.detach().requires_grad_(True) for p in originals]
        states = [dict(trainer.opt_d.state.get(p, {})) for p in originals]
        for _ in range(self.hp["k"]):
            with reparametrized(trainer.d, dict(zip(names, params))):
                total, _ = trainer.d_loss(real[0], real[1], fake, y_fake, z)
            grads = torch.autograd.grad(total, params, create_graph=True, allow_unused=True)
            params, states = functional_step(trainer.opt_d, params, originals, list(grads), states)
        return dict(zip(names, params))
