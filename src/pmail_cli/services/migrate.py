"""`pmail migrate-legacy`: move the legacy content tables into pmail's, resumably.

Steps, each resumable from its recorded position (docs/migrate-legacy.md):

1. the schema: pending migrations, a legacy `attachments` table moved aside;
2. set-up: a pmail tenant per legacy tenant, the sending accounts legacy messages
   name, an index on the legacy attachments by message when there is none, and a
   first dictionary per tenant trained on its legacy bodies;
3. `messages`: every legacy message row, with its content and files, through the
   one pipeline and batch writer (several writers on connections of their own, each
   with its own tenants, when asked); the position moves past a page once every
   tenant's share of it has committed;
4. `orphan_content`: content rows no message row refers to;
5. `orphan_attachments`: files whose message has no content row, kept in the
   anomaly table with their bytes;
6. `checks`: messages that share a Message-ID.

The legacy rows are only ever read.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime

from pmail_cli import migrations
from pmail_cli.db import Connection, as_bytes
from pmail_cli.errors import NotFound, PmailError
from pmail_cli.mail.compress import compress
from pmail_cli.mail.legacy import ATTACHMENTS, file_sha256, prepare_legacy_batch
from pmail_cli.mail.legacy_bundle import bundle_json
from pmail_cli.repository import legacy as repo
from pmail_cli.repository import linking
from pmail_cli.repository import tenants as tenants_repo
from pmail_cli.repository import writer as writer_repo
from pmail_cli.repository.legacy import AnomalyRow, LegacyTables
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import dicts, schema, tenants
from pmail_cli.services.pipeline import Pipeline, PipelineOptions, PipelineResult
from pmail_cli.sources import WorkItem
from pmail_cli.sources.legacy import (
    STEP_MESSAGES,
    STEP_ORPHAN_ATTACHMENTS,
    STEP_ORPHAN_CONTENT,
    LegacyCheckpoint,
    LegacySource,
)

STEP_CHECKS = "checks"
STEPS = (STEP_MESSAGES, STEP_ORPHAN_CONTENT, STEP_ORPHAN_ATTACHMENTS, STEP_CHECKS)
INDEX_NAME = "pmail_legacy_attachments_by_message"
SAMPLES_PER_TENANT = 1000
REFS, CONTENT = "content_inbox_message_refs", "content_objects"


@dataclass(slots=True)
class MigrationResult:
    """What a run did."""

    moved_aside: str | None = None
    tenants_created: int = 0
    accounts_created: int = 0
    index_created: bool = False
    dictionaries_trained: int = 0
    rows_read: int = 0
    stored: int = 0
    already_there: int = 0
    orphan_attachments: int = 0
    linked_late: int = 0  # children linked after their parents arrived
    seconds: float = 0.0
    anomalies: list[tuple[str, int]] = field(default_factory=list)


def find_legacy(conn: Connection, legacy_schema: str | None) -> LegacyTables:
    """The legacy tables of a schema (default: pmail's own), or a clear refusal."""
    with conn.transaction():
        name = legacy_schema or repo.current_schema(conn)
        shapes = repo.table_shapes(conn, schema=name)
    if REFS not in shapes or CONTENT not in shapes:
        if f"{REFS}_archived" in shapes:
            raise PmailError(
                f"the legacy tables of schema {name} are archived already "
                f"({REFS}_archived, {CONTENT}_archived)",
                hint="nothing to migrate; `pmail migrate-legacy --archive` printed the "
                "undo when it archived them",
            )
        missing = REFS if REFS not in shapes else CONTENT
        raise NotFound(
            f"no legacy table {name}.{missing} in this database",
            hint="name the schema that holds the legacy tables with --legacy-schema",
        )
    aside = shapes.get(schema.ASIDE)
    if aside is not None and aside.has_content and not aside.has_tenant_id:
        return LegacyTables(name, attachments=schema.ASIDE)
    found = shapes.get("attachments")
    if found is None or found.has_tenant_id:
        raise NotFound(
            f"no legacy attachments table in schema {name}",
            hint="the legacy layout has an `attachments` table with a `content` column",
        )
    return LegacyTables(name)


ARCHIVED = "archived after verify passed"  # the reason --archive records


@dataclass(frozen=True, slots=True)
class Located:
    """The legacy tables, where they are now (renamed, once --archive has run)."""

    tables: LegacyTables
    archived_at: datetime | None = None


def locate_legacy(conn: Connection, legacy_schema: str | None) -> Located:
    """The legacy tables as they are, or as `--archive` left them (for --status and
    --verify, which still have something to say after the archive)."""
    try:
        return Located(find_legacy(conn, legacy_schema))
    except PmailError:
        found = _archived(conn, legacy_schema)
        if found is None:
            raise
        return found


def _archived(conn: Connection, legacy_schema: str | None) -> Located | None:
    if migrations.pending(conn):
        return None
    with tenants.every_tenant(conn):
        name = legacy_schema or repo.current_schema(conn)
        shapes = repo.table_shapes(conn, schema=name)
        renames = [
            r
            for r in repo.list_renames(conn)
            if r.schema_name == name and r.reason == ARCHIVED and r.to_name in shapes
        ]
    now = {r.from_name: r.to_name for r in renames}
    files = now.get(schema.ASIDE) or now.get("attachments")
    if REFS not in now or CONTENT not in now or files is None:
        return None
    tables = LegacyTables(name, refs=now[REFS], content=now[CONTENT], attachments=files)
    return Located(tables, max(r.renamed_at for r in renames))


def _setup(conn: Connection, tables: LegacyTables, result: MigrationResult) -> None:
    with tenants.every_tenant(conn):
        result.tenants_created = repo.ensure_tenants(conn, tables=tables)
        for tenant_id, account_id, email in repo.legacy_accounts(conn, tables=tables):
            address = email or f"account-{account_id}@legacy.invalid"
            added = repo.insert_account(
                conn, tenant_id=tenant_id, email_account_id=account_id, email=address
            ) or repo.insert_account(
                conn,
                tenant_id=tenant_id,
                email_account_id=account_id,
                email=f"account-{account_id}@legacy.invalid",
            )
            result.accounts_created += int(added)
            repo.insert_anomalies(
                conn,
                anomalies=[
                    AnomalyRow(
                        "unknown_account",
                        REFS,
                        str(account_id),
                        str(tenant_id),
                        f"email_accounts row created as {address}",
                    )
                ],
            )
    with conn.transaction():
        indexed = repo.parent_index_exists(conn, tables=tables)
    if not indexed:  # CREATE INDEX CONCURRENTLY runs outside a transaction
        conn.autocommit = True
        try:
            repo.create_parent_index(conn, tables=tables, name=INDEX_NAME)
        finally:
            conn.autocommit = False
        result.index_created = True


def _all_tenants(conn: Connection) -> dict[uuid.UUID, Tenant]:
    with conn.transaction():
        return {t.tenant_id: t for t in tenants_repo.all_tenants(conn)}


def _train(
    conn: Connection,
    reader: Connection,
    tables: LegacyTables,
    known: dict[uuid.UUID, Tenant],
) -> int:
    """Train a first dictionary for each tenant without one, on its legacy bodies."""
    need = [t for t in known.values() if dicts.current_dictionary(conn, t) is None]
    if not need:
        return 0
    with reader.transaction():
        rows = repo.dictionary_samples(
            reader,
            tables=tables,
            tenant_ids=[t.tenant_id for t in need],
            per_tenant=SAMPLES_PER_TENANT,
        )
    samples: dict[uuid.UUID, list[bytes]] = defaultdict(list)
    for row in rows:
        key = uuid.UUID(str(row["tenant_id"]))
        text, html = row["content_text"], row["content_html"]
        samples[key].append(
            bundle_json(
                None if row["headers"] is None else str(row["headers"]),
                None if text is None else str(text),
                None if html is None else str(html),
            )[: dicts.SAMPLE_PREFIX]
        )
    trained = 0
    for tenant in need:
        if len(samples[tenant.tenant_id]) >= dicts.MIN_SAMPLES:
            dicts.train_from_samples(conn, tenant, samples[tenant.tenant_id])
            trained += 1
    return trained


def migrate(
    conn: Connection,
    reader: Connection,
    *,
    legacy_schema: str | None,
    batch_size: int,
    jobs: int = 0,
    writers: int = 1,
    connect: Callable[[], AbstractContextManager[Connection]] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> MigrationResult:
    """Run (or continue) the migration; killed at any point, a rerun finishes it.

    With `writers` above one (and `connect` to open their connections), the tenants
    are split among that many batch writers, each on a connection of its own with its
    own worker processes; one reader hands each its tenants' rows.
    """
    started = time.monotonic()
    result = MigrationResult(moved_aside=schema.upgrade(conn).move_aside)
    tables = find_legacy(conn, legacy_schema)
    _setup(conn, tables, result)
    known = _all_tenants(conn)
    result.dictionaries_trained = _train(conn, reader, tables, known)
    steps = _steps(conn)
    source = LegacySource(reader, tables, known, page_size=batch_size)
    groups = _split(known, writers if connect is not None else 1)
    with _Writers(conn, connect, groups, jobs, batch_size, on_progress) as run:
        for step, items in (
            (STEP_MESSAGES, source.messages),
            (STEP_ORPHAN_CONTENT, source.orphan_content),
        ):
            done = steps.get(step)
            if done is not None and done.finished is not None:
                continue
            pages = _Pages(step)
            source.on_page = pages.read
            piped = run.run(items(done.last_key or "" if done else ""), pages)
            result.stored += piped.added
            result.already_there += piped.duplicates
            _finish(conn, step)
    result.rows_read = source.rows
    result.linked_late = _link_waiting(conn, known)
    result.orphan_attachments = _orphan_attachments(conn, reader, tables, steps)
    if STEP_CHECKS not in steps or steps[STEP_CHECKS].finished is None:
        with tenants.every_tenant(conn):
            repo.record_duplicate_ids(conn)
            repo.save_step(conn, step=STEP_CHECKS, last_key=None, rows=0, finished=True)
    with tenants.every_tenant(conn):
        result.anomalies = repo.anomaly_counts(conn)
    result.seconds = time.monotonic() - started
    return result


def _split(known: dict[uuid.UUID, Tenant], writers: int) -> list[set[uuid.UUID]]:
    """The tenants of each writer: at most one writer per tenant, in turn."""
    count = max(1, min(writers, len(known)))
    groups: list[set[uuid.UUID]] = [set() for _ in range(count)]
    for i, tenant_id in enumerate(sorted(known)):
        groups[i % count].add(tenant_id)
    return groups


class _Pages:
    """The pages of one step handed on and not yet committed, in read order: the
    step's position moves past a page once each of its tenants' last rows has
    committed, and past no page before an earlier one (writers run at their own
    pace). A run killed in between rereads from the position; what it had stored
    already is skipped as already there."""

    def __init__(self, step: str) -> None:
        self.step = step
        self._lock = threading.Lock()
        self._open: dict[str, list[int]] = {}  # last key -> [tenants to go, rows]

    def read(self, last_key: str, rows: int, tenant_count: int) -> None:
        """A page was handed on to the writers."""
        with self._lock:
            self._open[last_key] = [tenant_count, rows]

    def done(self, conn: Connection, last_key: str) -> None:
        """One tenant's share of the page has committed (on this writer's `conn`)."""
        with self._lock:
            self._open[last_key][0] -= 1
            ready: list[tuple[str, int]] = []
            for key, (left, rows) in self._open.items():
                if left > 0:
                    break
                ready.append((key, rows))
            if not ready:
                return
            for key, _ in ready:
                del self._open[key]
            with tenants.every_tenant(conn):
                repo.save_step(
                    conn,
                    step=self.step,
                    last_key=ready[-1][0],
                    rows=sum(rows for _, rows in ready),
                    finished=False,
                )


_END = WorkItem(origin="(end of the step)")  # the last thing a writer's queue holds
QUEUED = 4  # pages' worth of rows a writer may have waiting


class _Writers:
    """The batch writers of a run: one on the run's connection, or one per group of
    tenants, each in a thread with its own connection and pipeline."""

    def __init__(
        self,
        conn: Connection,
        connect: Callable[[], AbstractContextManager[Connection]] | None,
        groups: list[set[uuid.UUID]],
        jobs: int,
        batch_size: int,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        self.conn, self.connect, self.groups = conn, connect, groups
        self.jobs, self.batch_size = jobs, batch_size
        self.options = PipelineOptions(
            batch_messages=batch_size,
            auto_train_at=0,
            parent_status=False,
            link_waiting=False,
        )
        lock = threading.Lock()

        def progress(n: int) -> None:
            if on_progress is not None:
                with lock:
                    on_progress(n)

        self.progress = progress
        self._pipeline = Pipeline(conn, jobs=jobs)  # the run's own connection's

    def __enter__(self) -> _Writers:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pipeline.close()

    def _pipe(
        self, pipeline: Pipeline, items: Iterable[WorkItem], pages: _Pages
    ) -> PipelineResult:
        return pipeline.run(
            items,
            tenant=None,
            options=self.options,
            hooks=[LegacyCheckpoint(functools.partial(pages.done, pipeline.conn))],
            on_progress=self.progress,
            prepare=prepare_legacy_batch,
        )

    def run(self, items: Iterator[WorkItem], pages: _Pages) -> PipelineResult:
        """Store every item; each tenant's by its writer, in source order."""
        if len(self.groups) == 1 or self.connect is None:
            return self._pipe(self._pipeline, items, pages)
        writer_of = {t: i for i, group in enumerate(self.groups) for t in group}
        inboxes: list[queue.Queue[WorkItem]] = [
            queue.Queue(maxsize=self.batch_size * QUEUED) for _ in self.groups
        ]
        results: list[PipelineResult | BaseException | None] = [None] * len(inboxes)
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=self._writer,
                args=(inbox, pages, results, i, stop),
                name=f"pmail-writer-{i}",
                daemon=True,
            )
            for i, inbox in enumerate(inboxes)
        ]
        for thread in threads:
            thread.start()
        try:
            for item in items:
                assert item.tenant is not None
                if stop.is_set():  # a writer failed: read no further
                    break
                self._hand(inboxes[writer_of[item.tenant.tenant_id]], item, stop)
        except BaseException:
            stop.set()  # the writers commit what they prepared, and end
            raise
        finally:
            for inbox in inboxes:
                self._hand(inbox, _END, stop)
            for thread in threads:
                thread.join()
        total = PipelineResult()
        for got in results:
            if isinstance(got, BaseException):
                raise got
            if got is not None:
                total.added += got.added
                total.duplicates += got.duplicates
        return total

    @staticmethod
    def _hand(
        inbox: queue.Queue[WorkItem], item: WorkItem, stop: threading.Event
    ) -> None:
        """Queue an item for a writer, unless a writer has failed (the run ends)."""
        while not stop.is_set():
            try:
                inbox.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _writer(
        self,
        inbox: queue.Queue[WorkItem],
        pages: _Pages,
        results: list[PipelineResult | BaseException | None],
        index: int,
        stop: threading.Event,
    ) -> None:
        def items() -> Iterator[WorkItem]:
            while not stop.is_set():
                try:
                    item = inbox.get(timeout=0.2)
                except queue.Empty:
                    continue
                if item is _END:
                    return
                yield item

        assert self.connect is not None
        try:
            with self.connect() as conn, Pipeline(conn, jobs=self.jobs) as pipeline:
                results[index] = self._pipe(pipeline, items(), pages)
        except BaseException as exc:  # handed to the run's thread, which raises it
            results[index] = exc
            stop.set()


def _link_waiting(conn: Connection, known: dict[uuid.UUID, Tenant]) -> int:
    """Link children stored before their parents, once, tenant by tenant (cheaper
    than after every batch: legacy key order is not time order)."""
    linked = 0
    for tenant in known.values():
        with tenants.scoped(conn, tenant):
            # a link moves a campaign onto a reply or bounce, and the suppression
            # triggers rewrite its address's rows: an ingest batch of the tenant
            # doing the same at once would leave the later commit a duplicate key
            writer_repo.lock_tenant_writes(conn, tenant_id=tenant.tenant_id)
            linked += len(linking.link_all_waiting(conn, tenant_id=tenant.tenant_id))
    return linked


def _steps(conn: Connection) -> dict[str, repo.Step]:
    with conn.transaction():
        return {s.step: s for s in repo.get_steps(conn)}


def _finish(conn: Connection, step: str) -> None:
    with conn.transaction():
        repo.save_step(conn, step=step, last_key=None, rows=0, finished=True)


def _orphan_attachments(
    conn: Connection,
    reader: Connection,
    tables: LegacyTables,
    steps: dict[str, repo.Step],
    page: int = 500,
) -> int:
    """Keep files whose message has no content row in the anomaly table, bytes and all."""
    done = steps.get(STEP_ORPHAN_ATTACHMENTS)
    if done is not None and done.finished is not None:
        return 0
    after = int(done.last_key) if done is not None and done.last_key else 0
    kept = 0
    while True:
        with reader.transaction():
            rows = repo.orphan_attachments_page(
                reader, tables=tables, after=after, limit=page
            )
        if not rows:
            break
        anomalies = [_orphan_file(row, tables) for row in rows]
        after = int(str(rows[-1]["id"]))
        with tenants.every_tenant(conn):
            repo.insert_anomalies(conn, anomalies=anomalies)
            repo.save_step(
                conn,
                step=STEP_ORPHAN_ATTACHMENTS,
                last_key=str(after),
                rows=len(rows),
                finished=False,
            )
        kept += len(rows)
    _finish(conn, STEP_ORPHAN_ATTACHMENTS)
    return kept


def _orphan_file(row: dict[str, object], tables: LegacyTables) -> AnomalyRow:
    data = as_bytes(row["content"])
    parent = row["parent_storage_key"]
    tenant = row["tenant_id"]
    where = "a message without content" if tenant is not None else "no message at all"
    return AnomalyRow(
        kind="orphan_attachment",
        legacy_table=ATTACHMENTS,
        legacy_key=str(row["id"]),
        tenant_id=None if tenant is None else str(tenant),
        detail=(
            f"parent_storage_key {parent!r} is {where}; filename {row['filename']!r}, "
            f"mime_type {row['mime_type']!r}, {len(data)} bytes kept here (zstd)"
        ),
        sha256=file_sha256(data),
        data=compress(data, None).data,
    )


def rows_to_do(conn: Connection, *, legacy_schema: str | None) -> tuple[int, int]:
    """(legacy rows a run goes through, rows earlier runs already finished)."""
    tables = find_legacy(conn, legacy_schema)
    with conn.transaction():
        total = repo.count_rows(conn, tables=tables)
    if migrations.pending(conn):
        return total, 0
    steps = _steps(conn)
    done = sum(
        s.rows_done
        for name, s in steps.items()
        if name in (STEP_MESSAGES, STEP_ORPHAN_CONTENT)
    )
    return total, done


@dataclass(frozen=True, slots=True)
class Status:
    """Where a migration stands."""

    steps: list[repo.Step]
    anomalies: list[tuple[str, int]]
    legacy_rows: int
    migrated_rows: int
    tables: LegacyTables
    archived_at: datetime | None = None  # when --archive renamed the legacy tables


def status(conn: Connection, *, legacy_schema: str | None) -> Status:
    """Progress per step, anomalies by kind, rows done and left; after --archive, the
    same read from the archived tables."""
    located = locate_legacy(conn, legacy_schema)
    tables = located.tables
    if migrations.pending(conn):
        raise PmailError(
            "the migration has not started (pmail's schema is not up to date)",
            hint="run `pmail migrate-legacy`, or `--dry-run` to see what it would do",
        )
    with tenants.every_tenant(conn):
        counts = repo.verify_counts(conn, tables=tables)
        return Status(
            steps=repo.get_steps(conn),
            anomalies=repo.anomaly_counts(conn),
            legacy_rows=counts.legacy_refs + counts.legacy_content_without_refs,
            migrated_rows=counts.migrated_messages,
            tables=tables,
            archived_at=located.archived_at,
        )
