"""Files, directories, mbox files, Maildirs and stdin as work items.

Reading is lazy and bounded: one file at a time, an mbox entry by entry, and no
message over the maximum message size is read whole (sources/reading.py), so memory
stays flat however large the input.
Which files are split as mbox and which are one message is decided by name first
(docs/ingest.md, "Files and mbox"):

* `*.eml`, `*.msg`, `*.txt` and Maildir entries (files in `cur/` or `new/`) are one
  message each, stored byte for byte, a leading `From ` line included;
* `*.mbox`, `*.mbx`, files named `mbox`, and files without an extension (or stdin)
  whose first line starts with `From ` are split as mbox;
* `--as mbox` splits anything, `--as eml` nothing; every other file is one message.
"""

from __future__ import annotations

import io
import itertools
import os
import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from pmail_cli import vocab
from pmail_cli.config import MAX_MESSAGE_BYTES
from pmail_cli.errors import UsageError
from pmail_cli.sources import (
    DOVECOT_FILE,
    LINKED_DIR,
    MAILDIR_TMP,
    NOT_A_FILE,
    NOT_MAIL,
    EmptyInput,
    ReadEvent,
    ReadFailure,
    Skipped,
    TooLarge,
    WorkItem,
)
from pmail_cli.sources.reading import Entry, Input, mbox_entries, whole

_SKIP_NAMES = {"maildirfolder", "dovecot-uidlist", "dovecot-keywords", "dovecot.index"}
MBOX_SUFFIXES = (".mbox", ".mbx")
SINGLE_SUFFIXES = (".eml", ".msg", ".txt")
MAILDIR_PARTS = ("cur", "new")


def split_mbox(data: bytes) -> list[bytes]:
    """Split an mbox the way Python's `mailbox.mbox` reads it.

    Every line starting with `From ` begins a message (the line itself is not part
    of it); a message ends where the next one begins, without the blank line (a
    lone LF) that precedes that `From ` line or the end of the file. Bytes before
    the first `From ` line, which `mailbox.mbox` drops, are kept as a message of
    their own: nothing is lost.
    """
    starts: list[int] = []  # offsets of each From_ line
    if data.startswith(b"From "):
        starts.append(0)
    pos = data.find(b"\nFrom ")
    while pos != -1:
        starts.append(pos + 1)
        pos = data.find(b"\nFrom ", pos + 1)
    if not starts:
        return []
    messages = [data[: starts[0]]] if starts[0] > 0 else []
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(data)
        body_start = data.find(b"\n", start, end)
        body = b"" if body_start == -1 else data[body_start + 1 : end]
        if body.endswith(b"\n\n"):
            body = body[:-1]  # the blank line that separates entries
        elif body == b"\n":
            body = b""
        messages.append(body)
    return messages


def _kind(path: str) -> str:
    """'mbox', 'single' or 'sniff' (split when the first line starts with From)."""
    name = os.path.basename(path)
    stem, suffix = os.path.splitext(name)
    suffix = suffix.lower()
    if suffix in MBOX_SUFFIXES or name.lower() == "mbox":
        return "mbox"
    parent = os.path.basename(os.path.dirname(path))
    if suffix in SINGLE_SUFFIXES or parent in MAILDIR_PARTS:
        return "single"
    return "sniff" if not suffix or not stem else "single"


def _should_split(kind: str, data: bytes, as_mbox: bool | None) -> bool:
    if as_mbox is not None:
        return as_mbox
    return kind == "mbox" or (kind == "sniff" and data.startswith(b"From "))


# How a message starts: a header field name and its colon, or an mbox `From ` line
# (after a UTF-8 byte order mark or blank space, which broken mail has).
_STARTS_LIKE_MAIL = re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*(?:From |[!-9;-~]+:)")
# Files found in a directory walk that are documentation, licences or data, by name.
_NOT_MAIL_NAMES = re.compile(
    r"(?i)^(?:readme|license|licence|copying|changes|changelog|notice|authors|"
    r"contributing|manifest)(?:[._-].*)?$|^\.git\w*$|\.(?:md|rst|json|tsv|csv|py|"
    r"pdf|png|jpe?g|gif|svg|ico|zip|gz|tgz|bz2|xz|zst|tar|toml|ya?ml|ini|cfg|sh|c|h)$"
)


