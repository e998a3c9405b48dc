"""Shared test setup: figures are drawn with matplotlib's non-interactive Agg backend."""

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture
def lanes_calls(monkeypatch):
    """The model counts of the batches the lanes engine trains (tests/engine_checks.py)."""
    from tests.engine_checks import spy_on_lanes

    return spy_on_lanes(monkeypatch)
