"""The NumPy engine: every model's parameters stacked, trained together with broadcasting.

Layer ``l`` of all ``M`` models is one array ``W[l]`` of shape ``(M, n[l], n[l-1])`` (and
``b[l]``: ``(M, n[l], 1)``), so one ``np.matmul`` does the layer for every model: NumPy loops
over the models in C, calling BLAS for each, instead of Python looping over them. Apart from
that leading axis the arithmetic is :func:`initlab.train.train`'s, written the same way
(``backward_columns``, the losses, the optimizers' updates), so it agrees with the reference
to the last bit or nearly: each model's matrix product is the very BLAS call ``train()``
makes.

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
from scipy import special

from initlab import optim
from initlab.network import MLP, Layer, Params

Array = NDArray[Any]


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
    """The parameters and optimizer state of the models still training, stacked."""

    def __init__(
        self, params_list: Sequence[Params], lrs: Sequence[float], opt: Any, dtype: Any
    ) -> None:
        n_layers = len(params_list[0])
        self.models = np.arange(len(params_list))
        self.W = [np.stack([p[k].W for p in params_list]).astype(dtype) for k in range(n_layers)]
        self.b = [np.stack([p[k].b for p in params_list]).astype(dtype) for k in range(n_layers)]
        self.lr = np.asarray(lrs, dtype=dtype).reshape(-1, 1, 1)
        self.opt = opt
        self.t = 0
        kind = type(opt)
        if kind is optim.Momentum:
            self.state: list[Array] = [np.zeros_like(a) for a in (*self.W, *self.b)]
        elif kind is optim.Adam:
            self.state = [np.zeros_like(a) for a in (*self.W, *self.b) for _ in range(2)]
        else:
            self.state = []
        # Any other optimizer steps each model through its own ``init``/``step``, on views.
        self.custom = kind not in (optim.GradientDescent, optim.Momentum, optim.Adam)
        self.custom_states = (
            [opt.init(self.params(i)) for i in range(len(self.models))] if self.custom else []
        )

    def params(self, i: int) -> Params:
        """Model ``i`` of the stack, as views (writing to them writes to the stack)."""
        return [Layer(W[i], b[i]) for W, b in zip(self.W, self.b)]

    def keep(self, mask: NDArray[np.bool_]) -> None:
        self.models = self.models[mask]
        self.W = [W[mask] for W in self.W]
        self.b = [b[mask] for b in self.b]
        self.lr = self.lr[mask]
        self.state = [s[mask] for s in self.state]
        self.custom_states = [s for s, k in zip(self.custom_states, mask) if k]

    def step(self, dW: list[Array], db: list[Array]) -> None:
        """One update of every model, written as :mod:`initlab.optim` writes it."""
        opt, lr = self.opt, self.lr
        if self.custom:
            for i in range(len(self.models)):
                params = self.params(i)
                grads = [Layer(gW[i], gb[i]) for gW, gb in zip(dW, db)]
                opt.step(params, grads, self.custom_states[i], float(lr[i, 0, 0]))
                for k, layer in enumerate(params):  # in case the step rebinds instead
                    self.W[k][i] = layer.W
                    self.b[k][i] = layer.b
            return
        ps, gs = [*self.W, *self.b], [*dW, *db]
        if isinstance(opt, optim.Momentum):
            for p, g, vel in zip(ps, gs, self.state):
                vel *= opt.beta
                vel += g
                p -= lr * (g + opt.beta * vel if opt.nesterov else vel)
        elif isinstance(opt, optim.Adam):
            self.t += 1
            c1, c2 = 1 - opt.beta1**self.t, 1 - opt.beta2**self.t
            for p, g, mp, vp in zip(ps, gs, self.state[0::2], self.state[1::2]):
                mp *= opt.beta1
                mp += (1 - opt.beta1) * g
                vp *= opt.beta2
                vp += (1 - opt.beta2) * g * g
                p -= lr * (mp / c1) / (np.sqrt(vp / c2) + opt.eps)
        else:
            for p, g in zip(ps, gs):
                p -= lr * g


def _forward(mlp: MLP, stack: _Stack, A0: Array) -> tuple[list[Array], list[Array]]:
    """``forward_columns`` for every model: ``Z[l] = W[l] @ A[l-1] + b[l]``, stacked."""
    Z: list[Array] = []
    A = [A0]
    for W, b, act in zip(stack.W, stack.b, mlp.activation_fns):
        z = W @ A[-1] + b
        Z.append(z)
        A.append(act.forward(z))
    z = stack.W[-1] @ A[-1] + stack.b[-1]
    Z.append(z)
    if mlp.head.n_outputs == 1:
        A.append(mlp.head.activate(z))
    else:  # losses.softmax, per model: over the class axis
        E = np.exp(z - z.max(axis=-2, keepdims=True))
        A.append(E / E.sum(axis=-2, keepdims=True))
    return Z, A


def _cost(mlp: MLP, stack: _Stack, logits: Array, Y: Array, l2: float) -> Array:
    """Each model's mean cross-entropy from its logits (:mod:`initlab.losses`) + L2 term."""
    if mlp.head.n_outputs == 1:
        cost: Array = np.mean(np.logaddexp(0.0, logits) - Y * logits, axis=(-2, -1))
    else:
        lse = special.logsumexp(logits, axis=-2)
        cost = np.mean(lse - np.sum(Y * logits, axis=-2), axis=-1)
    if l2:
        total: Array | float = 0.0
        for W in stack.W:
            total = total + np.sum(W * W, axis=(-2, -1))
        cost = cost + l2 / (2 * Y.shape[1]) * total
    return cost


