"""Which files are one message and which are split as mbox, and how an mbox splits."""

from __future__ import annotations

import io
import mailbox
import random
from pathlib import Path

import pytest

from pmail_cli.errors import UsageError
from pmail_cli.sources import EmptyInput, ReadEvent, WorkItem
from pmail_cli.sources.files import read_paths, reading_mode, split_mbox

ENVELOPE = b"From sender@example.org Tue Mar  5 10:00:00 2024\n"
ONE = b"From: a@example.org\nSubject: one\n\nbody one\n"
TWO = b"From: b@example.org\nSubject: two\n\nbody two\n>From here on, quoted\n"
MBOX = ENVELOPE + ONE + b"\n" + ENVELOPE + TWO + b"\n"


def _raws(events: list[ReadEvent]) -> list[bytes]:
    return [e.raw for e in events if isinstance(e, WorkItem) and e.raw is not None]


def _python_reads(path: Path) -> list[bytes]:
    box = mailbox.mbox(path, create=False)
    try:
        return [box.get_bytes(key) for key in box.iterkeys()]
    finally:
        box.close()


@pytest.mark.parametrize("name", ["a.eml", "a.msg", "a.txt", "A.EML"])
def test_single_message_names_are_never_split(tmp_path: Path, name: str) -> None:
    """A .eml/.msg/.txt file holding mbox-looking lines is one message, byte for byte."""
    path = tmp_path / name
    path.write_bytes(MBOX)
    assert _raws(list(read_paths([str(path)]))) == [MBOX]


@pytest.mark.parametrize("part", ["cur", "new"])
def test_maildir_entries_are_one_message(tmp_path: Path, part: str) -> None:
    """A Maildir entry starting with a From_ line is stored whole, that line included."""
    folder = tmp_path / "Maildir" / part
    folder.mkdir(parents=True)
    (folder / "1700000000.M1P2.host:2,S").write_bytes(MBOX)
    assert _raws(list(read_paths([str(tmp_path / "Maildir")]))) == [MBOX]


@pytest.mark.parametrize("name", ["box.mbox", "box.MBX", "mbox", "inbox"])
def test_mbox_names_and_sniffed_files_split_like_python(
    tmp_path: Path, name: str
) -> None:
    """*.mbox, *.mbx, `mbox` and extension-less From_ files split as mailbox.mbox reads them."""
    path = tmp_path / name
    path.write_bytes(MBOX)
    events = list(read_paths([str(path)]))
    assert _raws(events) == _python_reads(path) == [ONE, TWO]
    assert [e.origin for e in events] == [f"{path}#1", f"{path}#2"]


def test_extensionless_file_without_envelope_is_one_message(tmp_path: Path) -> None:
    """An extension-less file that does not start with `From ` is one message."""
    path = tmp_path / "msg7"
    path.write_bytes(ONE + b"\n" + ENVELOPE + TWO)
    assert _raws(list(read_paths([str(path)]))) == [ONE + b"\n" + ENVELOPE + TWO]


def test_as_flag_overrides_names(tmp_path: Path) -> None:
    """--as mbox splits a .eml; --as eml keeps an .mbox whole."""
    eml, box = tmp_path / "x.eml", tmp_path / "x.mbox"
    eml.write_bytes(MBOX)
    box.write_bytes(MBOX)
    assert _raws(list(read_paths([str(eml)], as_mbox=True))) == [ONE, TWO]
    assert _raws(list(read_paths([str(box)], as_mbox=False))) == [MBOX]
    assert reading_mode("mbox") is True and reading_mode("eml") is False
    assert reading_mode(None) is None
    with pytest.raises(UsageError, match="--as 'zip' is not one of") as refused:
        reading_mode("zip")
    assert refused.value.hint == "--as takes: mbox, eml"


def test_stdin_splits_only_when_it_starts_with_an_envelope() -> None:
    """stdin is read like an extension-less file."""
    assert _raws(list(read_paths(["-"], stdin=io.BytesIO(MBOX)))) == [ONE, TWO]
    single = ONE + b"\n" + ENVELOPE + TWO
    assert _raws(list(read_paths(["-"], stdin=io.BytesIO(single)))) == [single]


def test_issue_368_bounce_is_one_message(corpus: Path) -> None:
    """A .eml quoting a bounced message after a blank line and a From_ line stays whole."""
    path = corpus / "sisimai-set-of-emails/maildir/not/rb-issue-368-bug.eml"
    assert _raws(list(read_paths([str(path)]))) == [path.read_bytes()]


