"""The README's Python snippets run as written, and its two set-up commands are the real ones."""

import importlib
import re
from pathlib import Path

import pytest

from initlab.initializers import INITIALIZERS

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
SNIPPETS = re.findall(r"```python\n(.*?)```", TEXT, re.S)


def test_readme_has_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_runs(index, capsys):
    if "import torch" in SNIPPETS[index]:
        pytest.importorskip("torch", reason="the PyTorch snippet needs initlab[torch]")
    try:
        exec(compile(SNIPPETS[index], f"README.md snippet {index}", "exec"), {})
    finally:
        if "halves" in INITIALIZERS:
            INITIALIZERS.unregister("halves")


def test_two_setup_commands():
    bash = re.findall(r"```bash\n(.*?)```", TEXT, re.S)
    assert "pip install . && .venv/bin/initlab compare" in bash[0]
    assert 'pip install -e ".[dev]" && .venv/bin/python -m pytest' in bash[1]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python -m pytest" in ci


# --- every import path and dotted name the README shows -----------------------------------

IMPORTS = sorted(set(re.findall(r"from (initlab[\w.]*) import ([\w ,]+)", TEXT)))
DOTTED = sorted(set(re.findall(r"\binitlab(?:\.[A-Za-z_]\w*)+", TEXT)))


def _needs_torch(module: str) -> None:
    if module == "initlab.torch" or module.startswith("initlab.torch."):
        pytest.importorskip("torch", reason=f"{module} needs initlab[torch]")


def test_readme_shows_imports_and_dotted_names():
    assert any(m == "initlab.experiments.store" for m, _ in IMPORTS)  # where ResultStore is
    assert len(DOTTED) >= 10


@pytest.mark.parametrize(("module", "names"), IMPORTS)
def test_every_import_the_readme_shows_works(module, names):
    # In code blocks and in the prose alike (`from initlab.experiments.store import ResultStore`).
    for name in (n.strip() for n in names.split(",")):
        _needs_torch(f"{module}.{name}")
        exec(f"from {module} import {name}", {})


@pytest.mark.parametrize("dotted", DOTTED)
def test_every_dotted_initlab_name_the_readme_shows_resolves(dotted):
    # The longest importable prefix is a module; the rest are its attributes.
    _needs_torch(dotted)
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return
    pytest.fail(f"README.md names {dotted}, which does not import")
