"""Which modules :func:`~initlab.torch.record` records as layers and :func:`~initlab.torch.lsuv_`
rescales, and how each one's output, units and weights are read.

======================  ==============  =======================  ============================
module                  its output      units (``width``)        weight rows (distinct units)
======================  ==============  =======================  ============================
``Linear``              the tensor      last dimension           ``weight``
``Conv1d/2d/3d``        the tensor      dimension 1 (channels)   ``weight`` as ``(out, -1)``
``MultiheadAttention``  ``output[0]``   last dimension (embed)   ``out_proj.weight``
``RNN/LSTM/GRU``        ``output[0]``   last dimension (hidden)  last layer's gate rows
======================  ==============  =======================  ============================

An attention layer's output is ``out_proj`` of the attended values, linear in
``out_proj.weight``: LSUV rescales that matrix. A recurrent layer's output is bounded (``h``
of an LSTM or GRU) and not linear in any one weight: it is recorded, never rescaled.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from initlab.torch._inputs import as_batch, module_by_module

Array = NDArray[np.float64]
WeightLayer = nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d

WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
"""The module types whose weight :func:`~initlab.torch.init_` draws with ``init`` as it is."""

RECORDED_LAYERS: tuple[type[nn.Module], ...] = (
    *WEIGHT_LAYERS,
    nn.MultiheadAttention,
    nn.RNNBase,
)
"""The module types :func:`~initlab.torch.record` records (``nn.RNNBase``: RNN, LSTM, GRU)."""


def check_materialised(name: str, module: nn.Module) -> None:
    """A lazy module (``nn.LazyLinear``) has no shape until its first forward pass."""
    if any(nn.parameter.is_lazy(p) for p in module.parameters(recurse=False)):
        raise ValueError(
            f"Layer {name or type(module).__name__!r} ({type(module).__name__}) has not been "
            "materialised yet: run one forward pass before initializing it"
        )


def weight_layers(module: nn.Module) -> list[tuple[str, WeightLayer]]:
    """The ``(name, layer)`` of every Linear and Conv1d/2d/3d in ``module``, in module order.

    >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
    >>> [name for name, _ in weight_layers(model)]
    ['0', '3']
    """
    found: list[tuple[str, WeightLayer]] = []
    for name, sub in module.named_modules():
        if isinstance(sub, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d):
            check_materialised(name, sub)
            found.append((name, sub))
    return found


class RecordedLayer(NamedTuple):
    """One module :func:`~initlab.torch.record` treats as a layer (see the module docstring):
    a ``(name, module)`` pair, as :func:`weight_layers` gives."""

    name: str
    module: nn.Module

    @property
    def label(self) -> str:
        return self.name or type(self.module).__name__

    def output(self, value: Any) -> torch.Tensor | None:
        """The layer's output tensor from what its ``forward`` returned (``None``: not one,
        e.g. a ``PackedSequence``)."""
        if isinstance(self.module, nn.MultiheadAttention | nn.RNNBase) and isinstance(value, tuple):
            value = value[0]
        return value if isinstance(value, torch.Tensor) else None

    @property
    def unit_dim(self) -> int:
        return 1 if isinstance(self.module, nn.Conv1d | nn.Conv2d | nn.Conv3d) else -1

    @property
    def default_activation(self) -> str:
        """Its name when no activation module follows: ``"linear"``; ``"lstm"``, ``"gru"``,
        ``"rnn"`` for a recurrent layer, whose output is already activated."""
        if isinstance(self.module, nn.RNNBase):
            return type(self.module).__name__.lower()
        return "linear"

    def units_first(self, t: torch.Tensor) -> Array:
        """A float64 copy of an output, feature-major: ``(units, everything else)``."""
        values = t.detach().to(device="cpu", dtype=torch.float64, copy=True)
        flat = values.movedim(self.unit_dim, 0).reshape(values.shape[self.unit_dim], -1)
        out: Array = np.ascontiguousarray(flat.numpy())
        return out

    def rows(self) -> tuple[Array, Array]:
        """``(W, b)``: one row of incoming weights and one bias per unit, for
        :func:`~initlab.diagnostics.distinct_units`."""
        m = self.module
        if isinstance(m, nn.RNNBase):
            return _numpy(_recurrent_rows(m)), np.zeros((_recurrent_units(m), 1))
        W, b = self._weight(), self._bias()
        W_rows = _numpy(W).reshape(W.shape[0], -1)
        b_rows = _numpy(b).reshape(-1, 1) if b is not None else np.zeros((W.shape[0], 1))
        return W_rows, b_rows

    def weights(self) -> list[torch.Tensor]:
        """The weights whose gradient norm is the layer's ‖∂L/∂W‖."""
        m = self.module
        if isinstance(m, nn.RNNBase):
            return [p for n, p in _last_layer(m) if n.startswith("weight")]
        return [self._weight()]

    def biases(self) -> list[torch.Tensor]:
        """The biases whose gradient norm is the layer's ‖∂L/∂b‖ (none: NaN)."""
        m = self.module
        if isinstance(m, nn.RNNBase):
            return [p for n, p in _last_layer(m) if n.startswith("bias")]
        bias = self._bias()
        return [] if bias is None else [bias]

    @property
    def scaled_weight(self) -> torch.Tensor | None:
        """The weight LSUV divides to rescale the output (``None``: not rescalable)."""
        return None if isinstance(self.module, nn.RNNBase) else self._weight()

    def _linear(self) -> nn.Module:
        """The module holding the weight: an attention layer's ``out_proj``, else itself."""
        m = self.module
        return m.out_proj if isinstance(m, nn.MultiheadAttention) else m

    def _weight(self) -> torch.Tensor:
        weight = self._linear().weight
        assert isinstance(weight, torch.Tensor)
        return weight

    def _bias(self) -> torch.Tensor | None:
        bias = self._linear().bias
        assert bias is None or isinstance(bias, torch.Tensor)
        return bias


