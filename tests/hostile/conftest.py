"""Shared tools of the hostile-input suite: a CLI run that cannot exhaust the machine, a
snapshot of a folder's files, and the assertion every case ends with.

Every case asserts the same four things (issue 13): a clear message naming the bad value, the
documented exit code, no traceback, and no change to any file that existed before.

- :func:`run_cli` runs ``initlab`` in a fresh interpreter under an address-space limit
  (``RLIMIT_AS``) and a wall-clock timeout, so a regression that allocates without bound fails
  fast with ``MemoryError`` (or is killed) instead of swapping the machine.
- :func:`snapshot` (a fixture) hashes every file under a folder; ``.assert_unchanged()``
  fails naming each file that was changed, removed or created since.
- :func:`assert_clean_error` checks the exit code, that every given fragment appears in the
  output, and that no ``Traceback`` does.
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

MEMORY_LIMIT_BYTES = 2 * 2**30
"""Address space a CLI run may reserve: 2 GiB.

Measured on the 2-core CI machine: ``initlab compare --iterations 200`` (NumPy, Numba, OpenBLAS
and matplotlib loaded) runs under 0.75 GiB and fails under 0.5 GiB, where OpenBLAS cannot
reserve its buffers. OpenBLAS reserves per thread, so the limit leaves room for more cores;
a request that grows past 2 GiB is the bug these cases are there to catch."""

TIMEOUT_SECONDS = 120.0
"""Wall-clock limit of one CLI run. A normal hostile case ends in about a second (a cold
Numba cache adds a few seconds of compiling); anything near this limit is a hang."""

CLI_CODE = "import sys; sys.argv[0] = 'initlab'; from initlab.cli import main; main()"


@dataclass(frozen=True)
class CliRun:
    """One finished CLI process: its arguments, exit code and output."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together, for fragments that may go to either."""
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return (
            f"initlab {' '.join(self.args)} -> exit {self.returncode}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


def limit_memory(limit: int = MEMORY_LIMIT_BYTES) -> Callable[[], None]:
    """A ``preexec_fn`` that caps the child's address space at ``limit`` bytes."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def run_cli(
    *args: str | os.PathLike[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    memory: int = MEMORY_LIMIT_BYTES,
    timeout: float = TIMEOUT_SECONDS,
    stdin: str | None = None,
) -> CliRun:
    """Run ``initlab ARGS`` in a fresh interpreter under a memory and a time limit.

    ``env`` entries are added to this process's environment (``COLUMNS`` is set wide so
    rich never wraps a message that a case looks for). A run past ``timeout`` fails the test.
    """
    argv = tuple(str(a) for a in args)
    environment = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", **(env or {})}
    try:
        done = subprocess.run(
            [sys.executable, "-c", CLI_CODE, *argv],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=environment,
            input=stdin,
            timeout=timeout,
            preexec_fn=limit_memory(memory),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"initlab {' '.join(argv)} ran past {timeout} s:\n{exc.stderr!r}")
    return CliRun(argv, done.returncode, done.stdout, done.stderr)


def assert_clean_error(run: CliRun, code: int, *fragments: str) -> None:
    """A refusal as issue 13 wants it: exit ``code``, each fragment (the bad value, the path,
    the reason) in the output, no traceback, and an ``Error:`` line on stderr."""
    assert run.returncode == code, str(run)
    for fragment in fragments:
        assert fragment in run.output, f"{fragment!r} missing from\n{run}"
    assert "Traceback" not in run.output, str(run)
    assert "Error" in run.stderr, str(run)


def assert_no_traceback(run: CliRun) -> None:
    """Nothing in stdout or stderr looks like a Python traceback."""
    assert "Traceback (most recent call last)" not in run.output, str(run)


def file_hashes(folder: Path, ignore: Iterable[str] = ()) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, keyed by its path relative to it.

    Names matching one of the ``ignore`` glob patterns (relative paths) are left out."""
    patterns = tuple(ignore)
    hashes = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and not any(Path(relative).match(p) for p in patterns):
            hashes[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


@dataclass
class FolderSnapshot:
    """The files of a folder at one moment; :meth:`assert_unchanged` compares with now."""

    folder: Path
    before: dict[str, str]
    ignore: tuple[str, ...] = ()

    def changes(self) -> dict[str, str]:
        """``{relative path: 'changed' | 'removed' | 'created'}`` since the snapshot."""
        after = file_hashes(self.folder, self.ignore)
        found = {p: "removed" for p in self.before.keys() - after.keys()}
        found |= {p: "created" for p in after.keys() - self.before.keys()}
        found |= {p: "changed" for p in self.before.keys() & after.keys()
                  if self.before[p] != after[p]}  # fmt: skip
        return found

    def assert_unchanged(self, allow_created: Iterable[str] = ()) -> None:
        """No file changed or removed, and none created except those named (relative paths)."""
        allowed = set(allow_created)
        found = {p: what for p, what in self.changes().items()
                 if not (what == "created" and p in allowed)}  # fmt: skip
        assert not found, f"files under {self.folder} touched: {found}"


@pytest.fixture
def snapshot() -> Callable[..., FolderSnapshot]:
    """``snapshot(folder, ignore=())``: hash every file under ``folder`` now."""

    def take(folder: Path, ignore: Iterable[str] = ()) -> FolderSnapshot:
        patterns = tuple(ignore)
        return FolderSnapshot(folder, file_hashes(folder, patterns), patterns)

    return take
