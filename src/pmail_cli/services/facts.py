"""The delivery facts of mail stored before migration 0026 (docs/classification.md,
"The reporter's status"): the backfill `reported_status:stored` reads each stored
notice once more (only the raw message holds its DSN's `Status:` fields) and fills
in `reported_status` where today's reading is of the same fact, in committed batches
in (tenant_id, storage_key) order (migrations.run_backfills; a killed run goes on at
the next `pmail init-db`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pmail_cli.db import Connection
from pmail_cli.repository import backfills
from pmail_cli.repository import facts as repo
from pmail_cli.repository import writer as writer_repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.rows import FactRow
from pmail_cli.services.tenants import keys_by_tenant, scoped

PREFIX = "reported_status"


def backfill_batch(conn: Connection, name: str, batch: int) -> int:
    """One batch of the backfill, in the caller's transaction (every tenant in
    scope): returns the messages looked at (fewer than batch: it is done). A message
    that cannot be rebuilt from storage keeps NULL (validate reports it)."""
    rows = repo.next_stored_facts(conn, name=name, batch=batch)
    for tenant, keys in keys_by_tenant(conn, rows):
        _fill(conn, tenant, keys)
    backfills.advance(conn, name=name, last=rows[-1] if len(rows) == batch else None)
    return len(rows)


def reported_statuses(
    stored: Sequence[Mapping[str, object]], read: Sequence[FactRow]
) -> dict[int, str]:
    """recipient_index -> the DSN Status field read now, for each stored fact that the
    new reading gives at the same position with the same recipient and status (so a
    classifier changed since the message was stored fills in nothing it would read
    differently)."""
    found: dict[int, str] = {}
    for row in stored:
        index = row["recipient_index"]
        assert isinstance(index, int)
        if index >= len(read):
            continue
        fact = read[index]
        if (
            fact.reported_status is not None
            and fact.recipient == row["recipient"]
            and fact.status == row["status"]
        ):
            found[index] = fact.reported_status
    return found


def _fill(conn: Connection, tenant: Tenant, keys: list[str]) -> None:
    from pmail_cli.classify import classify_message  # only when it runs
    from pmail_cli.mail.parse import parse_message
    from pmail_cli.mail.prepare import fact_rows
    from pmail_cli.services.rawstore import rebuild_messages

    with scoped(conn, tenant):
        stored: dict[str, list[dict[str, object]]] = {}
        for row in repo.stored_facts(conn, tenant_id=tenant.tenant_id, keys=keys):
            stored.setdefault(str(row["storage_key"]), []).append(row)
    filled: list[tuple[str, int, str]] = []
    for message in rebuild_messages(conn, tenant, list(stored)):
        if message.raw is None or not message.verified:
            continue
        parsed = parse_message(message.raw)
        if parsed.msg is None:
            continue
        key = message.parts.storage_key
        read = fact_rows(key, classify_message(parsed.msg, text=parsed.text))
        for index, status in reported_statuses(stored[key], read).items():
            filled.append((key, index, status))
    if not filled:
        return
    with scoped(conn, tenant):
        # the suppression triggers read these recipients again: not beside a batch of
        # the tenant that is writing them too
        writer_repo.lock_tenant_writes(conn, tenant_id=tenant.tenant_id)
        repo.fill_reported_status(
            conn,
            tenant_id=tenant.tenant_id,
            keys=[k for k, _, _ in filled],
            indexes=[i for _, i, _ in filled],
            statuses=[s for _, _, s in filled],
        )
