"""LSUV: layer-sequential unit-variance initialization, a data-dependent scheme.

Mishkin & Matas, "All you need is a good init", ICLR 2016. Start from orthonormal weights
and zero biases; then, layer by layer from the input, feed a batch through the network and
divide ``W[l]`` by the standard deviation of that layer's pre-activations ``Z[l]`` until it is
1 to within ``tol``::

    for l = 1 … L:
        repeat at most max_iter times:
            s = std(Z[l])            Z[l] = W[l]·A[l-1] + b[l] on the batch
            if |s − 1| < tol: stop
            W[l] ← W[l] / s

Because the earlier layers are already scaled, every layer sees inputs of unit scale, whatever
the activation: no gain has to be derived for it.

LSUV resolves its ``base`` initializer through :mod:`initlab.initializers.registry`, so it sits
above the registry and adds itself to it, as ``"lsuv"``, when imported (the package imports it).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from initlab._validate import check_int, check_real
from initlab.initializers.registry import INITIALIZERS, get
from initlab.initializers.schemes import DataDependentInitializer, Initializer
from initlab.network import MLP, Layer, Params
from initlab.rng import RandomSource

__all__ = ["LSUV", "LSUVWarning"]

Array = NDArray[np.float64]


class LSUVWarning(UserWarning):
    """LSUV could not bring a layer to unit variance (zero output, or not converged)."""


@dataclass(frozen=True)
class LSUV:
    """Layer-sequential unit variance (Mishkin & Matas, ICLR 2016).

    Parameters
    ----------
    tol
        Stop rescaling a layer once |std(Z[l]) − 1| < tol.
    max_iter
        At most this many rescalings per layer.
    base
        The initializer drawn first (a name or a config); the paper's is ``"orthogonal"``.
        Biases start, and stay, at zero.

    Use it through :func:`initlab.initializers.init_params`, which passes the batch on:

    >>> from initlab.initializers import init_params
    >>> from initlab.network import MLP, forward
    >>> X = np.random.default_rng(0).standard_normal((200, 2))
    >>> mlp = MLP([2, 16, 16, 1], "tanh")
    >>> params = init_params(mlp, np.random.default_rng(1), "lsuv", X=X)
    >>> [round(float(z.std()), 6) for z in forward(mlp, params, X).Z]
    [1.0, 1.0, 1.0]
    """

    name: ClassVar[str] = "lsuv"
    tol: float = 0.1
    max_iter: int = 10
    base: str | dict[str, Any] = field(default="orthogonal", hash=False)

    def __post_init__(self) -> None:
        tol = check_real("tol", self.tol, low=0.0, low_open=True, must="a positive float")
        object.__setattr__(self, "tol", tol)
        object.__setattr__(self, "max_iter", check_int("max_iter", self.max_iter, 1))
        if not isinstance(self.base, str | dict):
            raise ValueError(
                "Argument `base` must be an initializer name or config. "
                f"Received: base={self.base!r}"
            )
        self._base()

    def _base(self) -> Initializer:
        base = get(self.base)
        if isinstance(base, DataDependentInitializer):
            raise ValueError(
                "Argument `base` must be an initializer of (rng, shape), not a data-dependent "
                f"one. Received: base={self.base!r}"
            )
        return base

    def init_network(self, mlp: MLP, rng: RandomSource, X: Array) -> Params:
        """Every layer's parameters, scaled so each ``Z[l]`` has unit std on the batch ``X``.

        ``X`` holds samples in rows, at least two of them. Layers whose output is constant on
        the batch (std 0: dead ReLUs, constant inputs) are left at the base draw, and an
        :class:`LSUVWarning` names them.
        """
        A = _check_batch(mlp, X).T  # feature-major, as inside initlab.network
        base = self._base()
        params = [
            Layer(np.asarray(base(rng, shape), dtype=np.float64), np.zeros((shape[0], 1)))
            for shape in mlp.weight_shapes()
        ]
        rescaling = _Rescaling(self, "pre-activations")
        for k, layer in enumerate(params):
            std = partial(_preactivation_std, layer, A)
            rescaling.rescale(str(k + 1), std, partial(_divide_weights, layer))
            if k + 1 < mlp.n_layers:
                A = mlp.activation_fns[k].forward(layer.W @ A + layer.b)
        rescaling.warn()
        return params


@dataclass
class _Rescaling:
    """LSUV's loop, layer by layer, and its warnings: shared by :meth:`LSUV.init_network` and
    the PyTorch bridge (:func:`initlab.torch.lsuv_`), which measure and rescale a layer each
    their own way. ``outputs`` names, in the warnings, what is measured."""

    spec: LSUV
    outputs: str
    dead: list[tuple[str, float]] = field(default_factory=list)
    unconverged: list[tuple[str, float]] = field(default_factory=list)

    def rescale(self, layer: str, std: Callable[[], float], divide: Callable[[float], Any]) -> None:
        """Divide the layer's weights by the std of its output, ``divide(std())``, until
        |std − 1| < tol, at most ``max_iter`` times; ``layer`` names it in the warnings."""
        for _ in range(self.spec.max_iter):
            s = std()
            if not s > 0 or not math.isfinite(s):
                self.dead.append((layer, s))
                return
            if abs(s - 1.0) < self.spec.tol:
                return
            divide(s)
        s = std()
        if not abs(s - 1.0) < self.spec.tol:
            self.unconverged.append((layer, s))

    def warn(self) -> None:
        """Warn of the layers left dead or unconverged, as from the caller's caller."""
        if self.dead:
            warnings.warn(
                f"LSUV: {self.outputs} have std 0 (or not finite) on the batch in layer(s) "
                + ", ".join(f"{layer} (std={s})" for layer, s in self.dead)
                + ": dead units or constant inputs. Those layers keep their base "
                f"{self.spec.base!r} weights, unscaled.",
                LSUVWarning,
                stacklevel=3,
            )
        if self.unconverged:
            warnings.warn(
                f"LSUV: |std − 1| ≥ tol={self.spec.tol} after max_iter={self.spec.max_iter} "
                "rescalings in layer(s) "
                + ", ".join(f"{layer} (std={s!r})" for layer, s in self.unconverged),
                LSUVWarning,
                stacklevel=3,
            )


