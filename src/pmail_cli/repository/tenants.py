"""Tenants and the tenant's own mailboxes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row
from psycopg.sql import Identifier

from pmail_cli.db import Connection
from pmail_cli.sqlfiles import compose_sql, load_sql


@dataclass(frozen=True, slots=True)
class Tenant:
    """A tenant row."""

    tenant_id: uuid.UUID
    name: str
    created: datetime
    time_zone: str = "UTC"  # the zone its days are counted in
    retention_days: int | None = None  # None: 2555
    search_index: bool = True  # its mail has a full-text document (docs/search.md)
    sql_bodies: bool = True  # content_html and headers are filled (docs/sql.md)
    soft_bounce_limit: int = 5  # soft bounces within soft_bounce_days that suppress
    soft_bounce_days: int = 30
    search_language: str = "simple"  # its text search configuration (docs/search.md)


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


def session_binding(conn: Connection) -> uuid.UUID | None:
    """The tenant the session is bound to: None when it is trusted, the nil uuid when
    it is neither bound nor trusted (UNTRUSTED)."""
    row = conn.execute(load_sql("tenants/session_binding")).fetchone()
    return None if row is None or row[0] is None else uuid.UUID(str(row[0]))


UNTRUSTED = uuid.UUID(int=0)


def find_tenant(conn: Connection, *, name: str) -> Tenant | None:
    """Return the tenant called name, or None."""
    with conn.cursor(row_factory=class_row(Tenant)) as cur:
        cur.execute(load_sql("tenants/find_tenant"), {"name": name})
        return cur.fetchone()


def find_tenant_by_id(conn: Connection, *, tenant_id: uuid.UUID) -> Tenant | None:
    """Return the tenant with this id, or None."""
    with conn.cursor(row_factory=class_row(Tenant)) as cur:
        cur.execute(load_sql("tenants/find_tenant_by_id"), {"tenant_id": tenant_id})
        return cur.fetchone()


def rename_tenant(conn: Connection, *, tenant_id: uuid.UUID, name: str) -> None:
    """Give the tenant another name."""
    conn.execute(
        load_sql("tenants/rename_tenant"), {"tenant_id": tenant_id, "name": name}
    )


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


def set_retention(
    conn: Connection, *, tenant_id: uuid.UUID, retention_days: int | None
) -> None:
    """Set the tenant's default retention in days (None: 2555)."""
    conn.execute(
        load_sql("tenants/set_retention"),
        {"tenant_id": tenant_id, "retention_days": retention_days},
    )


@dataclass(frozen=True, slots=True)
class RoleStatus:
    """What the server knows of a role pmail is asked to bind to a tenant."""

    found: bool
    can_login: bool
    trusted: bool  # superuser, BYPASSRLS or owner of pmail's tables
    tenant_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class TenantRole:
    """A login role bound to a tenant."""

    role_name: str
    tenant: str
    created: datetime


def role_status(conn: Connection, *, role_name: str) -> RoleStatus:
    """Look the role up."""
    with conn.cursor(row_factory=class_row(RoleStatus)) as cur:
        cur.execute(load_sql("tenants/role_status"), {"role_name": role_name})
        row = cur.fetchone()
        assert row is not None
        return row


def grant_app_rights(conn: Connection) -> bool:
    """Create pmail_app if missing (and allowed) and grant it; False: it is missing."""
    row = conn.execute(load_sql("tenants/grant_app_rights")).fetchone()
    return row is not None and row[0] is True


def create_login_role(conn: Connection, *, role_name: str, group: str) -> None:
    """Create a login role in `group` (pmail_app, or pmail_reader: read-only)."""
    conn.execute(
        compose_sql(
            "tenants/create_login_role",
            role=Identifier(role_name),
            group=Identifier(group),
        )
    )


def grant_app_role(conn: Connection, *, role_name: str, group: str) -> None:
    """Make an existing role a member of `group` (pmail_app or pmail_reader)."""
    conn.execute(
        compose_sql(
            "tenants/grant_app_role",
            role=Identifier(role_name),
            group=Identifier(group),
        )
    )


def revoke_app_role(conn: Connection, *, role_name: str, group: str) -> None:
    """Take a role out of `group` (pmail_app or pmail_reader) if it is in it."""
    conn.execute(
        compose_sql(
            "tenants/revoke_app_role",
            role=Identifier(role_name),
            group=Identifier(group),
        )
    )


def role_in_group(conn: Connection, *, role_name: str, group: str) -> bool:
    """Whether the role has the group's rights (directly or through another role)."""
    row = conn.execute(
        load_sql("tenants/role_in_group"), {"role_name": role_name, "group_name": group}
    ).fetchone()
    return row is not None and row[0] is True


def bind_role(conn: Connection, *, role_name: str, tenant_id: uuid.UUID) -> None:
    """Bind the role to the tenant (kept if it is bound already)."""
    conn.execute(
        load_sql("tenants/bind_role"), {"role_name": role_name, "tenant_id": tenant_id}
    )


def list_roles(conn: Connection) -> list[TenantRole]:
    """Every tenant login role."""
    with conn.cursor(row_factory=class_row(TenantRole)) as cur:
        cur.execute(load_sql("tenants/list_roles"))
        return cur.fetchall()


def set_search_index(conn: Connection, *, tenant_id: uuid.UUID, on: bool) -> None:
    """Turn the tenant's full-text index on or off (the setting only)."""
    conn.execute(
        load_sql("tenants/set_search_index"), {"tenant_id": tenant_id, "on": on}
    )


def set_search_language(
    conn: Connection, *, tenant_id: uuid.UUID, language: str
) -> None:
    """Set the tenant's text search configuration (the setting only)."""
    conn.execute(
        load_sql("tenants/set_search_language"),
        {"tenant_id": tenant_id, "language": language},
    )


def search_languages(conn: Connection) -> list[str]:
    """The text search configurations a tenant may choose."""
    return [str(r[0]) for r in conn.execute(load_sql("tenants/search_languages"))]


def start_search_rebuild(conn: Connection, *, name: str, tenant_id: uuid.UUID) -> None:
    """List (or restart from the first key) the rebuild of the tenant's documents."""
    conn.execute(
        load_sql("tenants/start_search_rebuild"), {"name": name, "tenant_id": tenant_id}
    )


def search_rebuild_batch(conn: Connection, *, name: str, batch: int) -> int:
    """One batch of search-document rebuild `name`: the content rows looked at."""
    row = conn.execute(
        load_sql("tenants/search_rebuild_batch"), {"name": name, "batch": batch}
    ).fetchone()
    return int(str(row[0])) if row else 0


def sync_search_documents(conn: Connection, *, tenant_id: uuid.UUID | None) -> int:
    """Build the missing full-text documents of tenants with search on, drop those
    of tenants with it off; return the content rows changed."""
    row = conn.execute(
        load_sql("tenants/sync_search_documents"), {"tenant_id": tenant_id}
    ).fetchone()
    return int(str(row[0])) if row else 0


def set_soft_bounces(
    conn: Connection, *, tenant_id: uuid.UUID, limit: int, days: int
) -> None:
    """Set how many soft bounces within how many days suppress an address."""
    conn.execute(
        load_sql("tenants/set_soft_bounces"),
        {"tenant_id": tenant_id, "soft_bounce_limit": limit, "soft_bounce_days": days},
    )
