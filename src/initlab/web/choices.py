"""What the playground's controls offer: ``GET /api/options``.

The data sets (with their defaults and task), activations, optimizers, input features and
initializers (with their arguments, typed for the page's fields), all listed from initlab's
registries, with the server's :class:`~initlab.web.config.Limits` and the default
configuration.
"""

from __future__ import annotations

import inspect
from typing import Any

from initlab import activations, datasets, initializers, optim
from initlab.datasets.features import PLAYGROUND_FEATURES
from initlab.web.config import Limits, PlaygroundConfig, dataset_task

CHOICES: dict[str, tuple[str, ...]] = {
    "Mode": initializers.MODES,
    "TorchMode": initializers.TORCH_MODES,
    "Distribution": initializers.DISTRIBUTIONS,
}
"""Literal type aliases in initializer signatures and their values."""
NAMED_CHOICES: dict[str, tuple[str, ...]] = {
    "nonlinearity": initializers.NONLINEARITIES,
    "activation": initializers.NONLINEARITIES,
}


def _arg_spec(param: inspect.Parameter) -> dict[str, Any]:
    annotation = param.annotation if isinstance(param.annotation, str) else str(param.annotation)
    default = None if param.default is inspect.Parameter.empty else param.default
    optional = "None" in annotation
    required = param.default is inspect.Parameter.empty
    spec: dict[str, Any] = {"name": param.name, "default": default, "required": required}
    choices = CHOICES.get(annotation.replace(" | None", "")) or NAMED_CHOICES.get(param.name)
    if choices:
        spec.update(type="optional_choice" if optional else "choice", choices=list(choices))
    elif annotation.startswith("int"):
        spec["type"] = "int"
    elif annotation.startswith("float"):
        spec["type"] = "float"
    else:
        spec["type"] = "str"
    return spec


def initializer_options() -> list[dict[str, Any]]:
    """Every registered initializer with its description and arguments."""
    out = []
    for entry in initializers.INITIALIZERS:
        try:
            params = list(inspect.signature(entry.value).parameters.values())
        except (TypeError, ValueError):
            params = []
        args = [_arg_spec(p) for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        out.append({"name": entry.name, "description": entry.description, "args": args})
    return out


def dataset_options() -> list[dict[str, Any]]:
    out = []
    for entry in datasets.DATASETS:
        params = inspect.signature(entry.value).parameters
        n_train, n_test = params["n_train"].default, params["n_test"].default
        seed = params["seed"].default
        out.append(
            {
                "name": entry.name,
                "description": entry.description,
                "task": dataset_task(entry.name),
                "noise": params["noise"].default,
                "points": n_train + n_test,
                "test_fraction": round(n_test / (n_train + n_test), 4),
                "data_seed": seed,
            }
        )
    return out


def options(limits: Limits) -> dict[str, Any]:
    """What ``GET /api/options`` returns: the controls' choices, the limits, the defaults."""
    from initlab import __version__

    return {
        "version": __version__,
        "datasets": dataset_options(),
        "activations": activations.ACTIVATIONS.names(),
        "optimizers": optim.OPTIMIZERS.names(),
        "features": list(PLAYGROUND_FEATURES),
        "initializers": initializer_options(),
        "limits": limits.to_dict(),
        "defaults": PlaygroundConfig().to_dict(),
    }
