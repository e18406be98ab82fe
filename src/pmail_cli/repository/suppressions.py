"""The suppression list (sql/queries/suppressions)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


@dataclass(frozen=True, slots=True)
class Suppression:
    """An address not to mail again, why, and the messages that say so."""

    address: str
    reason: str  # hard_bounce | complaint | unsubscribe | soft_bounce
    detail: str | None  # bounce reason, feedback type or the unsubscribe rule
    evidence: int  # messages counted
    first_at: datetime
    first_key: str
    last_at: datetime
    last_key: str
    campaign_id: uuid.UUID | None
    lead_id: uuid.UUID | None


def list_suppressions(
    conn: Connection, *, tenant_id: uuid.UUID, since: datetime | None
) -> list[Suppression]:
    """The tenant's suppressions (latest evidence since `since`), newest first."""
    with conn.cursor(row_factory=class_row(Suppression)) as cur:
        cur.execute(
            load_sql("suppressions/list_suppressions"),
            {"tenant_id": tenant_id, "since": since},
        )
        return cur.fetchall()


def clear_suppressions(conn: Connection, *, tenant_id: uuid.UUID | None) -> None:
    """Forget one tenant's (or every tenant's) suppressions."""
    conn.execute(load_sql("suppressions/clear_suppressions"), {"tenant_id": tenant_id})


def rebuild_suppressions(conn: Connection, *, tenant_id: uuid.UUID | None) -> int:
    """Write one tenant's (or every tenant's) suppressions from the evidence, after
    clear_suppressions; return the rows."""
    cur = conn.execute(
        load_sql("suppressions/rebuild_suppressions"), {"tenant_id": tenant_id}
    )
    return cur.rowcount


def next_unread_replies(
    conn: Connection, *, name: str, batch: int
) -> list[tuple[uuid.UUID, str]]:
    """(tenant_id, storage_key) of the next ordinary inbound messages the unsubscribe
    backfill `name` has to read, in order."""
    rows = conn.execute(
        load_sql("suppressions/next_unread_replies"), {"name": name, "batch": batch}
    ).fetchall()
    return [(uuid.UUID(str(tenant)), str(key)) for tenant, key in rows]


def set_unsubscribe(
    conn: Connection, *, tenant_id: uuid.UUID, keys: list[str], reasons: list[str]
) -> int:
    """Record why these stored messages ask to be unsubscribed; return the rows."""
    cur = conn.execute(
        load_sql("suppressions/set_unsubscribe"),
        {"tenant_id": tenant_id, "keys": keys, "reasons": reasons},
    )
    return cur.rowcount