def test_corpus_mboxes_split_like_python(corpus: Path) -> None:
    """The corpus's multi-message mbox splits into exactly the messages Python reads."""
    path = corpus / "sisimai-set-of-emails/mailbox/mbox-0"
    python = _python_reads(path)
    assert len(python) == 37
    assert _raws(list(read_paths([str(path)]))) == python


def test_unescaped_from_line_in_a_body_starts_a_message() -> None:
    """As in mailbox.mbox, any line starting with `From ` begins a new entry."""
    data = ENVELOPE + ONE + b"From here on, unescaped\n"
    assert split_mbox(data) == [ONE, b""]


def test_empty_entries_and_leading_bytes_are_kept_or_counted() -> None:
    """Bytes before the first envelope are a message of their own; empty entries count."""
    data = b"stray text\n" + ENVELOPE + b"\n" + ENVELOPE + ONE
    assert split_mbox(data) == [b"stray text\n", b"", ONE]
    events = list(
        read_paths(["-"], stdin=io.BytesIO(ENVELOPE + b"\n" + ENVELOPE + ONE))
    )
    assert [type(e).__name__ for e in events] == ["EmptyInput", "WorkItem"]
    assert isinstance(events[0], EmptyInput) and events[0].origin == "-#1"


def test_split_equals_python_on_random_mboxes(tmp_path: Path) -> None:
    """split_mbox agrees with mailbox.mbox on 2,000 random mboxes (CRLF, blank lines,
    unescaped From lines, no final newline)."""
    rng = random.Random(7)
    pieces = [
        ENVELOPE,
        b"\n",
        b"\r\n",
        b"text\n",
        b"From x\n",
        b"Subject: y\n",
        b"\r",
        b"x",
    ]
    path = tmp_path / "random.mbox"
    for _ in range(2000):
        data = ENVELOPE + b"".join(
            rng.choice(pieces) for _ in range(rng.randint(0, 14))
        )
        path.write_bytes(data)
        assert split_mbox(data) == _python_reads(path), data


def test_a_directory_walk_skips_what_is_not_mail(tmp_path: Path) -> None:
    """README/LICENSE/*.md/pictures/binary files found by walking are reported as
    not mail; a message, broken mail that starts with blank space, and a body without
    headers are mail; a file named on the command line is always mail."""
    from pmail_cli.sources import NOT_MAIL, Skipped

    files = {
        "README.txt": b"# pmail test data\nSee the docs.\n",
        "LICENSE": b"MIT License\n\nCopyright (c) 2026\n",
        "notes.md": b"Some notes\n",
        "picture.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "blob": b"\x00\x01\x02 binary",
        "message.eml": b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n",
        "indented.eml": b"   \r\nFrom: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n",
        "body-only.txt": b"Send Ppp mailing list submissions to\n\tppp@example.org\n",
        "garbage.eml": b"\x00\x00 not parseable but named as mail",
        # a Maildir's name is a mail name too (the folder, not the file, says so)
        "box/cur/1700000000.M1P1.host:2,S": b"\x00\x00garbage\nFrom: a@b\n\nbody\n",
    }
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    events = list(read_paths([str(tmp_path)]))
    skipped = sorted(
        Path(e.origin).name
        for e in events
        if isinstance(e, Skipped) and e.reason == NOT_MAIL
    )
    stored = sorted(Path(e.origin).name for e in events if isinstance(e, WorkItem))
    assert skipped == ["LICENSE", "README.txt", "blob", "notes.md", "picture.png"]
    assert stored == [
        "1700000000.M1P1.host:2,S",
        "body-only.txt",
        "garbage.eml",
        "indented.eml",
        "message.eml",
    ]
    named = list(read_paths([str(tmp_path / "README.txt")]))
    assert [type(e) for e in named] == [WorkItem]