def looks_like_mail(data: bytes) -> bool:
    """True when the bytes start as a message or an mbox does."""
    return _STARTS_LIKE_MAIL.match(data) is not None


def not_mail(path: str, data: bytes) -> bool:
    """A file met in a directory walk that is not a message: it does not start like
    one, and its name says documentation or data (README, LICENSE, *.md, *.pdf, …),
    or it is binary (a NUL in its first 4 KB) without a mail name (.eml, .msg, .mbox,
    a Maildir's cur/new). Anything else is stored, flagged if broken: a body without
    headers is still mail."""
    if looks_like_mail(data):
        return False
    name = os.path.basename(path)
    if _NOT_MAIL_NAMES.search(name) is not None:
        return True
    suffix = os.path.splitext(name)[1].lower()
    mail_name = suffix in SINGLE_SUFFIXES + MBOX_SUFFIXES or (
        os.path.basename(os.path.dirname(path)) in MAILDIR_PARTS
    )
    return not mail_name and b"\x00" in data[:4096]


def _open(path: str, *, walked: bool) -> io.FileIO:
    """A file to read: one found in a walk is opened without waiting (O_NONBLOCK,
    so a FIFO put in its place cannot hang the run), then read blocking; one named
    on the command line as it is (`<(cmd)` is a pipe)."""
    if not walked:
        return open(path, "rb", buffering=0)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    os.set_blocking(fd, True)
    return open(fd, "rb", buffering=0)


def _file_events(
    path: str, *, as_mbox: bool | None, limit: int, walked: bool = False
) -> Iterator[ReadEvent]:
    try:
        with _open(path, walked=walked) as handle:
            if walked and not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                # listed as a file, then swapped for a FIFO or a device: reading
                # it could block for ever or never end
                yield Skipped(path, NOT_A_FILE)
                return
            source = Input.of(handle)
            head = source.head()
            if walked and head and not head.isspace() and not_mail(path, head):
                yield Skipped(path, NOT_MAIL)
                return
            split = _should_split(_kind(path), head, as_mbox)
            yield from _input_events(source, head, path, split=split, limit=limit)
    except OSError as exc:
        yield ReadFailure(path, exc.strerror or str(exc))


def _input_events(
    source: Input, head: bytes, origin: str, *, split: bool, limit: int
) -> Iterator[ReadEvent]:
    """One input's messages: whole, or the entries of an mbox, read as they come."""
    if not split:
        data = whole(source, head, origin, limit)
        if isinstance(data, TooLarge):
            yield data
        elif not data or data.isspace():
            yield EmptyInput(origin)
        else:
            yield WorkItem(origin, data)
        return
    entries = mbox_entries(source, head, limit)
    first = next(entries, None)
    if first is None:
        yield EmptyInput(origin)
        return
    second = next(entries, None) if not first.cut else None
    if second is None and not first.envelope:  # no From_ line at all: one message
        yield from _entry_events(first, origin, origin, limit)
        return
    for entry in itertools.chain([first], [second] if second else [], entries):
        yield from _entry_events(entry, f"{origin}#{entry.number}", origin, limit)


