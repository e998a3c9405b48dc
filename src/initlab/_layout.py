"""Fixed figure layouts: axes placed by margins given in inches, for figures drawn many times.

Constrained layout measures every tick label of every axes in two passes before each save,
then the save draws them all again: three times the text work of one draw. A figure whose
labels have known sizes (the diagnostics figures of :mod:`initlab.plots`) can instead be laid
out once by :class:`Margins`; :func:`fit_layout` checks, without drawing, that its tick labels
are as short as those margins assume, and hands any figure whose labels are not (a "1e6"
offset, long numbers) back to constrained layout, which makes room for them.

Two helpers for the axes of those figures live here too: :class:`PlainLogFormatter` (log-axis
ticks as plain numbers) and :func:`widen_flat_ylim` (a readable range for a constant curve).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, LogFormatterSciNotation
from numpy.typing import NDArray

PLAIN_LABEL_CHARS = 5
"""The longest tick label (``−0.75``, ``14000``) that a figure's :class:`Margins` make room
for unless told otherwise."""


@dataclass(frozen=True)
class Margins:
    """A fixed layout, in inches: the space left of, right of, below and above a grid of axes,
    and the gaps between its columns (``wgap``) and rows (``hgap``)."""

    left: float
    right: float
    bottom: float
    top: float
    wgap: float = 0.0
    hgap: float = 0.0


def grid_figure(
    figsize: tuple[float, float], rows: int, cols: int, margins: Margins | None = None
) -> tuple[Figure, NDArray[Any]]:
    """A fresh, pyplot-free figure with ``rows`` × ``cols`` axes (a 2-D array of them), laid
    out by constrained layout or, when given, by the fixed ``margins``.

    >>> fig, axes = grid_figure((6.0, 4.0), 1, 2, Margins(0.5, 0.5, 0.5, 0.5, wgap=1.0))
    >>> [round(float(x) * 6.0, 6) for x in axes[0, 1].get_position().intervalx]  # inches
    [3.5, 5.5]
    """
    if margins is None:
        fig = Figure(figsize=figsize, layout="constrained")
        return fig, fig.subplots(rows, cols, squeeze=False)
    width, height = figsize
    cell_w = (width - margins.left - margins.right - (cols - 1) * margins.wgap) / cols
    cell_h = (height - margins.bottom - margins.top - (rows - 1) * margins.hgap) / rows
    fig = Figure(figsize=figsize)
    fig.subplots_adjust(left=margins.left / width, right=1 - margins.right / width,
                        bottom=margins.bottom / height, top=1 - margins.top / height,
                        wspace=margins.wgap / cell_w, hspace=margins.hgap / cell_h)  # fmt: skip
    return fig, fig.subplots(rows, cols, squeeze=False)


def tick_labels(axis: Axis, which: str = "major") -> tuple[list[str], str]:
    """The labels of ``axis``' ``which`` ("major" or "minor") ticks within its limits, and its
    offset text ("1e6"), as its next draw will write them; computed without making or drawing
    a tick."""
    low, high = sorted(axis.get_view_interval())
    major = which == "major"
    locator = axis.get_major_locator() if major else axis.get_minor_locator()
    formatter = axis.get_major_formatter() if major else axis.get_minor_formatter()
    locs = [loc for loc in locator() if low <= loc <= high]
    return formatter.format_ticks(locs), formatter.get_offset()


def _axis_labels(axis: Axis) -> tuple[list[str], str]:
    """What :func:`fit_layout` measures of ``axis``: nothing on a log axis labelled in powers
    of ten (short, whatever their text), its major and minor labels on one labelled otherwise
    (``0.6``, ``1000``), and its major labels and offset text on a linear axis."""
    if axis.get_scale() != "log":
        return tick_labels(axis)
    if isinstance(axis.get_major_formatter(), LogFormatterSciNotation):
        return [], ""
    (major, _), (minor, _) = tick_labels(axis), tick_labels(axis, "minor")
    return major + minor, ""


def fit_layout(fig: Figure, max_chars: int = PLAIN_LABEL_CHARS) -> Figure:
    """Keep ``fig``'s fixed :class:`Margins` if every axis labels its ticks in at most
    ``max_chars`` characters without an offset text (log axes labelled in powers of ten always
    do); otherwise hand the figure to constrained layout, which makes room for longer labels.
    Call it when the axes' limits are final; returns ``fig``."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis) if ax.get_visible() else ():
            labels, offset = _axis_labels(axis)
            if offset or any(len(label) > max_chars for label in labels):
                fig.set_layout_engine("constrained")
                return fig
    return fig


def suptitle(fig: Figure, text: str) -> None:
    """``fig``'s title, in the medium font: 0.1 inch below its top edge whatever its height if
    its layout is fixed, else where its layout engine puts it. The text is shown as typed
    (:func:`plain_text`)."""
    fixed = fig.get_layout_engine() is None
    y = 1 - 0.1 / fig.get_figheight() if fixed else None
    fig.suptitle(plain_text(text), fontsize="medium", y=y)


def plain_text(text: object) -> str:
    """``text`` for a figure, shown as typed: every ``$`` escaped.

    matplotlib reads text between two ``$`` as mathtext: a data file named ``a$x^2$.csv``
    would be titled with a superscript, and one named ``a$\\frac{$.csv`` would fail to draw.
    Names, labels and titles that come from users or data pass through here; an escaped
    ``\\$`` is drawn as a plain ``$``.

    >>> plain_text("a$x^2$")
    'a\\\\$x^2\\\\$'
    """
    return str(text).replace("$", "\\$")


class PlainLogFormatter(LogFormatter):
    """Label the ticks matplotlib's log formatter would label, as plain numbers (``0.6``)."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""


def widen_flat_ylim(ax: Axes, logy: bool) -> None:
    """Give a (nearly) constant cost, like the zeros run's 0.693…, a readable y range.

    Left alone, matplotlib zooms into a spread of a few ulps: tick labels of ±1e-16 on a
    linear axis, and no tick at all on a log axis.
    """
    ys = [np.asarray(line.get_ydata(), dtype=np.float64) for line in ax.get_lines()]
    values = np.concatenate(ys) if ys else np.empty(0)
    values = values[np.isfinite(values) & ((values > 0) if logy else True)]
    if values.size == 0:
        return
    low, high = float(values.min()), float(values.max())
    if high - low > 1e-6 * max(abs(high), abs(low)):
        return
    center = (low + high) / 2
    if logy:
        ax.set_ylim(center / 3, center * 3)
    else:
        half = max(abs(center), 1.0) / 2
        ax.set_ylim(center - half, center + half)
