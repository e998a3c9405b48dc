"""initlab for PyTorch models: initialize, LSUV, and record per-layer statistics.

Needs PyTorch: ``pip install "initlab[torch]"``. This module is ``initlab.torch``; it imports
PyTorch itself with an absolute ``import torch``, so the two never clash.

Which layers, and their fans
----------------------------
:func:`init_` initializes every ``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d`` and ``nn.Conv3d``
in a module (:func:`weight_layers`), in module order. Their weights are stored exactly in
initlab's layout, so the initializer is given the parameter's own shape:

======================  ==================================  ============================
layer                   weight shape                        initlab's fans
======================  ==================================  ============================
``Linear(in, out)``     ``(out, in)``                       fan_in = in, fan_out = out
``ConvNd(in, out, k)``  ``(out, in / groups, *k)``          fan_in = (in/groups)·∏k,
                                                            fan_out = out·∏k
======================  ==================================  ============================

which is also what ``torch.nn.init`` computes for them. Weights are drawn in float64 and
copied into the parameter, keeping its dtype and device, without autograd tracking; each
layer's weight is drawn before its bias (shape ``(out, 1)``, initlab's bias shape, then
flattened), as :func:`initlab.initializers.init_params` does.

``nn.ConvTranspose*`` are skipped, with a :class:`SkippedLayerWarning`: their weight is
stored ``(in, out / groups, *k)``, and ``torch.nn.init`` applies the same fan formula to it
anyway, which calls the *output* channels the fan-in; the fan that preserves a transposed
convolution's forward variance also depends on its stride. Neither convention is clearly
right, so initlab leaves those layers as they are rather than pick one silently. Other
parameterised modules (embeddings, normalisation, recurrent layers, attention) are not
touched.

Recording: what maps to what
----------------------------
:func:`record` runs a batch through the model with forward hooks and returns initlab's
:class:`~initlab.diagnostics.Records`, so :func:`~initlab.diagnostics.diagnose`,
:func:`~initlab.diagnostics.verdict` and :func:`~initlab.plots.plot_activation_histograms`
work on PyTorch models unchanged:

- a *layer* is one Linear/Conv module, numbered from 1 in the order the forward pass first
  calls it; the last one called is the ``"output"`` layer;
- ``Z`` (pre-activation) is that module's output;
- ``A`` (activation) is the output of the first activation module (``nn.ReLU``, ``nn.Tanh``,
  ``nn.Sigmoid``, ``nn.Softmax``, … anything in ``torch.nn.modules.activation``) called after
  it and before the next layer; ``activation`` is its initlab name (``"relu"``, ``"tanh"``,
  …) or its lower-cased class name. Modules in between (dropout, normalisation, pooling) are
  passed over. With no activation module (``F.relu`` called in ``forward``, or none at all),
  ``A = Z`` and the activation is ``"linear"`` — except for the output layer, whose logits go
  through initlab's head, as a torch model trained with ``BCEWithLogitsLoss`` or
  ``CrossEntropyLoss`` would: a sigmoid for one output unit, a softmax over the units for
  more (``head="auto"``; ``head="linear"`` keeps ``A = Z``);
- a *unit* is an output feature of a Linear (its last dimension) or an output channel of a
  Conv (dimension 1); ``width`` counts them, ``dead_fraction`` is the fraction of units never
  positive anywhere in the batch, and ``distinct_units`` compares the units' weight rows
  (the weight reshaped to ``(units, -1)``) and biases;
- gradient norms ‖∂L/∂W‖ and ‖∂L/∂b‖ are recorded when labels ``y`` are given: the loss is
  ``loss_fn(model(X), y)``, or by default initlab's mean cross-entropy on the output layer's
  logits (binary from one unit, categorical from K); without ``y`` they are NaN, as are
  ``infinite_loss_fraction`` and ``update_ratio`` (there is no update).

A module that the forward pass calls more than once (shared weights) is recorded at its
first call only.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from initlab import initializers, losses
from initlab.diagnostics import (
    HISTOGRAM_BINS,
    Records,
    _frobenius,
    measure_layer,
)
from initlab.initializers.lsuv import LSUV, LSUVWarning, _Rescaling
from initlab.rng import RandomSource, check_seed, streams

Array = NDArray[np.float64]
WeightLayer = nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d
Generator = int | np.random.Generator | np.random.RandomState | None

WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
"""The module types :func:`init_`, :func:`lsuv_` and :func:`record` work on."""

SKIPPED_LAYERS: tuple[type[nn.Module], ...] = (
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)
"""Transposed convolutions: no clear fan convention, left alone (see the module docstring)."""

ACTIVATION_NAMES: dict[type[nn.Module], str] = {
    nn.ReLU: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.ELU: "elu",
    nn.SELU: "selu",
    nn.GELU: "gelu",
    nn.Tanh: "tanh",
    nn.Sigmoid: "sigmoid",
    nn.Softmax: "softmax",
}
"""initlab's names for PyTorch's activation modules; others go by their lower-cased class name."""


class SkippedLayerWarning(UserWarning):
    """:func:`init_` left some layers as they were (transposed convolutions)."""


# --- which layers --------------------------------------------------------------------------


def weight_layers(module: nn.Module) -> list[tuple[str, WeightLayer]]:
    """The ``(name, layer)`` of every Linear and Conv1d/2d/3d in ``module``, in module order.

    >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
    >>> [name for name, _ in weight_layers(model)]
    ['0', '3']
    """
    found: list[tuple[str, WeightLayer]] = []
    for name, sub in module.named_modules():
        if isinstance(sub, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d):
            if nn.parameter.is_lazy(sub.weight):
                raise ValueError(
                    f"Layer {name or type(sub).__name__!r} ({type(sub).__name__}) has not been "
                    "materialised yet: run one forward pass before initializing it"
                )
            found.append((name, sub))
    return found


def _rng(generator: Generator) -> RandomSource:
    """An int seed → the ``init`` stream of :func:`initlab.rng.streams`; a NumPy generator as
    is; ``None`` → a fresh ``default_rng()`` seeded from the operating system."""
    if generator is None:
        return np.random.default_rng()
    if isinstance(generator, np.random.Generator | np.random.RandomState):
        return generator
    if isinstance(generator, int | np.integer) and not isinstance(generator, bool):
        seed = check_seed(int(generator))
        assert isinstance(seed, int)
        return streams(seed).init
    raise TypeError(
        "Argument `generator` must be an int seed ≥ 0, a numpy.random.Generator (or "
        f"RandomState) or None. Received: generator={generator!r}"
    )


def _as_batch(model: nn.Module, X: Any) -> torch.Tensor:
    """``X`` as a tensor of the model's floating dtype, on the model's device."""
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else None
    device = param.device if param is not None else None
    return torch.as_tensor(X, dtype=dtype or torch.get_default_dtype(), device=device)


# --- init_ ---------------------------------------------------------------------------------


def init_(
    module: nn.Module,
    init: initializers.Identifier = "he_normal",
    bias_init: initializers.Identifier = "zeros",
    generator: Generator = None,
    X: Any = None,
) -> nn.Module:
    """Initialize every Linear and Conv1d/2d/3d of ``module`` in place; returns ``module``.

    ``init`` and ``bias_init`` are any initlab initializer: a registered name, a config such
    as ``{"name": "kaiming_normal", "mode": "fan_out", "nonlinearity": "relu"}``, or an
    initializer object. Weights are drawn with the parameter's shape — initlab's
    ``(fan_out, fan_in, *receptive_field)`` layout, which PyTorch shares — layer after layer
    in module order, each weight before its bias, from one generator: an int seed (its
    :func:`initlab.rng.streams` ``init`` stream), a ``numpy.random.Generator`` or ``None``
    (fresh OS entropy). ``"lsuv"`` (or an :class:`~initlab.initializers.LSUV`) needs a batch
    ``X`` and runs :func:`lsuv_`. Transposed convolutions are skipped with a
    :class:`SkippedLayerWarning` (see the module docstring).

    >>> layer = init_(nn.Linear(300, 200), "kaiming_normal", generator=0)
    >>> round(float(layer.weight.detach().std()) * 300**0.5, 1)  # σ = √2 / √fan_in
    1.4
    >>> bool((layer.bias == 0).all())
    True
    """
    w_init = initializers.get(init)
    b_init = initializers.get(bias_init)
    if isinstance(w_init, initializers.DataDependentInitializer):
        if not isinstance(w_init, LSUV):
            raise ValueError(
                f"Initializer {getattr(w_init, 'name', w_init)!r} is data-dependent and has no "
                "PyTorch implementation; the one that has is 'lsuv'"
            )
        if X is None:
            raise ValueError("Initializer 'lsuv' is data-dependent: pass a batch of inputs X")
        return lsuv_(
            module, X, tol=w_init.tol, max_iter=w_init.max_iter, base=w_init.base,
            generator=generator,
        )  # fmt: skip
    if isinstance(b_init, initializers.DataDependentInitializer):
        raise ValueError(
            f"Argument `bias_init` cannot be data-dependent. Received: bias_init={bias_init!r}"
        )
    layers = weight_layers(module)
    skipped = [
        name or type(sub).__name__
        for name, sub in module.named_modules()
        if isinstance(sub, SKIPPED_LAYERS)
    ]
    if skipped:
        warnings.warn(
            f"initlab.torch.init_ left transposed convolution(s) {skipped} as they were: "
            "their fan convention is ambiguous (see initlab.torch's documentation)",
            SkippedLayerWarning,
            stacklevel=2,
        )
    if not layers and not skipped:
        raise ValueError(
            f"{type(module).__name__} holds no Linear or Conv1d/2d/3d layer to initialize"
        )
    rng = _rng(generator)
    with torch.no_grad():
        for _, layer in layers:
            _copy(layer.weight, w_init(rng, tuple(layer.weight.shape)))
            if layer.bias is not None:
                _copy(layer.bias, b_init(rng, (layer.bias.shape[0], 1)))
    return module


def _copy(param: torch.Tensor, values: NDArray[Any]) -> None:
    """Copy ``values`` into ``param`` (same number of elements), keeping its dtype and device."""
    source = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64))
    param.copy_(source.reshape(param.shape))


# --- LSUV ----------------------------------------------------------------------------------


class _Stop(Exception):
    """Raised by a hook once the layer it watches has run: the rest of the forward pass is
    not needed."""


def _layer_output_std(model: nn.Module, layer: nn.Module, X: torch.Tensor) -> float:
    """Population std of ``layer``'s output over the whole batch (all units and samples)."""
    seen: list[float] = []

    def hook(mod: nn.Module, args: Any, output: torch.Tensor) -> None:
        seen.append(float(output.detach().to(torch.float64).std(correction=0)))
        raise _Stop

    handle = layer.register_forward_hook(hook)
    try:
        model(X)
    except _Stop:
        pass
    finally:
        handle.remove()
    if not seen:
        raise RuntimeError(f"The forward pass never called layer {layer}")
    return seen[0]


