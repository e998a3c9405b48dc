"""Stores, reports, exports and data files: what only reads never writes, and every file
problem is one line naming the path and the reason.

Exit codes (``initlab.cli.common``): 2 for input that is not what it should be (not a store,
not an archive, a bad suffix), 1 for a file the system would not read or write (``OSError``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import textwrap
from contextlib import closing
from pathlib import Path

import pytest

from initlab.cli.common import EXIT_IO, EXIT_USAGE
from initlab.experiments.store import CorruptRowWarning, ResultStore

from .conftest import assert_clean_error, assert_no_traceback, run_cli

SPEC = """
[sweep]
name = "tiny"
seeds = 2
iterations = 30
record_every = 10

[model]
depth = [1, 2]
width = 4

[[init]]
name = "random"
scale = [0.1, 1.0]

[train]
learning_rate = 0.5
"""
N_RUNS = 8  # 2 depths × 2 scales × 2 seeds


@pytest.fixture(scope="module")
def master_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small finished store, made once; each test copies it."""
    from initlab.experiments import load_spec
    from initlab.experiments.runner import run_sweep

    folder = tmp_path_factory.mktemp("master")
    spec = folder / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    path = folder / "runs.db"
    run_sweep(load_spec(spec), ResultStore(path))
    return path


@pytest.fixture
def store(master_store: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "runs.db"
    shutil.copyfile(master_store, copy)
    return copy


def corrupt(path: Path, sql: str) -> str:
    """Run ``sql`` on the first stored run (``?`` is its key); return that key."""
    with closing(sqlite3.connect(path)) as db, db:
        (key,) = db.execute("SELECT key FROM runs ORDER BY rowid LIMIT 1").fetchone()
        db.execute(sql, (key,))
    return str(key)


# --- report: files that are not stores are refused as they are ---------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is not an initlab result store: it is empty"),
        (b"hello, not a database\n" * 10, "is not an initlab result store"),
        (b"SQLite format 3\x00" + b"\x00" * 84, "is not an initlab result store"),
    ],
    ids=["zero-bytes", "text", "truncated-sqlite-header"],
)
def test_report_refuses_a_file_that_is_not_a_store_and_leaves_it_alone(
    tmp_path: Path, snapshot, content: bytes, expected: str
) -> None:
    path = tmp_path / "runs.db"
    path.write_bytes(content)
    before = snapshot(tmp_path)
    run = run_cli("report", path)
    assert_clean_error(run, EXIT_USAGE, str(path), expected)
    before.assert_unchanged()  # no byte changed, no -wal/-shm/.html created


def test_report_refuses_another_programs_sqlite_database(tmp_path: Path, snapshot) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE photos (name TEXT)")
    before = snapshot(tmp_path)
    run = run_cli("report", path)
    assert_clean_error(run, EXIT_USAGE, str(path), "has no 'meta' or 'runs' table")
    before.assert_unchanged()


def test_report_of_a_missing_store_creates_nothing(tmp_path: Path, snapshot) -> None:
    before = snapshot(tmp_path)
    run = run_cli("report", tmp_path / "missing.db")
    assert_clean_error(run, EXIT_USAGE, "No result store at", "missing.db")
    before.assert_unchanged()


def test_report_of_a_folder(tmp_path: Path, snapshot) -> None:
    (tmp_path / "runs.db").mkdir()
    before = snapshot(tmp_path)
    run = run_cli("report", tmp_path / "runs.db")
    assert_clean_error(run, EXIT_USAGE, "runs.db", "is a folder")
    before.assert_unchanged()


