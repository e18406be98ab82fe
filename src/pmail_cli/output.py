"""Render rows as table, csv, json or markdown on stdout (data only)."""

from __future__ import annotations

import dataclasses
import enum
import errno
import io
import json
import os
import re
import sys
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

_err_console: Console | None = None


def stderr_console() -> Console:
    """The rich console on stderr (messages, progress bars), made on first use:
    rich is imported only by a command that prints something through it."""
    global _err_console
    if _err_console is None:
        from rich.console import Console

        _err_console = Console(stderr=True, soft_wrap=True)
    return _err_console


def __getattr__(name: str) -> Console:
    """`output.err_console`: the console of stderr_console(), made when first named."""
    if name == "err_console":
        return stderr_console()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Text that console markup and emoji codes leave as it is: no '[' (markup) and no
# ':' directly followed by a non-space (an emoji code such as ':smile:').
_MARKUP_FREE = re.compile(r"[^\[:]*(?::(?=\s|$)[^\[:]*)*")


def say_plain(text: str) -> None:
    """One line on stderr, as stderr_console().print(text, highlight=False) prints
    it; text without markup or emoji codes is written without importing rich."""
    if _MARKUP_FREE.fullmatch(text):
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    else:
        stderr_console().print(text, highlight=False)


# A reader that stopped reading (`pmail list | head -1`): the status a shell shows
# when git or coreutils meet one (128 + SIGPIPE), quietly, whatever the command.
STDOUT_CLOSED = 141
# what a write meets when the disk or the quota is full, or the file at its limit
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def stdout_reader_gone() -> bool:
    """Whether stdout is a pipe or socket whose reading end has been closed."""
    import select  # only when a write has failed

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        ready = poller.poll(0)
    except (OSError, ValueError, AttributeError):  # not a real descriptor
        return False
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in ready)


def discard_stdout() -> None:
    """Send what is still buffered for stdout, and anything written later, to
    /dev/null: the interpreter's flush at exit then has nothing to complain of."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


class StdoutClosed(OSError):
    """A write to stdout in a process started with descriptor 1 closed (`>&-`)."""

    def __init__(self) -> None:
        super().__init__(errno.EBADF, "stdout is closed")


class _ClosedBuffer(io.RawIOBase):
    """sys.stdout.buffer of a ClosedStdout: what is written to it is refused."""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if not memoryview(data).nbytes:
            return 0
        raise StdoutClosed


class ClosedStdout(io.TextIOBase):
    """sys.stdout in a process started with descriptor 1 closed, where Python
    leaves it None and print() or click.echo() drop the output without a word: a
    command that prints data then meets StdoutClosed at its first write, as it
    would meet a full disk; one that prints none runs as before (flush() and an
    empty write do nothing)."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self) -> None:
        super().__init__()
        self.buffer = _ClosedBuffer()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if not text:
            return 0
        raise StdoutClosed


def stdout_closed_at_start() -> bool:
    """Put a ClosedStdout in place of a missing sys.stdout (descriptor 1 was closed
    when the process started), and make an unbuffered one write whole (_WholeWrites);
    whether stdout is such a stand-in."""
    if sys.stdout is None:
        _hold_descriptor_1()
        sys.stdout = ClosedStdout()
    _whole_writes()
    return isinstance(sys.stdout, ClosedStdout)


def _hold_descriptor_1() -> None:
    """Put /dev/null on a closed descriptor 1. Left closed, the next file pmail opens
    (an export's output, a server's log) would get it, where anything that writes to
    descriptor 1 (a C library) would write, and a child process (pg_ctl, initdb)
    would find its stdout closed and fail on its first write."""
    try:
        os.fstat(1)
    except OSError:
        devnull = os.open(os.devnull, os.O_WRONLY)  # the lowest free: 1
        if devnull != 1:
            os.dup2(devnull, 1)
            os.close(devnull)
        os.set_inheritable(1, True)  # os.open's are not: children would find it closed


