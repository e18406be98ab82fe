"""Reading one input with bounded memory: a whole message, or an mbox entry by entry.

Nothing here holds more than one message (at most the maximum message size) plus
one read chunk. A regular file's size is known before it is read, so a message
over the limit is refused without reading it; a pipe or a device is read up to
the limit and cut there, so an input that never ends (`/dev/zero`, an endless
pipe) ends with an error instead of filling memory. An mbox is split as it is
read (the rules of `files.split_mbox`); an entry over the limit is skipped to the
next `From ` line in a regular file, and cuts a pipe or a device.
"""

from __future__ import annotations

import io
import os
import select
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pmail_cli.sources import TooLarge

CHUNK = 1 << 20  # bytes per read
HEAD = 4096  # bytes the decisions about an input look at (mbox or not, mail or not)
_FROM = b"\nFrom "


def _read_waiting(fd: int, n: int) -> bytes:
    """Up to n bytes of a pipe or terminal, waiting for them even when the
    descriptor was handed over non-blocking (a parent's O_NONBLOCK pipe)."""
    while True:
        try:
            return os.read(fd, n)
        except BlockingIOError:
            select.select([fd], [], [])


@dataclass(slots=True)
class Input:
    """One open input: how to read it, and whether it is a regular file."""

    read: Callable[[int], bytes]
    regular: bool
    size: int | None  # a regular file's size when opened
    pread: Callable[[int, int], bytes] | None = None  # (n, offset): regular files

    @classmethod
    def of(cls, stream: BinaryIO) -> Input:
        """A file or stdin; a real descriptor is read without Python's buffer
        lock, so a read blocked on a terminal or pipe never holds up the exit
        after Ctrl-C (the reading thread is a daemon)."""
        try:
            fd = stream.fileno()
        except (OSError, AttributeError, io.UnsupportedOperation):
            return cls(stream.read, False, None)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return cls(lambda n: _read_waiting(fd, n), False, None)
        return cls(
            lambda n: os.read(fd, n),
            True,
            info.st_size,
            lambda n, offset: os.pread(fd, n, offset),
        )

    def head(self) -> bytes:
        """The first HEAD bytes (fewer only at the end of the input)."""
        got = bytearray()
        while len(got) < HEAD:
            chunk = self.read(HEAD - len(got))
            if not chunk:
                break
            got += chunk
        return bytes(got)


def whole(source: Input, head: bytes, origin: str, limit: int) -> bytes | TooLarge:
    """The input as one message, or TooLarge: a regular file over the limit is
    not read at all, a pipe or device is read to the limit and cut."""
    if source.size is not None and source.pread is not None:
        if source.size > limit:
            return TooLarge(origin, source.size, limit)
        data = source.pread(source.size + 1, 0)  # one allocation, the head included
        if len(data) == source.size:
            return data
        # a short read (over 2 GB at once), or the file changed since it was opened
        got = bytearray(data)
        while len(got) <= limit:
            chunk = source.pread(min(CHUNK, limit + 1 - len(got)), len(got))
            if not chunk:
                return bytes(got)
            got += chunk
        return TooLarge(origin, len(got), limit)
    return _until_end(source, bytearray(head), origin, limit)


def _until_end(
    source: Input, got: bytearray, origin: str, limit: int
) -> bytes | TooLarge:
    while len(got) <= limit:
        chunk = source.read(min(CHUNK, limit + 1 - len(got)))
        if not chunk:
            return bytes(got)
        got += chunk
    return TooLarge(origin, len(got), limit, cut=not source.regular)


@dataclass(slots=True)
class Entry:
    """One entry of an mbox: its number, where its From_ line starts, its bytes."""

    number: int
    offset: int
    raw: bytes | None  # None: over the limit (size says how large)
    size: int
    envelope: bool = True  # False: the bytes before the first From_ line
    cut: bool = False  # the input was cut here (a pipe or device)


class _Splitter:
    """Cut an mbox into entries as its bytes arrive (see files.split_mbox)."""

    def __init__(self, source: Input, head: bytes, limit: int) -> None:
        self.source, self.limit = source, limit
        self.buf = bytearray(head)  # the current entry's bytes, from its start
        self.offset = 0  # where buf starts in the input
        self.number = 0
        self.envelope = head.startswith(b"From ")  # buf starts with a From_ line
        self.dropped = 0  # bytes of an entry over the limit let go so far
        self.newline = -1  # the end of the current entry's From_ line, once seen
        self.eof = False

    def entries(self) -> Iterator[Entry]:
        scan = 0
        while True:
            at = self.buf.find(_FROM, scan)
            if at != -1:
                yield self._entry(at + 1)
                scan = 0
                continue
            if self.eof:
                if self.buf or self.dropped:
                    yield self._entry(len(self.buf))
                return
            scan = max(0, len(self.buf) - len(_FROM) + 1)
            if self._over():
                if not self.source.regular:  # never skip through a pipe: cut it
                    yield self._cut()
                    return
                self.dropped += scan
                del self.buf[:scan]  # a From_ line may start in the last bytes
                scan = 0
            chunk = self.source.read(CHUNK)
            if chunk:
                self.buf += chunk
            else:
                self.eof = True

    def _over(self) -> bool:
        """True when the current entry is already larger than a message may be."""
        if self.dropped:
            return True
        body = len(self.buf)
        if self.envelope:
            if self.newline == -1:
                self.newline = self.buf.find(b"\n")
            body -= self.newline + 1
        return body > self.limit + 1  # +1: the blank line that ends an entry

    def _entry(self, end: int) -> Entry:
        """The entry in buf[:end]; buf then starts at the next From_ line."""
        self.number += 1
        size = self.dropped + end
        raw = None if self.dropped else self._body(end)
        if raw is not None and len(raw) > self.limit:
            raw = None
        entry = Entry(self.number, self.offset, raw, size, self.envelope)
        del self.buf[:end]
        self.offset += size
        self.dropped = 0
        self.envelope = True
        self.newline = -1
        return entry

    def _body(self, end: int) -> bytes:
        start, stop = 0, end
        if self.envelope:
            newline = self.buf.find(b"\n", 0, end)
            if newline == -1:
                return b""
            start = newline + 1
            if stop - start >= 2 and self.buf[stop - 2 : stop] == b"\n\n":
                stop -= 1  # the blank line that separates entries
            elif stop - start == 1 and self.buf[start] == 0x0A:
                stop = start
        with memoryview(self.buf) as view, view[start:stop] as body:
            return bytes(body)

    def _cut(self) -> Entry:
        self.number += 1
        size = self.dropped + len(self.buf)
        return Entry(self.number, self.offset, None, size, self.envelope, cut=True)


def mbox_entries(source: Input, head: bytes, limit: int) -> Iterator[Entry]:
    """The entries of an mbox as they are read. Bytes before the first From_ line
    are an entry of their own (no From_ line to strip); an input without any From_
    line is one entry starting at 0 (the caller stores it whole)."""
    return _Splitter(source, head, limit).entries()