def _numpy(t: torch.Tensor) -> Array:
    out: Array = t.detach().to(device="cpu", dtype=torch.float64).numpy()
    return out


def _last_layer(m: nn.RNNBase) -> list[tuple[str, torch.Tensor]]:
    """The parameters of a stacked recurrent module's last layer, both directions."""
    suffixes = (f"_l{m.num_layers - 1}", f"_l{m.num_layers - 1}_reverse")
    return [(n, p) for n, p in m.named_parameters(recurse=False) if n.endswith(suffixes)]


def _recurrent_units(m: nn.RNNBase) -> int:
    return (m.proj_size or m.hidden_size) * (2 if m.bidirectional else 1)


def _recurrent_rows(m: nn.RNNBase) -> torch.Tensor:
    """One row per output unit of the last layer: its projection row (``proj_size``), or the
    rows of every gate's input weights, recurrent weights and biases that feed it."""
    blocks = []
    for suffix in ("", "_reverse") if m.bidirectional else ("",):
        params = {n: p for n, p in _last_layer(m) if n.endswith(f"_l{m.num_layers - 1}{suffix}")}
        if m.proj_size:
            blocks.append(params[f"weight_hr_l{m.num_layers - 1}{suffix}"])
            continue
        per_unit = [
            p.reshape(-1, m.hidden_size, p[0].numel()).movedim(1, 0).reshape(m.hidden_size, -1)
            for n, p in params.items()
        ]
        blocks.append(torch.cat(per_unit, dim=1))
    return torch.cat(blocks, dim=0)


def recorded_layers(module: nn.Module) -> list[RecordedLayer]:
    """Every module :func:`~initlab.torch.record` records, in module order. An attention
    layer's ``out_proj`` is part of its layer: PyTorch never calls it as a module."""
    inside_attention = {
        id(sub.out_proj) for sub in module.modules() if isinstance(sub, nn.MultiheadAttention)
    }
    found = []
    for name, sub in module.named_modules():
        if isinstance(sub, RECORDED_LAYERS) and id(sub) not in inside_attention:
            check_materialised(name, sub)
            found.append(RecordedLayer(name, sub))
    return found


def execution_order(model: nn.Module, X: Any) -> list[RecordedLayer]:
    """:func:`recorded_layers` in the order one forward pass on ``X`` first calls them;
    layers it does not call are left out. ``X`` is what ``forward`` takes (see
    :mod:`initlab.torch`).

    >>> model = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    >>> [name for name, _ in execution_order(model, torch.zeros(1, 4))]
    ['0', '2']
    """
    layers = recorded_layers(model)
    order: list[int] = []
    handles = []
    for index, layer in enumerate(layers):

        def hook(mod: nn.Module, args: Any, output: Any, index: int = index) -> None:
            if index not in order:
                order.append(index)

        handles.append(layer.module.register_forward_hook(hook))
    try:
        with torch.no_grad(), module_by_module():
            as_batch(model, X).run(model)
    finally:
        for handle in handles:
            handle.remove()
    return [layers[i] for i in order]
