"""Reading a user's classification set from a file: :func:`from_csv` (a header row, feature
columns and one label column) and :func:`from_npz` (named arrays), each mapping its labels to
``0..k−1`` and splitting the rows, stratified, into a train and a test set; errors name the
file, the row and the column."""

from __future__ import annotations

import csv
import math
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from initlab._validate import check_finite_array, check_real, flat_labels, is_label_vector

from .base import TASKS, Dataset, FloatArray, IntArray, int_seed


def _check_split(test_fraction: object, seed: object, reader: str) -> tuple[float, int]:
    """The checked ``test_fraction`` (strictly between 0 and 1) and split ``seed``."""
    fraction = check_real(
        "test_fraction",
        test_fraction,
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
        must="a float in (0, 1), exclusive",
    )
    return fraction, int_seed(seed, reader)


def _data_file(path: str | os.PathLike[str]) -> Path:
    file = Path(path)
    if not file.is_file():
        why = " (it is a directory)" if file.is_dir() else ""
        raise FileNotFoundError(f"Data file not found: '{file}'{why}")
    return file


def _label_name(key: object) -> str:
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def _encode_labels(keys: Sequence[Any], source: str) -> tuple[IntArray, tuple[str, ...]]:
    """Map sorted unique labels to ``0..k−1``; fail on a single class."""
    classes = sorted(set(keys))
    if len(classes) < 2:
        raise ValueError(
            f"Only one class in {source}: label {_label_name(classes[0])!r} in all "
            f"{len(keys)} samples; a classification set needs at least 2 classes"
        )
    index = {key: i for i, key in enumerate(classes)}
    y = np.fromiter((index[key] for key in keys), dtype=np.int64, count=len(keys))
    return y, tuple(_label_name(key) for key in classes)


