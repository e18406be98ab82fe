"""The queue's job log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from psycopg.rows import class_row

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


@dataclass(frozen=True, slots=True)
class QueueDay:
    """One day of `report queue`."""

    day: date
    jobs: int
    stored: int
    duplicates: int
    done: int
    dead: int
    retried: int
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None


@dataclass(frozen=True, slots=True)
class Failure:
    """Dead jobs of one type and error."""

    job_type: str
    error: str
    jobs: int
    last: datetime


def log_jobs(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    job_ids: list[str],
    job_types: list[str],
    priorities: list[str],
    outcomes: list[str],
    attempts: list[int],
    storage_keys: list[str | None],
    sources: list[str | None],
    errors: list[str | None],
    enqueued: list[datetime],
    started: list[datetime],
) -> None:
    """Insert job log rows (a job logged before is kept as it was)."""
    conn.execute(
        load_sql("jobs/log_jobs"),
        {
            "tenant_id": tenant_id,
            "job_ids": job_ids,
            "job_types": job_types,
            "priorities": priorities,
            "outcomes": outcomes,
            "attempts": attempts,
            "storage_keys": storage_keys,
            "sources": sources,
            "errors": errors,
            "enqueued": enqueued,
            "started": started,
        },
    )


def queue_report(
    conn: Connection, *, tenant_id: uuid.UUID | None, start: datetime, stop: datetime
) -> list[QueueDay]:
    """Jobs per day with their latency percentiles."""
    with conn.cursor(row_factory=class_row(QueueDay)) as cur:
        cur.execute(
            load_sql("jobs/queue_report"),
            {"tenant_id": tenant_id, "start": start, "stop": stop},
        )
        return cur.fetchall()


def failures(
    conn: Connection, *, tenant_id: uuid.UUID | None, start: datetime, stop: datetime
) -> list[Failure]:
    """Dead jobs by type and error."""
    with conn.cursor(row_factory=class_row(Failure)) as cur:
        cur.execute(
            load_sql("jobs/failures"),
            {"tenant_id": tenant_id, "start": start, "stop": stop},
        )
        return cur.fetchall()
