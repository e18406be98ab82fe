"""Tenants: the default one, named ones, and their mailboxes."""

from __future__ import annotations

import uuid

from pmail_cli.db import Connection
from pmail_cli.errors import NotFound, UsageError
from pmail_cli.repository import tenants as repo
from pmail_cli.repository.tenants import Tenant, TenantSummary

DEFAULT_TENANT = "default"


def use_tenant(conn: Connection, name: str | None) -> Tenant:
    """Return the tenant and scope the session to it; 'default' is created on first use."""
    wanted = name or DEFAULT_TENANT
    with conn.transaction():
        tenant = repo.find_tenant(conn, name=wanted)
        if tenant is None and wanted == DEFAULT_TENANT:
            tenant = repo.insert_tenant(conn, name=wanted)
    if tenant is None:
        raise NotFound(
            f"tenant {wanted!r} does not exist",
            hint=f"create it with `pmail tenant add {wanted}` (see `pmail tenant list`)",
        )
    repo.set_session_tenant(conn, tenant_id=tenant.tenant_id)
    conn.commit()
    return tenant


def add_tenant(conn: Connection, name: str) -> Tenant:
    """Create a tenant (idempotent) and return it."""
    if not name.strip() or len(name) > 200:
        raise UsageError("a tenant name must be 1 to 200 characters")
    with conn.transaction():
        return repo.insert_tenant(conn, name=name.strip())


def list_tenants(conn: Connection) -> list[TenantSummary]:
    """Return every tenant with its message count."""
    with conn.transaction():
        conn.execute("SELECT set_config('pmail.all_tenants', 'on', true)")
        return repo.list_tenants(conn)


def add_account(
    conn: Connection, tenant: Tenant, *, email: str, display_name: str | None = None
) -> uuid.UUID:
    """Register one of the tenant's own mailboxes (its mail counts as outbound)."""
    if "@" not in email:
        raise UsageError(f"{email!r} is not an email address")
    with conn.transaction():
        return repo.insert_email_account(
            conn,
            tenant_id=tenant.tenant_id,
            email=email.strip(),
            display_name=display_name,
        )
