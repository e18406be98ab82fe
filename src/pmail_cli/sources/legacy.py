"""The legacy content tables as work items, page by page, and their checkpoint.

Pages are read in key order from a connection of the source's own (the writer's
transactions never see the source's reads) and handed over as the legacy values
were read (`mail.legacy.LegacyRow`); the workers normalise and map them. Each page's
items come sorted by tenant, so a writer commits one batch per tenant, and each
tenant's last row of the page carries the page's last key. Each batch records the
anomalies its mapping noted in its own transaction; the service moves the step's
position past a page once every tenant's share of it has committed (several writers
may share a page, each with its own tenants; docs/migrate-legacy.md).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from pmail_cli.batch import BatchHook, Written
from pmail_cli.db import Connection, as_bytes
from pmail_cli.mail.legacy import (
    CONTENT,
    NO_CONTENT,
    REFS,
    LegacyFile,
    LegacyRow,
    file_size_note,
)
from pmail_cli.repository import legacy as repo
from pmail_cli.repository.legacy import AnomalyRow, LegacyTables
from pmail_cli.repository.tenants import Tenant
from pmail_cli.sources import WorkItem

STEP_MESSAGES = "messages"
STEP_ORPHAN_CONTENT = "orphan_content"
STEP_ORPHAN_ATTACHMENTS = "orphan_attachments"


@dataclass(slots=True)
class LegacySource:
    """Reads one step's pages from the legacy tables."""

    reader: Connection
    tables: LegacyTables
    tenants: dict[uuid.UUID, Tenant]
    page_size: int
    pages: int = 0
    rows: int = 0
    # told of each page as it is handed on: (its last key, its rows, its tenants)
    on_page: Callable[[str, int, int], None] | None = None
    _sent: set[tuple[str, bytes]] = field(default_factory=set)

    def messages(self, after: str) -> Iterator[WorkItem]:
        """Every legacy message row after `after`, in pages, with content and files."""
        return self._pages(after, repo.refs_page, ref_row)

    def orphan_content(self, after: str) -> Iterator[WorkItem]:
        """Every content row without a message row after `after`, in pages."""
        return self._pages(after, repo.orphan_content_page, content_row)

    def _pages(
        self,
        after: str,
        read: Callable[..., list[dict[str, object]]],
        make: Callable[[dict[str, object]], LegacyRow],
    ) -> Iterator[WorkItem]:
        while True:
            with self.reader.transaction():
                found = read(
                    self.reader, tables=self.tables, after=after, limit=self.page_size
                )
                if not found:
                    return
                rows = self._with_files([make(r) for r in found])
            after = str(found[-1]["storage_key"])
            yield from self._page(rows, after)

    def _page(self, rows: list[LegacyRow], last_key: str) -> Iterator[WorkItem]:
        self.pages += 1
        self.rows += len(rows)
        rows.sort(key=lambda r: (r.tenant_id, r.storage_key))
        ends = {r.tenant_id: i for i, r in enumerate(rows)}  # each tenant's last row
        for i in ends.values():
            rows[i] = replace(rows[i], page_end=last_key)
        if self.on_page is not None:
            self.on_page(last_key, len(rows), len(ends))
        for row in rows:
            size = sum(len(v) for v in (row.content_text, row.content_html) if v)
            yield WorkItem(
                f"legacy:{row.table}:{row.storage_key}",
                key=row.storage_key,
                record=row,
                tenant=self.tenants[uuid.UUID(row.tenant_id)],
                size=size + sum(len(f.data or b"") for f in row.files) + 512,
            )

    def _with_files(self, rows: list[LegacyRow]) -> list[LegacyRow]:
        """Attach each message's legacy files; bytes only for files the tenant may lack."""
        keys = [r.storage_key for r in rows if r.has_content]
        if not keys:
            return rows
        by_key: dict[str, list[dict[str, object]]] = defaultdict(list)
        for found in repo.attachment_files(self.reader, tables=self.tables, keys=keys):
            by_key[str(found["parent_storage_key"])].append(found)
        if not by_key:
            return rows
        wanted = self._files_to_send(rows, by_key)
        data = repo.attachment_bytes(
            self.reader, tables=self.tables, ids=sorted(wanted.values())
        )
        out = []
        for row in rows:
            files = by_key.get(row.storage_key, []) if row.has_content else []
            if not files:
                out.append(row)
                continue
            made, notes = [], list(row.notes)
            for f in files:
                legacy_id, true_size = int(str(f["id"])), int(str(f["true_size"] or 0))
                sha = as_bytes(f["sha256"])
                note = file_size_note(legacy_id, f["size_bytes"], true_size)
                if note is not None:
                    notes.append(note)
                sends = wanted.get((row.tenant_id, sha)) == legacy_id
                made.append(
                    LegacyFile(
                        legacy_id=legacy_id,
                        size_bytes=true_size,
                        sha256=sha,
                        filename=_text(f["filename"]),
                        mime_type=_text(f["mime_type"]),
                        disposition=_text(f["storage_disposition"]),
                        data=data[legacy_id] if sends else None,
                    )
                )
            out.append(replace(row, files=tuple(made), notes=tuple(notes)))
        return out

    def _files_to_send(
        self, rows: list[LegacyRow], by_key: dict[str, list[dict[str, object]]]
    ) -> dict[tuple[str, bytes], int]:
        """(tenant, sha256) -> the legacy row whose bytes go with the page: one per
        file not sent earlier in this run. The bytes go with the tenant's first
        message of the page in commit order. A file the tenant stores already is sent
        too, once a run: the writer checks the stored row against them before it
        reuses it (a tenant login may plant a row with a file's hash ahead of the
        migration, which then reused it unchecked: docs/security.md)."""
        first: dict[tuple[str, bytes], int] = {}
        for row in sorted(rows, key=lambda r: (r.tenant_id, r.storage_key)):
            for f in by_key.get(row.storage_key, []):
                pair = (row.tenant_id, as_bytes(f["sha256"]))
                if pair not in self._sent and pair not in first:
                    first[pair] = int(str(f["id"]))
        self._sent.update(first)
        return first


