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

What only reads opens the store read-only (``ResultStore(path, read_only=True)``: ``initlab
report``, exports): nothing is created or changed, a file that is not a store is refused as it
is, and a store on a read-only disk can be read. A row that cannot be decoded is skipped with a
:class:`CorruptRowWarning` naming it, so one bad row never hides the rest of the store.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

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

READ_ATTEMPTS = 3
"""Lock-free reads of a read-only store tried before reading under SQLite's locks (see
:meth:`ResultStore._read`)."""

CONFIG_KEYS = ("dataset", "data_seed", "activation", "init", "iterations", "learning_rate",
               "optimizer", "seed", "record_every")  # fmt: skip
"""Keys every stored config has (:meth:`RunConfig.to_dict`); a row without one is corrupt."""

_NUMBER = (int, float)
SCALAR_COLUMNS: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "key": (str, False), "grp": (str, False), "status": (str, False),
    "iterations_run": (int, False), "diverged_at": (int, True),
    "initial_cost": (_NUMBER, True), "final_cost": (_NUMBER, True),
    "baseline_cost": (_NUMBER, True), "train_accuracy": (_NUMBER, True),
    "test_accuracy": (_NUMBER, True), "seconds": (_NUMBER, False), "engine": (str, False),
    "initlab_version": (str, False), "created_at": (_NUMBER, False),
}  # fmt: skip
"""Each plain column's Python type and whether it may be NULL: SQLite's loose typing lets any
value into any column, so a row is checked before it is trusted."""

_T = TypeVar("_T")


class CorruptRowWarning(UserWarning):
    """A stored run could not be decoded and was skipped; the message names it and why."""


class CorruptRowError(ValueError):
    """One column of a stored row is unreadable: ``column`` names it, the message says why."""

    def __init__(self, column: str, reason: str):
        super().__init__(f"its {column} {reason}")
        self.column = column


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
        """Decode a stored row; :class:`CorruptRowError` names the first unreadable column."""
        d = dict(zip(COLUMNS, row, strict=True))
        for column, (kind, optional) in SCALAR_COLUMNS.items():
            _typed(column, d[column], kind, optional)
        config = _json_column("config", d["config"], dict)
        missing = [k for k in CONFIG_KEYS if k not in config]
        if missing or not isinstance(config["init"], dict) or "name" not in config["init"]:
            raise CorruptRowError("config", f"lacks {missing or ['init.name']}")
        curve = _json_column("curve", d["curve"], dict)
        if not all(isinstance(curve.get(k), list) for k in ("iterations", "costs")):
            raise CorruptRowError("curve", "lacks its 'iterations' and 'costs' lists")
        findings = _json_column("findings", d["findings"], list)
        if not all(isinstance(f, dict) and isinstance(f.get("message"), str) for f in findings):
            raise CorruptRowError("findings", "holds an entry without a message")
        try:
            params = params_from_bytes(d["params"])
        except (ValueError, TypeError, KeyError, EOFError, OSError, zipfile.BadZipFile) as exc:
            raise CorruptRowError("params", f"are not a readable .npz archive ({exc})") from None
        return RunRow(
            key=d["key"], group=d["grp"], config=config, status=d["status"],
            iterations_run=d["iterations_run"], diverged_at=d["diverged_at"],
            initial_cost=d["initial_cost"], final_cost=d["final_cost"],
            baseline_cost=d["baseline_cost"], train_accuracy=d["train_accuracy"],
            test_accuracy=d["test_accuracy"], curve=curve, findings=findings,
            records=_json_column("records", d["records"], list), params=params,
            seconds=d["seconds"], engine=d["engine"], initlab_version=d["initlab_version"],
            created_at=d["created_at"],
        )  # fmt: skip


