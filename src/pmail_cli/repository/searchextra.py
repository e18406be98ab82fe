"""The extra search text of stored messages (email_content.search_extra and
search_enclosed, migration 0021) and the documents built from it."""

from __future__ import annotations

import uuid

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


def next_rows(
    conn: Connection, *, name: str, batch: int
) -> list[tuple[uuid.UUID, str]]:
    """(tenant_id, storage_key) of the next messages backfill `name` reads, in order."""
    rows = conn.execute(
        load_sql("searchextra/next_rows"), {"name": name, "batch": batch}
    ).fetchall()
    return [(uuid.UUID(str(tenant)), str(key)) for tenant, key in rows]


def set_texts(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    keys: list[str],
    extra: list[str | None],
    enclosed: list[str | None],
) -> int:
    """Store the texts of the given messages; rows changed."""
    cur = conn.execute(
        load_sql("searchextra/set_texts"),
        {"tenant_id": tenant_id, "keys": keys, "extra": extra, "enclosed": enclosed},
    )
    return cur.rowcount


def put_documents(conn: Connection, *, tenant_id: uuid.UUID, keys: list[str]) -> int:
    """Build the given messages' documents again; how many were built."""
    row = conn.execute(
        load_sql("searchextra/put_documents"), {"tenant_id": tenant_id, "keys": keys}
    ).fetchone()
    return int(str(row[0])) if row and row[0] is not None else 0
