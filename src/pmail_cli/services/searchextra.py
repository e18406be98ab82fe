"""The extra search text of mail stored before migration 0021 (docs/search.md): the
backfill `search_extra:stored` reads each stored message once more (only the raw
message holds its HTML alternative, enclosed messages and calendar parts), stores
what mail/searchtext.py finds and builds its document again, in committed batches in
(tenant_id, storage_key) order (migrations.run_backfills; a killed run goes on at the
next `pmail init-db`)."""

from __future__ import annotations

from pmail_cli.db import Connection
from pmail_cli.repository import backfills
from pmail_cli.repository import searchextra as repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services.tenants import keys_by_tenant, scoped

PREFIX = "search_extra"


def backfill_batch(conn: Connection, name: str, batch: int) -> int:
    """One batch of the backfill, in the caller's transaction (every tenant in
    scope): returns the rows looked at (fewer than batch: it is done). A message that
    cannot be rebuilt from storage keeps no extra text (validate reports it)."""
    rows = repo.next_rows(conn, name=name, batch=batch)
    for tenant, keys in keys_by_tenant(conn, rows):
        _fill(conn, tenant, keys)
    backfills.advance(conn, name=name, last=rows[-1] if len(rows) == batch else None)
    return len(rows)


def _fill(conn: Connection, tenant: Tenant, keys: list[str]) -> None:
    from pmail_cli.mail.prepare import stored_search_text  # only when it runs
    from pmail_cli.services.rawstore import rebuild_messages

    read: list[str] = []
    extra: list[str | None] = []
    enclosed: list[str | None] = []
    for message in rebuild_messages(conn, tenant, keys):
        if message.legacy is not None or message.raw is None or not message.verified:
            continue
        found = stored_search_text(message.raw)
        read.append(message.parts.storage_key)
        extra.append(found.extra)
        enclosed.append(found.enclosed)
    with scoped(conn, tenant):
        if read:
            repo.set_texts(
                conn,
                tenant_id=tenant.tenant_id,
                keys=read,
                extra=extra,
                enclosed=enclosed,
            )
        repo.put_documents(conn, tenant_id=tenant.tenant_id, keys=keys)
