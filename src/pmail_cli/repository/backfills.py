"""The cursor of a backfill run in Python (pmail_backfills; migrations.run_backfill
calls its batches): moved past each committed batch, removed at the end."""

from __future__ import annotations

import uuid

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


def move_cursor(
    conn: Connection, *, name: str, after_tenant: uuid.UUID, after_key: str
) -> None:
    """Move the backfill's cursor past a batch whose last row is (tenant, key)."""
    conn.execute(
        load_sql("backfills/move_cursor"),
        {"name": name, "after_tenant": after_tenant, "after_key": after_key},
    )


def finish(conn: Connection, *, name: str) -> None:
    """Remove a backfill that reached its end."""
    conn.execute(load_sql("backfills/finish"), {"name": name})


def advance(conn: Connection, *, name: str, last: tuple[uuid.UUID, str] | None) -> None:
    """After a batch: move the backfill's cursor past its last row `last` (tenant,
    key), or finish the backfill when `last` is None (the batch came back short: the
    end was reached)."""
    if last is None:
        finish(conn, name=name)
    else:
        move_cursor(conn, name=name, after_tenant=last[0], after_key=last[1])