def test_report_of_a_newer_schema_is_refused(store: Path, snapshot) -> None:
    with closing(sqlite3.connect(store)) as db, db:
        db.execute("UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    before = snapshot(store.parent)
    run = run_cli("report", store)
    assert_clean_error(run, EXIT_USAGE, str(store), "schema version 99")
    before.assert_unchanged()


# --- report: a store is only read ----------------------------------------------------------


def test_report_reads_a_store_without_changing_or_adding_a_file(store: Path, snapshot) -> None:
    before = snapshot(store.parent)
    run = run_cli("report", store, "--export", store.parent / "runs.csv")
    assert run.returncode == 0, str(run)
    assert_no_traceback(run)
    # Only the two outputs appear: the store is byte-identical, and no -wal/-shm is left.
    before.assert_unchanged(allow_created={"runs.html", "runs.csv"})


def test_report_of_a_read_only_store_in_a_read_only_folder(store: Path, snapshot) -> None:
    # As root the permissions do not bind, but the report must still not write (checked by the
    # snapshot); as another user the old store could not even be opened ("readonly database").
    out = store.parent / "out"
    out.mkdir()
    folder = store.parent / "ro"
    folder.mkdir()
    shutil.move(store, folder / "runs.db")
    before = snapshot(folder)
    os.chmod(folder / "runs.db", 0o444)
    os.chmod(folder, 0o555)
    try:
        run = run_cli("report", folder / "runs.db", "--out", out / "r.html")
    finally:
        os.chmod(folder, 0o755)
    assert run.returncode == 0, str(run)
    assert (out / "r.html").stat().st_size > 0
    before.assert_unchanged()


def test_report_while_a_writer_holds_the_store(store: Path, snapshot) -> None:
    # A sweep writing the store keeps its -wal file; the report then reads under SQLite's
    # locks (mode=ro) and sees every committed run.
    writer = sqlite3.connect(store, isolation_level=None)
    try:
        writer.execute("PRAGMA journal_mode=WAL")
        writer.execute("SELECT COUNT(*) FROM runs").fetchone()
        assert store.with_name("runs.db-wal").exists()
        before = snapshot(store.parent, ignore=["*-shm", "*-wal"])
        run = run_cli("report", store, "--export", store.parent / "all.csv")
    finally:
        writer.close()
    assert run.returncode == 0, str(run)
    assert len((store.parent / "all.csv").read_text().splitlines()) == N_RUNS + 1
    before.assert_unchanged(allow_created={"runs.html", "all.csv"})


def test_read_only_store_cannot_write(store: Path) -> None:
    ro = ResultStore(store, read_only=True)
    assert len(ro) == N_RUNS
    with pytest.raises(ValueError, match="opened read-only"):
        ro.add([])
    with ro._connect() as db, pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.execute("DELETE FROM runs")
    assert len(ResultStore(store, read_only=True)) == N_RUNS


# --- report: output paths ----------------------------------------------------------------


def test_report_out_is_a_folder(store: Path, snapshot) -> None:
    target = store.parent / "report.html"
    target.mkdir()
    before = snapshot(store.parent)
    run = run_cli("report", store, "--out", target)
    assert_clean_error(run, EXIT_IO, str(target), "Is a directory")
    before.assert_unchanged()  # and no temporary .part file is left behind


def test_report_out_under_a_file(store: Path, snapshot) -> None:
    target = store.parent / "runs.db" / "report.html"
    before = snapshot(store.parent)
    run = run_cli("report", store, "--out", target)
    assert_clean_error(run, EXIT_USAGE, str(target), "does not exist")
    before.assert_unchanged()


def test_report_out_over_the_store_is_refused(store: Path, snapshot) -> None:
    before = snapshot(store.parent)
    run = run_cli("report", store, "--out", store)
    assert_clean_error(run, EXIT_USAGE, str(store), "would overwrite the store")
    before.assert_unchanged()


def test_export_to_a_folder(store: Path, snapshot) -> None:
    target = store.parent / "runs.csv"
    target.mkdir()
    before = snapshot(store.parent)
    run = run_cli("report", store, "--export", target)
    assert_clean_error(run, EXIT_IO, str(target), "Is a directory")
    before.assert_unchanged(allow_created={"runs.html"})


def test_export_with_an_unknown_suffix(store: Path, snapshot) -> None:
    target = store.parent / "runs.txt"
    before = snapshot(store.parent)
    run = run_cli("report", store, "--export", target)
    assert_clean_error(run, EXIT_USAGE, str(target), "the suffix must be .csv or .parquet")
    before.assert_unchanged(allow_created={"runs.html"})


# --- corrupt rows are skipped, named, and the rest is reported ------------------------------


CORRUPTIONS = {
    "bad-json": ("config = '{not json'", "config is not valid JSON"),
    "wrong-json-type": ("config = '[1, 2]'", "config holds JSON list, not dict"),
    "missing-keys": ("config = '{\"seed\": 1}'", "config lacks ['dataset'"),
    "bad-params": ("params = x'00010203'", "params are not a readable .npz archive"),
    "bad-zip-params": ("params = x'504b0304'", "params are not a readable .npz archive"),
    "text-number": ("final_cost = 'low'", "final_cost holds 'low', not a number"),
    "fraction-count": ("iterations_run = 2.5", "iterations_run holds 2.5, not a int"),
    "empty-curve": ("curve = '{}'", "curve lacks its 'iterations' and 'costs' lists"),
    "bad-findings": ("findings = '[3]'", "findings holds an entry without a message"),
    "records-not-json": ("records = 'nope'", "records is not valid JSON"),
}
"""One corruption of a stored row each (SQL ``SET`` clause) and what the warning says."""


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_a_corrupt_row_is_skipped_with_a_warning_naming_it(store: Path, name: str) -> None:
    assignment, reason = CORRUPTIONS[name]
    key = corrupt(store, f"UPDATE runs SET {assignment} WHERE key = ?")
    with pytest.warns(CorruptRowWarning) as caught:
        rows = ResultStore(store, read_only=True).rows()
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith(f"Skipped run {key!r} of the store {str(store)!r}: its {reason}")
    assert "allow_pickle" not in message
    assert len(rows) == N_RUNS - 1
    assert key not in {r.key for r in rows}


def test_report_skips_corrupt_rows_naming_each_and_reports_the_rest(store: Path, snapshot) -> None:
    with closing(sqlite3.connect(store)) as db, db:
        keys = [k for (k,) in db.execute("SELECT key FROM runs ORDER BY rowid LIMIT 3")]
        db.execute("UPDATE runs SET config = '{not json' WHERE key = ?", (keys[0],))
        db.execute("UPDATE runs SET params = x'00' WHERE key = ?", (keys[1],))
        db.execute("UPDATE runs SET key = NULL WHERE key = ?", (keys[2],))
    before = snapshot(store.parent)
    run = run_cli("report", store, "--export", store.parent / "runs.csv")
    assert run.returncode == 0, str(run)
    assert_no_traceback(run)
    warnings = [line for line in run.stderr.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 3, run.stderr
    assert f"Skipped run {keys[0]!r}" in warnings[0]
    assert f"Skipped run {keys[1]!r}" in warnings[1]
    assert "Skipped row 3 " in warnings[2]  # a row without a key is named by its rowid
    assert len((store.parent / "runs.csv").read_text().splitlines()) == N_RUNS - 3 + 1
    before.assert_unchanged(allow_created={"runs.html", "runs.csv"})


# --- sweep into something that is not a store -----------------------------------------------


def test_sweep_into_a_file_that_is_not_a_store(tmp_path: Path, snapshot) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(textwrap.dedent(SPEC))
    junk = tmp_path / "notes.db"
    junk.write_text("my notes, not a database\n" * 20)
    before = snapshot(tmp_path)
    run = run_cli("sweep", spec, "--store", junk)
    assert_clean_error(run, EXIT_USAGE, str(junk), "is not an initlab result store")
    before.assert_unchanged()
