"""Command lines a careless or hostile user types: each ends in one clear message that names
the bad value, the documented exit code (2: bad input, 1: a file the system refused), and no
traceback; no file that existed before is changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from initlab.cli.common import EXIT_IO, EXIT_USAGE

from .conftest import assert_clean_error, assert_no_traceback, run_cli

HUGE = "99999999999999999999"  # > 2**63: once an OverflowError deep in the compiled engine

CSV = "x1,x2,label\n" + "".join(
    f"{x / 10},{(7 * x % 10) / 10},{x % 2}\n" for x in range(12)
)  # 12 points, two classes


# --- parse errors repeat the value ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "option", "value"),
    [
        (["compare", "--lr", "abc"], "--lr", "'abc'"),
        (["compare", "--iterations", "ten"], "--iterations", "'ten'"),
        (["compare", "--l2", "0.1.2"], "--l2", "'0.1.2'"),
        (["theory", "--depth", "1e5"], "--depth", "'1e5'"),
        (["sweep", "spec.toml", "--workers", "two"], "--workers", "'two'"),
    ],
    ids=["lr", "iterations", "l2", "depth", "workers"],
)
def test_a_value_that_does_not_parse_is_echoed(args: list[str], option: str, value: str) -> None:
    run = run_cli(*args)
    assert_clean_error(run, EXIT_USAGE, option, f"Received: {value}")


# --- numbers that do not fit ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "--no-plots", "--iterations", HUGE],
        ["compare", "--no-plots", "--batch-size", HUGE],
        ["diagnose", "--no-plots", "--every", HUGE],
        ["theory", "--depth", HUGE],
        ["sweep", "spec.toml", "--max-batch", HUGE],
        ["compare", "--no-plots", "--iterations", f"-{HUGE}"],
    ],
    ids=["iterations", "batch-size", "every", "depth", "max-batch", "negative"],
)
def test_an_integer_beyond_64_bits_is_refused_by_name(tmp_path: Path, args: list[str]) -> None:
    option = next(a for a in args if a.startswith("--") and a != "--no-plots")
    run = run_cli(*args, cwd=tmp_path)
    assert_clean_error(run, EXIT_USAGE, option, HUGE, "does not fit in a 64-bit integer")
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


def test_an_infinite_learning_rate_is_refused(tmp_path: Path) -> None:
    run = run_cli("compare", "--no-plots", "--lr", "1e999", cwd=tmp_path)
    assert_clean_error(run, EXIT_USAGE, "learning_rate", "finite")


# --- output paths the system refuses -----------------------------------------------------


@pytest.mark.parametrize("command", ["compare", "diagnose"])
def test_out_that_is_a_file(tmp_path: Path, snapshot, command: str) -> None:
    existing = tmp_path / "results"
    existing.write_text("keep me\n")
    before = snapshot(tmp_path)
    run = run_cli(command, "--iterations", "5", "--out", existing, cwd=tmp_path)
    assert_clean_error(run, EXIT_IO, str(existing), "File exists")
    before.assert_unchanged()


def test_out_below_a_file(tmp_path: Path, snapshot) -> None:
    (tmp_path / "afile").write_text("x")
    target = tmp_path / "afile" / "out"
    before = snapshot(tmp_path)
    run = run_cli("compare", "--iterations", "5", "--out", target, cwd=tmp_path)
    assert_clean_error(run, EXIT_IO, str(target), "Not a directory")
    before.assert_unchanged()


# --- data files -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "fragments"),
    [
        ("noise.npz", b"garbage, not numpy", ["is not a readable .npz archive", "first bytes"]),
        ("broken.npz", b"PK\x03\x04 and then nothing", ["is not a readable .npz archive"]),
        ("binary.csv", b"\xff\xfe\x00\x01" * 50, ["is not UTF-8 text"]),
        ("empty.csv", b"", ["is empty"]),
    ],
    ids=["npz-noise", "npz-truncated-zip", "csv-binary", "csv-empty"],
)
def test_a_data_file_that_is_not_data(
    tmp_path: Path, snapshot, name: str, content: bytes, fragments: list[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = snapshot(tmp_path)
    run = run_cli("compare", "--no-plots", "--dataset", path, cwd=tmp_path)
    assert_clean_error(run, EXIT_USAGE, str(path), *fragments)
    assert "allow_pickle" not in run.output  # never advise unpickling a stranger's file
    before.assert_unchanged()


@pytest.mark.parametrize("kind", ["missing", "folder"])
def test_a_data_file_that_is_not_there(tmp_path: Path, snapshot, kind: str) -> None:
    path = tmp_path / "data.csv"
    if kind == "folder":
        path.mkdir()
    before = snapshot(tmp_path)
    run = run_cli("compare", "--no-plots", "--dataset", path, cwd=tmp_path)
    assert_clean_error(run, EXIT_USAGE, str(path), "Data file not found")
    before.assert_unchanged()


@pytest.mark.parametrize("stem", ["a$x^2$", "b$\\frac{$", "c$$d"])
def test_a_data_file_named_like_mathtext_is_titled_as_typed(tmp_path: Path, stem: str) -> None:
    # matplotlib drew "a$x^2$" as a superscript and died on "b$\frac{$" (a traceback after
    # training); the names are now shown as typed.
    data = tmp_path / f"{stem}.csv"
    data.write_text(CSV)
    out = tmp_path / "out"
    run = run_cli("compare", "--dataset", data, "--layers", "2,3,1", "--iterations", "20",
                  "--init", "he", "--out", out, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, str(run)
    assert_no_traceback(run)
    assert (out / "comparison.png").stat().st_size > 0


def test_plain_text_titles_draw_dollars_as_typed() -> None:
    import matplotlib.pyplot as plt

    from initlab._layout import plain_text

    fig = plt.figure()
    try:
        title = fig.suptitle(plain_text("b$\\frac{$ costs $5"))
        fig.canvas.draw()  # mathtext would raise here
        assert title._preprocess_math(title.get_text()) == ("b$\\frac{$ costs $5", False)
    finally:
        plt.close(fig)


# --- spec files -------------------------------------------------------------------------


def test_a_spec_that_is_a_folder(tmp_path: Path, snapshot) -> None:
    (tmp_path / "spec.toml").mkdir()
    before = snapshot(tmp_path)
    run = run_cli("sweep", tmp_path / "spec.toml", cwd=tmp_path)
    assert_no_traceback(run)
    assert run.returncode in (EXIT_USAGE, EXIT_IO), str(run)
    assert "spec.toml" in run.stderr
    before.assert_unchanged()


def test_a_spec_in_binary(tmp_path: Path, snapshot) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_bytes(b"\x00\xff\xfe" * 100)
    before = snapshot(tmp_path)
    run = run_cli("sweep", spec, cwd=tmp_path)
    assert_clean_error(run, EXIT_USAGE, "spec.toml")
    before.assert_unchanged()


def test_nothing_in_the_working_folder_changes_on_any_refusal(tmp_path: Path, snapshot) -> None:
    # The same refusals run from a folder holding files: none is touched, none appears.
    shutil.copyfile(Path(__file__), tmp_path / "keep.py")
    (tmp_path / "initlab-out").mkdir()
    (tmp_path / "initlab-out" / "comparison.png").write_bytes(b"old figure")
    before = snapshot(tmp_path)
    for args in (["compare", "--lr", "-1"], ["compare", "--iterations", HUGE],
                 ["compare", "--init", "nope"], ["theory", "--activation", "nope"]):  # fmt: skip
        run = run_cli(*args, cwd=tmp_path)
        assert_clean_error(run, EXIT_USAGE)
    before.assert_unchanged()