def _preactivation_std(layer: Layer, A: Array) -> float:
    """std of Z = W·A + b over all units and samples (the paper's variance of the blob)."""
    return float(np.std(layer.W @ A + layer.b))


def _divide_weights(layer: Layer, s: float) -> None:
    layer.W = layer.W / s


def _check_batch(mlp: MLP, X: Array) -> Array:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(
            f"LSUV needs a 2-D batch X of shape (n_samples, {mlp.n_features}). "
            f"Received: X with shape {X.shape}"
        )
    if X.shape[1] != mlp.n_features:
        raise ValueError(
            f"LSUV's batch X has {X.shape[1]} features but the network's input layer has "
            f"{mlp.n_features}. Received: X with shape {X.shape}"
        )
    if X.shape[0] < 2:
        raise ValueError(
            f"LSUV needs at least 2 samples to measure a std; got {X.shape[0]} sample"
            f"{'s' if X.shape[0] != 1 else ''}. Received: X with shape {X.shape}"
        )
    if not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(
            f"LSUV's batch X must be finite. Received: X[{bad[0]}, {bad[1]}]="
            f"{float(X[bad[0], bad[1]])!r}"
        )
    return X


def lsuv(tol: float = 0.1, max_iter: int = 10, base: str | dict[str, Any] = "orthogonal") -> LSUV:
    """LSUV, layer-sequential unit variance (Mishkin & Matas, ICLR 2016): :class:`LSUV`."""
    return LSUV(tol=tol, max_iter=max_iter, base=base)


INITIALIZERS.register("lsuv", lsuv, "layer-sequential unit variance, needs a batch (Mishkin 2016)")
