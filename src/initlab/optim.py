"""Optimizers: update rules applied in place to a network's per-layer parameters.

An optimizer is a small frozen config; ``init(params)`` makes its per-run state and
``step(params, grads, state, learning_rate)`` applies one update, so one config can drive
many runs without sharing state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol

import numpy as np

from initlab._registry import Registry
from initlab.network import Layer, Params


def check_learning_rate(learning_rate: float) -> float:
    if (
        isinstance(learning_rate, bool)
        or not isinstance(learning_rate, int | float)
        or not math.isfinite(learning_rate)
        or learning_rate <= 0
    ):
        raise ValueError(
            "Argument `learning_rate` must be a positive finite float. "
            f"Received: learning_rate={learning_rate!r}"
        )
    return float(learning_rate)


def _check_beta(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ValueError(f"Argument `{name}` must be in [0, 1). Received: {name}={value!r}")


class Optimizer(Protocol):
    name: ClassVar[str]

    def init(self, params: Params) -> Any: ...

    def step(self, params: Params, grads: Params, state: Any, learning_rate: float) -> None: ...


def _zeros_like(params: Params) -> Params:
    return [Layer(np.zeros_like(layer.W), np.zeros_like(layer.b)) for layer in params]


@dataclass(frozen=True)
class GradientDescent:
    """Plain (stochastic) gradient descent, the course's update: θ ← θ − α·∇θ.

    Full-batch when training uses every example per step, as the notebook does.
    """

    name: ClassVar[str] = "gd"

    def init(self, params: Params) -> None:
        return None

    def step(self, params: Params, grads: Params, state: None, learning_rate: float) -> None:
        for layer, grad in zip(params, grads):
            layer.W -= learning_rate * grad.W
            layer.b -= learning_rate * grad.b


@dataclass(frozen=True)
class Momentum:
    """Heavy-ball momentum in PyTorch's form: v ← β·v + ∇θ, θ ← θ − α·v.

    With ``nesterov=True``: θ ← θ − α·(∇θ + β·v) (Sutskever et al. 2013). The course's
    variant v ← β·v + (1 − β)·∇θ is the same update with α scaled by (1 − β).
    """

    name: ClassVar[str] = "momentum"
    beta: float = 0.9
    nesterov: bool = False

    def __post_init__(self) -> None:
        _check_beta("beta", self.beta)

    def init(self, params: Params) -> Params:
        return _zeros_like(params)

    def step(self, params: Params, grads: Params, state: Params, learning_rate: float) -> None:
        for layer, grad, v in zip(params, grads, state):
            for p, g, vel in ((layer.W, grad.W, v.W), (layer.b, grad.b, v.b)):
                vel *= self.beta
                vel += g
                p -= learning_rate * (g + self.beta * vel if self.nesterov else vel)


@dataclass
class AdamState:
    t: int
    m: Params
    v: Params


@dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba, ICLR 2015) with bias correction:

    m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − α·m̂ / (√v̂ + ε),
    m̂ = m / (1−β₁ᵗ), v̂ = v / (1−β₂ᵗ).
    """

    name: ClassVar[str] = "adam"
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        _check_beta("beta1", self.beta1)
        _check_beta("beta2", self.beta2)
        if not self.eps > 0:
            raise ValueError(f"Argument `eps` must be positive. Received: eps={self.eps!r}")

    def init(self, params: Params) -> AdamState:
        return AdamState(0, _zeros_like(params), _zeros_like(params))

    def step(self, params: Params, grads: Params, state: AdamState, learning_rate: float) -> None:
        state.t += 1
        c1, c2 = 1 - self.beta1**state.t, 1 - self.beta2**state.t
        for layer, grad, m, v in zip(params, grads, state.m, state.v):
            for p, g, mp, vp in (
                (layer.W, grad.W, m.W, v.W),
                (layer.b, grad.b, m.b, v.b),
            ):
                mp *= self.beta1
                mp += (1 - self.beta1) * g
                vp *= self.beta2
                vp += (1 - self.beta2) * g * g
                p -= learning_rate * (mp / c1) / (np.sqrt(vp / c2) + self.eps)


OPTIMIZERS: Registry[type[Any]] = Registry("optimizer")
OPTIMIZERS.register(
    "gd",
    GradientDescent,
    "gradient descent: full-batch (the course's), or mini-batch SGD with a batch size",
    aliases=("sgd",),
)
OPTIMIZERS.register("momentum", Momentum, "SGD with heavy-ball momentum β (PyTorch form)")
OPTIMIZERS.register("adam", Adam, "Adam with bias correction (Kingma & Ba 2015)")


def get(identifier: str | dict[str, Any] | Optimizer) -> Optimizer:
    """Resolve a name, a config ``{"name": ..., **args}`` or an optimizer object."""
    if isinstance(identifier, str):
        optimizer: Optimizer = OPTIMIZERS.get(identifier)()
        return optimizer
    if isinstance(identifier, dict):
        config = dict(identifier)
        name = config.pop("name", None)
        if name is None:
            raise ValueError(f"An optimizer config needs a 'name' key. Received: {identifier!r}")
        try:
            optimizer = OPTIMIZERS.get(name)(**config)
        except TypeError as exc:
            raise ValueError(f"Bad arguments for optimizer {name!r}: {exc}") from None
        return optimizer
    if hasattr(identifier, "step") and hasattr(identifier, "init"):
        return identifier
    raise TypeError(
        f"An optimizer must be a name, a config dict or an object. Received: {identifier!r}"
    )


def get_config(optimizer: Optimizer) -> dict[str, Any]:
    """``{"name": ..., **hyperparameters}``; :func:`get` turns it back into an equal optimizer."""
    hyper = fields(optimizer)  # type: ignore[arg-type]
    return {"name": optimizer.name, **{f.name: getattr(optimizer, f.name) for f in hyper}}
