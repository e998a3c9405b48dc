"""``initlab sweep --dry-run`` means it (issue 13): every check a real run makes on its inputs
is made, nothing is trained, and a spec it calls valid does not fail on its input later.

Each bad spec is refused by the dry run *and* by the real sweep (the same check runs before
both), with the spec's ``file:line:``, the key and the value in one line, exit 2, no
traceback, and no file created or changed (no store). The cases run under the suite's memory
and time limits (``conftest.run_cli``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from initlab.cli.common import EXIT_USAGE

from .conftest import assert_clean_error, run_cli

CSV_FILES = {
    "text.csv": "x,y,label\n1,2,0\n3,abc,1\n5,6,1\n",
    "one_class.csv": "x,y,label\n1,2,0\n3,4,0\n5,6,0\n",
    "three_features.csv": "a,b,c,label\n1,2,3,0\n3,4,5,1\n5,6,7,0\n1,1,1,1\n",
}

BAD_SPECS = {
    "missing-file": ('[data]\ndataset = "nowhere.csv"\n', ["spec.toml:2:", "nowhere.csv",
                                                          "not found"]),
    "text-cell": ('[data]\ndataset = "text.csv"\n', ["spec.toml:2:", "'abc'", "numeric"]),
    "one-class": ('[data]\ndataset = "one_class.csv"\n', ["spec.toml:2:", "Only one class"]),
    "misspelt-option": ('[data]\ndataset = "moons"\n[data.options]\nnosie = 0.2\n',
                        ["spec.toml:4:", "`nosie`", "noise"]),
    "negative-noise": ('[data]\ndataset = "moons"\noptions = { noise = -1 }\n',
                       ["spec.toml:3:", "noise=-1"]),
    "features": ('[data]\ndataset = "three_features.csv"\n[model]\nlayer_sizes = [2, 4, 1]\n',
                 ["spec.toml:4:", "layer_sizes = [2, 4, 1]", "3 features"]),
    "classes": ('[data]\ndataset = "blobs"\n[model]\nlayer_sizes = [2, 4, 1]\n',
                ["spec.toml:4:", "layer_sizes = [2, 4, 1]", "labels [2]"]),
    "dirac-on-dense": ('[[init]]\nname = "dirac"\n', ["spec.toml:2:", "dirac", "shape=(10, 2)"]),
    "width": ("[model]\ndepth = 2\nwidth = 100000000\n",
              ["spec.toml:3:", "width = 100000000", "the limit is", "INITLAB_MAX_MEMORY"]),
    "history": ("[sweep]\niterations = 100000000000000\nrecord_every = 1\n",
                ["spec.toml:2:", "iterations = 100000000000000", "recorded costs"]),
    "seeds": ("[sweep]\nseeds = 1000000000000\n",
              ["spec.toml:2:", "1,000,000,000,000 runs", "the limit is"]),
    "logspace": ('[[init]]\nname = "random"\nscale = { logspace = [-2, 1, 1000000000] }\n',
                 ["spec.toml:3:", "1,000,000,000 runs", "the limit is"]),
}  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, text in CSV_FILES.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "real-run"])
@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_bad_spec_is_refused_before_training(
    case: str, dry_run: bool, folder: Path, snapshot
) -> None:
    text, fragments = BAD_SPECS[case]
    (folder / "spec.toml").write_text(text)
    before = snapshot(folder)
    run = run_cli("sweep", "spec.toml", *(["--dry-run"] if dry_run else []), cwd=folder)
    assert_clean_error(run, EXIT_USAGE, *fragments)
    before.assert_unchanged()  # no store created, no data file touched


def test_valid_means_the_sweep_runs(folder: Path, snapshot) -> None:
    spec = textwrap.dedent(
        """
        [sweep]
        seeds = 2
        iterations = 20
        [data]
        dataset = "three_features.csv"
        [model]
        depth = [1, 2]
        width = 4
        [[init]]
        name = "he"
        [[init]]
        name = "lsuv"
        """
    )
    (folder / "spec.toml").write_text(spec)
    before = snapshot(folder)
    dry = run_cli("sweep", "spec.toml", "--dry-run", cwd=folder)
    assert dry.returncode == 0, str(dry)
    assert "8 runs, valid" in dry.stdout
    before.assert_unchanged()  # a dry run writes nothing
    real = run_cli("sweep", "spec.toml", cwd=folder)
    assert real.returncode == 0, str(real)
    assert "8 runs trained" in real.stdout
    before.assert_unchanged(allow_created=["spec.db"])


def test_huge_grid_is_counted_without_expanding_it() -> None:
    # 10^12 seeds × 10^9 scales: counted from the spec's numbers, refused in parse_spec.
    from initlab import limits
    from initlab.experiments import parse_spec

    raw = {"sweep": {"seeds": 10**12},
           "init": [{"name": "random", "scale": {"logspace": [-2, 1, 10**9]}}]}  # fmt: skip
    with pytest.raises(limits.LimitError, match="seeds 1,000,000,000,000 × init 1,000,000,000"):
        parse_spec(raw)


def test_spec_counts_and_refuses_before_runs(monkeypatch) -> None:
    from initlab import limits
    from initlab.experiments import parse_spec

    spec = parse_spec({"sweep": {"seeds": 50}, "model": {"depth": [1, 2, 3]}})
    assert spec.count() == len(spec.runs()) == 150
    monkeypatch.setenv(limits.ENV_MAX_MEMORY, "100K")  # 150 runs × 1 KiB > 100 KiB
    with pytest.raises(limits.LimitError, match="150 runs"):
        spec.runs()
