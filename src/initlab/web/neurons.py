"""The network, neuron by neuron: what the page's diagram draws for one run.

For every neuron — the inputs, each hidden unit and the output — its value over the input
plane, on a coarse ``neuron_grid × neuron_grid`` grid over the decision boundary's box
(:attr:`~initlab.web.config.Limits.neuron_grid`). These maps are the network's own forward
pass (:func:`~initlab.network.forward_columns`) of the run's current parameters on the grid's
cell centres::

    A[0] = features(grid) (k × g²)      Z[l] = W[l] · A[l-1] + b[l]      A[l] = φ_l(Z[l])

so map ``j`` of layer ``l`` is row ``j`` of ``A[l]``. The grid is the raw plane
``(x₁, x₂)``; where the run's inputs are features of it (``x₁²``, ``sin x₂``, …,
:mod:`initlab.datasets.features`) each cell is expanded as the data was, so the input layer's
maps are the features themselves over the plane. Under a zeros (or any constant) init
every unit of a layer has the same incoming weights, hence the same row of ``A[l]`` and the
same picture; random inits give each unit its own.

Each map is sent as ``g²`` bytes, quantized with its own range::

    q = round(255 · (a − low) / (high − low))      a ≈ low + q · (high − low) / 255

(``q = 0`` where ``high = low``), an error of at most ``(high − low) / 510``: the page decodes
the values and colours a layer on one scale. Besides the maps: every weight matrix and bias
(float32, for the links' colour and thickness and the detail view's incoming weights) and
each neuron's activation histogram over the training data (the detail view's).

A frame carries all of it, for networks of at most
:attr:`~initlab.web.config.Limits.max_diagram_neurons` hidden and output neurons; a larger
network gets a note saying so instead. The notebook's network (16 neurons, 24 × 24 grid) adds
about 17 KB of JSON to a run's frame and half a millisecond to compute it (measured: see
:attr:`~initlab.web.config.Limits.neuron_grid`).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from initlab._io import finite_or_none
from initlab.diagnostics import summarize
from initlab.network import MLP, Params, forward_columns
from initlab.web.measure import grid_inputs

HISTOGRAM_BINS = 20
"""Bins of each neuron's activation histogram over the training data (the detail view)."""

LEVELS = 255
"""A map's values are quantized to ``0 … LEVELS`` (one byte) within the map's own range."""


def _b64(values: NDArray[Any]) -> str:
    return base64.b64encode(np.ascontiguousarray(values).tobytes()).decode()


def quantize(values: NDArray[np.float64]) -> tuple[NDArray[np.uint8], list[float | None],
                                                   list[float | None]]:  # fmt: skip
    """Rows of ``values`` ``(n, cells)`` as bytes, each row on its own range.

    Returns ``(q, low, high)``: ``q[j] = round(255 · (values[j] − low[j]) / (high[j] − low[j]))``
    over the row's finite values (0 where the row is constant); a non-finite value becomes 0
    (−∞, NaN) or 255 (+∞). ``low``/``high`` are ``None`` for a row with no finite value.

    >>> q, low, high = quantize(np.array([[0.0, 0.5, 2.0], [3.0, 3.0, 3.0]]))
    >>> q.tolist(), low, high
    ([[0, 64, 255], [0, 0, 0]], [0.0, 3.0], [2.0, 3.0])
    """
    finite = np.isfinite(values)
    with np.errstate(all="ignore"):
        low = np.min(np.where(finite, values, np.inf), axis=1, keepdims=True)
        high = np.max(np.where(finite, values, -np.inf), axis=1, keepdims=True)
        # Halves, so that a range near ±1e308 does not overflow; a ratio, so that a tiny
        # one does not either.
        half_span = high / 2 - low / 2
        ratio = (values / 2 - low / 2) / np.where(half_span > 0, half_span, np.inf)
        q = np.rint(ratio * LEVELS)
    if not finite.all():
        q = np.where(finite, q, np.where(values > 0, LEVELS, 0))
    q = np.clip(q, 0, LEVELS).astype(np.uint8)
    lows = [finite_or_none(float(v)) for v in low[:, 0]]
    highs = [finite_or_none(float(v)) for v in high[:, 0]]
    return q, lows, highs


def dequantize(q: NDArray[np.uint8], low: list[float | None],
               high: list[float | None]) -> NDArray[np.float64]:  # fmt: skip
    """The values :func:`quantize` stands for: ``low + q · (high − low) / 255`` (NaN where a
    row had no finite value)."""
    lo = np.array([np.nan if v is None else v for v in low])[:, None]
    hi = np.array([np.nan if v is None else v for v in high])[:, None]
    values: NDArray[np.float64] = lo + q.astype(np.float64) * ((hi - lo) / LEVELS)
    return values