def _typed(
    column: str, value: object, kind: type | tuple[type, ...], optional: bool = False
) -> None:
    """Raise :class:`CorruptRowError` unless ``value`` is of ``kind`` (or ``None`` where
    ``optional``); SQLite's loose typing lets any value into any column."""
    if (value is None and optional) or (isinstance(value, kind) and not isinstance(value, bool)):
        return
    raise CorruptRowError(column, f"holds {value!r}, not a {getattr(kind, '__name__', 'number')}")


def _json_column(column: str, text: object, kind: type) -> Any:
    """The JSON value of a text column, which must be a ``kind`` (dict or list)."""
    if not isinstance(text, str | bytes):
        raise CorruptRowError(column, f"holds {text!r}, not JSON text")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CorruptRowError(column, f"is not valid JSON ({exc})") from None
    if not isinstance(value, kind):
        raise CorruptRowError(column, f"holds JSON {type(value).__name__}, not {kind.__name__}")
    return value


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
    """The parameters of :func:`params_to_bytes`; ``ValueError`` for anything but a zip."""
    if blob is None:
        return None
    if not isinstance(blob, bytes) or not blob.startswith(b"PK"):
        raise ValueError(f"not a zip archive (it starts with {blob[:4]!r})")
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        n = len(z.files) // 2
        return [Layer(z[f"W{k}"], z[f"b{k}"]) for k in range(n)]


