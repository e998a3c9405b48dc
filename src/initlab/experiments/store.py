"""The result store: one SQLite file of finished runs, keyed by the hash of their config.

Each finished run is one row: its full config (JSON), final metrics, cost curve, diagnostic
findings and records at initialization and at the end, its trained parameters, the time it
took, the engine and the initlab version. Rows are written in short transactions with
``INSERT OR IGNORE`` in SQLite's write-ahead-log mode, so

- re-running a spec skips what is already there (:meth:`ResultStore.finished_keys`);
- killing a sweep at any moment loses at most the runs not yet written, never the file;
- two sweeps writing the same store at once are safe (SQLite serialises the writers; a run
  both computed is stored once).

:meth:`ResultStore.to_dataframe` loads the runs as a pandas DataFrame (``pip install
initlab[sweep]``), one column per config field and metric; :meth:`export` writes CSV or
Parquet.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import initlab
from initlab._io import dumps, finite_or_none
from initlab.network import Layer, Params

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    grp TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    iterations_run INTEGER NOT NULL,
    diverged_at INTEGER,
    initial_cost REAL,
    final_cost REAL,
    baseline_cost REAL,
    train_accuracy REAL,
    test_accuracy REAL,
    curve TEXT NOT NULL,
    findings TEXT NOT NULL,
    records TEXT NOT NULL,
    params BLOB,
    seconds REAL NOT NULL,
    engine TEXT NOT NULL,
    initlab_version TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_grp ON runs (grp);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

COLUMNS = (
    "key", "grp", "config", "status", "iterations_run", "diverged_at", "initial_cost",
    "final_cost", "baseline_cost", "train_accuracy", "test_accuracy", "curve", "findings",
    "records", "params", "seconds", "engine", "initlab_version", "created_at",
)  # fmt: skip

LOCK_TIMEOUT = 120.0
"""Seconds a writer waits for another process's lock on the store before giving up."""


def _json(value: Any) -> str:
    """Strict, compact JSON (non-finite numbers as ``null``) for a text column."""
    return dumps(value, compact=True)


@dataclass
class RunRow:
    """One finished run, as stored."""

    key: str
    group: str
    config: dict[str, Any]
    status: str
    iterations_run: int
    diverged_at: int | None
    initial_cost: float | None
    final_cost: float | None
    baseline_cost: float | None
    """Cross-entropy of the best constant prediction (the label frequencies): the cost a
    network that learned nothing reaches."""
    train_accuracy: float | None
    test_accuracy: float | None
    curve: dict[str, list[Any]]
    findings: list[dict[str, Any]]
    records: list[dict[str, Any]]
    params: Params | None
    seconds: float
    engine: str
    initlab_version: str = initlab.__version__
    created_at: float = field(default_factory=time.time)

    def to_sql(self) -> tuple[Any, ...]:
        return (
            self.key, self.group, _json(self.config), self.status, self.iterations_run,
            self.diverged_at, finite_or_none(self.initial_cost), finite_or_none(self.final_cost),
            finite_or_none(self.baseline_cost), finite_or_none(self.train_accuracy),
            finite_or_none(self.test_accuracy), _json(self.curve), _json(self.findings),
            _json(self.records), params_to_bytes(self.params), self.seconds, self.engine,
            self.initlab_version, self.created_at,
        )  # fmt: skip

    @staticmethod
    def from_sql(row: Sequence[Any]) -> RunRow:
        d = dict(zip(COLUMNS, row, strict=True))
        return RunRow(
            key=d["key"], group=d["grp"], config=json.loads(d["config"]), status=d["status"],
            iterations_run=d["iterations_run"], diverged_at=d["diverged_at"],
            initial_cost=d["initial_cost"], final_cost=d["final_cost"],
            baseline_cost=d["baseline_cost"], train_accuracy=d["train_accuracy"],
            test_accuracy=d["test_accuracy"], curve=json.loads(d["curve"]),
            findings=json.loads(d["findings"]), records=json.loads(d["records"]),
            params=params_from_bytes(d["params"]), seconds=d["seconds"], engine=d["engine"],
            initlab_version=d["initlab_version"], created_at=d["created_at"],
        )  # fmt: skip


def params_to_bytes(params: Params | None) -> bytes | None:
    """The parameters as an ``.npz`` (W0, b0, W1, b1, …), the portable NumPy format."""
    if params is None:
        return None
    buffer = io.BytesIO()
    arrays = {f"{name}{k}": a for k, layer in enumerate(params) for name, a in
              (("W", layer.W), ("b", layer.b))}  # fmt: skip
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types one kwarg
    return buffer.getvalue()


def params_from_bytes(blob: bytes | None) -> Params | None:
    if blob is None:
        return None
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        n = len(z.files) // 2
        return [Layer(z[f"W{k}"], z[f"b{k}"]) for k in range(n)]


