"""Plots for the reports, as base64 PNG strings (matplotlib's Agg canvas, no pyplot).

Pyplot keeps global state and is not thread-safe; models are evaluated in worker threads, so
figures are built with ``matplotlib.figure.Figure`` and rendered by ``FigureCanvasAgg``. Without
matplotlib (the optional ``report`` extra) the functions return ``None`` and reports omit plots.

    >>> png = histogram_png([0.1, 0.5, 0.5, 0.9], "rougeL/v1", bins=5)
    >>> png is None or png.startswith("iVBOR")
    True
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # matplotlib is imported when a plot is drawn (the [report] extra)
    from matplotlib.figure import Figure


def _render(figure: Figure) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float, left: float = 0.16) -> Figure | None:
    """A figure with fixed margins (a tight layout costs more than drawing the plot)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(width, height), dpi=90)
    bottom = min(0.45, 0.55 / height)
    figure.subplots_adjust(left=left, right=0.97, top=1 - 0.3 / height, bottom=bottom)
    return figure


def histogram_png(values: Sequence[float], title: str, bins: int = 20) -> str | None:
    """Distribution of a metric's scored values (NaN skipped); None if nothing to plot."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    figure = _figure(4.2, 2.6)
    if not finite or figure is None:
        return None
    axes = figure.add_subplot()
    distinct = len(set(finite))
    axes.hist(
        finite,
        bins=max(1, min(bins, distinct if distinct > 1 else 1)),
        color="#4c72b0",
        edgecolor="white",
    )
    axes.set_title(f"{title} (n={len(finite)})", fontsize=9)
    axes.set_xlabel("score", fontsize=8)
    axes.set_ylabel("rows", fontsize=8)
    axes.tick_params(labelsize=7)
    return _render(figure)


def means_png(
    names: Sequence[str],
    means: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    title: str,
    highlight: str | None = None,
    label: str = "mean",
) -> str | None:
    """Per-model means (or paired differences) with 95% intervals as bars; None if nothing to plot."""
    rows = [
        (n, m, lo, hi)
        for n, m, lo, hi in zip(names, means, lows, highs)
        if m is not None and math.isfinite(m)
    ]
    longest = max((len(n) for n, *_ in rows), default=1)
    figure = _figure(4.8, 1.0 + 0.35 * max(1, len(rows)), left=min(0.45, 0.05 + 0.018 * longest))
    if not rows or figure is None:
        return None
    axes = figure.add_subplot()
    positions = list(range(len(rows)))[::-1]
    errors = [
        [max(0.0, m - lo) if math.isfinite(lo) else 0.0 for _, m, lo, _ in rows],
        [max(0.0, hi - m) if math.isfinite(hi) else 0.0 for _, m, _, hi in rows],
    ]
    colors = ["#55a868" if n == highlight else "#4c72b0" for n, *_ in rows]
    axes.barh(positions, [m for _, m, _, _ in rows], xerr=errors, color=colors, capsize=3)
    axes.set_yticks(positions, [n for n, *_ in rows], fontsize=8)
    axes.set_title(f"{title}: {label}, 95% CI", fontsize=9)
    if label != "mean":
        axes.axvline(0.0, color="#333", linewidth=0.8)
    axes.tick_params(axis="x", labelsize=7)
    return _render(figure)


def confusion_png(matrix: Sequence[Sequence[int]], labels: Sequence[int], title: str) -> str | None:
    """A confusion matrix as a heatmap with counts (rows: human label, columns: judge score)."""
    size = 1.6 + 0.45 * len(labels)
    figure = _figure(size + 0.6, size, left=0.2)
    if figure is None or not labels:
        return None
    axes = figure.add_subplot()
    axes.imshow(matrix, cmap="Blues")
    top = max((max(r) for r in matrix), default=0)
    for i, counts in enumerate(matrix):
        for j, count in enumerate(counts):
            axes.text(
                j,
                i,
                str(count),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if top and count > top / 2 else "#123",
            )
    ticks = list(range(len(labels)))
    axes.set_xticks(ticks, [str(v) for v in labels], fontsize=7)
    axes.set_yticks(ticks, [str(v) for v in labels], fontsize=7)
    axes.set_xlabel("judge", fontsize=8)
    axes.set_ylabel("human", fontsize=8)
    axes.set_title(title, fontsize=9)
    return _render(figure)