def _backward(
    mlp: MLP, stack: _Stack, Z: list[Array], A: list[Array], Y: Array, l2: float
) -> tuple[list[Array], list[Array]]:
    """``backward_columns`` for every model (see :mod:`initlab.network`)."""
    m = Y.shape[1]
    dZ = 1.0 / m * (A[-1] - Y)
    dW: list[Array] = []
    db: list[Array] = []
    for k in range(mlp.n_layers - 1, -1, -1):
        A_prev = A[k]
        g = dZ @ np.swapaxes(A_prev, -1, -2)
        if l2:
            g = g + (l2 / m) * stack.W[k]
        dW.append(g)
        db.append(np.sum(dZ, axis=-1, keepdims=True))
        if k > 0:
            act = mlp.activation_fns[k - 1]
            dZ = (np.swapaxes(stack.W[k], -1, -2) @ dZ) * act.derivative(Z[k - 1], A_prev)
    dW.reverse()
    db.reverse()
    return dW, db


def _copy(stack: _Stack, i: int) -> Params:
    return [Layer(W[i].copy(), b[i].copy()) for W, b in zip(stack.W, stack.b)]


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
            Z, A = _forward(mlp, stack, A_batch)
            cost = _cost(mlp, stack, Z[-1], Y_batch, l2)
            finite = np.isfinite(cost)
            if not finite.all():
                for pos in np.flatnonzero(~finite).tolist():
                    model = int(stack.models[pos])
                    outcomes[model] = Outcome(
                        _copy(stack, pos), costs[model], i, True, float(cost[pos]), snapshots[model]
                    )
                stack.keep(finite)
                if not len(stack.models):
                    break
                Z = [z[finite] for z in Z]
                A = [A_batch, *(a[finite] for a in A[1:])]
                cost = cost[finite]
            if i % record_every == 0:
                if batches is not None:
                    cost = _cost(mlp, stack, _forward(mlp, stack, A0)[0][-1], Y, l2)
                for model, c in zip(stack.models.tolist(), cost.tolist()):
                    costs[model].append(c)
            if checkpoint_every is not None and i % checkpoint_every == 0:
                for pos, model in enumerate(stack.models.tolist()):
                    snapshots[model][i] = _copy(stack, pos)
            dW, db = _backward(mlp, stack, Z, A, Y_batch, l2)
            stack.step(dW, db)
        else:
            i = iterations
        for pos, model in enumerate(stack.models.tolist()):
            if checkpoint_every is not None:
                snapshots[model][i] = _copy(stack, pos)
            outcomes[model] = Outcome(
                _copy(stack, pos), costs[model], i, False, None, snapshots[model]
            )
    return [outcome for outcome in outcomes if outcome is not None]
