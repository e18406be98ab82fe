"""Delivery facts of stored mail (sql/queries/facts): the reported-status backfill."""

from __future__ import annotations

import uuid

from psycopg.rows import dict_row

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


def next_stored_facts(
    conn: Connection, *, name: str, batch: int
) -> list[tuple[uuid.UUID, str]]:
    """(tenant_id, storage_key) of the next messages whose facts the backfill `name`
    has to read, in order (stored before it began)."""
    rows = conn.execute(
        load_sql("facts/next_stored_facts"), {"name": name, "batch": batch}
    ).fetchall()
    return [(uuid.UUID(str(tenant)), str(key)) for tenant, key in rows]


def stored_facts(
    conn: Connection, *, tenant_id: uuid.UUID, keys: list[str]
) -> list[dict[str, object]]:
    """The facts of these messages that have no reported status yet, in order."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            load_sql("facts/stored_facts"), {"tenant_id": tenant_id, "keys": keys}
        )
        return cur.fetchall()


def fill_reported_status(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    keys: list[str],
    indexes: list[int],
    statuses: list[str],
) -> int:
    """Fill in the DSN Status field of stored facts that have none; return the rows."""
    cur = conn.execute(
        load_sql("facts/fill_reported_status"),
        {
            "tenant_id": tenant_id,
            "keys": keys,
            "indexes": indexes,
            "statuses": statuses,
        },
    )
    return cur.rowcount
