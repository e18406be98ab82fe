"""The suppression list: the addresses a tenant's senders must not mail again."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from pmail_cli.db import Connection
from pmail_cli.errors import UsageError
from pmail_cli.repository import backfills
from pmail_cli.repository import suppressions as repo
from pmail_cli.repository import tenants as tenants_repo
from pmail_cli.repository import writer as writer_repo
from pmail_cli.repository.suppressions import Suppression
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import tenants

MAX_SOFT_BOUNCE_LIMIT = 1000
MAX_SOFT_BOUNCE_DAYS = 36600
# the backfill that reads mail stored before unsubscribe requests were recognised
# (migration 0019; services/schema.BACKFILLS runs it)
UNSUBSCRIBE_BACKFILL = "unsubscribe"


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
        # no batch of this tenant is half-written while its whole list is recomputed:
        # both would write the same rows (a duplicate key for the one that commits last)
        writer_repo.lock_tenant_writes(conn, tenant_id=tenant.tenant_id)
        tenants_repo.set_soft_bounces(
            conn, tenant_id=tenant.tenant_id, limit=new_limit, days=new_days
        )
        tenants.audit_set(
            conn, tenant, soft_bounce_limit=new_limit, soft_bounce_days=new_days
        )
    return tenants.find_tenant(conn, tenant.name)


def unsubscribe_backfill_batch(conn: Connection, name: str, batch: int) -> int:
    """One batch of the unsubscribe backfill, in the caller's transaction (every tenant
    in scope): the next ordinary inbound messages stored before the backfill began are
    rebuilt from storage and classified as the writer would now; those that ask to be
    unsubscribed get `unsubscribe` set, and the suppression triggers follow. A message
    that cannot be rebuilt is left as it is (validate reports it). Returns the rows
    looked at."""
    from pmail_cli.classify import classify_message  # only when a backfill runs
    from pmail_cli.mail.parse import parse_message
    from pmail_cli.services.rawstore import rebuild_messages

    rows = repo.next_unread_replies(conn, name=name, batch=batch)
    for tenant, keys in tenants.keys_by_tenant(conn, rows):
        asked: dict[str, str] = {}
        for message in rebuild_messages(conn, tenant, keys):
            if message.raw is None or not message.verified:
                continue
            parsed = parse_message(message.raw)
            if parsed.msg is None:
                continue
            found = classify_message(parsed.msg, text=parsed.text)
            if found.kind == "email" and found.unsubscribe:
                asked[message.parts.storage_key] = found.unsubscribe
        if asked:
            with tenants.scoped(conn, tenant):
                # the triggers rewrite these senders' rows: not beside a batch of the
                # tenant that is writing them too
                writer_repo.lock_tenant_writes(conn, tenant_id=tenant.tenant_id)
                repo.set_unsubscribe(
                    conn,
                    tenant_id=tenant.tenant_id,
                    keys=list(asked),
                    reasons=list(asked.values()),
                )
    backfills.advance(conn, name=name, last=rows[-1] if len(rows) == batch else None)
    return len(rows)
