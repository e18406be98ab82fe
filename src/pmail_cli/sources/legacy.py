"""The legacy content tables as work items, page by page, and their checkpoint.

Pages are read in key order from a connection of the source's own (the writer's
transactions never see the source's reads). Each page's items come sorted by tenant,
so the writer commits one batch per tenant; the checkpoint (the page's last key)
moves in the transaction of the page's last batch, together with the anomalies the
page's rows carry. Every legacy row becomes one item: what is odd about it is
normalised by the documented rules and recorded, never dropped
(docs/migrate-legacy.md).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from pmail_cli.batch import BatchHook, Written
from pmail_cli.db import Connection, as_bytes
from pmail_cli.mail.legacy import (
    KNOWN_STATUSES,
    LegacyFile,
    LegacyRecord,
    header_pairs,
    normalise_direction,
    normalise_status,
    normalise_type,
)
from pmail_cli.mail.parse import addresses
from pmail_cli.repository import legacy as repo
from pmail_cli.repository import tenants as tenants_repo
from pmail_cli.repository import writer as writer_repo
from pmail_cli.repository.legacy import AnomalyRow, LegacyTables
from pmail_cli.repository.tenants import Tenant
from pmail_cli.sources import WorkItem

STEP_MESSAGES = "messages"
STEP_ORPHAN_CONTENT = "orphan_content"
STEP_ORPHAN_ATTACHMENTS = "orphan_attachments"
REFS = "content_inbox_message_refs"
CONTENT = "content_objects"
ATTACHMENTS = "attachments"
NO_CONTENT = "legacy: no content row (migrated as a message without content)"


@dataclass(slots=True)
class LegacySource:
    """Reads one step's pages from the legacy tables and makes records of them."""

    reader: Connection
    tables: LegacyTables
    tenants: dict[uuid.UUID, Tenant]
    accounts: dict[uuid.UUID, frozenset[str]]  # each tenant's own addresses
    page_size: int
    pages: int = 0
    rows: int = 0
    _sent: set[tuple[uuid.UUID, bytes]] = field(default_factory=set)

    def messages(self, after: str) -> Iterator[WorkItem]:
        """Every legacy message row after `after`, in pages, with content and files."""
        while True:
            with self.reader.transaction():
                rows = repo.refs_page(
                    self.reader, tables=self.tables, after=after, limit=self.page_size
                )
                if not rows:
                    return
                records = [self.message_record(row) for row in rows]
                records = self._with_files(records)
            after = str(rows[-1]["storage_key"])
            yield from self._page(records, after, len(rows))

    def orphan_content(self, after: str) -> Iterator[WorkItem]:
        """Every content row without a message row after `after`, in pages."""
        while True:
            with self.reader.transaction():
                rows = repo.orphan_content_page(
                    self.reader, tables=self.tables, after=after, limit=self.page_size
                )
                if not rows:
                    return
                records = self._with_files([self.orphan_record(row) for row in rows])
            after = str(rows[-1]["storage_key"])
            yield from self._page(records, after, len(rows))

    def _page(
        self, records: list[LegacyRecord], last_key: str, count: int
    ) -> Iterator[WorkItem]:
        self.pages += 1
        self.rows += count
        records.sort(key=lambda r: (r.tenant_id, r.storage_key))
        records[-1] = replace(records[-1], page_end=last_key, page_rows=count)
        for record in records:
            tenant = self.tenants[uuid.UUID(record.tenant_id)]
            size = sum(
                len(v) for v in (record.content_text, record.content_html) if v
            ) + sum(len(f.data or b"") for f in record.files)
            yield WorkItem(
                f"legacy:{record.table}:{record.storage_key}",
                key=record.storage_key,
                record=record,
                tenant=tenant,
                size=size + 512,
            )

    def _direction(
        self, value: object, tenant: uuid.UUID, sender: str | None
    ) -> tuple[str, tuple[str, str] | None]:
        text = None if value is None else str(value)
        found = normalise_direction(text)
        if found is not None:
            return found, None
        own = (sender or "").strip().lower() in self.accounts.get(tenant, frozenset())
        chosen = "outbound" if own else "inbound"
        return chosen, ("unknown_direction", f"{text!r} -> {chosen}")

    def message_record(self, row: dict[str, object]) -> LegacyRecord:
        key = str(row["storage_key"])
        tenant = _uuid(row["tenant_id"])
        assert tenant is not None
        notes: list[tuple[str, str, str, str]] = []
        sender = _text(row["from_email"])
        direction, unknown = self._direction(row["direction"], tenant, sender)
        if unknown:
            notes.append((unknown[0], REFS, key, unknown[1]))
        status = normalise_status(_text(row["status"]))
        if status is None:
            status = "sent" if direction == "outbound" else "received"
            notes.append(("missing_status", REFS, key, f"NULL -> {status}"))
        elif status not in KNOWN_STATUSES:
            notes.append(("unknown_status", REFS, key, f"{row['status']!r} kept"))
        raw_type = _text(row["message_type"])
        kind = normalise_type(raw_type)
        if raw_type is not None and kind is None:
            notes.append(
                ("unknown_message_type", REFS, key, f"{raw_type!r} -> classified")
            )
        has_content = bool(row["has_content"])
        content_tenant = _uuid(row["content_tenant_id"])
        if has_content and content_tenant != tenant:
            notes.append(
                (
                    "tenant_mismatch",
                    CONTENT,
                    key,
                    f"content tenant {content_tenant}, kept {tenant}",
                )
            )
        if not has_content:
            notes.append(("ref_without_content", REFS, key, "migrated without content"))
        return LegacyRecord(
            table=REFS,
            storage_key=key,
            tenant_id=str(tenant),
            direction=direction,
            status=status,
            message_type=kind,
            email_account_id=_str_or_none(row["email_account_id"]),
            campaign_id=_str_or_none(row["campaign_id"]),
            lead_id=_str_or_none(row["lead_id"]),
            parent_message_id=_text(row["parent_message_id"]),
            from_email=sender,
            to_email=_text(row["to_email"]),
            subject=_text(row["subject"]),
            created=row["created"],  # type: ignore[arg-type]
            updated=row["updated"],  # type: ignore[arg-type]
            processed=row["processed"],  # type: ignore[arg-type]
            has_content=has_content,
            content_text=_text(row["content_text"]),
            content_html=_text(row["content_html"]),
            headers=row["headers"],
            raw_size_bytes=_int(row["raw_size_bytes"]),
            content_created=row["content_created"],  # type: ignore[arg-type]
            expires=row["expires"],  # type: ignore[arg-type]
            retention_days=_int(row["retention_days"]),
            problems=() if has_content else (NO_CONTENT,),
            notes=tuple(notes),
        )

    def orphan_record(self, row: dict[str, object]) -> LegacyRecord:
        """A content row no message row refers to: the message row comes from its headers."""
        key = str(row["storage_key"])
        tenant = _uuid(row["tenant_id"])
        assert tenant is not None
        pairs = header_pairs(row["headers"])
        get = {k.lower(): v for k, v in reversed(pairs)}
        sender, _ = addresses([get["from"]] if "from" in get else [])
        to, _ = addresses([get["to"]] if "to" in get else [])
        direction, _ = self._direction(None, tenant, (sender or "").split(",")[0])
        return LegacyRecord(
            table=CONTENT,
            storage_key=key,
            tenant_id=str(tenant),
            direction=direction,
            status="sent" if direction == "outbound" else "received",
            message_type=None,
            from_email=sender,
            to_email=to,
            subject=get.get("subject"),
            created=row["created"],  # type: ignore[arg-type]
            updated=row["created"],  # type: ignore[arg-type]
            processed=row["created"],  # type: ignore[arg-type]
            content_text=_text(row["content_text"]),
            content_html=_text(row["content_html"]),
            headers=row["headers"],
            raw_size_bytes=_int(row["raw_size_bytes"]),
            content_created=row["created"],  # type: ignore[arg-type]
            expires=row["expires"],  # type: ignore[arg-type]
            retention_days=_int(row["retention_days"]),
            notes=(
                ("content_without_ref", CONTENT, key, "message row built from headers"),
            ),
        )

    def _with_files(self, records: list[LegacyRecord]) -> list[LegacyRecord]:
        """Attach each message's legacy files; bytes only for files the tenant may lack."""
        keys = [r.storage_key for r in records if r.has_content]
        if not keys:
            return records
        found = repo.attachment_files(self.reader, tables=self.tables, keys=keys)
        by_key: dict[str, list[dict[str, object]]] = defaultdict(list)
        for row in found:
            by_key[str(row["parent_storage_key"])].append(row)
        wanted = self._files_to_send(records, by_key)
        data = repo.attachment_bytes(
            self.reader, tables=self.tables, ids=sorted(wanted.values())
        )
        out = []
        for record in records:
            rows = by_key.get(record.storage_key, []) if record.has_content else []
            if not rows:
                out.append(record)
                continue
            files, notes = [], list(record.notes)
            for row in rows:
                legacy_id = int(str(row["id"]))
                true_size = int(str(row["true_size"] or 0))
                sha = as_bytes(row["sha256"])
                if (
                    row["size_bytes"] is None
                    or int(str(row["size_bytes"])) != true_size
                ):
                    notes.append(
                        (
                            "attachment_size_mismatch",
                            ATTACHMENTS,
                            str(legacy_id),
                            f"legacy size_bytes {row['size_bytes']}, bytes {true_size}",
                        )
                    )
                sends = wanted.get((uuid.UUID(record.tenant_id), sha)) == legacy_id
                files.append(
                    LegacyFile(
                        legacy_id=legacy_id,
                        size_bytes=true_size,
                        sha256=sha,
                        filename=_text(row["filename"]),
                        mime_type=_text(row["mime_type"]),
                        disposition=_text(row["storage_disposition"]),
                        data=data[legacy_id] if sends else None,
                    )
                )
            out.append(replace(record, files=tuple(files), notes=tuple(notes)))
        return out

    def _files_to_send(
        self, records: list[LegacyRecord], by_key: dict[str, list[dict[str, object]]]
    ) -> dict[tuple[uuid.UUID, bytes], int]:
        """(tenant, sha256) -> the legacy row whose bytes go with the page: one per
        file the tenant neither stores nor received earlier in this run."""
        first: dict[tuple[uuid.UUID, bytes], int] = {}
        ordered = sorted(records, key=lambda r: (r.tenant_id, r.storage_key))
        for record in ordered:
            tenant = uuid.UUID(record.tenant_id)
            for row in by_key.get(record.storage_key, []):
                pair = (tenant, as_bytes(row["sha256"]))
                if pair not in self._sent and pair not in first:
                    first[pair] = int(str(row["id"]))
        by_tenant: dict[uuid.UUID, list[bytes]] = defaultdict(list)
        for tenant, sha in first:
            by_tenant[tenant].append(sha)
        for tenant, hashes in by_tenant.items():
            tenants_repo.scope_transaction(self.reader, tenant_id=tenant)
            stored = writer_repo.existing_blobs(
                self.reader, tenant_id=tenant, hashes=hashes
            )
            for sha in stored:
                del first[(tenant, sha)]
        self._sent.update(first)
        return first


