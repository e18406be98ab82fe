"""Progress bars on stderr, disabled under --quiet or when stderr is not a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from pmail_cli.output import stderr_console


class _Rate(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s")


def _bar(*extra: ProgressColumn, enabled: bool) -> Progress:
    """A transient bar on stderr: spinner, description, bar, n/total, elapsed, then
    `extra`; shown only when enabled and stderr is a terminal."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        *extra,
        console=stderr_console(),
        transient=True,
        disable=not (enabled and stderr_console().is_terminal),
    )


@contextmanager
def task(
    description: str, *, total: int | None, enabled: bool
) -> Iterator[Callable[[int], None]]:
    """Yield advance(n); shows a transient bar when enabled and stderr is a terminal.

    With a known total the bar shows the rate and the time left too.
    """
    extra = (_Rate(), TimeRemainingColumn()) if total is not None else ()
    with _bar(*extra, enabled=enabled) as bar:
        task_id = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task_id, n)

        yield advance


class _ByteRate(ProgressColumn):
    """Megabytes per second, from the bytes counted in the task's fields."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time or task.elapsed
        nbytes = task.fields.get("nbytes", 0)
        if not elapsed:
            return Text("")
        return Text(f"{nbytes / elapsed / 1e6:,.1f} MB/s")


@dataclass(slots=True)
class ByteTask:
    """A bar over rows that also shows MB/s: set_total(rows), advance(rows, nbytes)."""

    set_total: Callable[[int], None]
    advance: Callable[[int, int], None]


@contextmanager
def byte_task(description: str, *, enabled: bool) -> Iterator[ByteTask]:
    """Like task(), for work measured in rows and bytes (validate --deep)."""
    with _bar(_Rate(), _ByteRate(), TimeRemainingColumn(), enabled=enabled) as bar:
        task_id = bar.add_task(description, total=None, nbytes=0)
        counted = [0]

        def set_total(rows: int) -> None:
            bar.update(task_id, total=rows)

        def advance(rows: int, nbytes: int) -> None:
            counted[0] += nbytes
            bar.update(task_id, advance=rows, nbytes=counted[0])

        yield ByteTask(set_total, advance)
