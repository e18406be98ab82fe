"""Tenants and the tenant's own mailboxes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import load_sql


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant row."""

    tenant_id: uuid.UUID
    name: str
    created: datetime
    time_zone: str = "UTC"  # the zone its days are counted in


@dataclass(frozen=True, slots=True)
class TenantSummary:
    """A tenant with its message count."""

    name: str
    tenant_id: uuid.UUID
    created: datetime
    messages: int


def scope_transaction(conn: Connection, *, tenant_id: uuid.UUID) -> None:
    """Let the current transaction see only this tenant's rows."""
    conn.execute(load_sql("tenants/scope_transaction"), {"tenant_id": str(tenant_id)})


def scope_all_tenants(conn: Connection) -> None:
    """Let the current transaction see every tenant's rows."""
    conn.execute(load_sql("tenants/scope_all_tenants"))


def find_tenant(conn: Connection, *, name: str) -> Tenant | None:
    """Return the tenant called name, or None."""
    with conn.cursor(row_factory=class_row(Tenant)) as cur:
        cur.execute(load_sql("tenants/find_tenant"), {"name": name})
        return cur.fetchone()


def insert_tenant(conn: Connection, *, name: str) -> Tenant:
    """Create the tenant unless it exists; return it."""
    with conn.cursor(row_factory=class_row(Tenant)) as cur:
        cur.execute(load_sql("tenants/insert_tenant"), {"name": name})
        row = cur.fetchone()
        assert row is not None
        return row


def all_tenants(conn: Connection) -> list[Tenant]:
    """Every tenant, by name."""
    with conn.cursor(row_factory=class_row(Tenant)) as cur:
        cur.execute(load_sql("tenants/all_tenants"))
        return cur.fetchall()


def list_tenants(conn: Connection) -> list[TenantSummary]:
    """Return every tenant with its message count."""
    with conn.cursor(row_factory=class_row(TenantSummary)) as cur:
        cur.execute(load_sql("tenants/list_tenants"))
        return cur.fetchall()


def list_accounts(conn: Connection, *, tenant_id: uuid.UUID) -> dict[str, str]:
    """The tenant's mailbox addresses (lower-cased) and their account ids."""
    rows = conn.execute(load_sql("tenants/list_accounts"), {"tenant_id": tenant_id})
    return {str(email): str(account) for email, account in rows}


def insert_email_account(
    conn: Connection, *, tenant_id: uuid.UUID, email: str, display_name: str | None
) -> uuid.UUID:
    """Register a mailbox of the tenant (idempotent); return its id."""
    row = conn.execute(
        load_sql("tenants/insert_email_account"),
        {"tenant_id": tenant_id, "email": email, "display_name": display_name},
    ).fetchone()
    assert row is not None
    value = row[0]
    assert isinstance(value, uuid.UUID)
    return value


def set_time_zone(conn: Connection, *, tenant_id: uuid.UUID, time_zone: str) -> None:
    """Set the zone the tenant's days are counted in."""
    conn.execute(
        load_sql("tenants/set_time_zone"),
        {"tenant_id": tenant_id, "time_zone": time_zone},
    )