class LegacyCheckpoint(BatchHook):
    """Inside each batch's transaction: its rows' anomalies, and the step's position
    when the batch ends a page."""

    def __init__(self, step: str) -> None:
        self.step = step

    def in_transaction(self, conn: Connection, written: Written) -> None:
        """Record anomalies; move the step's last key at the end of a page."""
        anomalies: list[AnomalyRow] = []
        end: LegacyRecord | None = None
        tenant = str(written.tenant.tenant_id)
        tables: dict[str, str] = {}
        for item in written.batch.items:
            record = item.record
            assert isinstance(record, LegacyRecord)
            tables[record.storage_key] = record.table
            anomalies += [
                AnomalyRow(kind, table, key, tenant, detail)
                for kind, table, key, detail in record.notes
            ]
            end = record if record.page_end is not None else end
        for m in written.batch.prepared:
            problems = [p for p in m.message.parse_problems or [] if p != NO_CONTENT]
            if problems:
                table = tables.get(m.storage_key, REFS)
                detail = "; ".join(problems)[:1000]
                anomalies.append(
                    AnomalyRow("flagged", table, m.storage_key, tenant, detail)
                )
        repo.insert_anomalies(conn, anomalies=anomalies)
        if end is not None:
            repo.save_step(
                conn,
                step=self.step,
                last_key=end.page_end,
                rows=end.page_rows,
                finished=False,
            )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _uuid(value: object) -> uuid.UUID | None:
    if value is None:
        return None
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
