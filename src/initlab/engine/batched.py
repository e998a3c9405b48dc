"""The NumPy engine: every model's parameters stacked, trained together with broadcasting.

Layer ``l`` of all ``M`` models is one array ``W[l]`` of shape ``(M, n[l], n[l-1])`` (and
``b[l]``: ``(M, n[l], 1)``), so one ``np.matmul`` does the layer for every model: NumPy loops
over the models in C, calling BLAS for each, instead of Python looping over them. The
arithmetic is not rewritten here: :func:`~initlab.network.forward_columns`,
:func:`~initlab.network.backward_columns`, :func:`~initlab.network.cost_columns` and the
optimizers' ``step`` are written for one model or a stack, and this module hands them the
stack. So it agrees with :func:`initlab.train.train` to the last bit or nearly: each model's
matrix product is the very BLAS call ``train()`` makes.

A model whose cost becomes non-finite is taken out of the stack at that iteration, with its
parameters as they are; the others go on. All models see the same mini-batches: those of
``train()`` for the same ``seed``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from initlab import optim
from initlab.network import (
    MLP,
    Cache,
    Layer,
    Params,
    backward_columns,
    cost_columns,
    forward_columns,
)

Array = NDArray[Any]

_BUILT_IN = (optim.GradientDescent, optim.Momentum, optim.Adam)
"""Optimizers whose ``step`` takes a whole stack at once (with a learning rate per model)."""


@dataclass
class Outcome:
    """One model's training, as an engine reports it (before it becomes a ``TrainResult``)."""

    params: Params
    costs: list[float]
    """Full-data cost at iterations 0, record_every, … before ``iterations_run``."""
    iterations_run: int
    diverged: bool
    diverged_cost: float | None = None
    """The non-finite cost at ``iterations_run`` (diverged runs), if the engine has it."""
    snapshots: dict[int, Params] = field(default_factory=dict)


class _Stack:
    """The parameters and optimizer state of the models still training, stacked: each
    ``Layer`` of ``params`` holds every model's ``W`` and ``b`` along a leading axis."""

    def __init__(
        self, params_list: Sequence[Params], lrs: Sequence[float], opt: Any, dtype: Any
    ) -> None:
        n_layers = len(params_list[0])
        self.models = np.arange(len(params_list))
        self.params: Params = [
            Layer(
                np.stack([p[k].W for p in params_list]).astype(dtype),
                np.stack([p[k].b for p in params_list]).astype(dtype),
            )
            for k in range(n_layers)
        ]
        self.lr = np.asarray(lrs, dtype=dtype).reshape(-1, 1, 1)
        self.opt = opt
        # Any other optimizer steps each model through its own ``init``/``step``, on views.
        self.custom = type(opt) not in _BUILT_IN
        self.state: Any = (
            [opt.init(self.model(i)) for i in range(len(self.models))]
            if self.custom
            else opt.init(self.params)
        )

    def model(self, i: int) -> Params:
        """Model ``i`` of the stack, as views (writing to them writes to the stack)."""
        return [Layer(layer.W[i], layer.b[i]) for layer in self.params]

    def copy(self, i: int) -> Params:
        """Model ``i`` of the stack, as copies."""
        return [Layer(layer.W[i].copy(), layer.b[i].copy()) for layer in self.params]

    def keep(self, mask: NDArray[np.bool_]) -> None:
        self.models = self.models[mask]
        self.params = [Layer(layer.W[mask], layer.b[mask]) for layer in self.params]
        self.lr = self.lr[mask]
        if self.custom:
            self.state = [s for s, k in zip(self.state, mask) if k]
        else:
            self.state = optim.take_models(self.state, mask)

    def step(self, grads: Params) -> None:
        """One update of every model: the optimizer's own ``step``, on the whole stack."""
        if not self.custom:
            self.opt.step(self.params, grads, self.state, self.lr)
            return
        for i in range(len(self.models)):
            params = self.model(i)
            own = [Layer(g.W[i], g.b[i]) for g in grads]
            self.opt.step(params, own, self.state[i], float(self.lr[i, 0, 0]))
            for layer, stepped in zip(self.params, params):  # in case the step rebinds instead
                layer.W[i] = stepped.W
                layer.b[i] = stepped.b


def train_stacked(
    mlp: MLP,
    params_list: Sequence[Params],
    A0: Array,
    Y: Array,
    learning_rates: Sequence[float],
    *,
    optimizer: Any,
    iterations: int,
    record_every: int,
    batches: Iterator[NDArray[np.intp]] | None,
    l2: float,
    checkpoint_every: int | None,
    dtype: Any,
    l1: float = 0.0,
) -> list[Outcome]:
    """Train every model of ``params_list`` on feature-major ``A0`` and targets ``Y``.

    The loop is ``train()``'s — forward, cost, divergence check, record, backward, update —
    for all models at once. ``batches`` yields each iteration's example indices (``None``:
    full batch); the recorded cost is always the full-data cost.
    """
    stack = _Stack(params_list, learning_rates, optimizer, dtype)
    A0 = A0.astype(dtype)
    Y = Y.astype(dtype)
    outcomes: list[Outcome | None] = [None] * len(params_list)
    costs: list[list[float]] = [[] for _ in params_list]
    snapshots: list[dict[int, Params]] = [{} for _ in params_list]
    i = 0
    # As in train(): overflow and inf − inf only come from diverging models, which the
    # finite-cost check reports.
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(iterations):
            if batches is None:
                A_batch, Y_batch = A0, Y
            else:
                index = next(batches)
                A_batch, Y_batch = A0[:, index], Y[:, index]
            cache = forward_columns(mlp, stack.params, A_batch)
            cost = cost_columns(mlp, stack.params, cache.logits, Y_batch, l2, l1)
            finite = np.isfinite(cost)
            if not finite.all():
                for pos in np.flatnonzero(~finite).tolist():
                    model = int(stack.models[pos])
                    outcomes[model] = Outcome(
                        stack.copy(pos), costs[model], i, True, float(cost[pos]), snapshots[model]
                    )
                stack.keep(finite)
                if not len(stack.models):
                    break
                cache = Cache(
                    [z[finite] for z in cache.Z], [A_batch, *(a[finite] for a in cache.A[1:])]
                )
                cost = cost[finite]
            if i % record_every == 0:
                if batches is not None:
                    logits = forward_columns(mlp, stack.params, A0).logits
                    cost = cost_columns(mlp, stack.params, logits, Y, l2, l1)
                for model, c in zip(stack.models.tolist(), cost.tolist()):
                    costs[model].append(c)
            if checkpoint_every is not None and i % checkpoint_every == 0:
                for pos, model in enumerate(stack.models.tolist()):
                    snapshots[model][i] = stack.copy(pos)
            stack.step(backward_columns(mlp, stack.params, cache, Y_batch, l2, l1))
        else:
            i = iterations
        for pos, model in enumerate(stack.models.tolist()):
            if checkpoint_every is not None:
                snapshots[model][i] = stack.copy(pos)
            outcomes[model] = Outcome(
                stack.copy(pos), costs[model], i, False, None, snapshots[model]
            )
    return [outcome for outcome in outcomes if outcome is not None]
