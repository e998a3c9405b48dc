"""The bridge's initializers: :func:`init_`, :func:`initialize` and :func:`lsuv_`."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from initlab import initializers
from initlab.initializers.lsuv import LSUV
from initlab.torch._inputs import Generator, as_batch, as_rng, check_lsuv_batch
from initlab.torch._lsuv import rescale
from initlab.torch._rules import InitSummary, Plan, apply


class SkippedLayerWarning(UserWarning):
    """:func:`init_` left some parameters as they were (transposed convolutions, parameters
    of modules it has no rule for): the warning names them all, once."""


def _plain(identifier: initializers.Identifier, argument: str) -> initializers.Initializer:
    """An initializer that draws from a shape alone (not data-dependent)."""
    init = initializers.get(identifier)
    if isinstance(init, initializers.DataDependentInitializer):
        raise ValueError(
            f"Argument `{argument}` cannot be data-dependent. Received: {argument}={identifier!r}"
        )
    return init


def initialize(
    module: nn.Module,
    init: initializers.Identifier = "he_normal",
    bias_init: initializers.Identifier = "zeros",
    generator: Generator = None,
    X: Any = None,
    *,
    embedding_init: initializers.Identifier = "normal",
    recurrent_init: initializers.Identifier = "orthogonal",
) -> InitSummary:
    """:func:`init_`, returning what it did to every parameter: an :class:`InitSummary`.

    >>> model = nn.Sequential(nn.Embedding(10, 4), nn.LayerNorm(4), nn.PReLU())
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     summary = initialize(model, generator=0)
    >>> summary.done["1.weight"], summary.done["1.bias"]
    ('constant 1', 'constant 0')
    >>> summary.skipped
    {'2.weight': 'no initlab rule for PReLU.weight'}
    >>> print(caught[0].message)  # doctest: +NORMALIZE_WHITESPACE
    initlab.torch.init_ left 1 parameter(s) as they were:
    '2.weight' (no initlab rule for PReLU.weight)
    """
    w_init = initializers.get(init)
    if isinstance(w_init, initializers.DataDependentInitializer):
        if not isinstance(w_init, LSUV):
            raise ValueError(
                f"Initializer {getattr(w_init, 'name', w_init)!r} is data-dependent and has no "
                "PyTorch implementation; the one that has is 'lsuv'"
            )
        if X is None:
            raise ValueError("Initializer 'lsuv' is data-dependent: pass a batch of inputs X")
        _plain(bias_init, "bias_init")
        return _lsuv(module, X, w_init, generator, embedding_init, recurrent_init)
    plan = Plan(
        weight=w_init,
        bias=_plain(bias_init, "bias_init"),
        embedding=_plain(embedding_init, "embedding_init"),
        recurrent=_plain(recurrent_init, "recurrent_init"),
        rng=as_rng(generator),
        summary=InitSummary(module),
    )
    if next(module.parameters(), None) is None:
        raise ValueError(f"{type(module).__name__} holds no parameters to initialize")
    with torch.no_grad():
        summary = apply(plan)
    if summary.skipped:
        by_reason: dict[str, list[str]] = {}
        for name, why in summary.skipped.items():
            by_reason.setdefault(why, []).append(repr(name))
        listed = "; ".join(f"{', '.join(names)} ({why})" for why, names in by_reason.items())
        warnings.warn(
            f"initlab.torch.init_ left {len(summary.skipped)} parameter(s) as they were: {listed}",
            SkippedLayerWarning,
            stacklevel=3,
        )
    return summary


def init_(
    module: nn.Module,
    init: initializers.Identifier = "he_normal",
    bias_init: initializers.Identifier = "zeros",
    generator: Generator = None,
    X: Any = None,
    *,
    embedding_init: initializers.Identifier = "normal",
    recurrent_init: initializers.Identifier = "orthogonal",
) -> nn.Module:
    """Initialize every parameter of ``module`` in place that initlab has a rule for; returns
    ``module`` (:func:`initialize` returns the summary instead).

    ``init``, ``bias_init``, ``embedding_init`` and ``recurrent_init`` are any initlab
    initializer: a registered name, a config such as ``{"name": "kaiming_normal", "mode":
    "fan_out", "nonlinearity": "relu"}``, or an initializer object. What each applies to:

    - ``init``: Linear and Conv1d/2d/3d weights (attention's ``out_proj`` included); the Q, K
      and V blocks of a MultiheadAttention's ``in_proj_weight``, each with its own fans (or
      its separate ``q/k/v_proj_weight``); a recurrent layer's input weights ``weight_ih``,
      gate by gate, and an LSTM's projection ``weight_hr``;
    - ``recurrent_init`` (default orthogonal): recurrent weights ``weight_hh``, gate by gate,
      so each gate's (H, H) matrix is orthogonal;
    - ``embedding_init`` (default ``normal``, σ = 1: PyTorch's own, unit-variance inputs for
      the next layer): Embedding/EmbeddingBag tables, the ``padding_idx`` row zeroed;
    - ``bias_init``: every bias (Linear, Conv, attention, recurrent);
    - normalisation layers (BatchNorm, LayerNorm, GroupNorm, InstanceNorm, RMSNorm): weight
      ones, bias zeros.

    Anything else (transposed convolutions, parameters of modules initlab has no rule for) is
    left as it was and named, with the reason, in one :class:`SkippedLayerWarning`. Weights
    are drawn with the parameter's (or block's) shape in initlab's ``(fan_out, fan_in,
    *receptive_field)`` layout, which PyTorch shares, parameter after parameter in module
    order, from one generator: an int seed (its :func:`initlab.rng.streams` ``init`` stream),
    a ``numpy.random.Generator`` or ``None`` (fresh OS entropy). ``"lsuv"`` (or an
    :class:`~initlab.initializers.LSUV`) needs a batch ``X`` and runs :func:`lsuv_`.

    >>> layer = init_(nn.Linear(300, 200), "kaiming_normal", generator=0)
    >>> round(float(layer.weight.detach().std()) * 300**0.5, 1)  # σ = √2 / √fan_in
    1.4
    >>> bool((layer.bias == 0).all())
    True
    """
    summary = initialize(
        module, init, bias_init, generator, X,
        embedding_init=embedding_init, recurrent_init=recurrent_init,
    )  # fmt: skip
    return summary.module


def lsuv_(
    model: nn.Module,
    X: Any,
    tol: float = 0.1,
    max_iter: int = 10,
    base: str | dict[str, Any] = "orthogonal",
    generator: Generator = None,
    *,
    embedding_init: initializers.Identifier = "normal",
    recurrent_init: initializers.Identifier = "orthogonal",
) -> nn.Module:
    """LSUV (Mishkin & Matas, "All you need is a good init", ICLR 2016) on a PyTorch model.

    The algorithm of :mod:`initlab.initializers.lsuv`, run on the model's own forward pass:
    draw every weight from ``base`` (orthogonal: initlab's, flattened to ``(out, in·∏k)`` for
    a conv) and zero every bias with :func:`init_`; then, layer by layer in the order the
    forward pass calls them, feed the batch ``X`` through the model, take the std of the
    layer's output (over all units and samples, ``correction=0``) and divide the weight by
    it, until |std − 1| < ``tol`` or ``max_iter`` rescalings::

        for each Linear/Conv/MultiheadAttention layer l, in execution order:
            repeat at most max_iter times:
                s = std(output of l on X)      (a forward hook; the pass stops at l)
                if |s − 1| < tol: stop
                W[l] ← W[l] / s                (an attention layer: its out_proj.weight)

    Recurrent layers keep their base weights: their output is bounded, not linear in a
    weight. ``X`` is anything the model's ``forward`` takes — token ids, a tuple of
    positional arguments, a dict of keyword arguments (see :mod:`initlab.torch`); the first
    tensor must hold ≥ 2 samples along dimension 0. A layer whose output has std 0 (or not
    finite) keeps its base weights, and an :class:`~initlab.initializers.LSUVWarning` names
    it, as does a layer still off after ``max_iter``. The forward passes run without
    autograd, module by module (PyTorch's fused transformer path off), in the model's
    current train/eval mode. With the same generator, a ``double()`` torch MLP gets the
    weights :func:`initlab.initializers.init_params` gives the equivalent initlab MLP with
    ``"lsuv"``. Returns ``model``.

    >>> model = nn.Sequential(*[m for _ in range(5) for m in (nn.Linear(32, 32), nn.Tanh())])
    >>> X = torch.randn(256, 32, generator=torch.Generator().manual_seed(0))
    >>> model = lsuv_(model, X, generator=0)
    >>> [round(float(model[: i + 1](X).detach().std(correction=0)), 1) for i in range(0, 10, 2)]
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    spec = LSUV(tol=tol, max_iter=max_iter, base=base)  # validates the arguments
    return _lsuv(model, X, spec, generator, embedding_init, recurrent_init).module


def _lsuv(
    model: nn.Module,
    X: Any,
    spec: LSUV,
    generator: Generator,
    embedding_init: initializers.Identifier,
    recurrent_init: initializers.Identifier,
) -> InitSummary:
    batch = as_batch(model, X)
    check_lsuv_batch(batch)
    summary = initialize(
        model, spec.base, "zeros", generator,
        embedding_init=embedding_init, recurrent_init=recurrent_init,
    )  # fmt: skip
    for layer in rescale(model, batch, spec):
        local = "out_proj.weight" if isinstance(layer.module, nn.MultiheadAttention) else "weight"
        name = f"{layer.name}.{local}" if layer.name else local
        if name in summary.done:  # (a weight shared with an earlier module is named there)
            summary.done[name] += ", then LSUV-rescaled to unit output std"
    return summary
