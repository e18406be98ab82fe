"""Retention: what has expired, purging it, collecting files no one refers to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


@dataclass(frozen=True, slots=True)
class Expired:
    """One expired message that no hold covers."""

    storage_key: str
    raw_size_bytes: int
    compressed_size_bytes: int


@dataclass(frozen=True, slots=True)
class ExpiredSummary:
    """What a purge would delete for one tenant, and what holds keep."""

    messages: int
    raw_bytes: int
    stored_bytes: int
    held: int


@dataclass(frozen=True, slots=True)
class PurgedBatch:
    """What purging one batch deleted."""

    messages: int
    stored_bytes: int
    marked: int
    files: list[bytes]


@dataclass(frozen=True, slots=True)
class Collected:
    """Stored files deleted because nothing refers to them."""

    files: int
    stored_bytes: int


def expired_batch(
    conn: Connection, *, tenant_id: uuid.UUID, now: datetime, after: str, limit: int
) -> list[Expired]:
    """The next expired, unheld messages of the tenant, keys after `after`."""
    with conn.cursor(row_factory=class_row(Expired)) as cur:
        cur.execute(
            load_sql("retention/expired_batch"),
            {"tenant_id": tenant_id, "now": now, "after": after, "limit": limit},
        )
        return cur.fetchall()


def expired_summary(
    conn: Connection, *, tenant_id: uuid.UUID, now: datetime
) -> ExpiredSummary:
    """Count what has expired for the tenant, held apart."""
    with conn.cursor(row_factory=class_row(ExpiredSummary)) as cur:
        cur.execute(
            load_sql("retention/expired_summary"), {"tenant_id": tenant_id, "now": now}
        )
        row = cur.fetchone()
        assert row is not None
        return row


def purge_content(
    conn: Connection, *, tenant_id: uuid.UUID, keys: list[str]
) -> PurgedBatch:
    """Tombstone the messages and delete their content and attachment rows."""
    with conn.cursor(row_factory=class_row(PurgedBatch)) as cur:
        cur.execute(
            load_sql("retention/purge_content"), {"tenant_id": tenant_id, "keys": keys}
        )
        row = cur.fetchone()
        assert row is not None
        return row


def delete_unreferenced_blobs(
    conn: Connection, *, tenant_id: uuid.UUID | None, hashes: list[bytes] | None
) -> Collected:
    """Delete stored files no attachment row refers to (among `hashes` if given)."""
    with conn.cursor(row_factory=class_row(Collected)) as cur:
        cur.execute(
            load_sql("retention/delete_unreferenced_blobs"),
            {"tenant_id": tenant_id, "hashes": hashes},
        )
        row = cur.fetchone()
        assert row is not None
        return row
