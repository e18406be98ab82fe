"""One message, whole: metadata, sizes, attachments, problems."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from pmail_cli.db import Connection
from pmail_cli.errors import IntegrityProblems, NotFound, UsageError
from pmail_cli.repository import messages as repo
from pmail_cli.repository.messages import AttachmentRow
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services.tenants import scoped

MIN_PREFIX = 8  # characters of a storage key that name one message
CANDIDATES = 5  # keys listed when a prefix matches several


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
        from pmail_cli.mail.parse import header_fields, parse_message

        return header_fields(parse_message(self.raw).msg) if self.raw else []

    def record(self, *, with_headers: bool) -> dict[str, object]:
        """Everything about the message as one record, for `pmail show`."""
        record = dict(self.fields)
        if record.get("purged_at") is not None:
            when = record["purged_at"]
            assert isinstance(when, datetime)
            record["raw_form"] = f"purged on {when.isoformat(timespec='minutes')}"
        if record.get("raw_form") == "legacy":
            record["raw_form"] = f"legacy: {LEGACY_NOTE}"
        if with_headers:
            record["headers"] = [list(h) for h in self.headers()]
        record["attachments"] = [dataclasses.asdict(a) for a in self.attachments]
        record["delivery_facts"] = self.delivery_facts
        record["replies"] = self.replies
        return record


def find_one(conn: Connection, tenant: Tenant, key: str) -> dict[str, object]:
    """The message whose storage key is `key` or starts with it (8 characters at
    least, and only one match); call inside the tenant's scope."""
    key = key.strip()
    if not key:
        raise UsageError("give a storage key")
    rows = repo.find_message(conn, tenant_id=tenant.tenant_id, key=key)
    exact = [r for r in rows if r["storage_key"] == key]
    if exact:
        return exact[0]
    if rows and len(key) < MIN_PREFIX:
        raise UsageError(
            f"storage key prefix {key!r} is too short",
            hint=f"give at least {MIN_PREFIX} characters of the key",
        )
    if not rows:
        raise NotFound(
            f"no message with storage key {key!r} in tenant {tenant.name!r}",
            hint="`pmail list` and `pmail search` show keys; or check --tenant",
        )
    if len(rows) > 1:
        shown = ", ".join(str(r["storage_key"]) for r in rows[:CANDIDATES])
        more = " and more" if len(rows) > CANDIDATES else ""
        raise UsageError(
            f"storage key prefix {key!r} matches more than one message: {shown}{more}",
            hint="give more characters of the key",
        )
    return rows[0]


def show_message(
    conn: Connection, tenant: Tenant, key: str, *, with_raw: bool = False
) -> MessageDetail:
    """Return one message by storage key (or a unique prefix of at least 8 characters)."""
    with scoped(conn, tenant):
        row = find_one(conn, tenant, key)
        key = str(row["storage_key"])
        tenant_id = tenant.tenant_id
        attachments = repo.list_attachments(conn, tenant_id=tenant_id, storage_key=key)
        facts = repo.list_delivery_facts(conn, tenant_id=tenant_id, storage_key=key)
        replies = repo.list_children(conn, tenant_id=tenant_id, storage_key=key)
    detail = MessageDetail(dict(row), attachments, facts, replies)
    if with_raw and row.get("purged_at") is not None:
        raise NotFound(
            f"message {key} was purged on {row['purged_at']:%Y-%m-%d}: its content is "
            "gone, only its metadata is kept",
            hint="`pmail show` without --raw/--headers shows what is kept",
        )
    if with_raw:
        # the rebuild path (zstd, MIME, verification) only when the bytes are asked
        # for: `pmail list`/`search` and plain `show` start faster without it
        from pmail_cli.services.rawstore import rebuild_messages

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
