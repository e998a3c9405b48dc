"""What :func:`~initlab.torch.init_` does to each parameter, module type by module type.

Every parameter of the module is either drawn, set, or named as skipped with the reason, in
an :class:`InitSummary`. Parameters are visited in module order (``named_modules``), each
module's own parameters in their registration order, so a Linear's weight is drawn before
its bias, as :func:`initlab.initializers.init_params` does. A block of a packed parameter is
drawn with the block's own shape, so its fans are the block's: initlab's
``(fan_out, fan_in, *receptive_field)`` convention, which is what
``torch.nn.init._calculate_fan_in_and_fan_out`` computes for that block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from initlab import initializers
from initlab.rng import RandomSource
from initlab.torch._layers import WEIGHT_LAYERS, check_materialised

SKIPPED_LAYERS: tuple[type[nn.Module], ...] = (
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
)
"""Transposed convolutions: no clear fan convention, left alone (see :mod:`initlab.torch`)."""

NORM_LAYERS: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,  # BatchNorm1d/2d/3d, SyncBatchNorm, InstanceNorm1d/2d/3d
    nn.LayerNorm,
    nn.GroupNorm,
    nn.RMSNorm,
)
"""Normalisation layers: their affine weight is set to ones and bias to zeros (the identity)."""

EMBEDDINGS: tuple[type[nn.Module], ...] = (nn.Embedding, nn.EmbeddingBag)
RECURRENT: tuple[type[nn.Module], ...] = (nn.RNNBase, nn.RNNCellBase)

TRANSPOSED_REASON = (
    "transposed convolution: its fan convention is ambiguous (see initlab.torch's documentation)"
)


@dataclass(frozen=True)
class InitSummary:
    """What :func:`~initlab.torch.initialize` did to every parameter of ``module``.

    ``done`` maps a parameter's name (as ``named_parameters`` gives it) to how it was set;
    ``skipped`` maps the ones left as they were to the reason. Every parameter is in one of
    the two.
    """

    module: nn.Module
    done: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{name}: {how}" for name, how in self.done.items()]
        lines += [f"{name}: skipped ({why})" for name, why in self.skipped.items()]
        return "\n".join(lines)


@dataclass
class Plan:
    """The initializers of one :func:`~initlab.torch.initialize` call, its generator, and
    the summary it fills in."""

    weight: initializers.Initializer
    bias: initializers.Initializer
    embedding: initializers.Initializer
    recurrent: initializers.Initializer
    rng: RandomSource
    summary: InitSummary

    def draw(self, name: str, param: torch.Tensor, init: Any, blocks: int = 1) -> None:
        """Draw ``param`` from ``init`` as ``blocks`` equal blocks stacked along dimension 0,
        each with its own shape (and so its own fans), one after the other."""
        shape = (param.shape[0] // blocks, *param.shape[1:])
        _copy(param, np.concatenate([init(self.rng, shape) for _ in range(blocks)]))
        per = f", per block: {blocks} × {shape}" if blocks > 1 else ""
        self.summary.done[name] = f"{init!r}{per}"

    def draw_bias(self, name: str, param: torch.Tensor) -> None:
        """A bias, drawn as initlab's ``(n, 1)`` bias shape and flattened."""
        _copy(param, self.bias(self.rng, (param.numel(), 1)))
        self.summary.done[name] = f"{self.bias!r} (bias)"

    def fill(self, name: str, param: torch.Tensor, value: float) -> None:
        param.fill_(value)
        self.summary.done[name] = f"constant {value:g}"


def _copy(param: torch.Tensor, values: NDArray[Any]) -> None:
    """Copy ``values`` into ``param`` (same number of elements), keeping its dtype and device."""
    source = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float64))
    param.copy_(source.reshape(param.shape))


Rule = Callable[[Plan, str, nn.Module, str, torch.Tensor], bool]
"""``rule(plan, full_name, module, local_name, param)``: set the parameter and return True,
or return False to leave it to the "no rule" skip."""


def _weight_layer(plan: Plan, name: str, module: nn.Module, local: str, p: torch.Tensor) -> bool:
    """Linear, Conv1d/2d/3d (an attention layer's ``out_proj`` is a Linear): ``init`` on the
    weight, ``bias_init`` on the bias."""
    if local == "weight":
        plan.draw(name, p, plan.weight)
    elif local == "bias":
        plan.draw_bias(name, p)
    else:
        return False
    return True


