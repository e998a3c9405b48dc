"""Drawing a whole network's parameters: :func:`init_params`, layer by layer from one generator.

It resolves the weight and bias initializers through the registry and hands a data-dependent
one (LSUV) the batch it needs; the draws happen in the order the course's
``initialize_parameters_*`` loops make them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from initlab.initializers.registry import Identifier, get
from initlab.initializers.schemes import DataDependentInitializer
from initlab.network import MLP, Layer, Params
from initlab.rng import RandomSource

__all__ = ["init_params"]


def init_params(
    mlp: MLP,
    rng: RandomSource,
    weight_init: Identifier = "he",
    bias_init: Identifier = "zeros",
    X: NDArray[np.float64] | None = None,
) -> Params:
    """Initialize every layer in order, drawing from one generator.

    Weights of layer 1 are drawn first, then layer 2, … — the order of the course's
    ``initialize_parameters_*`` loops, so ``rng=notebook_init_rng()`` reproduces them exactly.
    A data-dependent ``weight_init`` (LSUV) also needs a batch ``X`` (samples in rows) and
    sets the biases itself.
    """
    w_init, b_init = get(weight_init), get(bias_init)
    if isinstance(w_init, DataDependentInitializer):
        if X is None:
            raise ValueError(
                f"Initializer {getattr(w_init, 'name', w_init)!r} is data-dependent: "
                "pass a batch of inputs X"
            )
        return w_init.init_network(mlp, rng, np.asarray(X, dtype=np.float64))
    if isinstance(b_init, DataDependentInitializer):
        raise ValueError("A bias initializer cannot be data-dependent")
    params = []
    for n_out, n_in in mlp.weight_shapes():
        W = np.asarray(w_init(rng, (n_out, n_in)), dtype=np.float64)
        b = np.asarray(b_init(rng, (n_out, 1)), dtype=np.float64)
        params.append(Layer(W, b))
    return params