class LegacyCheckpoint(BatchHook):
    """Inside each batch's transaction: its rows' anomalies; after its commit, the
    pages whose last row of a tenant it held (`page_done(last_key)`)."""

    def __init__(self, page_done: Callable[[str], None]) -> None:
        self.page_done = page_done

    def in_transaction(self, conn: Connection, written: Written) -> None:
        """Record the anomalies of the batch's rows."""
        tenant = str(written.tenant.tenant_id)
        anomalies: list[AnomalyRow] = []
        tables: dict[str, str] = {}
        for item in written.batch.items:
            row = item.record
            assert isinstance(row, LegacyRow)
            tables[row.storage_key] = row.table
        for m in written.batch.prepared:
            anomalies += [AnomalyRow(k, t, key, tenant, d) for k, t, key, d in m.notes]
            problems = [p for p in m.message.parse_problems or [] if p != NO_CONTENT]
            if problems:
                table = tables.get(m.storage_key, REFS)
                detail = "; ".join(problems)[:1000]
                anomalies.append(
                    AnomalyRow("flagged", table, m.storage_key, tenant, detail)
                )
        repo.insert_anomalies(conn, anomalies=anomalies)

    def after_commit(self, written: Written) -> None:
        """Tell the service which pages this batch finished a tenant's share of."""
        for item in written.batch.items:
            row = item.record
            assert isinstance(row, LegacyRow)
            if row.page_end is not None:
                self.page_done(row.page_end)


def ref_row(r: dict[str, object]) -> LegacyRow:
    """A legacy message row (with its content row's values) as read."""
    return LegacyRow(
        table=REFS,
        storage_key=str(r["storage_key"]),
        tenant_id=str(r["tenant_id"]),
        email_account_id=_text(r["email_account_id"]),
        campaign_id=_text(r["campaign_id"]),
        lead_id=_text(r["lead_id"]),
        parent_message_id=_text(r["parent_message_id"]),
        direction=_text(r["direction"]),
        message_type=_text(r["message_type"]),
        from_email=_text(r["from_email"]),
        subject=_text(r["subject"]),
        to_email=_text(r["to_email"]),
        status=_text(r["status"]),
        processed=_time(r["processed"]),
        created=_time(r["created"]),
        updated=_time(r["updated"]),
        has_content=bool(r["has_content"]),
        content_tenant_id=_text(r["content_tenant_id"]),
        content_text=_text(r["content_text"]),
        content_html=_text(r["content_html"]),
        headers_json=_text(r["headers"]),
        raw_size_bytes=_int(r["raw_size_bytes"]),
        content_created=_time(r["content_created"]),
        expires=_time(r["expires"]),
        retention_days=_int(r["retention_days"]),
    )


def content_row(r: dict[str, object]) -> LegacyRow:
    return LegacyRow(
        table=CONTENT,
        storage_key=str(r["storage_key"]),
        tenant_id=str(r["tenant_id"]),
        created=_time(r["created"]),
        content_tenant_id=str(r["tenant_id"]),
        content_text=_text(r["content_text"]),
        content_html=_text(r["content_html"]),
        headers_json=_text(r["headers"]),
        raw_size_bytes=_int(r["raw_size_bytes"]),
        content_created=_time(r["created"]),
        expires=_time(r["expires"]),
        retention_days=_int(r["retention_days"]),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _time(value: object) -> datetime | None:
    assert value is None or isinstance(value, datetime)
    return value
