"""The SQL columns of email_content (content_html, headers): setting and backfill."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where one tenant's backfill stands."""

    tenant_id: uuid.UUID
    after_key: str


def set_sql_bodies(conn: Connection, *, tenant_id: uuid.UUID, on: bool) -> None:
    """Turn the tenant's SQL columns on or off."""
    conn.execute(
        load_sql("sqlbodies/set_sql_bodies"), {"tenant_id": tenant_id, "on": on}
    )


def start_backfill(conn: Connection, *, tenant_id: uuid.UUID) -> None:
    """List (or restart) the tenant's backfill from its first message."""
    conn.execute(load_sql("sqlbodies/start_backfill"), {"tenant_id": tenant_id})


def cursor(conn: Connection, *, name: str) -> Cursor | None:
    """The backfill's cursor, locked until the transaction ends; None when done."""
    row = conn.execute(load_sql("sqlbodies/cursor"), {"name": name}).fetchone()
    if row is None or row[0] is None:
        return None
    return Cursor(uuid.UUID(str(row[0])), str(row[1] or ""))


def next_rows(
    conn: Connection, *, tenant_id: uuid.UUID, after_key: str, batch: int
) -> list[tuple[str, str]]:
    """(storage_key, action) of the next rows after the cursor: fill, clear or keep."""
    rows = conn.execute(
        load_sql("sqlbodies/next_rows"),
        {"tenant_id": tenant_id, "after_key": after_key, "batch": batch},
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def fill(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    keys: list[str],
    html: list[str | None],
    headers: list[str],
) -> int:
    """Fill the columns of the given messages where still empty; rows changed."""
    cur = conn.execute(
        load_sql("sqlbodies/fill"),
        {"tenant_id": tenant_id, "keys": keys, "html": html, "headers": headers},
    )
    return cur.rowcount


def clear(conn: Connection, *, tenant_id: uuid.UUID, keys: list[str]) -> int:
    """Clear the columns of the given messages; rows changed."""
    cur = conn.execute(
        load_sql("sqlbodies/clear"), {"tenant_id": tenant_id, "keys": keys}
    )
    return cur.rowcount