def execution_order(model: nn.Module, X: Any) -> list[tuple[str, WeightLayer]]:
    """:func:`weight_layers` in the order one forward pass on ``X`` first calls them; layers
    it does not call are left out.

    >>> model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    >>> [name for name, _ in execution_order(model, torch.zeros(1, 4))]
    ['0', '2']
    """
    layers = weight_layers(model)
    order: list[int] = []
    handles = []
    for index, (_, layer) in enumerate(layers):

        def hook(mod: nn.Module, args: Any, output: Any, index: int = index) -> None:
            if index not in order:
                order.append(index)

        handles.append(layer.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(_as_batch(model, X))
    finally:
        for handle in handles:
            handle.remove()
    return [layers[i] for i in order]


def lsuv_(
    model: nn.Module,
    X: Any,
    tol: float = 0.1,
    max_iter: int = 10,
    base: str | dict[str, Any] = "orthogonal",
    generator: Generator = None,
) -> nn.Module:
    """LSUV (Mishkin & Matas, "All you need is a good init", ICLR 2016) on a PyTorch model.

    The algorithm of :mod:`initlab.initializers.lsuv`, run on the model's own forward pass:
    draw every layer's weight from ``base`` (orthogonal: initlab's, flattened to
    ``(out, in·∏k)`` for a conv) and zero its bias with :func:`init_`; then, layer by layer in
    the order the forward pass calls them, feed the batch ``X`` through the model, take the std
    of the layer's output (over all units and samples, ``correction=0``) and divide the weight
    by it, until |std − 1| < ``tol`` or ``max_iter`` rescalings::

        for each Linear/Conv layer l, in execution order:
            repeat at most max_iter times:
                s = std(output of l on X)      (a forward hook; the pass stops at l)
                if |s − 1| < tol: stop
                W[l] ← W[l] / s

    A layer whose output has std 0 (or not finite) keeps its base weights, and an
    :class:`~initlab.initializers.LSUVWarning` names it, as does a layer still off after
    ``max_iter``. The forward passes run without autograd, in the model's current train/eval
    mode (in train mode batch-norm statistics update as in any forward pass). With the same
    generator, a ``double()`` torch MLP gets the weights :func:`initlab.initializers.init_params`
    gives the equivalent initlab MLP with ``"lsuv"``. Returns ``model``.

    >>> model = nn.Sequential(*[m for _ in range(5) for m in (nn.Linear(32, 32), nn.Tanh())])
    >>> X = torch.randn(256, 32, generator=torch.Generator().manual_seed(0))
    >>> model = lsuv_(model, X, generator=0)
    >>> [round(float(model[: i + 1](X).detach().std(correction=0)), 1) for i in range(0, 10, 2)]
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    spec = LSUV(tol=tol, max_iter=max_iter, base=base)  # validates the arguments
    batch = _as_batch(model, X)
    if batch.ndim < 2 or batch.shape[0] < 2:
        raise ValueError(
            "LSUV needs a batch of at least 2 samples, samples along dimension 0. "
            f"Received: X with shape {tuple(batch.shape)}"
        )
    if not bool(torch.isfinite(batch).all()):
        raise ValueError("LSUV's batch X must be finite")
    init_(model, spec.base, "zeros", generator)
    order = execution_order(model, batch)
    not_run = [
        name for name, layer in weight_layers(model) if all(layer is not m for _, m in order)
    ]
    rescaling = _Rescaling(spec, "outputs")
    with torch.no_grad():
        for name, layer in order:
            std = partial(_layer_output_std, model, layer, batch)
            rescaling.rescale(repr(name), std, layer.weight.div_)
    if not_run:
        warnings.warn(
            f"LSUV: the forward pass never called layer(s) {not_run}; they keep their base "
            f"{spec.base!r} weights, unscaled",
            LSUVWarning,
            stacklevel=2,
        )
    rescaling.warn()
    return model


# --- record --------------------------------------------------------------------------------


@dataclass
class _Call:
    """One hooked module call during the recording pass: the output itself (the loss needs
    it) and a copy taken at once, before an in-place activation (``ReLU(inplace=True)``) can
    overwrite it."""

    module: nn.Module
    output: torch.Tensor
    values: torch.Tensor


def _units_first(t: torch.Tensor, layer: WeightLayer) -> Array:
    """A copy of a layer's output (or of its activation) as float64, feature-major
    ``(units, everything else)``: units are a Linear's last dimension, a Conv's dimension 1."""
    values = t.detach().to(device="cpu", dtype=torch.float64, copy=True)
    if isinstance(layer, nn.Linear):
        flat = values.reshape(-1, values.shape[-1]).T
    else:
        flat = values.movedim(1, 0).reshape(values.shape[1], -1)
    out: Array = np.ascontiguousarray(flat.numpy())
    return out


def _activation_name(module: nn.Module) -> str | None:
    for kind, name in ACTIVATION_NAMES.items():
        if isinstance(module, kind):
            return name
    if type(module).__module__ == "torch.nn.modules.activation" and not isinstance(
        module, nn.MultiheadAttention
    ):
        return type(module).__name__.lower()
    return None


def record(
    model: nn.Module,
    X: Any,
    y: Any = None,
    loss_fn: Callable[[Any, Any], torch.Tensor] | None = None,
    *,
    head: Literal["auto", "linear"] = "auto",
    iteration: int = 0,
    bins: int = HISTOGRAM_BINS,
    into: Records | None = None,
) -> Records:
    """Per-layer statistics of ``model`` on the batch ``X``, as initlab :class:`Records`.

    One :class:`~initlab.diagnostics.LayerRecord` per Linear/Conv layer at ``iteration``;
    what maps to what is in the module docstring. With labels ``y`` the gradient norms are
    recorded too (the model's parameter ``.grad`` are not touched). The forward pass runs in
    the model's current train/eval mode: call ``model.eval()`` first to record without
    dropout. ``into`` appends to existing records (to follow a model through training) and
    returns them.

    >>> from initlab.diagnostics import diagnose, verdict
    >>> model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 5), nn.ReLU(),
    ...                       nn.Linear(5, 1))
    >>> X = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    >>> records = record(init_(model, "zeros"), X, y=(X[:, 0] > 0).long())
    >>> verdict(diagnose(records))
    'symmetry not broken: hidden layers act as 1, 1 distinct units (of 10, 5)'
    """
    if head not in ("auto", "linear"):
        raise ValueError(f"Argument `head` must be 'auto' or 'linear'. Received: head={head!r}")
    records = Records() if into is None else into
    batch = _as_batch(model, X)
    layers = weight_layers(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} holds no Linear or Conv1d/2d/3d layer")
    calls: list[_Call] = []

    def hook(module: nn.Module, args: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            calls.append(_Call(module, output, output.detach().clone()))

    watched = {id(layer) for _, layer in layers}
    handles = [
        sub.register_forward_hook(hook)
        for sub in model.modules()
        if id(sub) in watched or _activation_name(sub) is not None
    ]
    want_grads = y is not None
    try:
        with torch.set_grad_enabled(want_grads):
            output = model(batch)
    finally:
        for handle in handles:
            handle.remove()

    # Pair every layer's first call with the first activation module called after it.
    pairs: list[tuple[WeightLayer, _Call, _Call | None]] = []
    seen: set[int] = set()
    for i, call in enumerate(calls):
        layer = call.module
        if not isinstance(layer, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d):
            continue
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        # Only layers and activation modules are hooked: the next call is an activation
        # module, or the next layer (then this layer has none).
        following = calls[i + 1] if i + 1 < len(calls) else None
        act = following if following is not None and id(following.module) not in watched else None
        pairs.append((layer, call, act))

    grads = _gradients(pairs, output, y, loss_fn) if want_grads else None
    n_layers = len(pairs)
    Y: Array | None = None
    for k, (layer, call, act) in enumerate(pairs):
        is_output = k == n_layers - 1
        Z = _units_first(call.values, layer)
        if act is not None:
            name = _activation_name(act.module) or "linear"
            A = _units_first(act.values, layer)
        elif is_output and head == "auto":
            out_head = losses.Head(Z.shape[0])
            name = out_head.name
            A = out_head.activate(Z)
        else:
            name, A = "linear", Z
        if is_output and y is not None and name in ("sigmoid", "softmax"):
            Y = _encoded(y, Z.shape)
        hidden = not is_output
        W = layer.weight.detach().to(device="cpu", dtype=torch.float64).numpy()
        W = W.reshape(W.shape[0], -1)
        b = (
            layer.bias.detach().to(device="cpu", dtype=torch.float64).numpy().reshape(-1, 1)
            if layer.bias is not None
            else np.zeros((W.shape[0], 1))
        )
        grad_W, grad_b = grads[k] if grads is not None else (math.nan, math.nan)
        records.rows.append(
            measure_layer(
                iteration,
                k + 1,
                hidden,
                name,
                W,
                b,
                Z,
                A,
                Y,
                grad_W_norm=grad_W,
                grad_b_norm=grad_b,
                bins=bins,
            )
        )
    return records


def _encoded(y: Any, z_shape: tuple[int, ...]) -> Array | None:
    """Integer labels as initlab's feature-major targets, or ``None`` if ``y`` is not one
    label per sample of the output layer."""
    labels = np.asarray(y.detach().cpu() if isinstance(y, torch.Tensor) else y).reshape(-1)
    units, m = z_shape
    k = max(2, units)
    if labels.shape[0] != m or labels.dtype.kind not in "biuf":
        return None
    if not np.isin(labels, np.arange(k)).all():
        return None
    return losses.Head(units).encode(labels.astype(np.int64))


def _gradients(
    pairs: list[tuple[WeightLayer, _Call, _Call | None]],
    output: Any,
    y: Any,
    loss_fn: Callable[[Any, Any], torch.Tensor] | None,
) -> list[tuple[float, float]]:
    """‖∂L/∂W‖ and ‖∂L/∂b‖ (Frobenius) of every layer, by ``torch.autograd.grad``."""
    logits = pairs[-1][1].output
    target = torch.as_tensor(y, device=logits.device)
    if loss_fn is not None:
        loss = loss_fn(output, target)
    elif logits.shape[-1] == 1 or logits.ndim == 1:
        loss = nn.functional.binary_cross_entropy_with_logits(
            logits.reshape(-1), target.reshape(-1).to(logits.dtype)
        )
    else:
        loss = nn.functional.cross_entropy(logits, target.reshape(-1).long())
    params: list[torch.Tensor] = []
    for layer, _, _ in pairs:
        params.append(layer.weight)
        if layer.bias is not None:
            params.append(layer.bias)
    found = iter(torch.autograd.grad(loss, params, allow_unused=True))
    norms = []
    for layer, _, _ in pairs:
        grad_W = _norm(next(found))
        grad_b = _norm(next(found)) if layer.bias is not None else math.nan
        norms.append((grad_W, grad_b))
    return norms


def _norm(grad: torch.Tensor | None) -> float:
    if grad is None:
        return 0.0
    return _frobenius(grad.detach().to(device="cpu", dtype=torch.float64).numpy())
