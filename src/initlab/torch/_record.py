"""Per-layer statistics of a PyTorch model on a batch, as initlab :class:`Records`."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from initlab import losses
from initlab.diagnostics import HISTOGRAM_BINS, Records, _frobenius, measure_layer
from initlab.torch._inputs import as_batch, module_by_module
from initlab.torch._layers import RecordedLayer, recorded_layers

Array = NDArray[np.float64]

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


class RecordWarning(UserWarning):
    """:func:`record` could not record every layer: the warning names those missing from the
    records, and so from the verdict."""


@dataclass
class _Call:
    """One hooked module call during the recording pass: the output itself (the loss needs
    it) and a copy taken at once, before an in-place activation (``ReLU(inplace=True)``) can
    overwrite it."""

    module: nn.Module
    output: torch.Tensor
    values: torch.Tensor


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

    One :class:`~initlab.diagnostics.LayerRecord` per Linear, Conv, MultiheadAttention and
    RNN/LSTM/GRU layer the forward pass calls, at ``iteration``; what maps to what is in the
    :mod:`initlab.torch` docstring. ``X`` is anything ``forward`` takes: a tensor (token ids
    included, passed untouched), a tuple of positional arguments, a dict of keyword
    arguments. With labels ``y`` the gradient norms are recorded too (the model's parameter
    ``.grad`` are not touched). The forward pass runs in the model's current train/eval mode
    (call ``model.eval()`` first to record without dropout), module by module: PyTorch's
    fused transformer path is turned off for it, since it bypasses the layers' hooks.
    Recordable layers the pass never calls are named in a :class:`RecordWarning`; if it calls
    none, a ``ValueError`` says so. ``into`` appends to existing records (to follow a model
    through training) and returns them.

    >>> from initlab.diagnostics import diagnose, verdict
    >>> model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 5), nn.ReLU(),
    ...                       nn.Linear(5, 1))
    >>> from initlab.torch import init_
    >>> X = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    >>> records = record(init_(model, "zeros"), X, y=(X[:, 0] > 0).long())
    >>> verdict(diagnose(records))
    'symmetry not broken: hidden layers act as 1, 1 distinct units (of 10, 5)'
    """
    if head not in ("auto", "linear"):
        raise ValueError(f"Argument `head` must be 'auto' or 'linear'. Received: head={head!r}")
    records = Records() if into is None else into
    layers = recorded_layers(model)
    if not layers:
        raise ValueError(
            f"{type(model).__name__} holds no Linear, Conv1d/2d/3d, MultiheadAttention or "
            "RNN/LSTM/GRU layer to record"
        )
    output, calls = _run(model, X, layers, want_grads=y is not None)
    pairs = _pairs(calls, layers)
    if not pairs:
        raise ValueError(
            "The forward pass called none of the recordable layers "
            f"{[layer.label for layer in layers]} as modules (a module whose weights are used "
            "directly, as in F.linear(x, self.fc.weight), runs no hooks): nothing to record, "
            "so no verdict"
        )
    called = {id(layer.module) for layer, _, _ in pairs}
    missing = [layer.label for layer in layers if id(layer.module) not in called]
    if missing:
        warnings.warn(
            f"record: the forward pass never called layer(s) {missing} on a tensor; the records "
            f"(and the verdict) cover {[layer.label for layer, _, _ in pairs]} only",
            RecordWarning,
            stacklevel=2,
        )
    grads = _gradients(pairs, output, y, loss_fn) if y is not None else None
    for k, (layer, call, act) in enumerate(pairs):
        is_output = k == len(pairs) - 1
        Z = layer.units_first(call.values)
        Y: Array | None = None
        if act is not None:
            name = _activation_name(act.module) or "linear"
            A = layer.units_first(act.values)
        elif is_output and head == "auto":
            out_head = losses.Head(Z.shape[0])
            name, A = out_head.name, out_head.activate(Z)
        else:
            name, A = layer.default_activation, Z
        if is_output and y is not None and name in ("sigmoid", "softmax"):
            Y = _encoded(y, Z.shape)
        W, b = layer.rows()
        grad_W, grad_b = grads[k] if grads is not None else (math.nan, math.nan)
        records.rows.append(
            measure_layer(
                iteration,
                k + 1,
                not is_output,
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


def _run(
    model: nn.Module, X: Any, layers: list[RecordedLayer], want_grads: bool
) -> tuple[Any, list[_Call]]:
    """One forward pass with hooks on the layers and the activation modules; returns the
    model's output and the hooked calls in order."""
    by_module = {id(layer.module): layer for layer in layers}
    calls: list[_Call] = []

    def hook(module: nn.Module, args: Any, output: Any) -> None:
        layer = by_module.get(id(module))
        tensor = layer.output(output) if layer is not None else output
        if isinstance(tensor, torch.Tensor):
            calls.append(_Call(module, tensor, tensor.detach().clone()))

    handles = [
        sub.register_forward_hook(hook)
        for sub in model.modules()
        if id(sub) in by_module or _activation_name(sub) is not None
    ]
    batch = as_batch(model, X)
    try:
        with torch.set_grad_enabled(want_grads), module_by_module():
            output = batch.run(model)
    finally:
        for handle in handles:
            handle.remove()
    return output, calls


def _pairs(
    calls: list[_Call], layers: list[RecordedLayer]
) -> list[tuple[RecordedLayer, _Call, _Call | None]]:
    """Every layer's first call, with the activation module called right after it (only
    layers and activation modules are hooked: the next call is an activation module, or the
    next layer, and then this layer has none)."""
    by_module = {id(layer.module): layer for layer in layers}
    pairs: list[tuple[RecordedLayer, _Call, _Call | None]] = []
    seen: set[int] = set()
    for i, call in enumerate(calls):
        layer = by_module.get(id(call.module))
        if layer is None or id(call.module) in seen:
            continue
        seen.add(id(call.module))
        following = calls[i + 1] if i + 1 < len(calls) else None
        is_act = following is not None and id(following.module) not in by_module
        pairs.append((layer, call, following if is_act else None))
    return pairs


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


def _default_loss(layer: RecordedLayer, logits: torch.Tensor, y: Any) -> torch.Tensor:
    """initlab's mean cross-entropy on the output layer's logits: binary from one unit,
    categorical from K (units moved last, every other dimension a sample)."""
    units_last = logits.movedim(layer.unit_dim, -1) if logits.ndim > 1 else logits.unsqueeze(-1)
    flat = units_last.reshape(-1, units_last.shape[-1])
    target = torch.as_tensor(y, device=logits.device).reshape(-1)
    if flat.shape[-1] == 1:
        return nn.functional.binary_cross_entropy_with_logits(
            flat.reshape(-1), target.to(logits.dtype)
        )
    return nn.functional.cross_entropy(flat, target.long())


def _gradients(
    pairs: list[tuple[RecordedLayer, _Call, _Call | None]],
    output: Any,
    y: Any,
    loss_fn: Callable[[Any, Any], torch.Tensor] | None,
) -> list[tuple[float, float]]:
    """‖∂L/∂W‖ and ‖∂L/∂b‖ (Frobenius, over all of a layer's weights or biases) of every
    layer, by ``torch.autograd.grad``; NaN for a layer without biases."""
    last, logits, _ = pairs[-1]
    if loss_fn is not None:
        loss = loss_fn(output, torch.as_tensor(y, device=logits.output.device))
    else:
        loss = _default_loss(last, logits.output, y)
    groups = [group for layer, _, _ in pairs for group in (layer.weights(), layer.biases())]
    params = [p for group in groups for p in group]
    found = iter(torch.autograd.grad(loss, params, allow_unused=True))
    norms = [_norm([next(found) for _ in group]) for group in groups]
    return list(zip(norms[::2], norms[1::2], strict=True))


def _norm(grads: list[torch.Tensor | None]) -> float:
    """The Frobenius norm of several gradients together (an unused one counts 0; none: NaN)."""
    if not grads:
        return math.nan
    parts = [
        0.0 if g is None else _frobenius(g.detach().to(device="cpu", dtype=torch.float64).numpy())
        for g in grads
    ]
    return parts[0] if len(parts) == 1 else math.sqrt(sum(p * p for p in parts))