def neuron_count(mlp: MLP) -> int:
    """Hidden and output neurons of ``mlp`` (the diagram's limit counts these)."""
    return sum(mlp.layer_sizes[1:])


@functools.lru_cache(maxsize=64)
def _grid(
    extent: tuple[float, float, float, float], size: int, features: tuple[str, ...] = ()
) -> NDArray[np.float64]:
    grid = grid_inputs(extent, size, features)
    grid.setflags(write=False)
    return grid


def maps(mlp: MLP, params: Params, grid: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """Every layer's activations on the grid's points, ``A[0]`` (the inputs) to ``A[L]`` (the
    output): :func:`~initlab.network.forward_columns`' cache, one row per neuron."""
    with np.errstate(all="ignore"):
        return forward_columns(mlp, params, grid).A


def histograms(mlp: MLP, params: Params, A0: NDArray[np.float64],
               bins: int = HISTOGRAM_BINS) -> list[list[dict[str, Any]]]:  # fmt: skip
    """Per layer ``1 … L``, per neuron: the histogram of its activation over the columns of
    ``A0`` (:func:`~initlab.diagnostics.summarize`, ``bins`` bins; empty counts where no value
    is finite)."""
    with np.errstate(all="ignore"):
        A = forward_columns(mlp, params, A0).A
    out = []
    for layer in A[1:]:
        row = []
        for values in layer:
            _, _, h = summarize(values, bins)
            row.append({"counts": h.counts, "low": finite_or_none(h.low),
                        "high": finite_or_none(h.high)})  # fmt: skip
        out.append(row)
    return out


def network(
    mlp: MLP,
    params: Params,
    X_train: NDArray[np.float64],
    extent: tuple[float, float, float, float] | None,
    grid: int,
    max_neurons: int,
    features: Sequence[str] = (),
) -> dict[str, Any]:
    """The diagram of one run: sizes, activations and input names always; weights, maps and
    histograms for networks of at most ``max_neurons`` hidden and output neurons (else
    ``note`` says why not).

    ``extent`` is the raw input plane's box (``None`` unless the data has 2 raw inputs: then
    no maps), ``grid`` the maps' side in cells, ``X_train`` the training data in rows (the
    network's inputs), ``features`` the names of those inputs where they are features of the
    raw ones (``inputs`` is then that list; without, ``x1 … xd``).

    Weights and biases are base64 float32 (little-endian), ``W[l]`` row-major ``(n[l],
    n[l-1])``: entry ``(j, i)`` is the link from neuron ``i`` of layer ``l − 1`` to neuron ``j``
    of layer ``l``. Maps are base64 uint8, layer by layer, ``(n[l], grid, grid)`` row-major,
    row 0 at the top (the box's y max), with each neuron's ``low``/``high`` (:func:`quantize`).
    """
    sizes = list(mlp.layer_sizes)
    out: dict[str, Any] = {
        "sizes": sizes,
        "inputs": list(features) or [f"x{i + 1}" for i in range(sizes[0])],
        "activations": list(mlp.layer_activations),
        "neurons": neuron_count(mlp),
        "max_neurons": max_neurons,
        "note": None,
        "weights": None,
        "biases": None,
        "maps": None,
        "histograms": None,
    }
    if neuron_count(mlp) > max_neurons:
        out["note"] = (
            f"The network has {neuron_count(mlp)} hidden and output neurons; this server draws "
            f"each neuron of networks up to {max_neurons} (max_diagram_neurons)"
        )
        return out
    le32 = np.dtype("<f4")
    with np.errstate(all="ignore"):
        out["weights"] = [_b64(layer.W.astype(le32)) for layer in params]
        out["biases"] = [_b64(layer.b.astype(le32)) for layer in params]
    out["histograms"] = histograms(mlp, params, X_train.T)
    if extent is None:
        out["note"] = "Neuron maps need 2 input features (a plane to draw them on)"
        return out
    q, low, high = quantize(np.vstack(maps(mlp, params, _grid(extent, grid, tuple(features)))))
    layers, first = [], 0
    for n in sizes:  # one quantize for all the neurons (each on its own range), then per layer
        last = first + n
        layers.append({"low": low[first:last], "high": high[first:last],
                       "values": _b64(q[first:last])})  # fmt: skip
        first = last
    out["maps"] = {"size": grid, "extent": list(extent), "layers": layers}
    return out
