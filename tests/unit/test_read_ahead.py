"""ReadAhead: a source read in a thread keeps order, raises its errors, stops on close."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest

from pmail_cli.errors import ImapError
from pmail_cli.services.readahead import ReadAhead
from pmail_cli.sources import WorkItem


def _items(count: int) -> Iterator[WorkItem]:
    for i in range(count):
        yield WorkItem(f"item {i}", f"Subject: {i}\r\n\r\n".encode(), position=i)


def test_items_arrive_in_order_and_all_of_them() -> None:
    with ReadAhead(_items(1000), depth=7) as ahead:
        got = [item.position for item in ahead]
    assert got == list(range(1000))


def test_a_source_error_reaches_the_reader_after_the_items_before_it() -> None:
    def failing() -> Iterator[WorkItem]:
        yield from _items(3)
        raise ImapError("connection dropped", hint="rerun")

    seen: list[object] = []
    with ReadAhead(failing()) as ahead, pytest.raises(ImapError, match="dropped"):
        for item in ahead:
            seen.append(item.position)
    assert seen == [0, 1, 2]


def test_close_stops_an_endless_source() -> None:
    produced = itertools.count()

    def endless() -> Iterator[WorkItem]:
        for i in produced:
            yield WorkItem("endless", b"x", position=i)

    ahead = ReadAhead(endless(), depth=5)
    first = next(iter(ahead))
    ahead.close()
    assert first.position == 0
    assert not any(
        t.name == "pmail-read-ahead" and t.is_alive() for t in threading.enumerate()
    )
    assert next(produced) < 20  # it stopped at the bounded depth, not later


def test_read_ahead_is_bounded_by_bytes() -> None:
    produced = itertools.count()

    def big() -> Iterator[WorkItem]:
        for i in produced:
            yield WorkItem("big", b"x" * 1000, position=i)

    with ReadAhead(big(), depth=1000, max_bytes=5000) as ahead:
        next(iter(ahead))
        time.sleep(0.2)  # let the thread fill up to its bound
    assert next(produced) <= 8  # 1 read + at most 5 KB queued + the one in hand


def test_ctrl_c_does_not_wait_for_a_blocked_source() -> None:
    release = threading.Event()

    def stuck() -> Iterator[WorkItem]:
        yield from _items(1)
        release.wait(30)  # a terminal nobody types into, a silent server
        yield from _items(1)

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), ReadAhead(stuck()) as ahead:
        for _ in ahead:
            raise KeyboardInterrupt
    assert time.monotonic() - started < 5
    release.set()


def test_an_ordinary_error_waits_for_the_source_to_stop() -> None:
    with pytest.raises(RuntimeError), ReadAhead(_items(10_000), depth=3) as ahead:
        for _ in ahead:
            raise RuntimeError("the writer failed")
    assert not any(
        t.name == "pmail-read-ahead" and t.is_alive() for t in threading.enumerate()
    )
