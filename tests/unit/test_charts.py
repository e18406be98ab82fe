"""`--plot` images: labelled axes, whole-number ticks, the main series with a
legend, and a bounded width whatever the window (days become weeks or months)."""

from __future__ import annotations

import re
import struct
from datetime import date, timedelta
from pathlib import Path

from pmail_cli.charts import MAX_GROUPS, Series, bucketed, plot


def _days(n: int, start: date = date(2025, 1, 1)) -> list[str]:
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


def _volume(n: int) -> Series:
    labels = _days(n)
    return Series(
        "messages per day",
        labels,
        [3] * n,
        parts={"inbound": [1] * n, "outbound": [2] * n, "bounced": [i % 2 for i in range(n)]},
        x_label="day",
        y_label="messages",
        whole=True,
        dated=True,
    )  # fmt: skip


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def _texts(svg: str) -> list[str]:
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def _tick_texts(svg: str, axis: str) -> list[str]:
    """The labels of the y (or x) axis ticks."""
    pattern = rf'<g id="{axis}tick_\d+">.*?<text[^>]*>([^<]*)</text>'
    return [t.strip() for t in re.findall(pattern, svg, re.S)]


def test_a_year_of_days_is_drawn_by_week_within_the_width(tmp_path: Path) -> None:
    png = tmp_path / "year.png"
    plot(_volume(366), png)
    width, _ = _png_size(png)
    assert width <= 1400, width
    chart = bucketed(_volume(366))
    assert len(chart.labels) <= MAX_GROUPS and chart.x_label == "week (starting)"
    assert chart.labels[0] == "2024-12-30"  # the Monday of 2025-01-01's week
    assert sum(chart.parts["inbound"]) == 366  # nothing lost in the buckets
    assert chart.title == "messages per week"


def test_ten_years_of_days_are_drawn_by_month(tmp_path: Path) -> None:
    chart = bucketed(_volume(3660))
    assert chart.x_label == "year" or len(chart.labels) <= MAX_GROUPS
    assert sum(chart.values) == 3 * 3660
    png = tmp_path / "decade.png"
    plot(_volume(3660), png)
    assert _png_size(png)[0] <= 1400
    assert bucketed(_volume(700)).x_label == "month"


def test_svg_has_axis_labels_legend_and_whole_ticks(tmp_path: Path) -> None:
    svg = tmp_path / "month.svg"
    plot(_volume(30), svg)
    text = svg.read_text()
    texts = _texts(text)
    for wanted in (
        "messages per day",
        "day",
        "messages",
        "inbound",
        "outbound",
        "bounced",
    ):
        assert wanted in texts, (wanted, texts)  # fmt: skip
    ticks = _tick_texts(text, "y")
    assert ticks, "no y tick labels found"
    assert all(re.fullmatch(r"\d+", t) for t in ticks), ticks  # no 0.5, 1.5 ...
    assert "2025-01-01" in _tick_texts(text, "x")


def test_a_short_window_keeps_its_days() -> None:
    chart = _volume(MAX_GROUPS)
    assert bucketed(chart) is chart
