"""Legal holds: put, list, release (a hold's record is never deleted)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql

HOLD_LOCK_TIMEOUT = 30.0  # seconds a new hold waits for the tenant's writes in flight


@dataclass(frozen=True, slots=True)
class Hold:
    """A legal_holds row, with the messages it covers now (None when not counted)."""

    hold_id: int
    tenant_id: uuid.UUID
    scope: str
    value: str | None
    reason: str
    created_by: str
    created: datetime
    released: datetime | None
    released_by: str | None
    messages: int | None


def insert_hold(
    conn: Connection,
    *,
    tenant_id: uuid.UUID,
    scope: str,
    value: str | None,
    reason: str,
    created_by: str,
) -> Hold:
    """Record a new active hold (waiting at most HOLD_LOCK_TIMEOUT for the tenant's
    guarded writes in flight: LockNotAvailable after that); return it with the
    messages it covers, counted once it is in place."""
    set_lock_timeout(conn, seconds=HOLD_LOCK_TIMEOUT)
    with conn.cursor(row_factory=class_row(Hold)) as cur:
        cur.execute(
            load_sql("holds/insert_hold"),
            {
                "tenant_id": tenant_id,
                "scope": scope,
                "value": value,
                "reason": reason,
                "created_by": created_by,
            },
        )
        row = cur.fetchone()
        assert row is not None
    counted = conn.execute(
        load_sql("holds/count_covered"),
        {"tenant_id": tenant_id, "scope": scope, "value": value},
    ).fetchone()
    assert counted is not None
    return dataclasses.replace(row, messages=int(str(counted[0])))


def set_lock_timeout(conn: Connection, *, seconds: float) -> None:
    """Wait at most `seconds` for any lock until this transaction ends
    (LockNotAvailable after that)."""
    conn.execute(
        load_sql("holds/set_lock_timeout"), {"timeout": f"{seconds * 1000:.0f}ms"}
    )


def long_transactions(conn: Connection, *, seconds: float) -> list[tuple[object, ...]]:
    """Other sessions of the database with a transaction open longer than `seconds`
    (pid, role, application, transaction start)."""
    return conn.execute(
        load_sql("holds/epoch_blockers"), {"seconds": seconds}
    ).fetchall()


def list_holds(
    conn: Connection, *, tenant_id: uuid.UUID | None, include_released: bool
) -> list[Hold]:
    """Holds of one tenant (None: every visible tenant), newest first."""
    with conn.cursor(row_factory=class_row(Hold)) as cur:
        cur.execute(
            load_sql("holds/list_holds"),
            {"tenant_id": tenant_id, "include_released": include_released},
        )
        return cur.fetchall()


def release_hold(
    conn: Connection, *, tenant_id: uuid.UUID | None, hold_id: int, released_by: str
) -> Hold | None:
    """Release an active hold; None when there is no such active hold."""
    with conn.cursor(row_factory=class_row(Hold)) as cur:
        cur.execute(
            load_sql("holds/release_hold"),
            {"tenant_id": tenant_id, "hold_id": hold_id, "released_by": released_by},
        )
        return cur.fetchone()
