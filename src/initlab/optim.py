"""Optimizers: update rules applied in place to a network's per-layer parameters.

An optimizer is a small frozen config; ``init(params)`` makes its per-run state and
``step(params, grads, state, learning_rate)`` applies one update, so one config can drive
many runs without sharing state.

Each built-in optimizer writes its arithmetic once, as ``update``: one parameter array, its
gradient and its state arrays, in place. The arrays may be one model's or a stack of models'
(``W`` of shape ``(M, n_out, n_in)``, see :mod:`initlab.network`), with one learning rate or
one per model of shape ``(M, 1, 1)``; :mod:`initlab.engine.batched` steps its whole stack
with the same ``step``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from initlab._registry import Registry
from initlab._validate import check_real
from initlab.network import Layer, Params

Array = NDArray[Any]
LearningRate = float | Array
"""One learning rate, or one per model of a stack: shape ``(M, 1, 1)``."""


def check_learning_rate(learning_rate: float) -> float:
    return check_real(
        "learning_rate", learning_rate, low=0, low_open=True, must="a positive finite float"
    )


def _check_beta(name: str, value: float) -> None:
    check_real(name, value, low=0, high=1, high_open=True, must="in [0, 1)")


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

    def update(self, p: Array, g: Array, learning_rate: LearningRate) -> None:
        """θ ← θ − α·g, in place."""
        p -= learning_rate * g

    def step(self, params: Params, grads: Params, state: None, learning_rate: LearningRate) -> None:
        for layer, grad in zip(params, grads):
            self.update(layer.W, grad.W, learning_rate)
            self.update(layer.b, grad.b, learning_rate)


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

    def update(self, p: Array, g: Array, vel: Array, learning_rate: LearningRate) -> None:
        """v ← β·v + g, θ ← θ − α·v (or α·(g + β·v), Nesterov), in place."""
        vel *= self.beta
        vel += g
        p -= learning_rate * (g + self.beta * vel if self.nesterov else vel)

    def step(
        self, params: Params, grads: Params, state: Params, learning_rate: LearningRate
    ) -> None:
        for layer, grad, v in zip(params, grads, state):
            self.update(layer.W, grad.W, v.W, learning_rate)
            self.update(layer.b, grad.b, v.b, learning_rate)


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
        check_real("eps", self.eps, low=0, low_open=True, finite=False, must="positive")

    def init(self, params: Params) -> AdamState:
        return AdamState(0, _zeros_like(params), _zeros_like(params))

    def update(
        self, p: Array, g: Array, m: Array, v: Array, learning_rate: LearningRate, t: int
    ) -> None:
        """Step ``t`` (from 1) of one array and its moments ``m``, ``v``, in place."""
        c1, c2 = 1 - self.beta1**t, 1 - self.beta2**t
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        p -= learning_rate * (m / c1) / (np.sqrt(v / c2) + self.eps)

    def step(
        self, params: Params, grads: Params, state: AdamState, learning_rate: LearningRate
    ) -> None:
        state.t += 1
        for layer, grad, m, v in zip(params, grads, state.m, state.v):
            self.update(layer.W, grad.W, m.W, v.W, learning_rate, state.t)
            self.update(layer.b, grad.b, m.b, v.b, learning_rate, state.t)


def take_models(state: Params | AdamState | None, index: NDArray[Any]) -> Params | AdamState | None:
    """A built-in optimizer's state for a stack of models, kept at ``index`` (a mask or
    positions along the leading axis): the state of the models that stay in the stack."""
    if state is None:
        return None
    if isinstance(state, AdamState):
        return AdamState(state.t, _take(state.m, index), _take(state.v, index))
    return _take(state, index)


def _take(params: Params, index: NDArray[Any]) -> Params:
    return [Layer(layer.W[index], layer.b[index]) for layer in params]


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
