"""ReadAhead: a source read in a thread keeps order, raises its errors, stops on close."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest

from pmail_cli.mail.readers import RawItem
from pmail_cli.services.imap_conn import ImapError
from pmail_cli.services.pipeline import ReadAhead


def _items(count: int) -> Iterator[RawItem]:
    for i in range(count):
        yield RawItem(f"Subject: {i}\r\n\r\n".encode(), f"item {i}", position=i)


def test_items_arrive_in_order_and_all_of_them() -> None:
    with ReadAhead(_items(1000), depth=7) as ahead:
        got = [item.position for item in ahead]
    assert got == list(range(1000))


def test_a_source_error_reaches_the_reader_after_the_items_before_it() -> None:
    def failing() -> Iterator[RawItem]:
        yield from _items(3)
        raise ImapError("connection dropped", hint="rerun")

    seen: list[object] = []
    with ReadAhead(failing()) as ahead, pytest.raises(ImapError, match="dropped"):
        for item in ahead:
            seen.append(item.position)
    assert seen == [0, 1, 2]


def test_close_stops_an_endless_source() -> None:
    produced = itertools.count()

    def endless() -> Iterator[RawItem]:
        for i in produced:
            yield RawItem(b"x", "endless", position=i)

    ahead = ReadAhead(endless(), depth=5)
    first = next(iter(ahead))
    ahead.close()
    assert first.position == 0
    assert not any(
        t.name == "pmail-read-ahead" and t.is_alive() for t in threading.enumerate()
    )
    assert next(produced) < 20  # it stopped at the bounded depth, not later
