"""What :func:`~initlab.torch.record` and :func:`~initlab.torch.lsuv_` feed a model, and the
seed convention of the whole bridge.

The input convention, stated once: ``X`` is whatever the model's ``forward`` takes.

- a ``torch.Tensor`` is passed untouched, ``model(X)``: token ids stay ``int64``, a
  ``float64`` tensor stays ``float64``, nothing moves device;
- a ``tuple`` is the positional arguments, ``model(*X)``;
- a ``dict`` is the keyword arguments, ``model(**X)``;
- anything else (a NumPy array, a list) becomes a tensor on the model's device: a floating
  array in the model's floating dtype (initlab's ``float64`` data feed a ``float32`` model),
  an integer or boolean array keeps its integer dtype (token ids stay ids).

Elements of a tuple or dict follow the same rules, so ``(ids, mask)`` and
``{"input_ids": ids, "attention_mask": mask}`` work as they do in ``forward``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from initlab.rng import RandomSource, check_seed, streams

Generator = int | np.random.Generator | np.random.RandomState | None


def as_rng(generator: Generator) -> RandomSource:
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


@dataclass(frozen=True)
class Batch:
    """A model's inputs, ready to call it with: ``model(*args, **kwargs)``."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def run(self, model: nn.Module) -> Any:
        return model(*self.args, **self.kwargs)

    def tensors(self) -> list[torch.Tensor]:
        """The tensors among the inputs, positional ones first."""
        values = [*self.args, *self.kwargs.values()]
        return [v for v in values if isinstance(v, torch.Tensor)]


def as_batch(model: nn.Module, X: Any) -> Batch:
    """``X`` as the model's inputs, by the convention of this module's docstring (a
    :class:`Batch` as it is)."""
    if isinstance(X, Batch):
        return X
    if isinstance(X, tuple):
        return Batch(tuple(_as_input(model, x) for x in X), {})
    if isinstance(X, Mapping):
        return Batch((), {str(k): _as_input(model, v) for k, v in X.items()})
    return Batch((_as_input(model, X),), {})


def _as_input(model: nn.Module, x: Any) -> Any:
    """A tensor untouched; an array-like as a tensor on the model's device, floating data in
    the model's floating dtype; anything else (``None``, a flag) untouched."""
    if isinstance(x, torch.Tensor) or x is None or isinstance(x, bool | str):
        return x
    array = np.asarray(x)
    if array.dtype.kind not in "biuf":
        return x
    param = next(model.parameters(), None)
    device = param.device if param is not None else None
    if array.dtype.kind == "f":
        floating = param is not None and param.is_floating_point()
        dtype = param.dtype if param is not None and floating else torch.get_default_dtype()
        return torch.as_tensor(array, dtype=dtype, device=device)
    return torch.as_tensor(array, device=device)


def check_lsuv_batch(batch: Batch) -> None:
    """LSUV measures a std over a batch: the first input tensor needs ≥ 2 samples along
    dimension 0, and every floating input must be finite."""
    tensors = batch.tensors()
    if not tensors:
        raise ValueError("LSUV needs a batch: X holds no tensor or array")
    first = tensors[0]
    if first.ndim < 1 or first.shape[0] < 2:
        raise ValueError(
            "LSUV needs a batch of at least 2 samples, samples along dimension 0. "
            f"Received: X with shape {tuple(first.shape)}"
        )
    for t in tensors:
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ValueError("LSUV's batch X must be finite")


@contextmanager
def module_by_module() -> Iterator[None]:
    """Turn off PyTorch's fused fast path for ``TransformerEncoder`` and
    ``MultiheadAttention`` (taken in eval mode without autograd) for the duration: it runs a
    whole encoder layer in one kernel, so no ``Linear`` is called as a module and no forward
    hook fires. The previous setting is restored afterwards."""
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(before)
