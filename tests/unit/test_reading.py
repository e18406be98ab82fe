"""Bounded reading (issue 24, point 4): an mbox is split as it is read, exactly as
split_mbox splits it whole, and no message over the maximum size is kept."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from pmail_cli.sources import EmptyInput, ReadEvent, TooLarge, WorkItem, reading
from pmail_cli.sources.files import read_paths, split_mbox

ENVELOPE = b"From sender@example.org Tue Mar  5 10:00:00 2024\n"
ONE = b"From: a@example.org\nSubject: one\n\nbody one\n"
PIECES = [ENVELOPE, b"\n", b"\r\n", b"text\n", b"From x\n", b"Subject: y\n", b"x"]


def _whole_split(data: bytes) -> list[bytes | None]:
    """What reading the whole input gives: its entries, or None for no entries."""
    entries = split_mbox(data)
    if not entries:
        return [None]
    return [e if e and not e.isspace() else b"" for e in entries]  # b"": empty


def _streamed(events: list[ReadEvent]) -> list[bytes | None]:
    out: list[bytes | None] = []
    for event in events:
        if isinstance(event, WorkItem):
            out.append(event.raw if "#" in event.origin else None)
        elif isinstance(event, EmptyInput):
            out.append(b"" if "#" in event.origin else None)
    return out


@pytest.mark.parametrize("chunk", [1, 2, 5, 6, 7, 64])
def test_streamed_split_equals_the_whole_split(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chunk: int
) -> None:
    """Read in chunks of 1..64 bytes (From_ lines cut anywhere), from a pipe-like
    stream and from a file, random mboxes give the entries split_mbox gives."""
    monkeypatch.setattr(reading, "CHUNK", chunk)
    monkeypatch.setattr(reading, "HEAD", 5)  # the least that tells a From_ line
    rng = random.Random(chunk)
    path = tmp_path / "random.mbox"
    for _ in range(400):
        data = rng.choice([ENVELOPE, b"", b"stray\n"]) + b"".join(
            rng.choice(PIECES) for _ in range(rng.randint(0, 14))
        )
        want = _whole_split(data)
        if data.isspace() or not data:
            want = [None]
        piped = list(read_paths(["-"], as_mbox=True, stdin=io.BytesIO(data)))
        assert _streamed(piped) == want, data
        path.write_bytes(data)
        assert _streamed(list(read_paths([str(path)], as_mbox=True))) == want, data


def test_an_mbox_entry_over_the_limit_is_named_and_the_rest_stored(
    tmp_path: Path,
) -> None:
    """In a file, the entry over the limit is refused with its number and offset;
    the entries around it are read."""
    big = b"Subject: big\n\n" + b"x" * 5000 + b"\n"
    data = ENVELOPE + ONE + b"\n" + ENVELOPE + big + b"\n" + ENVELOPE + ONE
    path = tmp_path / "box.mbox"
    path.write_bytes(data)
    events = list(read_paths([str(path)], max_bytes=1000))
    assert [type(e).__name__ for e in events] == ["WorkItem", "TooLarge", "WorkItem"]
    refused = events[1]
    assert isinstance(refused, TooLarge)
    assert refused.origin == f"{path}#2" and refused.limit == 1000
    assert refused.offset == len(ENVELOPE + ONE + b"\n") and not refused.cut
    assert refused.size == len(ENVELOPE + big + b"\n")
    assert [e.raw for e in events if isinstance(e, WorkItem)] == [ONE, ONE]


def test_a_message_exactly_at_the_limit_is_read(tmp_path: Path) -> None:
    """The limit is the largest size stored, for a file and for an mbox entry."""
    raw = b"Subject: x\n\n" + b"y" * 87 + b"\n"
    assert len(raw) == 100
    (tmp_path / "a.eml").write_bytes(raw)
    (tmp_path / "b.mbox").write_bytes(ENVELOPE + raw + b"\n" + ENVELOPE + raw + b"z")
    events = list(
        read_paths([str(tmp_path / "a.eml"), str(tmp_path / "b.mbox")], max_bytes=100)
    )
    assert [type(e).__name__ for e in events] == ["WorkItem", "WorkItem", "TooLarge"]
    assert isinstance(events[2], TooLarge) and events[2].size == len(ENVELOPE) + 101


def test_a_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.eml"
    path.write_bytes(b"Subject: x\n\n" + b"y" * 2000)
    (event,) = read_paths([str(path)], max_bytes=1000)
    assert isinstance(event, TooLarge) and event.origin == str(path)
    assert event.size == 2012 and not event.cut


def test_an_endless_input_is_cut_at_the_limit() -> None:
    """A device that never ends (/dev/zero) and a pipe are read to the limit, then
    cut, as one message or as an mbox entry."""
    (zero,) = read_paths(["/dev/zero"], max_bytes=3 * reading.CHUNK + 5)
    assert isinstance(zero, TooLarge) and zero.cut and zero.origin == "/dev/zero"
    endless = io.BytesIO(ENVELOPE + ONE + b"\n" + ENVELOPE + b"z" * 50_000)
    events = list(read_paths(["-"], stdin=endless, max_bytes=1000))
    assert [type(e).__name__ for e in events] == ["WorkItem", "TooLarge"]
    cut = events[1]
    assert isinstance(cut, TooLarge) and cut.cut and cut.origin == "-#2"


def test_a_regular_file_read_short_or_changed_is_read_to_its_end() -> None:
    """One pread is the usual case; a short one (over 2 GB at once) or a file that
    grew since it was opened is read on to its end, and refused past the limit."""
    data = b"Subject: x\n\n" + b"y" * 500

    def source(size: int, step: int, content: bytes = data) -> reading.Input:
        def pread(n: int, offset: int) -> bytes:
            return content[offset : offset + min(n, step)]

        return reading.Input(lambda n: b"", True, size, pread)

    assert reading.whole(source(len(data), 1000), b"", "f", 1000) == data
    assert reading.whole(source(len(data), 7), b"", "f", 1000) == data
    assert reading.whole(source(100, 1000), b"", "f", 1000) == data  # it grew
    grown = reading.whole(source(100, 1000), b"", "f", 300)
    assert isinstance(grown, TooLarge) and not grown.cut and grown.size == 301
