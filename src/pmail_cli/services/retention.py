"""Retention: purge what has expired, never what a legal hold covers.

Each batch is one transaction, under the tenant's write lock (so it never races an
ingest over a shared attachment file): the messages get their tombstone
(`purged_at`), their content and attachment rows go, then the files nothing refers to
any more. A kill at any point leaves whole batches; the next run carries on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from pmail_cli.db import Connection
from pmail_cli.repository import holds as holds_repo
from pmail_cli.repository import retention as repo
from pmail_cli.repository import tenants as tenants_repo
from pmail_cli.repository import writer as writer_repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import audit
from pmail_cli.services.holds import lock_holders
from pmail_cli.services.tenants import every_tenant, scoped

BATCH = 1000  # the default retention (2555 days) lives in SQL: pmail_expiry()
# a purge of every tenant waits this long for one tenant's write lock or rows, then
# skips that tenant (and says so) instead of leaving every tenant after it unpurged
LOCK_WAIT = 60.0


@dataclass(slots=True)
class TenantPurge:
    """What a purge deleted (or, dry, would delete) for one tenant."""

    tenant: str
    messages: int = 0
    raw_bytes: int = 0  # the purged messages' sizes as they arrived
    stored_bytes: int = 0  # what their content took, compressed
    files: int = 0  # attachment files no one refers to any more
    file_bytes: int = 0  # what those took
    held: int = 0  # expired but kept by a legal hold
    skipped: str | None = None  # why the purge of this tenant stopped early

    @property
    def bytes_freed(self) -> int:
        """Stored bytes freed: content plus collected files."""
        return self.stored_bytes + self.file_bytes


@dataclass(slots=True)
class PurgeResult:
    """A purge (or dry run) over one or more tenants."""

    dry_run: bool
    tenants: list[TenantPurge] = field(default_factory=list)


def purge(
    conn: Connection,
    tenant: Tenant | None,
    *,
    dry_run: bool,
    now: datetime | None = None,
    batch: int = BATCH,
    lock_wait: float | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> PurgeResult:
    """Purge (or count, with dry_run) the expired mail of a tenant or every tenant.
    Across every tenant, a tenant whose write lock or rows stay locked for lock_wait
    seconds (default LOCK_WAIT) is skipped, with the sessions holding them named in
    its `skipped`; the others are purged."""
    at = now or datetime.now(UTC)
    result = PurgeResult(dry_run)
    # one tenant's session holding its write lock must not keep the others' expired
    # mail: across tenants each waits at most lock_wait; one tenant waits its turn
    wait = (lock_wait if lock_wait is not None else LOCK_WAIT) if not tenant else None
    for one in [tenant] if tenant else _tenants(conn):
        result.tenants.append(
            _summary(conn, one, at)
            if dry_run
            else _purge_tenant(conn, one, at, batch, on_progress, wait)
        )
    return result


def _tenants(conn: Connection) -> Sequence[Tenant]:
    with every_tenant(conn):
        return tenants_repo.all_tenants(conn)


def _summary(conn: Connection, tenant: Tenant, at: datetime) -> TenantPurge:
    with scoped(conn, tenant):
        found = repo.expired_summary(conn, tenant_id=tenant.tenant_id, now=at)
    return TenantPurge(
        tenant.name,
        messages=found.messages,
        raw_bytes=found.raw_bytes,
        stored_bytes=found.stored_bytes,
        held=found.held,
    )


def _purge_tenant(
    conn: Connection,
    tenant: Tenant,
    at: datetime,
    batch: int,
    on_progress: Callable[[int], None] | None,
    lock_wait: float | None,
) -> TenantPurge:
    """Purge the tenant's expired mail a batch at a time; with lock_wait, a batch
    that waits longer for a lock ends it (`skipped` says why; whole batches before
    it stay purged)."""
    done = TenantPurge(tenant.name)
    after = ""
    while True:
        try:
            with scoped(conn, tenant):
                if lock_wait is not None:
                    holds_repo.set_lock_timeout(conn, seconds=lock_wait)
                writer_repo.lock_tenant_writes(conn, tenant_id=tenant.tenant_id)
                expired = repo.expired_batch(
                    conn, tenant_id=tenant.tenant_id, now=at, after=after, limit=batch
                )
                if not expired:
                    break
                after = expired[-1].storage_key
                purged = repo.purge_content(
                    conn,
                    tenant_id=tenant.tenant_id,
                    keys=[e.storage_key for e in expired],
                )
                collected = repo.delete_unreferenced_blobs(
                    conn, tenant_id=tenant.tenant_id, hashes=purged.files
                )
                audit.record(
                    conn,
                    "purge",
                    tenant_id=tenant.tenant_id,
                    params={"expired_before": at},
                    result={
                        "messages": purged.messages,
                        "stored_bytes": purged.stored_bytes,
                        "files": collected.files,
                        "file_bytes": collected.stored_bytes,
                        "keys": [e.storage_key for e in expired],
                    },
                )
        except psycopg.errors.LockNotAvailable:  # the batch is rolled back
            assert lock_wait is not None
            named = lock_holders(conn, seconds=lock_wait)
            done.skipped = f"its writes stayed locked for {lock_wait:g} s" + (
                f" by {named}" if named else ""
            )
            return done
        done.messages += purged.messages
        done.raw_bytes += sum(e.raw_size_bytes for e in expired)
        done.stored_bytes += purged.stored_bytes
        done.files += collected.files
        done.file_bytes += collected.stored_bytes
        if on_progress:
            on_progress(purged.messages)
    with scoped(conn, tenant):
        done.held = repo.expired_summary(conn, tenant_id=tenant.tenant_id, now=at).held
    return done
