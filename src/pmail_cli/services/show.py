"""One message, whole: metadata, sizes, attachments, problems."""

from __future__ import annotations

from dataclasses import dataclass

from pmail_cli.db import Connection
from pmail_cli.errors import NotFound, UsageError
from pmail_cli.repository import messages as repo
from pmail_cli.repository.messages import AttachmentRow
from pmail_cli.repository.tenants import Tenant


@dataclass(frozen=True, slots=True)
class MessageDetail:
    """Everything `pmail show` prints about one message."""

    fields: dict[str, object]
    attachments: list[AttachmentRow]
    delivery_facts: list[dict[str, object]]
    replies: list[dict[str, object]]


def show_message(conn: Connection, tenant: Tenant, key: str) -> MessageDetail:
    """Return one message by storage key (or a unique prefix of at least 8 characters)."""
    key = key.strip()
    if not key:
        raise UsageError("give a storage key")
    with conn.transaction():
        rows = repo.find_message(conn, tenant_id=tenant.tenant_id, key=key)
        exact = [r for r in rows if r["storage_key"] == key]
        if exact:
            rows = exact
        elif len(key) < 8:
            rows = []
        if not rows:
            raise NotFound(
                f"no message with storage key {key!r} in tenant {tenant.name!r}",
                hint="list keys with `pmail export --out DIR` or check --tenant",
            )
        if len(rows) > 1:
            raise UsageError(
                f"storage key prefix {key!r} matches more than one message"
            )
        row = rows[0]
        key = str(row["storage_key"])
        tenant_id = tenant.tenant_id
        attachments = repo.list_attachments(conn, tenant_id=tenant_id, storage_key=key)
        facts = repo.list_delivery_facts(conn, tenant_id=tenant_id, storage_key=key)
        replies = repo.list_children(conn, tenant_id=tenant_id, storage_key=key)
    return MessageDetail(dict(row), attachments, facts, replies)