def _split(
    X: FloatArray,
    y: IntArray | FloatArray,
    label_names: tuple[str, ...],
    test_fraction: float,
    seed: int,
    name: str,
) -> Dataset:
    """A stratified, shuffled split: each class sends ``round(n_c·test_fraction)`` points to
    the test set but keeps at least one for training. Float ``y`` (regression targets) is
    split unstratified: ``round(n·test_fraction)`` points to the test set, at least one kept."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    if y.dtype.kind == "f":  # regression targets: one shuffled split, no strata
        idx = rng.permutation(y.shape[0])
        n_test = min(math.floor(idx.size * test_fraction + 0.5), idx.size - 1)
        test, train = idx[:n_test], idx[n_test:]
        return Dataset(name, X[train], y[train], X[test], y[test], task="regression")
    train_idx, test_idx = [], []
    for c in range(len(label_names)):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_test = min(math.floor(idx.size * test_fraction + 0.5), idx.size - 1)
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    return Dataset(name, X[train], y[train], X[test], y[test], label_names)


def _check_task(task: object) -> None:
    if task not in TASKS:
        raise ValueError(f"Argument `task` must be one of {list(TASKS)}. Received: task={task!r}")


def _check_samples(n: int, source: str) -> None:
    if n < 2:
        raise ValueError(f"{source} has {n} sample(s); a data set needs at least 2")


def _parse_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def from_csv(
    path: str | os.PathLike[str],
    label_column: str = "label",
    test_fraction: float = 0.25,
    seed: int = 0,
    *,
    delimiter: str = ",",
    name: str | None = None,
    task: str = "classification",
) -> Dataset:
    """Read a classification set from a CSV file: feature columns plus one label column
    (with ``task="regression"``, a regression set: the label column holds the real target).

    The first row must be a header naming the columns; ``label_column`` names the label
    column, every other column is a numeric feature (finite numbers, no empty cells). Blank
    lines are skipped. Labels may be any text: if they are all numbers they are ordered
    numerically, otherwise as text, and the sorted labels become ``0..k−1``, their original
    text kept in ``Dataset.label_names`` (``"1.0"`` reads as ``"1"``).

    The rows are split by :func:`numpy.random.default_rng` on ``seed``, stratified: each class
    sends ``round(n_c · test_fraction)`` of its ``n_c`` rows to the test set but keeps at least
    one for training; both sets are shuffled. The file is only read. Errors name the file,
    the row (data rows count from 1, after the header; the file line is given too), the
    column and the offending text. ``name`` defaults to the file's stem.

    Regression: every target must be a finite number (a text target is refused, naming its
    row); rows are split unstratified (see :func:`_split`).
    """
    test_fraction, checked = _check_split(test_fraction, seed, "from_csv")
    _check_task(task)
    file = _data_file(path)
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{file} is empty; it needs a header row naming the columns")
            header = [cell.strip() for cell in header]
            if header.count(label_column) != 1:
                looks_like_data = all(_parse_float(cell) is not None for cell in header)
                hint = (
                    "; the first row looks like data, but a header row naming the columns "
                    "is required"
                    if looks_like_data
                    else f"; pass label_column= one of {header}"
                )
                found = "appears twice" if header.count(label_column) else "not found"
                raise ValueError(
                    f"Label column {label_column!r} {found} in {file}. "
                    f"Columns found: {header}{hint}"
                )
            label_at = header.index(label_column)
            feature_at = [i for i in range(len(header)) if i != label_at]
            if not feature_at:
                raise ValueError(
                    f"{file} has no feature columns, only the label column {label_column!r}"
                )
            rows: list[list[float]] = []
            labels: list[str] = []
            for row in reader:
                if not row:
                    continue
                where = f"row {len(rows) + 1} (line {reader.line_num})"
                if len(row) != len(header):
                    raise ValueError(
                        f"Ragged row in {file}: {where} has {len(row)} field(s); "
                        f"the header has {len(header)} columns"
                    )
                values = []
                for i in feature_at:
                    text = row[i].strip()
                    if not text:
                        raise ValueError(
                            f"Empty cell in {file}, {where}, column {header[i]!r}; "
                            "every cell needs a value"
                        )
                    value = _parse_float(text)
                    if value is None:
                        raise ValueError(
                            f"Column {header[i]!r} must be numeric: {file}, {where} holds "
                            f"the text {text!r}"
                        )
                    if not math.isfinite(value):
                        raise ValueError(
                            f"NaN or infinite value in {file}, {where}, column {header[i]!r}: "
                            f"{text!r}; only finite numbers are allowed"
                        )
                    values.append(value)
                text = row[label_at].strip()
                number = _parse_float(text)
                if not text or (number is not None and not math.isfinite(number)):
                    raise ValueError(
                        f"{'Empty' if not text else 'NaN or infinite'} label in {file}, "
                        f"{where}, column {label_column!r}"
                        + (f": {text!r}" if text else "; every row needs a label")
                    )
                rows.append(values)
                labels.append(text)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{file} is not UTF-8 text (is it a CSV file?): {exc}") from None
    _check_samples(len(rows), str(file))
    numbers = [_parse_float(text) for text in labels]
    if task == "regression":
        bad = next((i for i, v in enumerate(numbers) if v is None), None)
        if bad is not None:
            raise ValueError(
                f"A regression target must be a number: {file}, row {bad + 1}, column "
                f"{label_column!r} holds the text {labels[bad]!r}"
            )
        X = np.array(rows, dtype=np.float64)
        targets = np.array(numbers, dtype=np.float64)
        return _split(X, targets, (), test_fraction, checked, name or file.stem)
    keys: list[Any] = labels if any(v is None for v in numbers) else numbers
    y, label_names = _encode_labels(keys, str(file))
    X = np.array(rows, dtype=np.float64)
    return _split(X, y, label_names, test_fraction, checked, name or file.stem)


NPZ_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"\x93NUMPY")
"""The first bytes of a zip archive (``np.savez``; an empty one) and of a ``.npy`` array.
Anything else is refused before :func:`numpy.load`, whose message for an unknown file
recommends ``allow_pickle=True``, the one thing initlab never does with a data file."""


def _check_npz_signature(file: Path) -> None:
    """Refuse a file that is neither a zip archive nor a ``.npy`` array, saying so plainly."""
    with open(file, "rb") as handle:
        head = handle.read(6)
    if not head.startswith(NPZ_SIGNATURES):
        raise ValueError(
            f"{file} is not a readable .npz archive: it is not a zip of arrays as np.savez "
            f"writes (its first bytes are {head!r})"
        )


def from_npz(
    path: str | os.PathLike[str],
    X_key: str = "X",
    y_key: str = "y",
    test_fraction: float = 0.25,
    seed: int = 0,
    *,
    name: str | None = None,
    task: str = "classification",
) -> Dataset:
    """Read a classification set from a NumPy ``.npz`` archive (as written by ``np.savez``);
    with ``task="regression"`` a regression set, ``y_key`` holding finite real targets.

    ``X_key`` names a 2-D numeric array, samples in rows; ``y_key`` one label per row
    (numbers, booleans or strings; a column vector is accepted). Labels are sorted and become
    ``0..k−1``, their original values kept, as text, in ``Dataset.label_names``. The archive
    is opened with ``allow_pickle=False``: object arrays are refused, never unpickled. Rows are
    split as :func:`from_csv` splits them. ``name`` defaults to the file's stem.
    """
    test_fraction, checked = _check_split(test_fraction, seed, "from_npz")
    _check_task(task)
    file = _data_file(path)
    _check_npz_signature(file)
    try:
        archive = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{file} is not a readable .npz archive: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(
            f"{file} holds a single array, not an .npz archive of named arrays "
            f"({X_key!r} and {y_key!r}); write it with np.savez(path, {X_key}=X, {y_key}=y)"
        )
    with archive:
        arrays = {}
        for key in (X_key, y_key):
            if key not in archive.files:
                raise ValueError(f"Key {key!r} not found in {file}. Keys found: {archive.files}")
            try:
                arrays[key] = archive[key]
            except ValueError:
                raise ValueError(
                    f"Array {key!r} in {file} holds Python objects, which initlab does not "
                    "unpickle; save numbers or strings"
                ) from None
    X_raw, y_raw = arrays[X_key], arrays[y_key]
    if X_raw.dtype.kind not in "biuf":
        raise ValueError(f"Array {X_key!r} in {file} must be numeric. Received dtype {X_raw.dtype}")
    if X_raw.ndim != 2:
        raise ValueError(
            f"Array {X_key!r} in {file} must be 2-D, (n_samples, n_features). "
            f"Received shape {X_raw.shape}"
        )
    X = X_raw.astype(np.float64)
    check_finite_array(X, f"Array {X_key!r} in {file}")
    y_vector = is_label_vector(y_raw, X.shape[0])
    if y_vector is None:
        raise ValueError(
            f"Array {y_key!r} in {file} must hold one label per row of {X_key!r}: "
            f"{X.shape[0]} rows, {y_key!r} has shape {flat_labels(y_raw).shape}"
        )
    y_raw = y_vector
    _check_samples(X.shape[0], str(file))
    kind = y_raw.dtype.kind
    if kind not in "biufUS":
        raise ValueError(
            f"Array {y_key!r} in {file} must hold numbers or strings. Received dtype {y_raw.dtype}"
        )
    if kind == "f" and not np.isfinite(y_raw).all():
        row = int(np.flatnonzero(~np.isfinite(y_raw))[0])
        raise ValueError(f"Array {y_key!r} in {file} has label {y_raw[row]} at row {row}")
    if task == "regression":
        if kind not in "iuf":
            raise ValueError(
                f"Array {y_key!r} in {file} must hold numbers for a regression set. "
                f"Received dtype {y_raw.dtype}"
            )
        return _split(X, y_raw.astype(np.float64), (), test_fraction, checked, name or file.stem)
    keys: list[Any]
    if kind == "S":
        keys = [v.decode("utf-8", "replace") for v in y_raw.tolist()]
    elif kind == "b":
        keys = [str(v) for v in y_raw.tolist()]
    else:
        keys = y_raw.tolist()
    y, label_names = _encode_labels(keys, str(file))
    return _split(X, y, label_names, test_fraction, checked, name or file.stem)
