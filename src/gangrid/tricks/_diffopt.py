"""Differentiable optimiser steps: the update rules of torch's Adam, RMSprop and SGD written as pure
functions of (parameters, gradients, state) that build an autograd graph, so a loss evaluated at the
updated parameters can be differentiated through the updates (the unrolled GAN's surrogate loss).

Each rule follows torch's single-tensor implementation (same formulas, hyperparameters and state
keys), so starting from an optimiser's `state` it produces what `optimizer.step()` would, up to
float rounding. A parameter without a gradient keeps its value and state, as torch skips it.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

Tensors = list[torch.Tensor]
States = list[dict[str, Any]]
TINY = torch.finfo(torch.float32).tiny  # sqrt(v) is taken of max(v, TINY): finite derivative at v = 0


def _sqrt(v: torch.Tensor) -> torch.Tensor:
    """sqrt(v) for v >= 0 whose derivative at 0 is 0, not inf (inf * 0 would be NaN in the graph)."""
    return v.clamp_min(TINY).sqrt()


def _state(state: dict[str, Any], key: str, like: torch.Tensor) -> torch.Tensor:
    """A state tensor (zeros before the first step); kept as it is: after a functional step it carries the
    graph of the earlier updates, which the derivative must go through."""
    value = state.get(key)
    return torch.zeros_like(like) if value is None else value


def _next_step(state: dict[str, Any], like: torch.Tensor) -> torch.Tensor:
    """The step count after this update, as a tensor on `like`'s device (reading it would be a host sync)."""
    step = state.get("step")
    step = torch.zeros((), dtype=like.dtype, device=like.device) if step is None else step.detach().to(like.device, like.dtype)
    return step + 1


def adam(p: torch.Tensor, g: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
    """One Adam step (bias-corrected, L2 weight decay as torch's Adam)."""
    if group.get("amsgrad") or group.get("maximize"):
        raise ValueError("differentiable Adam: amsgrad / maximize are not supported")
    beta1, beta2 = group["betas"]
    step = _next_step(state, p)
    if group.get("weight_decay"):
        g = g + group["weight_decay"] * p
    m = torch.lerp(_state(state, "exp_avg", p), g, 1.0 - beta1)
    v = _state(state, "exp_avg_sq", p) * beta2 + (1.0 - beta2) * g * g
    denom = _sqrt(v) / (1.0 - beta2**step).sqrt() + group["eps"]
    p = p - (group["lr"] / (1.0 - beta1**step)) * m / denom
    return p, {"step": step, "exp_avg": m, "exp_avg_sq": v}


def rmsprop(p: torch.Tensor, g: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
    """One RMSprop step (torch's defaults: not centred, no momentum)."""
    if group.get("centered") or group.get("momentum") or group.get("maximize"):
        raise ValueError("differentiable RMSprop: centered / momentum / maximize are not supported")
    if group.get("weight_decay"):
        g = g + group["weight_decay"] * p
    sq = _state(state, "square_avg", p) * group["alpha"] + (1.0 - group["alpha"]) * g * g
    p = p - group["lr"] * g / (_sqrt(sq) + group["eps"])
    return p, {"step": _next_step(state, p), "square_avg": sq}


def sgd(p: torch.Tensor, g: torch.Tensor, state: dict[str, Any], group: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
    """One SGD step with heavy-ball momentum (no dampening, no Nesterov, as make_optimizer builds it)."""
    if group.get("nesterov") or group.get("dampening") or group.get("maximize"):
        raise ValueError("differentiable SGD: nesterov / dampening / maximize are not supported")
    if group.get("weight_decay"):
        g = g + group["weight_decay"] * p
    new_state: dict[str, Any] = {}
    if group.get("momentum"):
        buf = state.get("momentum_buffer")
        g = g if buf is None else buf * group["momentum"] + g
        new_state["momentum_buffer"] = g
    return p - group["lr"] * g, new_state


RULES: dict[type, Callable[..., tuple[torch.Tensor, dict[str, Any]]]] = {
    torch.optim.Adam: adam, torch.optim.RMSprop: rmsprop, torch.optim.SGD: sgd}


def functional_step(optimizer: torch.optim.Optimizer, params: Tensors, originals: list[torch.nn.Parameter],
                    grads: list[torch.Tensor | None], states: States) -> tuple[Tensors, States]:
    """`optimizer`'s update of `params` (stand-ins for its parameters `originals`) by `grads`, from
    `states`, as new tensors (differentiable); returns (new params, new states)."""
    rule = RULES.get(type(optimizer))
    if rule is None:
        raise ValueError(f"no differentiable update for {type(optimizer).__name__}")
    group_of = {id(p): group for group in optimizer.param_groups for p in group["params"]}
    new_params, new_states = [], []
    for p, orig, g, state in zip(params, originals, grads, states):
        if g is None:
            new_params.append(p)
            new_states.append(state)
            continue
        p, state = rule(p, g, state, group_of[id(orig)])
        new_params.append(p)
        new_states.append(state)
    return new_params, new_states