class ResultStore:
    """A SQLite file of finished runs; ``create=False`` opens only an existing one.

    >>> import tempfile, os
    >>> store = ResultStore(os.path.join(tempfile.mkdtemp(), "runs.db"))
    >>> len(store)
    0
    """

    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        if self.path.exists() and self.path.is_dir():
            raise ValueError(f"The store path {str(self.path)!r} is a folder; give a file name")
        if not create and not self.path.exists():
            raise FileNotFoundError(f"No result store at {str(self.path)!r}")
        with self._connect() as db:
            version = self._schema_version(db)
            if version is not None and version != SCHEMA_VERSION:
                raise ValueError(
                    f"{self.path} was written by a store of schema version {version}; this "
                    f"initlab reads version {SCHEMA_VERSION}"
                )

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            raise ValueError(f"Cannot open the store {str(self.path)!r}: {exc}") from None
        with closing(db):
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    self._prepare(db)
                    break
                except sqlite3.OperationalError as exc:
                    # Switching a new file to WAL needs a lock that SQLite does not wait
                    # for: two processes creating one store at once retry here.
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise self._not_a_store(exc) from None
                    time.sleep(0.02)
                except sqlite3.DatabaseError as exc:
                    raise self._not_a_store(exc) from None
            yield db

    @staticmethod
    def _prepare(db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        db.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

    def _not_a_store(self, exc: sqlite3.DatabaseError) -> ValueError:
        return ValueError(f"{str(self.path)!r} is not an initlab result store (SQLite said: {exc})")

    @staticmethod
    def _schema_version(db: sqlite3.Connection) -> int | None:
        row = db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        return int(row[0]) if row else None

    def add(self, rows: Iterable[RunRow]) -> int:
        """Store finished runs in one transaction; runs already there are left as they are.
        Returns how many were new."""
        values = [row.to_sql() for row in rows]
        if not values:
            return 0
        placeholders = ", ".join("?" * len(COLUMNS))
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                before = db.total_changes
                db.executemany(f"INSERT OR IGNORE INTO runs VALUES ({placeholders})", values)
                added = db.total_changes - before
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return added

    def finished_keys(self) -> set[str]:
        with self._connect() as db:
            return {key for (key,) in db.execute("SELECT key FROM runs")}

    def __len__(self) -> int:
        with self._connect() as db:
            (count,) = db.execute("SELECT COUNT(*) FROM runs").fetchone()
        return int(count)

    def rows(self, keys: Iterable[str] | None = None) -> list[RunRow]:
        """Every stored run (or those with ``keys``), in insertion order."""
        query = f"SELECT {', '.join(COLUMNS)} FROM runs"
        with self._connect() as db:
            if keys is None:
                fetched = db.execute(query + " ORDER BY rowid").fetchall()
            else:
                wanted = list(keys)
                fetched = []
                for start in range(0, len(wanted), 500):
                    chunk = wanted[start : start + 500]
                    marks = ", ".join("?" * len(chunk))
                    fetched += db.execute(f"{query} WHERE key IN ({marks})", chunk).fetchall()
        return [RunRow.from_sql(row) for row in fetched]

    def to_dataframe(self) -> pd.DataFrame:
        """One row per run: config fields (``init`` arguments as ``init.<arg>``), metrics."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - exercised without the extra
            raise ImportError(
                "Loading results as a DataFrame needs pandas: pip install 'initlab[sweep]'"
            ) from None
        records = []
        for row in self.rows():
            config = dict(row.config)
            init = config.pop("init")
            options = config.pop("data_options")
            flat = {
                "key": row.key,
                "group": row.group,
                **{k: v for k, v in config.items() if k != "layer_sizes"},
                "layer_sizes": ",".join(map(str, config["layer_sizes"]))
                if config["layer_sizes"]
                else None,
                "init": init["name"],
                **{f"init.{k}": v for k, v in init.items() if k != "name"},
                **{f"data.{k}": v for k, v in options.items()},
                "status": row.status,
                "iterations_run": row.iterations_run,
                "diverged_at": row.diverged_at,
                "initial_cost": row.initial_cost,
                "final_cost": row.final_cost,
                "baseline_cost": row.baseline_cost,
                "train_accuracy": row.train_accuracy,
                "test_accuracy": row.test_accuracy,
                "why": "; ".join(f["message"] for f in row.findings[:2]),
                "seconds": row.seconds,
                "engine": row.engine,
                "initlab_version": row.initlab_version,
            }
            records.append(flat)
        if any("dtype" in flat for flat in records):  # float64 runs leave it out of their config
            for flat in records:
                flat.setdefault("dtype", "float64")
        return pd.DataFrame.from_records(records)

    def export(self, path: str | Path) -> Path:
        """Write the runs table to ``.csv`` or ``.parquet`` (by the file's suffix)."""
        target = Path(path)
        frame = self.to_dataframe()
        if target.suffix == ".csv":
            frame.to_csv(target, index=False)
        elif target.suffix == ".parquet":
            frame.to_parquet(target, index=False)
        else:
            raise ValueError(
                f"Cannot export to {str(target)!r}: the suffix must be .csv or .parquet"
            )
        return target
