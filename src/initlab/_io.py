"""Writing results out: strict JSON and atomic files, each written once for the whole package.

**Non-finite numbers become ``null``.** JSON has no NaN or infinity, and Python's ``json``
would otherwise write the invalid tokens ``NaN``/``Infinity``. Every JSON initlab writes
(CLI ``--json``, exported records, the result store, the playground's answers, reports) goes
through :func:`to_json_safe`, which maps NaN, +inf and −inf to ``null`` and NumPy scalars and
arrays to plain Python numbers and lists, then :func:`dumps` refuses anything left over
(``allow_nan=False``). Where a reader needs to know *why* a value is missing (a diverged run),
the status travels beside it (``"status": "diverged"``), not inside the number.

**Files appear whole or not at all.** :func:`write_atomic` writes to a temporary file beside
the target and renames it into place (:func:`os.replace`, atomic on POSIX), so a reader or an
interrupted run never sees half a file and what was there before survives a failure.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np


def to_json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` and NumPy scalars/arrays as Python ones.

    >>> to_json_safe({"cost": float("nan"), "q": [1.0, float("inf")], "n": np.int64(3)})
    {'cost': None, 'q': [1.0, None], 'n': 3}
    """
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int or kind is str or value is None:
        return value
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biu":
            return value.tolist()
        if value.dtype.kind == "f":
            finite = np.isfinite(value)
            if finite.all():
                return value.tolist()
            objects = value.astype(object)
            objects[~finite] = None
            return objects.tolist()
        return to_json_safe(value.tolist())
    if isinstance(value, dict):
        return {key: to_json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return _safe_sequence(value)
    return value


def _safe_sequence(items: list[Any] | tuple[Any, ...]) -> list[Any]:
    """:func:`to_json_safe` of a list or tuple; one of plain ints and floats (a histogram, a
    curve) is checked in one pass instead of item by item."""
    kinds = {type(item) for item in items}
    if kinds <= {int, float}:
        if float not in kinds or all(math.isfinite(item) for item in items):
            return list(items)
        return [item if math.isfinite(item) else None for item in items]
    return [to_json_safe(item) for item in items]


def finite_or_none(value: float | None) -> float | None:
    """A single number for JSON: ``value`` if finite, else ``None``."""
    return value if value is not None and math.isfinite(value) else None


def dumps(value: Any, *, compact: bool = False, **kwargs: Any) -> str:
    """Strict JSON text of ``value`` (see the module docstring for non-finite numbers)."""
    if compact:
        kwargs.setdefault("separators", (",", ":"))
    return json.dumps(to_json_safe(value), allow_nan=False, **kwargs)


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically; returns the path."""
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return write_atomic_with(path, lambda handle: handle.write(payload))


def write_atomic_with(path: str | os.PathLike[str], write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(handle)`` on a temporary binary file beside ``path``, then rename it into
    place; on any failure the temporary file is removed and ``path`` is left as it was.

    The temporary file is created with :func:`os.open` so it honours the umask (unlike
    :mod:`tempfile`'s private 0600 files).
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
