"""The command line's side of :mod:`initlab.limits`: the ``--max-memory`` option, and a refusal
that names the option responsible.

``--max-memory SIZE`` sets ``INITLAB_MAX_MEMORY`` for the command and the worker processes
it starts, so the library, which reads the variable at every check, sees the same limit
everywhere. A :class:`~initlab.limits.LimitError` names the library's arguments that set its
largest part (``layer_sizes``, ``iterations`` …); :func:`refusal` puts the command's options
for them in front of its message::

    --layers: training 3 runs of [2, 100000000, 1] on 300 examples needs ~2.7 TiB, …
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from initlab.limits import LimitError

ENV_MAX_MEMORY = "INITLAB_MAX_MEMORY"
""":data:`initlab.limits.ENV_MAX_MEMORY`, repeated so that parsing options imports nothing."""


def set_max_memory(value: str | None) -> str | None:
    """The ``--max-memory`` callback: a valid size becomes ``INITLAB_MAX_MEMORY``; a bad one
    is a usage error (exit 2) that echoes it."""
    if value is None:
        return None
    from initlab.limits import parse_size

    try:
        os.environ[ENV_MAX_MEMORY] = str(parse_size(value))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


MaxMemoryOption = Annotated[
    str | None,
    typer.Option(
        "--max-memory",
        metavar="SIZE",
        callback=set_max_memory,
        help=(
            "Refuse, before allocating, anything estimated to need more memory than SIZE "
            "(bytes, or 512M, 8G, 1.5T); sets INITLAB_MAX_MEMORY for this command."
        ),
        show_default="INITLAB_MAX_MEMORY, else half of this machine's memory",
    ),
]

TRAINING_OPTIONS = {
    "layer_sizes": "--layers",
    "iterations": "--iterations",
    "record_every": "--record-every",
    "diagnose_every": "--every",
    "dataset": "--dataset",
    "n_train": "--dataset",
}
"""The options of ``compare`` that set each argument an estimate names."""

DIAGNOSE_OPTIONS = {**TRAINING_OPTIONS, "record_every": "--every"}
"""``diagnose`` records costs and diagnostics every ``--every`` iterations."""

THEORY_OPTIONS = {"depth": "--depth", "width": "--width"}


def refusal(exc: LimitError, options: Mapping[str, str]) -> str:
    """``exc``'s message after the options that set its largest part (``--layers: …``)."""
    named = list(dict.fromkeys(options[c] for c in exc.cause if c in options))
    return (", ".join(named) + ": " if named else "") + str(exc)
