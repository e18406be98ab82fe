"""Charts of a report's main series: bars in the terminal, or an image file.

Terminal bars are drawn with rich under a table, only when stdout is a terminal (never
into csv, json, markdown or a pipe). `--plot FILE.png|svg` draws the same series with
matplotlib, an optional extra (`pip install 'pmail[plots]'`): the report's main series
side by side with a legend, labelled axes, whole-number ticks for counts, at most
MAX_GROUPS groups of bars (days become weeks, months or years) and MAX_WIDTH_IN wide.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from pmail_cli import targets
from pmail_cli.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

BAR = "█"
WIDTH = 40
PLOT_SUFFIXES = (".png", ".svg")
MAX_GROUPS = 62  # bar groups an image shows; more days are summed by week or month
DPI = 100
MAX_WIDTH_IN = 14.0  # so an image is at most 1,400 px wide, whatever the window
HEIGHT_IN = 5.0
COLOURS = ("#2563eb", "#f97316", "#dc2626", "#16a34a", "#9333ea")


@dataclass(frozen=True, slots=True)
class Series:
    """What a chart shows: one bar per label.

    `values` is the terminal's one bar per label (a report's headline number);
    `parts` are the series an image draws side by side with a legend (the report's
    main columns, by name; `values` alone when empty). `whole` counts get
    whole-number ticks; `dated` labels (ISO dates, one per day) are summed into
    weeks or months when there are too many days to read."""

    title: str
    labels: Sequence[str]
    values: Sequence[float]
    unit: str = ""
    parts: Mapping[str, Sequence[float]] = field(default_factory=dict)
    x_label: str = ""
    y_label: str = ""
    whole: bool = False
    dated: bool = False


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
    from rich.markup import escape  # the reports import this module; only the
    from rich.table import Table  # terminal chart needs rich

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


def bucketed(series: Series) -> Series:
    """Days summed by week (Monday first) or month when they are more than
    MAX_GROUPS, by year when even the months are; other series unchanged."""
    if not series.dated or len(series.labels) <= MAX_GROUPS:
        return series
    days = [date.fromisoformat(label) for label in series.labels]
    for unit, key in (("week", _week), ("month", _month), ("year", _year)):
        keys = [key(d) for d in days]
        if len(dict.fromkeys(keys)) <= MAX_GROUPS or unit == "year":
            break
    order = list(dict.fromkeys(keys))
    at = {k: i for i, k in enumerate(order)}

    def summed(values: Sequence[float]) -> list[float]:
        out = [0.0] * len(order)
        for k, v in zip(keys, values, strict=True):
            out[at[k]] += v
        return out

    return replace(
        series,
        title=series.title.replace("per day", f"per {unit}"),
        labels=order,
        values=summed(series.values),
        parts={name: summed(v) for name, v in series.parts.items()},
        x_label=f"{unit} (starting)" if unit == "week" else unit,
    )


def _week(d: date) -> str:
    return date.fromordinal(d.toordinal() - d.weekday()).isoformat()


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _year(d: date) -> str:
    return f"{d.year:04d}"


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
    from matplotlib.ticker import MaxNLocator

    series = bucketed(series)
    parts = dict(series.parts) or {series.title: list(series.values)}
    n, k = len(series.labels), len(parts)
    width = min(MAX_WIDTH_IN, max(6.0, 0.22 * n * max(1, k / 2) + 2))
    figure, axes = plt.subplots(figsize=(width, HEIGHT_IN), dpi=DPI)
    bar = 0.8 / k
    for i, (name, values) in enumerate(parts.items()):
        offsets = [x - 0.4 + bar * (i + 0.5) for x in range(n)]
        axes.bar(
            offsets, list(values), bar, label=name, color=COLOURS[i % len(COLOURS)]
        )
    step = max(1, -(-n // 31))  # at most ~31 labels on the x axis
    axes.set_xticks(range(0, n, step))
    axes.set_xticklabels(
        list(series.labels)[::step], rotation=60, ha="right", fontsize=7
    )
    axes.set_xlim(-0.6, max(n, 1) - 0.4)
    if series.whole:
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.margins(y=0.15)  # room for the legend above the highest bar
    axes.set_ylim(bottom=0)
    axes.set_title(series.title)
    axes.set_xlabel(series.x_label)
    axes.set_ylabel(series.y_label or series.unit.strip())
    axes.legend(loc="upper right", ncol=k, fontsize=8)
    figure.tight_layout()
    try:
        with plt.rc_context({"svg.fonttype": "none"}):  # SVG text stays text
            figure.savefig(path)
    except OSError as exc:
        raise targets.cannot_write(path, exc, option="--plot") from None
    finally:
        plt.close(figure)
