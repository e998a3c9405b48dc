"""The README's Python snippets run as written, and its two set-up commands are the real ones."""

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
