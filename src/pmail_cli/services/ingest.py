"""Ingest files, directories, mbox files, Maildirs and stdin into the tenant's store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from pmail_cli import vocab
from pmail_cli.config import MAX_MESSAGE_BYTES
from pmail_cli.db import Connection
from pmail_cli.errors import UsageError
from pmail_cli.mail.prepare import DIRECTIONS
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services.pipeline import PipelineOptions, PipelineResult, run_pipeline
from pmail_cli.sources import (
    EmptyInput,
    ReadEvent,
    ReadFailure,
    Skipped,
    TooLarge,
    WorkItem,
)
from pmail_cli.sources.files import read_paths, reading_mode, refuse_missing


@dataclass(slots=True)
class IngestResult:
    """Counts for the summary line, and what could not be read."""

    pipeline: PipelineResult
    failures: list[ReadFailure] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # left out by a directory walk
    too_large: list[TooLarge] = field(default_factory=list)  # refused for their size

    @property
    def ok(self) -> bool:
        """True when every input was read and no message refused."""
        return not self.failures and not self.too_large


def _items(events: Iterator[ReadEvent], result: IngestResult) -> Iterator[WorkItem]:
    for event in events:
        if isinstance(event, ReadFailure):
            result.failures.append(event)
        elif isinstance(event, EmptyInput):
            result.empty.append(event.origin)
        elif isinstance(event, Skipped):
            result.skipped.append(event)
        elif isinstance(event, TooLarge):
            result.too_large.append(event)
        else:
            yield event


def check_inputs(
    paths: list[str],
    *,
    direction: str,
    as_format: str | None = None,
    undone: str = "ingested",
) -> None:
    """Refuse a missing path or a bad flag before anything connects or is stored
    (`undone` says what did not happen: 'ingested', 'enqueued')."""
    reading_mode(as_format)
    if not paths:
        raise UsageError(
            "no input given", hint="pass files, directories, mbox files or -"
        )
    if direction not in DIRECTIONS:
        raise vocab.refused("--direction", direction, DIRECTIONS)
    refuse_missing(paths, undone=undone)
    if paths.count("-") > 1:
        raise UsageError("'-' (stdin) can be given only once")


def ingest_paths(
    conn: Connection,
    paths: list[str],
    *,
    tenant: Tenant,
    options: PipelineOptions,
    jobs: int = 0,
    as_format: str | None = None,
    stdin: BinaryIO | None = None,
    max_bytes: int = MAX_MESSAGE_BYTES,
    on_progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Store every message found under paths; unreadable inputs and messages over
    max_bytes are reported, not fatal."""
    check_inputs(paths, direction=options.direction, as_format=as_format)
    result = IngestResult(pipeline=PipelineResult())
    events = read_paths(
        paths, as_mbox=reading_mode(as_format), stdin=stdin, max_bytes=max_bytes
    )
    result.pipeline = run_pipeline(
        conn,
        _items(events, result),
        tenant=tenant,
        options=options,
        jobs=jobs,
        on_progress=on_progress,
    )
    return result
