"""The suppression list: the addresses a tenant's senders must not mail again."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from pmail_cli.db import Connection
from pmail_cli.errors import UsageError
from pmail_cli.repository import suppressions as repo
from pmail_cli.repository import tenants as tenants_repo
from pmail_cli.repository.suppressions import Suppression
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import tenants

MAX_SOFT_BOUNCE_LIMIT = 1000
MAX_SOFT_BOUNCE_DAYS = 36600


def list_suppressions(
    conn: Connection, tenant: Tenant, *, since: date | None = None
) -> list[Suppression]:
    """The tenant's suppressions, newest evidence first; `since`: only those whose
    latest evidence is on or after that day (UTC)."""
    start = datetime.combine(since, time.min, UTC) if since else None
    with tenants.scoped(conn, tenant):
        return repo.list_suppressions(conn, tenant_id=tenant.tenant_id, since=start)


def set_soft_bounces(
    conn: Connection, tenant: Tenant, *, limit: int | None, days: int | None
) -> Tenant:
    """Change how many soft bounces within how many days suppress an address; the
    tenant's suppressions are recomputed in the same transaction."""
    new_limit = tenant.soft_bounce_limit if limit is None else limit
    new_days = tenant.soft_bounce_days if days is None else days
    if not 1 <= new_limit <= MAX_SOFT_BOUNCE_LIMIT:
        raise UsageError(
            f"--soft-bounce-limit {new_limit} is out of range",
            hint=f"give a number of bounces from 1 to {MAX_SOFT_BOUNCE_LIMIT}",
        )
    if not 1 <= new_days <= MAX_SOFT_BOUNCE_DAYS:
        raise UsageError(
            f"--soft-bounce-days {new_days} is out of range",
            hint=f"give a number of days from 1 to {MAX_SOFT_BOUNCE_DAYS}",
        )
    with tenants.scoped(conn, tenant):
        tenants_repo.set_soft_bounces(
            conn, tenant_id=tenant.tenant_id, limit=new_limit, days=new_days
        )
        tenants.audit_set(
            conn, tenant, soft_bounce_limit=new_limit, soft_bounce_days=new_days
        )
    return tenants.find_tenant(conn, tenant.name)
