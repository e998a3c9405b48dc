"""Shared test setup: figures are drawn with matplotlib's non-interactive Agg backend."""

import matplotlib

matplotlib.use("Agg")
