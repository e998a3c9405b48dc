"""LSUV's measuring and rescaling on a PyTorch model's own forward pass."""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import torch
from torch import nn

from initlab.initializers.lsuv import LSUV, LSUVWarning, _Rescaling
from initlab.torch._inputs import Batch, module_by_module
from initlab.torch._layers import RecordedLayer, execution_order, recorded_layers


class _Stop(Exception):
    """Raised by a hook once the layer it watches has run: the rest of the forward pass is
    not needed."""


def layer_output_std(model: nn.Module, layer: RecordedLayer, batch: Batch) -> float:
    """Population std of ``layer``'s output over the whole batch (all units and samples)."""
    seen: list[float] = []

    def hook(mod: nn.Module, args: Any, output: Any) -> None:
        tensor = layer.output(output)
        if tensor is not None:
            seen.append(float(tensor.detach().to(torch.float64).std(correction=0)))
        raise _Stop

    handle = layer.module.register_forward_hook(hook)
    try:
        batch.run(model)
    except _Stop:
        pass
    finally:
        handle.remove()
    if not seen:
        raise RuntimeError(f"The forward pass never called layer {layer.label!r} on a tensor")
    return seen[0]


def rescale(model: nn.Module, batch: Batch, spec: LSUV) -> list[RecordedLayer]:
    """LSUV's second step: every rescalable layer (Linear, Conv, attention's ``out_proj``),
    in the order the forward pass calls them, divided by its output std until it is within
    ``spec.tol`` of 1. Warns (:class:`~initlab.initializers.LSUVWarning`) of layers dead,
    unconverged or never called; returns the layers measured."""
    with torch.no_grad(), module_by_module():
        order = [
            layer for layer in execution_order(model, batch) if layer.scaled_weight is not None
        ]
        called = {id(layer.module) for layer in order}
        not_run = [
            layer.label
            for layer in recorded_layers(model)
            if layer.scaled_weight is not None and id(layer.module) not in called
        ]
        rescaling = _Rescaling(spec, "outputs")
        for layer in order:
            weight = layer.scaled_weight
            assert weight is not None
            std = partial(layer_output_std, model, layer, batch)
            rescaling.rescale(repr(layer.label), std, weight.div_)
    if not_run:
        warnings.warn(
            f"LSUV: the forward pass never called layer(s) {not_run}; they keep their base "
            f"{spec.base!r} weights, unscaled",
            LSUVWarning,
            stacklevel=3,
        )
    rescaling.warn()
    return order
