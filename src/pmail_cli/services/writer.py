"""The one batch writer: every source's messages reach the tables through here.

One call, one transaction: COPY the prepared rows into staging tables, link inbound
messages to their parents, insert what the tenant does not have yet, move parents'
status, then run the hooks the caller passed (a source's checkpoint, a job log, …)
in the same transaction, commit, and only then tell the hooks that it committed.
The writer knows nothing about where messages came from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from pmail_cli.batch import Batch, BatchHook, Written
from pmail_cli.db import Connection
from pmail_cli.mail.prepare import PreparedMessage
from pmail_cli.repository import linking
from pmail_cli.repository import writer as repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.rows import BlobRow, Row
from pmail_cli.services.tenants import scoped

logger = logging.getLogger(__name__)

ANALYZE_FIRST = 400  # messages stored before the first ANALYZE, then doubling


@dataclass(slots=True)
class BatchWriter:
    """Writes batches for any tenant on one connection; keeps statistics current."""

    conn: Connection
    stored: int = 0  # messages this writer has stored
    _staging: bool = False
    _analyze_at: int = field(default=ANALYZE_FIRST)

    def write(
        self,
        tenant: Tenant,
        batch: Batch,
        hooks: Sequence[BatchHook] = (),
        *,
        parent_status: bool = True,
        link_waiting: bool = True,
    ) -> Written:
        """Store a batch and run its hooks in one transaction; whole batches only.

        `parent_status` False links children to their parents but leaves the
        parents' status as it is (migrated rows keep the status they had).
        `link_waiting` False leaves stored children whose parent arrives in this
        batch for the caller to link later in bulk (`linking.link_all_waiting`).
        """
        written = Written(tenant, batch)
        if not batch.prepared and not hooks:
            return written
        if not self._staging:
            with self.conn.transaction():
                repo.create_staging(self.conn)
            self._staging = True
        with scoped(self.conn, tenant):
            if batch.prepared:
                written = self._store(tenant, batch, parent_status, link_waiting)
            for hook in hooks:
                hook.in_transaction(self.conn, written)
        for hook in hooks:
            hook.after_commit(written)
        self.stored += len(written.inserted)
        self._maybe_analyze()
        return written

    def _store(
        self, tenant: Tenant, batch: Batch, parent_status: bool, link_waiting: bool
    ) -> Written:
        conn, tenant_id = self.conn, tenant.tenant_id
        repo.lock_tenant_writes(conn, tenant_id=tenant_id)
        blobs = {b.sha256: b for m in batch.prepared for b in m.blobs}
        known = repo.existing_blobs(conn, tenant_id=tenant_id, hashes=sorted(blobs))
        new_blobs: list[BlobRow] = [b for sha, b in blobs.items() if sha not in known]
        for rows in _tables(batch.prepared, new_blobs):
            repo.copy_rows(conn, tenant_id=tenant_id, rows=rows)
        linked_before = linking.link_staged(conn, tenant_id=tenant_id)
        keys = repo.insert_staged(conn)
        children = self._link(tenant, keys, linked_before, parent_status, link_waiting)
        return Written(
            tenant,
            batch,
            frozenset(keys),
            tuple(children),
            sum(len(b.data) for b in new_blobs),
        )

    def _link(
        self,
        tenant: Tenant,
        keys: list[str],
        before: set[str],
        parent_status: bool,
        link_waiting: bool,
    ) -> list[str]:
        """Move parents' status for this batch's children; link late-arriving parents."""
        if not keys:
            return []
        tenant_id = tenant.tenant_id
        children = [k for k in keys if k in before]
        if link_waiting:
            waiting = linking.link_waiting(self.conn, tenant_id=tenant_id, keys=keys)
            children += [child for child, _ in waiting]
        if children and parent_status:
            linking.update_parent_status(
                self.conn, tenant_id=tenant_id, children=children
            )
        return children

    def _maybe_analyze(self) -> None:
        """ANALYZE as this writer's rows double, so plans follow the tables' growth."""
        if self.stored < self._analyze_at:
            return
        self._analyze_at = self.stored * 2
        try:
            with self.conn.transaction():
                repo.analyze_tables(self.conn)
        except psycopg.errors.InsufficientPrivilege:
            logger.info("cannot ANALYZE (not the owner); relying on autovacuum")


def _tables(
    prepared: Sequence[PreparedMessage], new_blobs: list[BlobRow]
) -> list[Sequence[Row]]:
    """The batch's rows, one list per table, in the order they are staged."""
    return [
        [m.message for m in prepared],
        [m.content for m in prepared if m.content is not None],
        [a for m in prepared for a in m.attachments],
        new_blobs,
        [f for m in prepared for f in m.facts],
    ]
