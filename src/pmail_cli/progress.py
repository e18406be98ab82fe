"""Progress bars on stderr, disabled under --quiet or when stderr is not a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from pmail_cli.output import err_console


@contextmanager
def task(
    description: str, *, total: int | None, enabled: bool
) -> Iterator[Callable[[int], None]]:
    """Yield advance(n); shows a transient bar when enabled and stderr is a terminal."""
    show = enabled and err_console.is_terminal
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not show,
    ) as bar:
        task_id = bar.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            bar.advance(task_id, n)

        yield advance
