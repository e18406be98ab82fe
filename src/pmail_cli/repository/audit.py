"""The administrators' audit log (append-only: docs/security.md)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded act."""

    audit_id: int
    at: datetime
    db_role: str
    acting_as: str
    os_user: str | None
    tenant: str | None  # None: the act covered every tenant
    action: str
    params: dict[str, Any]
    result: dict[str, Any]


def append_entry(
    conn: Connection,
    *,
    os_user: str | None,
    tenant_id: uuid.UUID | None,
    action: str,
    params: dict[str, Any],
    result: dict[str, Any],
) -> int:
    """Append one entry in the caller's transaction; return its id."""
    row = conn.execute(
        load_sql("audit/append_entry"),
        {
            "os_user": os_user,
            "tenant_id": tenant_id,
            "action": action,
            "params": Jsonb(params),
            "result": Jsonb(result),
        },
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def list_entries(
    conn: Connection,
    *,
    tenant_id: uuid.UUID | None,
    since: datetime | None,
    action: str | None,
    limit: int,
) -> list[AuditEntry]:
    """Entries oldest first (see sql/queries/audit/list_entries.sql)."""
    with conn.cursor(row_factory=class_row(AuditEntry)) as cur:
        cur.execute(
            load_sql("audit/list_entries"),
            {"tenant_id": tenant_id, "since": since, "action": action, "limit": limit},
        )
        return cur.fetchall()