def _attention(plan: Plan, name: str, module: nn.Module, local: str, p: torch.Tensor) -> bool:
    """MultiheadAttention: the packed ``in_proj_weight`` (3E, E) as three blocks Q, K, V,
    each (E, E) with its own fans; separate ``q/k/v_proj_weight`` (E, E), (E, kdim),
    (E, vdim) each with theirs; ``in_proj_bias`` and ``bias_k``/``bias_v`` with ``bias_init``.
    ``out_proj`` is a Linear of its own."""
    if local == "in_proj_weight":
        plan.draw(name, p, plan.weight, blocks=3)
    elif local in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
        plan.draw(name, p, plan.weight)
    elif local in ("in_proj_bias", "bias_k", "bias_v"):
        plan.draw_bias(name, p)
    else:
        return False
    return True


def _recurrent(plan: Plan, name: str, module: nn.Module, local: str, p: torch.Tensor) -> bool:
    """RNN/LSTM/GRU and their cells: ``weight_ih*`` stacks G gates (1, 4, 3) of shape
    (H, input): ``init`` per gate; ``weight_hh*`` stacks G gates of (H, H) (or (H, proj)):
    ``recurrent_init`` per gate (orthogonal by default); ``weight_hr*`` (the LSTM projection)
    ``init``; biases ``bias_init``."""
    hidden = module.hidden_size
    assert isinstance(hidden, int)
    if local.startswith("weight_ih"):
        plan.draw(name, p, plan.weight, blocks=p.shape[0] // hidden)
    elif local.startswith("weight_hh"):
        plan.draw(name, p, plan.recurrent, blocks=p.shape[0] // hidden)
    elif local.startswith("weight_hr"):
        plan.draw(name, p, plan.weight)
    elif local.startswith("bias"):
        plan.draw_bias(name, p)
    else:
        return False
    return True


def _embedding(plan: Plan, name: str, module: nn.Module, local: str, p: torch.Tensor) -> bool:
    """Embedding/EmbeddingBag: ``embedding_init`` on the (num_embeddings, dim) table, then the
    ``padding_idx`` row zeroed, as PyTorch does."""
    if local != "weight":
        return False
    plan.draw(name, p, plan.embedding)
    padding = getattr(module, "padding_idx", None)
    if padding is not None:
        p[padding].zero_()
        plan.summary.done[name] += f", row {padding} (padding_idx) zeroed"
    return True


def _norm(plan: Plan, name: str, module: nn.Module, local: str, p: torch.Tensor) -> bool:
    """Normalisation layers: weight ones, bias zeros, so the layer starts as a plain
    normalisation (whatever ``init`` is)."""
    if local not in ("weight", "bias"):
        return False
    plan.fill(name, p, 1.0 if local == "weight" else 0.0)
    return True


RULES: tuple[tuple[tuple[type[nn.Module], ...], Rule], ...] = (
    (WEIGHT_LAYERS, _weight_layer),
    ((nn.MultiheadAttention,), _attention),
    (RECURRENT, _recurrent),
    (EMBEDDINGS, _embedding),
    (NORM_LAYERS, _norm),
)
"""Module types and their rule, first match wins; see each rule's docstring."""


def apply(plan: Plan) -> InitSummary:
    """Set every parameter of ``plan.summary.module`` by its module's rule, or name it as
    skipped; a parameter shared by two modules is set once, by the first."""
    module = plan.summary.module
    seen: set[int] = set()
    for mod_name, sub in module.named_modules():
        check_materialised(mod_name, sub)
        for local, param in sub.named_parameters(recurse=False):
            name = f"{mod_name}.{local}" if mod_name else local
            if id(param) in seen:
                continue
            seen.add(id(param))
            if isinstance(sub, SKIPPED_LAYERS):
                plan.summary.skipped[name] = TRANSPOSED_REASON
                continue
            rule = next((r for kinds, r in RULES if isinstance(sub, kinds)), None)
            if rule is None or not rule(plan, name, sub, local, param):
                plan.summary.skipped[name] = f"no initlab rule for {type(sub).__name__}.{local}"
    return plan.summary
