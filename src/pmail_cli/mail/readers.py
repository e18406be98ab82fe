"""Turn paths (files, directories, mbox files, Maildirs, stdin) into raw messages.

Reading is lazy: one file at a time, so memory stays flat however large the input.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# An mbox separator: "From " sender, then an asctime-style date somewhere on the line.
_FROM_LINE = re.compile(
    rb"^From \S+ +.*(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +"
    rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} +\d{1,2}:\d{2}"
)
_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
_LINE_FROM = re.compile(rb"(?:\A|[\r\n])From ")
_SKIP_NAMES = {"maildirfolder", "dovecot-uidlist", "dovecot-keywords", "dovecot.index"}
MBOX_SUFFIXES = (".mbox", ".mbx")


@dataclass(frozen=True, slots=True)
class RawItem:
    """One message's exact bytes and where it came from."""

    raw: bytes
    origin: str  # a path, "path#N" for the N-th message of an mbox, or "-"
    position: int | None = None  # N-th message of an mbox, or an IMAP UID


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """An input that could not be read."""

    origin: str
    reason: str


@dataclass(frozen=True, slots=True)
class EmptyInput:
    """An input that held no message at all (0 bytes, or whitespace)."""

    origin: str


ReadEvent = RawItem | ReadFailure | EmptyInput


def _is_separator(lines: list[bytes], i: int) -> bool:
    line = lines[i]
    if not _FROM_LINE.match(line):
        return False
    if i > 0 and lines[i - 1].strip():
        return False
    nxt = lines[i + 1] if i + 1 < len(lines) else b""
    return bool(_HEADER_LINE.match(nxt))


def split_mbox(data: bytes) -> list[bytes]:
    """Split an mbox into messages (From_ lines and the blank separator line dropped)."""
    if not _LINE_FROM.search(data):
        return []  # no line starts with "From ": not an mbox (the usual .eml file)
    lines = data.splitlines(keepends=True)
    starts = [i for i in range(len(lines)) if _is_separator(lines, i)]
    messages: list[bytes] = []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        body = lines[start + 1 : end]
        if len(body) > 1 and not body[-1].strip():
            body = body[:-1]  # the blank line that ends each mbox entry
        messages.append(b"".join(body))
    return messages


def _events_of(
    data: bytes, origin: str, *, as_mbox: bool | None, named_mbox: bool
) -> Iterator[ReadEvent]:
    """One input's messages: whole, or split when it is an mbox (split only once)."""
    if not data or data.isspace():
        yield EmptyInput(origin)
        return
    messages = split_mbox(data) if as_mbox is not False else []
    if as_mbox is None:  # an mbox by name, or by holding more than one message
        as_mbox = len(messages) > 1 or (named_mbox and bool(messages))
    if not as_mbox or not messages:
        yield RawItem(data, origin)  # one message, or not an mbox after all
        return
    for n, message in enumerate(messages, start=1):
        yield RawItem(message, f"{origin}#{n}", position=n)


def _file_events(path: str, *, as_mbox: bool | None) -> Iterator[ReadEvent]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        yield ReadFailure(path, exc.strerror or str(exc))
        return
    named = os.path.splitext(path)[1].lower() in MBOX_SUFFIXES
    yield from _events_of(data, path, as_mbox=as_mbox, named_mbox=named)


def _walk_dir(root: str) -> Iterator[os.DirEntry[str]]:
    """Files under root in name order, each directory's files before its subdirectories
    (Maildir tmp/ and Dovecot's files skipped, symlinked directories not followed)."""
    try:
        with os.scandir(root) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError:
        return  # an unreadable directory is skipped, as os.walk does
    dirs = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            dirs.append(entry)
        elif entry.name not in _SKIP_NAMES and not entry.name.startswith("dovecot."):
            yield entry
    for entry in dirs:
        if entry.name != "tmp" and not entry.is_symlink():
            yield from _walk_dir(entry.path)


def _dir_events(root: Path, *, as_mbox: bool | None) -> Iterator[ReadEvent]:
    # DirEntry answers is_symlink/is_file from the directory listing: no stat per file
    for entry in _walk_dir(str(root)):
        if entry.is_symlink() and not os.path.exists(entry.path):
            yield ReadFailure(entry.path, "broken symbolic link")
            continue
        if not entry.is_file():
            continue
        yield from _file_events(entry.path, as_mbox=as_mbox)


def _stdin_events(stream: BinaryIO, *, as_mbox: bool | None) -> Iterator[ReadEvent]:
    yield from _events_of(stream.read(), "-", as_mbox=as_mbox, named_mbox=False)


def read_paths(
    paths: list[str], *, as_mbox: bool | None = None, stdin: BinaryIO | None = None
) -> Iterator[ReadEvent]:
    """Yield the messages (and unreadable or empty inputs) found under paths, in order."""
    for name in paths:
        if name == "-":
            yield from _stdin_events(stdin or sys.stdin.buffer, as_mbox=as_mbox)
            continue
        path = Path(name)
        if path.is_dir():
            yield from _dir_events(path, as_mbox=as_mbox)
        else:
            yield from _file_events(str(path), as_mbox=as_mbox)


def missing_paths(paths: list[str]) -> list[str]:
    """Return the paths (other than '-') that do not exist."""
    return [p for p in paths if p != "-" and not os.path.lexists(p)]
