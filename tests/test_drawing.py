"""The command line's figure process (initlab.cli.drawing) and its garbage-collector policy."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from initlab.cli import drawing, output
from initlab.compare import Comparison, compare
from tests.test_cli import TINY_SPEC


@pytest.fixture(scope="module")
def comparison() -> Comparison:
    return compare(["zeros", "he"], iterations=200, engine="numpy")


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """The figure process starts only where two cores are usable: pretend they are."""
    monkeypatch.setattr(drawing, "_usable_cpus", lambda: 2)
    return


def refuse_to_draw_here(*args: object, **kwargs: object) -> list[Path]:
    raise AssertionError("drew in the parent process")


@pytest.mark.usefixtures("two_cores")
def test_the_child_draws_the_same_files_the_parent_would(
    comparison: Comparison, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = output.write_figures(comparison, tmp_path / "here", per_run=True)
    # From here on, a figure drawn in this process fails the test: only the child can draw.
    monkeypatch.setattr(output, "write_figures", refuse_to_draw_here)
    with drawing.figure_process() as process:
        assert process.started
        process.send("write_figures", comparison, tmp_path / "child", per_run=True)
        written = process.result()
    assert [p.name for p in written] == [p.name for p in local]
    for mine, theirs in zip(local, written, strict=True):
        assert theirs.parent == tmp_path / "child"
        assert mine.read_bytes() == theirs.read_bytes()  # the same code: byte for byte


@pytest.mark.usefixtures("two_cores")
def test_a_child_that_died_is_replaced_by_drawing_here(
    comparison: Comparison, tmp_path: Path
) -> None:
    with drawing.figure_process() as process:
        assert process._child is not None
        process._child.kill()
        process._child.wait()
        process.send("write_figures", comparison, tmp_path, per_run=False)
        written = process.result()
    assert [p.name for p in written] == ["comparison.png"]
    assert written[0].read_bytes().startswith(b"\x89PNG")


def test_without_a_child_the_figures_are_drawn_here(comparison: Comparison, tmp_path: Path) -> None:
    with drawing.figure_process(start=False) as process:
        assert not process.started
        process.send("write_figures", comparison, tmp_path, per_run=False)
        assert process.result() == [tmp_path / "comparison.png"]


@pytest.mark.usefixtures("two_cores")
def test_a_folder_that_cannot_be_written_is_an_oserror_with_its_message(
    comparison: Comparison, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with drawing.figure_process() as process:
        process.send("write_figures", comparison, blocker / "out", per_run=False)
        with pytest.raises(OSError, match="a-file"):
            process.result()
    assert blocker.read_text() == "not a folder"


@pytest.mark.usefixtures("two_cores")
def test_the_figure_process_does_not_load_the_command_line() -> None:
    # The child imports initlab.cli.output: the package's root must not pull in Typer and
    # every command (~0.2 s of a second core the parent is training on).
    import subprocess
    import sys

    code = (
        "import sys, initlab.cli.output; print(sorted(m for m in sys.modules if m in "
        "('typer', 'rich', 'initlab.cli.commands', 'initlab.cli.application')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr


@pytest.mark.usefixtures("two_cores")
def test_an_unused_child_is_stopped_on_leaving_the_block() -> None:
    with drawing.figure_process() as process:
        child = process._child
        assert child is not None
        assert child.poll() is None
    assert child.poll() is not None
    assert child.stdin is not None
    assert child.stdin.closed


def test_only_the_known_jobs_are_sent() -> None:
    with (
        drawing.figure_process(start=False) as process,
        pytest.raises(ValueError, match="unknown drawing job 'remove_everything'"),
    ):
        process.send("remove_everything")


@pytest.fixture
def collector() -> Iterator[None]:
    """Give the garbage collector back as it was (main() freezes and disables it)."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector")
def test_main_runs_commands_without_the_cyclic_collector(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import initlab.cli
    import initlab.cli.application

    seen = []
    monkeypatch.setattr(initlab.cli.application, "app", lambda **_: seen.append(gc.isenabled()))
    gc.enable()
    initlab.cli.main()
    assert seen == [False]
    assert gc.get_freeze_count() > 0  # what exists at exit is frozen: exit skips scanning it


@pytest.mark.usefixtures("collector")
def test_long_running_collects_again() -> None:
    from initlab.cli.common import long_running

    gc.disable()
    long_running()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("collector")
def test_sweep_collects_again(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from initlab.cli import app

    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY_SPEC)
    gc.disable()
    result = CliRunner().invoke(app, ["sweep", str(spec), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert gc.isenabled()