def _entry_events(
    entry: Entry, name: str, origin: str, limit: int
) -> Iterator[ReadEvent]:
    if entry.raw is None:
        yield TooLarge(
            name if entry.envelope or entry.number > 1 else origin,
            entry.size,
            limit,
            cut=entry.cut,
            offset=entry.offset,
        )
    elif entry.raw and not entry.raw.isspace():
        number = entry.number if name != origin else None
        yield WorkItem(name, entry.raw, position=number)
    else:
        yield EmptyInput(name)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _walk_dir(root: str) -> Iterator[os.DirEntry[str] | ReadFailure | Skipped]:
    """Files under root in name order, each directory's files before its
    subdirectories, depth first, however deep (a stack, not recursion). What is left
    out comes as a Skipped with its reason: everything in a Maildir's tmp/ (a tmp/
    beside cur/ and new/; any other tmp/ is walked), Dovecot's own files, symbolic
    links to directories. An unreadable directory is a ReadFailure."""
    pending: list[tuple[str, str | None]] = [(root, None)]  # (directory, skip reason)
    while pending:
        directory, skip = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            yield ReadFailure(directory, exc.strerror or str(exc))
            continue
        dirs = [entry for entry in entries if _is_dir(entry)]
        maildir = {"cur", "new", "tmp"} <= {entry.name for entry in dirs}
        for entry in entries:
            if _is_dir(entry):
                continue
            if skip is not None:
                yield Skipped(entry.path, skip)
            elif entry.name in _SKIP_NAMES or entry.name.startswith("dovecot."):
                yield Skipped(entry.path, DOVECOT_FILE)
            else:
                yield entry
        below: list[tuple[str, str | None]] = []
        for entry in dirs:
            if entry.is_symlink():
                yield Skipped(entry.path, LINKED_DIR)
            else:
                tmp = maildir and entry.name == "tmp"
                below.append((entry.path, skip or (MAILDIR_TMP if tmp else None)))
        pending.extend(reversed(below))


def _dir_events(root: Path, *, as_mbox: bool | None, limit: int) -> Iterator[ReadEvent]:
    # DirEntry answers is_symlink/is_file from the directory listing: no stat per file
    for entry in _walk_dir(str(root)):
        if not isinstance(entry, os.DirEntry):
            yield entry
        elif entry.is_symlink() and not os.path.exists(entry.path):
            yield ReadFailure(entry.path, "broken symbolic link")
        elif not entry.is_file():
            yield Skipped(entry.path, NOT_A_FILE)
        else:
            yield from _file_events(
                entry.path, as_mbox=as_mbox, limit=limit, walked=True
            )


def _stdin_events(
    stream: BinaryIO | None, *, as_mbox: bool | None, limit: int
) -> Iterator[ReadEvent]:
    if stream is None:  # the process was started with stdin closed
        yield ReadFailure("-", "stdin is closed (started with <&-)")
        return
    try:
        source = Input.of(stream)
        head = source.head()
        split = _should_split("sniff", head, as_mbox)
        yield from _input_events(source, head, "-", split=split, limit=limit)
    except OSError as exc:  # stdin opened for writing only, a socket gone, ...
        yield ReadFailure("-", f"stdin cannot be read: {exc.strerror or exc}")


def read_paths(
    paths: list[str],
    *,
    as_mbox: bool | None = None,
    stdin: BinaryIO | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> Iterator[ReadEvent]:
    """Yield the messages (and unreadable, empty or oversized inputs) found under
    paths, in order; no message over max_bytes is read whole (sources/reading.py)."""
    for name in paths:
        if name == "-":
            stream = stdin or (sys.stdin.buffer if sys.stdin is not None else None)
            yield from _stdin_events(stream, as_mbox=as_mbox, limit=max_bytes)
            continue
        path = Path(name)
        if path.is_dir():
            yield from _dir_events(path, as_mbox=as_mbox, limit=max_bytes)
        else:
            yield from _file_events(str(path), as_mbox=as_mbox, limit=max_bytes)


def missing_paths(paths: list[str]) -> list[str]:
    """Return the paths (other than '-') that do not exist."""
    return [p for p in paths if p != "-" and not os.path.lexists(p)]


def refuse_missing(paths: list[str], *, undone: str) -> None:
    """Refuse the inputs when one does not exist, before anything is read: the first
    missing path (and how many more), and a hint that nothing was `undone`."""
    missing = missing_paths(paths)
    if missing:
        raise UsageError(
            f"no such file or directory: {missing[0]}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            hint=f"check the path; nothing was {undone}",
        )


def reading_mode(value: str | None) -> bool | None:
    """The --as flag: None (decide by name), True (split as mbox), False (one message)."""
    if value is None:
        return None
    return vocab.one_of("--as", value, vocab.READ_FORMATS) == "mbox"
