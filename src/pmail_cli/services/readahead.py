"""Read a source ahead of the writer, in a thread, bounded in items and bytes."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator

from pmail_cli.sources import WorkItem

READ_AHEAD = 400  # items a source may run ahead of the writer (two batches) ...
READ_AHEAD_BYTES = 32 * 1024 * 1024  # ... and their bytes


class ReadAhead:
    """Iterate a source in a background thread, up to two batches ahead.

    Sources wait on I/O (an IMAP server, the disk) while the writer waits on
    PostgreSQL; reading ahead lets the two waits overlap. At most `depth` items and
    `max_bytes` of raw mail wait (at least one item). Items keep their order; an
    exception in the source is raised to the reader. Leaving the `with` block stops
    the thread after the item it is reading and waits for it, except on Ctrl-C (or
    another BaseException), when the process is on its way out and a source blocked
    on a terminal or a silent server must not hold it up.
    """

    def __init__(
        self,
        items: Iterable[WorkItem],
        depth: int = READ_AHEAD,
        max_bytes: int = READ_AHEAD_BYTES,
    ) -> None:
        self._depth, self._max_bytes = depth, max_bytes
        self._ready: deque[WorkItem] = deque()
        self._bytes = 0
        self._finished = False
        self._error: BaseException | None = None
        self._stop = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(
            target=self._produce, args=(items,), name="pmail-read-ahead", daemon=True
        )
        self._thread.start()

    def _full(self) -> bool:
        return bool(self._ready) and (
            len(self._ready) >= self._depth or self._bytes >= self._max_bytes
        )

    def _produce(self, items: Iterable[WorkItem]) -> None:
        error: BaseException | None = None
        try:
            for item in items:
                with self._cond:
                    while self._full() and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        return
                    self._ready.append(item)
                    self._bytes += item.nbytes
                    self._cond.notify_all()
        except BaseException as exc:  # handed to the reader, raised there
            error = exc
        with self._cond:
            self._finished, self._error = True, error
            self._cond.notify_all()

    def __iter__(self) -> Iterator[WorkItem]:
        while (taken := self._take()) is not None:
            # yielded straight from the list: this frame keeps no reference to an
            # item (and its bytes) once the reader has moved on
            yield taken.pop()

    def _take(self) -> list[WorkItem] | None:
        """The next item (in a list of one), or None at the end."""
        with self._cond:
            while not self._ready and not self._finished:
                self._cond.wait()
            if not self._ready:
                if self._error is not None:
                    raise self._error
                return None
            item = self._ready.popleft()
            self._bytes -= item.nbytes
            self._cond.notify_all()
            return [item]

    def close(self, *, wait: bool = True) -> None:
        """Stop the thread; wait for it unless told not to."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if wait:
            self._thread.join()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        self.close(wait=exc_type is None or issubclass(exc_type, Exception))
