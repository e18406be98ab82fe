"""Progress bars on stderr, disabled under --quiet or when stderr is not a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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

from pmail_cli.output import err_console


class _Rate(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s")


@contextmanager
def task(
    description: str, *, total: int | None, enabled: bool
) -> Iterator[Callable[[int], None]]:
    """Yield advance(n); shows a transient bar when enabled and stderr is a terminal.

    With a known total the bar shows the rate and the time left too.
    """
    show = enabled and err_console.is_terminal
    columns: list[ProgressColumn] = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    if total is not None:
        columns += [_Rate(), TimeRemainingColumn()]
    with Progress(
        *columns, console=err_console, transient=True, disable=not show
    ) as bar:
        task_id = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task_id, n)

        yield advance
