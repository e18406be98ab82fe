"""One message, whole: metadata, sizes, attachments, problems."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from pmail_cli.db import Connection
from pmail_cli.errors import IntegrityProblems, NotFound, UsageError
from pmail_cli.mail.parse import header_fields, parse_message
from pmail_cli.repository import messages as repo
from pmail_cli.repository.messages import AttachmentRow
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services.rawstore import rebuild_messages
from pmail_cli.services.tenants import scoped


@dataclass(slots=True)
class MessageDetail:
    """Everything `pmail show` prints about one message."""

    fields: dict[str, object]
    attachments: list[AttachmentRow]
    delivery_facts: list[dict[str, object]]
    replies: list[dict[str, object]]
    raw: bytes | None = None  # the exact message, when asked for

    def headers(self) -> list[tuple[str, str]]:
        """The header fields in order, rebuilt from the raw message."""
        return header_fields(parse_message(self.raw).msg) if self.raw else []

    def record(self, *, with_headers: bool) -> dict[str, object]:
        """Everything about the message as one record, for `pmail show`."""
        record = dict(self.fields)
        if record.get("raw_form") == "legacy":
            record["raw_form"] = f"legacy: {LEGACY_NOTE}"
        if with_headers:
            record["headers"] = [list(h) for h in self.headers()]
        record["attachments"] = [dataclasses.asdict(a) for a in self.attachments]
        record["delivery_facts"] = self.delivery_facts
        record["replies"] = self.replies
        return record


def show_message(
    conn: Connection, tenant: Tenant, key: str, *, with_raw: bool = False
) -> MessageDetail:
    """Return one message by storage key (or a unique prefix of at least 8 characters)."""
    key = key.strip()
    if not key:
        raise UsageError("give a storage key")
    with scoped(conn, tenant):
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
    detail = MessageDetail(dict(row), attachments, facts, replies)
    if with_raw:
        rebuilt = next(iter(rebuild_messages(conn, tenant, [key])), None)
        if (
            rebuilt is None
            or rebuilt.raw is None
            or not (rebuilt.verified or rebuilt.rebuilt)
        ):
            why = rebuilt.problem if rebuilt else "not found"
            raise IntegrityProblems(
                f"message {key} cannot be rebuilt exactly: {why}",
                hint="its stored bytes no longer give the sha256 it arrived with; "
                "the metadata is still shown without --raw/--headers",
            )
        detail.raw = rebuilt.raw
    return detail


LEGACY_NOTE = "rebuilt from legacy columns (no raw message was kept)"