class _WholeWrites(io.RawIOBase):
    """The binary layer of an unbuffered stdout (python -u, PYTHONUNBUFFERED=1),
    which writes all it is given: the interpreter's own layer is the file itself,
    whose write() may end short (a reader that left while it waited on a full pipe)
    and whose text layer takes that as done, dropping the rest without an error.
    Here the rest is written again, and meets the reader's absence (141)."""

    def __init__(self, raw: io.FileIO) -> None:
        super().__init__()
        self._raw = raw

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._raw.fileno()

    def isatty(self) -> bool:
        return self._raw.isatty()

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            wrote = self._raw.write(view[done:])
            if wrote is None:  # a non-blocking descriptor that is full
                break
            done += wrote
        return done


def _whole_writes() -> None:
    """Put _WholeWrites under an unbuffered sys.stdout (once; the interpreter's own
    object stays as sys.__stdout__, which keeps its file open)."""
    out = sys.stdout
    if not isinstance(out, io.TextIOWrapper):
        return
    raw = getattr(out, "buffer", None)
    if not isinstance(raw, io.FileIO) or raw.closed:
        return
    sys.stdout = io.TextIOWrapper(
        _WholeWrites(raw),
        encoding=out.encoding,
        errors=out.errors,
        line_buffering=out.line_buffering,
        write_through=True,
    )


def counted(n: int, noun: str, plural: str = "") -> str:
    """A count and its noun agreeing, for what pmail says: '1 message',
    '0 messages', '1,204 messages' (`plural` when it is not noun + 's')."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


class OutputFormat(enum.StrEnum):
    """Formats every data-printing command accepts."""

    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


def as_dict(row: object) -> dict[str, Any]:
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
    if isinstance(row, Mapping):
        return dict(row)
    raise TypeError(f"cannot render {type(row).__name__}")


def plain(value: object) -> object:
    """Turn a value into something csv/json/tabulate print faithfully."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):  # sums and averages from SQL
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


# Text from mail is untrusted: on a terminal an ESC or CSI sequence recolours the
# screen or sets the window title. Human-facing output shows every C0 control (but
# the newline), DEL and C1 control as a visible escape; csv keeps tabs and newlines
# and shows the others as control pictures; JSON escapes them all.
# The bidirectional embeddings, overrides and isolates (U+202A..U+202E,
# U+2066..U+2069) make a line display in another order than it reads, and the zero
# width space and BOM (U+200B, U+FEFF) hide where text starts: human-facing output
# shows them as `\u` escapes. (Joiners and marks, U+200C..U+200F, spell words and
# emoji: kept. csv is data for other systems: kept as it came.)
_INVISIBLE = "\u200b\u202a-\u202e\u2066-\u2069\ufeff"
_TERMINAL_UNSAFE = re.compile(f"[\x00-\x09\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
_CSV_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f]")


def for_terminal(text: str) -> str:
    """Control characters shown as `\\xNN` (ESC becomes `\\x1b`); newlines kept."""
    return _TERMINAL_UNSAFE.sub(_escape, text)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _for_csv(text: str) -> str:
    def picture(m: re.Match[str]) -> str:
        code = ord(m.group())
        if code < 0x20:
            return chr(0x2400 + code)  # the Unicode control pictures: U+241B for ESC
        return "\u2421" if code == 0x7F else f"\\x{code:02x}"

    return _CSV_UNSAFE.sub(picture, text)


# A spreadsheet opening csv reads a cell that begins with one of these as a formula
# (=HYPERLINK(...) fetching a URL, DDE starting a program), even quoted: text from
# mail that begins so (after any spaces) gets a leading apostrophe, the mark that
# tells a spreadsheet "text". JSON keeps every value as it is.
_FORMULA_START = re.compile(
    "[ \t\u00a0\u2000-\u200b\u3000\ufeff]*[=+\\-@\t\r\uff1d\uff0b\uff0d\uff20]"
)


def _inert(text: str) -> str:
    """A csv cell a spreadsheet will not evaluate: `'` before one that would be."""
    return "'" + text if _FORMULA_START.match(text) else text