def test_a_walk_leaves_nothing_out_without_a_reason(tmp_path: Path) -> None:
    """Every file under a walked directory comes back as a message or as a Skipped
    with its reason: a folder named tmp is read, a Maildir's tmp/ (beside cur/ and
    new/), Dovecot's files, a link to a directory and a pipe are skipped, each named."""
    import os

    from pmail_cli.sources import (
        DOVECOT_FILE,
        LINKED_DIR,
        MAILDIR_TMP,
        NOT_A_FILE,
        Skipped,
    )

    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "only.eml").write_bytes(ONE)
    box = tmp_path / "box"
    for part in ("cur", "new", "tmp"):
        (box / part).mkdir(parents=True)
    (box / "new" / "1.host").write_bytes(ONE)
    (box / "tmp" / "2.host").write_bytes(TWO)
    (box / "dovecot-uidlist").write_bytes(b"3 V1 N2\n")
    (tmp_path / "link").symlink_to(tmp_path / "tmp")
    os.mkfifo(tmp_path / "pipe")
    events = list(read_paths([str(tmp_path)]))
    stored = sorted(
        os.path.relpath(e.origin, tmp_path) for e in events if isinstance(e, WorkItem)
    )
    skipped = {
        os.path.relpath(e.origin, tmp_path): e.reason
        for e in events
        if isinstance(e, Skipped)
    }
    assert stored == ["box/new/1.host", "tmp/only.eml"]
    assert skipped == {
        "box/tmp/2.host": MAILDIR_TMP,
        "box/dovecot-uidlist": DOVECOT_FILE,
        "link": LINKED_DIR,
        "pipe": NOT_A_FILE,
    }
    assert len(events) == len(stored) + len(skipped)


def test_a_walk_reaches_a_message_however_deep(tmp_path: Path) -> None:
    """A message 1,000 directories down is found (no RecursionError)."""
    deep = tmp_path
    for _ in range(1000):
        deep = deep / "d"
        deep.mkdir()  # one at a time: os.makedirs itself recurses
    (deep / "m.eml").write_bytes(ONE)
    try:
        events = list(read_paths([str(tmp_path)]))
    finally:  # pytest's own clean-up (shutil.rmtree) recurses: undo it here
        (deep / "m.eml").unlink()
        while deep != tmp_path:
            deep.rmdir()
            deep = deep.parent
    assert _raws(events) == [ONE]


def test_a_file_swapped_for_a_pipe_after_the_listing_is_skipped(tmp_path: Path) -> None:
    """The walk lists a file, then someone puts a FIFO in its place before it is
    read: before, opening it blocked the run for ever; now it is opened without
    waiting and skipped as not a file. A pipe named on the command line (`<(cmd)`)
    is still read."""
    import os
    import threading

    from pmail_cli.sources import NOT_A_FILE, Skipped
    from pmail_cli.sources.files import _file_events

    fifo = tmp_path / "m0001.eml"
    os.mkfifo(fifo)
    events = list(_file_events(str(fifo), as_mbox=None, limit=1 << 20, walked=True))
    assert events == [Skipped(str(fifo), NOT_A_FILE)]

    def feed() -> None:
        with open(fifo, "wb") as writer:
            writer.write(ONE)

    feeder = threading.Thread(target=feed)
    feeder.start()
    named = list(_file_events(str(fifo), as_mbox=None, limit=1 << 20))
    feeder.join()
    assert [type(e) for e in named] == [WorkItem]


def test_stdin_closed_unwritable_or_non_blocking_is_read_or_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """stdin closed (`<&-`) or open for writing only is one unreadable input, not a
    traceback; a pipe handed over non-blocking (a parent's O_NONBLOCK) is waited on
    and read whole, where os.read raised BlockingIOError."""
    import os
    import threading
    import time

    from pmail_cli.sources import ReadFailure

    monkeypatch.setattr("sys.stdin", None)
    (closed,) = list(read_paths(["-"]))
    assert isinstance(closed, ReadFailure) and "closed" in closed.reason

    read_end, write_end = os.pipe()
    with open(write_end, "wb", buffering=0) as only_written:
        (refused,) = list(read_paths(["-"], stdin=only_written))
    assert isinstance(refused, ReadFailure) and "cannot be read" in refused.reason
    os.close(read_end)

    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)

    def trickle() -> None:
        with open(write_end, "wb", buffering=0) as writer:
            writer.write(ONE[:10])
            time.sleep(0.3)
            writer.write(ONE[10:])

    feeder = threading.Thread(target=trickle)
    feeder.start()
    with open(read_end, "rb", buffering=0) as stdin:
        events = list(read_paths(["-"], stdin=stdin))
    feeder.join()
    assert [(type(e), getattr(e, "raw", None)) for e in events] == [(WorkItem, ONE)]
