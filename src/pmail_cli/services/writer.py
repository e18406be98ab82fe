"""The one batch writer: every source's messages reach the tables through here.

One call, one transaction: COPY the prepared rows into staging tables, link inbound
messages to their parents, insert what the tenant does not have yet, move parents'
status, then run the hooks the caller passed (a source's checkpoint, a job log, …)
in the same transaction, commit, and only then tell the hooks that it committed.
The writer knows nothing about where messages came from.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from pmail_cli.batch import Batch, BatchHook, Written
from pmail_cli.db import Connection
from pmail_cli.errors import PmailError
from pmail_cli.mail.prepare import PreparedMessage
from pmail_cli.mail.verify import check_files
from pmail_cli.repository import linking
from pmail_cli.repository import writer as repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.rows import BlobRow, Row
from pmail_cli.services.tenants import rewrites_stored_bytes, scoped

logger = logging.getLogger(__name__)

ANALYZE_FIRST = 400  # messages stored before the first ANALYZE, then doubling


@dataclass(slots=True)
class BatchWriter:
    """Writes batches for any tenant on one connection; keeps statistics current."""

    conn: Connection
    stored: int = 0  # messages this writer has stored
    _staging: bool = False
    _analyze_at: int = field(default=ANALYZE_FIRST)
    # (tenant, sha256, row version) of stored files this writer has checked before
    # reusing them
    _checked: set[tuple[uuid.UUID, bytes, str | None]] = field(default_factory=set)

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
        for sha, version in sorted(known.items()):
            self._check_reused(tenant, blobs[sha], version)
        new_blobs: list[BlobRow] = [b for sha, b in blobs.items() if sha not in known]
        for rows in _tables(batch.prepared, new_blobs):
            repo.copy_rows(conn, tenant_id=tenant_id, rows=rows)
        linked_before = linking.link_staged(conn, tenant_id=tenant_id)
        keys, files = repo.insert_staged(conn)
        if keys:  # a file another session stored between the lookup and the insert
            for blob in new_blobs:
                if blob.sha256 not in files:
                    self._check_reused(tenant, blob, None)
        children = self._link(tenant, keys, linked_before, parent_status, link_waiting)
        return Written(
            tenant,
            batch,
            frozenset(keys),
            tuple(children),
            sum(len(b.data) for b in new_blobs),
        )

    def _check_reused(self, tenant: Tenant, blob: BlobRow, version: str | None) -> None:
        """A file the tenant stores already is reused, not written again: check once
        per writer that the stored row's bytes are that file. A tenant's login may
        insert `attachment_blobs` rows, so a row with a file's hash and other bytes
        could be planted ahead of the real file, which every later message would then
        have lost (found by a red-team pass, 2026-12-07). A trusted session puts the
        right bytes back; a tenant's login may not rewrite a stored file, so its batch
        stops with an error naming the file. A row is checked again when it is
        another row than the one checked (`version`, its xmin: deleted as unreferenced
        and planted again), or when its version is not known."""
        if (tenant.tenant_id, blob.sha256, version) in self._checked:
            return
        stored = repo.stored_file(
            self.conn,
            tenant_id=tenant.tenant_id,
            sha256=blob.sha256,
            size_bytes=blob.size_bytes,
        )
        # (a frame may not unpack to more than the file's own size: a planted row
        # must not make the writer allocate what its frame claims)
        if stored is not None and check_files([stored], limit=blob.size_bytes).findings:
            logger.warning(
                "stored file %s of tenant %s did not hold that file's bytes; writing "
                "them again",
                blob.sha256.hex(),
                tenant.name,
            )
            if not rewrites_stored_bytes(self.conn):
                raise PmailError(
                    f"the stored file {blob.sha256.hex()} of tenant {tenant.name} does "
                    "not hold the bytes its sha256 names, and a tenant's login may not "
                    "rewrite a stored file",
                    hint="ingest this mail once as the owner or a member of "
                    "pmail_admin (the file is written again), then resume",
                )
            if not repo.repair_stored_file(
                self.conn, tenant_id=tenant.tenant_id, blob=blob
            ):  # (the row is locked since the look-up: this is not expected)
                raise PmailError(
                    f"the stored file {blob.sha256.hex()} of tenant {tenant.name} "
                    "went away while it was being written again",
                    hint="run the command again",
                )
            return  # a new version now: checked when it is next reused
        if version is not None:
            self._checked.add((tenant.tenant_id, blob.sha256, version))

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