class ResultStore:
    """A SQLite file of finished runs; ``create=False`` opens only an existing one, and
    ``read_only=True`` opens an existing one without ever writing to it (or beside it).

    >>> import tempfile, os
    >>> store = ResultStore(os.path.join(tempfile.mkdtemp(), "runs.db"))
    >>> len(store)
    0
    >>> ResultStore(store.path, read_only=True).finished_keys()
    set()
    """

    def __init__(self, path: str | Path, create: bool = True, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        if self.path.exists() and self.path.is_dir():
            raise ValueError(f"The store path {str(self.path)!r} is a folder; give a file name")
        if (read_only or not create) and not self.path.exists():
            raise FileNotFoundError(f"No result store at {str(self.path)!r}")
        if read_only and self.path.stat().st_size == 0:
            raise ValueError(f"{str(self.path)!r} is not an initlab result store: it is empty")
        version = self._read(self._schema_version)
        if version is not None and version != SCHEMA_VERSION:
            raise ValueError(
                f"{self.path} was written by a store of schema version {version}; this "
                f"initlab reads version {SCHEMA_VERSION}"
            )

    def _read(self, query: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run a read ``query`` on a connection; SQLite errors name the store.

        A read-only store with no ``-wal`` file beside it has no writer: it is read as an
        immutable file (``immutable=1``), which creates no ``-wal``/``-shm`` files and works on
        a read-only disk. A writer that starts meanwhile changes the file's size, time or adds
        a ``-wal`` file; the read is then done again, the last attempt under SQLite's locks
        (``mode=ro``), which sees every committed run."""
        if not self.read_only:
            with self._connect() as db:
                return self._query(db, query)
        for attempt in range(READ_ATTEMPTS):
            last = attempt == READ_ATTEMPTS - 1
            before = self._file_state()
            try:
                with self._connect(locked=last) as db:
                    result = self._query(db, query)
            except ValueError:
                if last or self._file_state() == before:
                    raise
                continue
            if last or self._file_state() == before:
                return result
        raise AssertionError("the last attempt returns or raises")  # pragma: no cover

    def _query(self, db: sqlite3.Connection, query: Callable[[sqlite3.Connection], _T]) -> _T:
        try:
            return query(db)
        except sqlite3.DatabaseError as exc:
            raise self._not_a_store(exc) from None

    def _file_state(self) -> tuple[int, int, bool]:
        """Size and modification time of the file, and whether a ``-wal`` file exists."""
        stat = os.stat(self.path)
        return stat.st_size, stat.st_mtime_ns, self._wal_path().exists()

    def _wal_path(self) -> Path:
        return self.path.with_name(self.path.name + "-wal")

    def _read_only_uri(self, locked: bool) -> str:
        """``file:…?mode=ro`` (under SQLite's locks) or ``?immutable=1`` (no writer: nothing
        created beside the file); the path percent-encoded, so ``?`` or ``#`` in it are safe."""
        mode = "mode=ro" if locked or self._wal_path().exists() else "mode=ro&immutable=1"
        return f"{self.path.resolve().as_uri()}?{mode}"

    @contextmanager
    def _connect(self, locked: bool = True) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            try:
                db = sqlite3.connect(self._read_only_uri(locked), uri=True, timeout=LOCK_TIMEOUT)
            except sqlite3.Error as exc:
                raise ValueError(f"Cannot open the store {str(self.path)!r}: {exc}") from None
            with closing(db):
                self._check_tables(db)
                yield db
            return
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

    def _check_tables(self, db: sqlite3.Connection) -> None:
        """A store read without writing must already have the ``runs`` and ``meta`` tables."""
        try:
            tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise self._not_a_store(exc) from None
        missing = sorted({"runs", "meta"} - tables)
        if missing:
            raise ValueError(
                f"{str(self.path)!r} is not an initlab result store: it has no "
                f"{' or '.join(repr(t) for t in missing)} table"
            )

    def _not_a_store(self, exc: sqlite3.DatabaseError) -> ValueError:
        return ValueError(f"{str(self.path)!r} is not an initlab result store (SQLite said: {exc})")

    def _schema_version(self, db: sqlite3.Connection) -> int | None:
        row = db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        try:
            return int(row[0]) if row else None
        except (TypeError, ValueError):
            raise ValueError(
                f"{str(self.path)!r} has an unreadable schema version {row[0]!r}"
            ) from None

    def add(self, rows: Iterable[RunRow]) -> int:
        """Store finished runs in one transaction; runs already there are left as they are.
        Returns how many were new."""
        if self.read_only:
            raise ValueError(f"The store {str(self.path)!r} was opened read-only")
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
                # Ctrl-C or SIGTERM may land anywhere, after the COMMIT too: roll back only
                # an open transaction, so the interrupt (not a rollback error) propagates.
                if db.in_transaction:
                    with suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                raise
        return added

    def finished_keys(self) -> set[str]:
        return self._read(lambda db: {key for (key,) in db.execute("SELECT key FROM runs")})

    def __len__(self) -> int:
        (count,) = self._read(lambda db: db.execute("SELECT COUNT(*) FROM runs").fetchone())
        return int(count)

    def rows(self, keys: Iterable[str] | None = None) -> list[RunRow]:
        """Every stored run (or those with ``keys``), in insertion order.

        A row that cannot be decoded is left out with a :class:`CorruptRowWarning` naming its
        key (or rowid) and the unreadable column."""
        query = f"SELECT rowid, {', '.join(COLUMNS)} FROM runs"
        wanted = None if keys is None else list(keys)

        def fetch(db: sqlite3.Connection) -> list[Any]:
            if wanted is None:
                return db.execute(query + " ORDER BY rowid").fetchall()
            fetched = []
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                fetched += db.execute(f"{query} WHERE key IN ({marks})", chunk).fetchall()
            return fetched

        decoded = (self._decode(row[0], row[1:]) for row in self._read(fetch))
        return [row for row in decoded if row is not None]

    def _decode(self, rowid: int, values: Sequence[Any]) -> RunRow | None:
        """The row as a :class:`RunRow`, or ``None`` with a warning when it is corrupt."""
        try:
            return RunRow.from_sql(values)
        except CorruptRowError as exc:
            key = values[0]
            name = f"run {key!r}" if isinstance(key, str) and key else f"row {rowid}"
            warnings.warn(
                f"Skipped {name} of the store {str(self.path)!r}: {exc}",
                CorruptRowWarning,
                stacklevel=3,
            )
            return None

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
            if "features" in config:
                config["features"] = ",".join(config["features"])
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
