"""The SQL columns of stored mail (email_content.content_html and headers, docs/sql.md):
filled or cleared to match the tenant's setting in committed batches, one backfill per
tenant in pmail_backfills ('sql_bodies:<tenant_id>', its cursor a storage key), so a
killed run goes on where it stopped (`pmail init-db`, or `pmail tenant set` again)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pmail_cli import vocab
from pmail_cli.db import Connection
from pmail_cli.mail.legacy import legacy_sql_columns
from pmail_cli.mail.prepare import raw_sql_columns
from pmail_cli.repository import backfills
from pmail_cli.repository import sqlbodies as repo
from pmail_cli.repository import tenants as tenants_repo
from pmail_cli.repository import writer as writer_repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services.rawstore import rebuild_messages
from pmail_cli.services.tenants import audit_set, every_tenant, find_tenant, scoped

PREFIX = "sql_bodies"
BATCH = 500


@dataclass(slots=True)
class Backfilled:
    """What a backfill did."""

    looked_at: int = 0
    filled: int = 0
    cleared: int = 0

    def add(self, other: Backfilled) -> None:
        """Count another batch in."""
        self.looked_at += other.looked_at
        self.filled += other.filled
        self.cleared += other.cleared


def backfill_name(tenant: Tenant) -> str:
    """The tenant's row in pmail_backfills."""
    return f"{PREFIX}:{tenant.tenant_id}"


def backfill_batch(conn: Connection, name: str, batch: int) -> int:
    """One batch of backfill `name`, in the caller's transaction (migrations.run_backfills
    calls it): returns how many rows it looked at (fewer than batch: it is done)."""
    return _batch(conn, name, batch).looked_at


def _batch(conn: Connection, name: str, batch: int) -> Backfilled:
    done = Backfilled()
    at = repo.cursor(conn, name=name)
    tenant = None
    if at is not None:
        tenant = next(
            (t for t in tenants_repo.all_tenants(conn) if t.tenant_id == at.tenant_id),
            None,
        )
    if at is None or tenant is None:
        backfills.finish(conn, name=name)
        return done
    rows = repo.next_rows(
        conn, tenant_id=tenant.tenant_id, after_key=at.after_key, batch=batch
    )
    done.looked_at = len(rows)
    to_clear = [key for key, action in rows if action == "clear"]
    to_fill = [key for key, action in rows if action == "fill"]
    if to_clear:
        done.cleared = repo.clear(conn, tenant_id=tenant.tenant_id, keys=to_clear)
    if to_fill:
        done.filled = _fill(conn, tenant, to_fill)
    backfills.advance(
        conn,
        name=name,
        last=(tenant.tenant_id, rows[-1][0]) if len(rows) == batch else None,
    )
    return done


def _fill(conn: Connection, tenant: Tenant, keys: list[str]) -> int:
    """Read the columns from each message's stored form; a message that cannot be
    rebuilt keeps them empty (validate reports it, and --deep says why)."""
    filled: list[str] = []
    html: list[str | None] = []
    headers: list[str] = []
    for message in rebuild_messages(conn, tenant, keys):
        if message.legacy is not None:
            columns = legacy_sql_columns(message.legacy.headers, message.legacy.html)
        elif message.raw is not None and message.verified:
            columns = raw_sql_columns(message.raw)
        else:
            continue
        filled.append(message.parts.storage_key)
        html.append(columns[0])
        headers.append(columns[1])
    if not filled:
        return 0
    return repo.fill(
        conn, tenant_id=tenant.tenant_id, keys=filled, html=html, headers=headers
    )


def set_sql_bodies(
    conn: Connection,
    tenant: Tenant,
    value: str,
    *,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[Tenant, Backfilled]:
    """Turn the tenant's SQL columns on (every stored message's are filled) or off
    (they are cleared; held mail keeps them), then bring stored mail in line, one
    committed batch at a time."""
    word = vocab.one_of("--sql-bodies", value, vocab.ON_OFF)
    with scoped(conn, tenant):
        # no batch of this tenant is half-written while the setting changes
        writer_repo.lock_tenant_writes(conn, tenant_id=tenant.tenant_id)
        repo.set_sql_bodies(conn, tenant_id=tenant.tenant_id, on=word == "on")
        repo.start_backfill(conn, tenant_id=tenant.tenant_id)
        audit_set(conn, tenant, sql_bodies=word)
    return find_tenant(conn, tenant.name), run_backfill(
        conn, tenant, on_progress=on_progress
    )


def run_backfill(
    conn: Connection,
    tenant: Tenant,
    *,
    batch: int = BATCH,
    on_progress: Callable[[int], None] | None = None,
) -> Backfilled:
    """Run the tenant's backfill to its end (nothing when none is listed)."""
    total = Backfilled()
    while True:
        with every_tenant(conn):
            done = _batch(conn, backfill_name(tenant), batch)
        total.add(done)
        if on_progress is not None and done.looked_at:
            on_progress(done.looked_at)
        if done.looked_at < batch:
            return total
