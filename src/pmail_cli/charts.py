"""Charts of a report's main series: bars in the terminal, or an image file.

Terminal bars are drawn with rich under a table, only when stdout is a terminal (never
into csv, json, markdown or a pipe). `--plot FILE.png|svg` draws the same series with
matplotlib, an optional extra (`pip install 'pmail[plots]'`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pmail_cli import targets
from pmail_cli.errors import UsageError

BAR = "█"
WIDTH = 40
PLOT_SUFFIXES = (".png", ".svg")


@dataclass(frozen=True, slots=True)
class Series:
    """What a chart shows: one bar per label."""

    title: str
    labels: Sequence[str]
    values: Sequence[float]
    unit: str = ""


def check_plot_path(path: Path | None) -> None:
    """Refuse an image type matplotlib is not asked to write, or a path that cannot
    be written, before any work (so no table is printed for a chart that fails)."""
    if path is None:
        return
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(
            f"--plot writes .png or .svg files, not {path.name!r}",
            hint="name a file ending in .png or .svg",
        )
    targets.check_file(path, option="--plot")


def terminal(series: Series, console: Console) -> None:
    """Horizontal bars, one line per label, scaled to the largest value."""
    if not series.values:
        return
    top = max(series.values) or 1
    table = Table(
        title=escape(series.title), show_header=False, box=None, pad_edge=False
    )
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    for label, value in zip(series.labels, series.values, strict=True):
        bar = BAR * max(0, round(WIDTH * value / top)) if value > 0 else ""
        shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
        table.add_row(escape(label), f"[cyan]{bar}[/cyan]", shown + series.unit)
    console.print(table)


def plot(series: Series, path: Path) -> None:
    """Write the series as a bar chart image (PNG or SVG) with matplotlib."""
    check_plot_path(path)
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError(
            "--plot needs matplotlib, which is not installed",
            hint="install the extra: pip install 'pmail[plots]'",
        ) from None
    figure, axes = plt.subplots(figsize=(max(6.0, 0.25 * len(series.labels) + 2), 4))
    axes.bar(range(len(series.values)), list(series.values), color="#3b82f6")
    axes.set_xticks(range(len(series.labels)))
    axes.set_xticklabels(list(series.labels), rotation=60, ha="right", fontsize=7)
    axes.set_title(series.title)
    if series.unit:
        axes.set_ylabel(series.unit.strip())
    figure.tight_layout()
    try:
        figure.savefig(path)
    except OSError as exc:
        raise targets.cannot_write(path, exc, option="--plot") from None
    finally:
        plt.close(figure)