def _json(value: object) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# A markdown table cell ends at a "|" and its row at a line break: text from mail
# holding either (an address, a subject) would shift or split the columns.
_MARKDOWN_BREAKS = re.compile(r"\||\r\n|\n|\r")


def _markdown(value: object) -> object:
    """A cell of a GitHub table, which renders HTML: `|` escaped, line breaks as the
    `<br>` pmail writes, `&`, `<`, `>` from mail as entities and `[`, `]` escaped
    (no `<script>`, `<img src>` or `![](url)` of a sender's reaches the page)."""
    if not isinstance(value, str):
        return value
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace("[", "\\[").replace("]", "\\]")
    return _MARKDOWN_BREAKS.sub(lambda m: "\\|" if m.group() == "|" else "<br>", value)


def _cell(value: object, *, csv_cell: bool = False, markdown: bool = False) -> object:
    value = plain(value)
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        if csv_cell:
            return _inert(_for_csv(value))
        text = for_terminal(value)
        # a table row is one line: a newline from a row (an audit entry's os_user,
        # say) would print a line of its own that reads like another row
        return _markdown(text) if markdown else text.replace("\n", "\\n")
    return value


def render(
    rows: Iterable[object],
    fmt: OutputFormat,
    *,
    out: TextIO | None = None,
    columns: Sequence[str] | None = None,
    percent: Collection[str] = (),
) -> None:
    """Print rows in the chosen format; data only, on stdout.

    `columns` names the columns when there may be no rows (the header is printed and
    "(no rows)" said on stderr). `percent` columns hold fractions: csv and json keep
    them as they are, tables show them as percentages.
    """
    stream = out or sys.stdout
    dicts = [as_dict(r) for r in rows]
    names = list(dicts[0]) if dicts else list(columns or [])
    if fmt is OutputFormat.json:
        stream.write(_json([{k: plain(v) for k, v in d.items()} for d in dicts]) + "\n")
        return
    if fmt is OutputFormat.csv:
        if names:
            import csv  # only for csv output

            writer = csv.DictWriter(stream, fieldnames=names, lineterminator="\n")
            writer.writeheader()
            writer.writerows(
                {k: _cell(v, csv_cell=True) for k, v in d.items()} for d in dicts
            )
        if not dicts:
            stderr_console().print("(no rows)")
        return
    md = fmt is OutputFormat.markdown
    table = [
        {
            k: _percent(v) if k in percent else _cell(v, markdown=md)
            for k, v in d.items()
        }
        for d in dicts
    ]
    from tabulate import tabulate  # 30 ms to import: only for tables

    tablefmt = "github" if fmt is OutputFormat.markdown else "simple"
    if table:
        stream.write(tabulate(table, headers="keys", tablefmt=tablefmt) + "\n")
    else:
        if names:
            stream.write(tabulate([], headers=names, tablefmt=tablefmt) + "\n")
        stderr_console().print("(no rows)")


def rendered(
    rows: Iterable[object], fmt: OutputFormat, *, columns: Sequence[str] | None = None
) -> str:
    """What `render` would print, as a string."""
    buffer = io.StringIO()
    render(rows, fmt, out=buffer, columns=columns)
    return buffer.getvalue()


def _percent(value: object) -> object:
    if isinstance(value, float | int | Decimal) and not isinstance(value, bool):
        return f"{float(value) * 100:.1f}%"
    return _cell(value)


def render_record(
    record: Mapping[str, object], fmt: OutputFormat, *, out: TextIO | None = None
) -> None:
    """Print one record: 'key: value' lines, or a JSON object."""
    stream = out or sys.stdout
    if fmt is OutputFormat.json:
        stream.write(_json({k: plain(v) for k, v in record.items()}) + "\n")
        return
    if fmt is not OutputFormat.table:
        render([record], fmt, out=stream)
        return
    width = max((len(k) for k in record), default=0)
    for key, value in record.items():
        shown = _cell(value)
        stream.write(
            f"{for_terminal(key):<{width}}  {'' if shown is None else shown}\n"
        )
