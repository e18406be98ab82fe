"""`pmail migrate-legacy --dry-run`: what a run would do and record, changing nothing.

The prediction applies the run's own rules to the legacy rows: each message row and
each content row without one goes through `mail.legacy.record_of` (the normalisation
that notes unknown directions, missing and unknown statuses, unknown types, rows
without content, content without rows and tenant mismatches), each file the run maps
through `mail.legacy.file_size_note`, each Message-ID through
`mail.legacy.legacy_message_id`; files without content, unknown accounts and the
index come from the queries the run itself uses. Anomalies are counted as the
anomaly table keeps them: once per kind and legacy row. Only the bodies are left
unread, since no rule looks at them.

The time estimate reads and maps a sample page the way the run does and scales it by
a factor measured against real runs (docs/migrate-legacy.md, docs/performance.md).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pmail_cli.db import Connection, as_bytes
from pmail_cli.mail.legacy import (
    LegacyRow,
    Note,
    file_size_note,
    legacy_message_id,
    prepare_legacy_batch,
    record_of,
)
from pmail_cli.mail.legacy_bundle import header_pairs
from pmail_cli.mail.prepare import PrepareContext
from pmail_cli.repository import legacy as repo
from pmail_cli.repository import tenants as tenants_repo
from pmail_cli.repository.legacy import LegacyTables, Totals
from pmail_cli.services import schema
from pmail_cli.services.migrate import INDEX_NAME, REFS, find_legacy
from pmail_cli.sources import WorkItem
from pmail_cli.sources.legacy import content_row, ref_row

# Every kind the run may record, in the order docs/migrate-legacy.md lists them.
ANOMALY_KINDS = (
    "unknown_direction",
    "missing_status",
    "unknown_status",
    "unknown_message_type",
    "ref_without_content",
    "content_without_ref",
    "tenant_mismatch",
    "attachment_size_mismatch",
    "orphan_attachment",
    "unknown_account",
    "duplicate_message_id",
    "flagged",
)
SAMPLE_ROWS = 1000
# A run's seconds per legacy row, as a multiple of what the sample costs to read and
# map in one process, and its fixed cost (start-up, schema, index, dictionaries,
# checks): fitted to real runs of benchmarks/migrate.py at 10,052 and 50,252 legacy
# rows on 2 cores (docs/performance.md has the runs, estimate against real).
RUN_FACTOR = 2.85
RUN_FIXED_SECONDS = 1.6


@dataclass(frozen=True, slots=True)
class DryRun:
    """What a run would do and record; nothing was changed to find out."""

    tables: LegacyTables
    totals: Totals
    pending_migrations: list[str]
    move_aside: str | None
    index_to_build: str | None  # "<table> (parent_storage_key) as <index>"
    directions: list[tuple[str | None, int]]
    statuses: list[tuple[str | None, int]]
    message_types: list[tuple[str | None, int]]
    anomalies: list[tuple[str, int]]  # every kind, the run's count predicted
    steps: list[repo.Step]
    sample_rows: int
    sample_seconds: float  # reading and mapping the sample, one process
    estimate_seconds: float | None


def dry_run(conn: Connection, *, legacy_schema: str | None) -> DryRun:
    """Counts, the anomalies a run will record, the index it will build and a time
    estimate, read in one read-only transaction."""
    with conn.transaction():
        repo.read_only(conn)
        plan = schema.plan(conn)
        ready = not plan.pending
        if ready:  # pmail's tables exist: see every tenant's rows in them
            tenants_repo.scope_all_tenants(conn)
        tables = find_legacy(conn, legacy_schema)
        totals = repo.totals(conn, tables=tables)
        counts = {
            column: repo.value_counts(conn, tables=tables, column=column)
            for column in ("direction", "status", "message_type")
        }
        anomalies = predict_anomalies(conn, tables, totals, schema_ready=ready)
        index = _index_to_build(conn, tables, plan.move_aside)
        steps = repo.get_steps(conn) if ready else []
        sample_rows, sample_seconds = _sample(conn, tables)
    rows = totals.refs + totals.content_without_refs
    return DryRun(
        tables=tables,
        totals=totals,
        pending_migrations=[m.path.name for m in plan.pending],
        move_aside=plan.move_aside,
        index_to_build=index,
        directions=counts["direction"],
        statuses=counts["status"],
        message_types=counts["message_type"],
        anomalies=anomalies,
        steps=steps,
        sample_rows=sample_rows,
        sample_seconds=sample_seconds,
        estimate_seconds=estimate_seconds(rows, sample_rows, sample_seconds),
    )


def estimate_seconds(
    rows: int, sample_rows: int, sample_seconds: float
) -> float | None:
    """A run's seconds for `rows` legacy rows, from what the sample cost."""
    if not rows or not sample_rows:
        return None
    return RUN_FIXED_SECONDS + rows * sample_seconds / sample_rows * RUN_FACTOR


def predict_anomalies(
    conn: Connection, tables: LegacyTables, totals: Totals, *, schema_ready: bool
) -> list[tuple[str, int]]:
    """(kind, rows) the run will record for each kind, by the run's own rules."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    ids: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for make, rows in (
        (ref_row, repo.survey_refs(conn, tables=tables)),
        (content_row, repo.survey_orphan_content(conn, tables=tables)),
    ):
        _classify_rows(make, rows, found, ids)
    for legacy_id, size_bytes, true_size in repo.survey_files(conn, tables=tables):
        note = file_size_note(legacy_id, size_bytes, int(str(true_size or 0)))
        _add(found, note)
    accounts = (repo.legacy_accounts if schema_ready else repo.named_accounts)(
        conn, tables=tables
    )
    found["unknown_account"] = {(REFS, str(account)) for _, account, _ in accounts}
    if schema_ready:  # those an earlier run created are pmail's now, and recorded
        found["unknown_account"] |= repo.anomaly_keys(conn, kind="unknown_account")
    found["duplicate_message_id"] = _duplicates(conn, ids, schema_ready=schema_ready)
    counts = {kind: len(found[kind]) for kind in ANOMALY_KINDS}
    # the run keeps these files page by page with the same condition (no content row)
    counts["orphan_attachment"] = totals.attachments_without_content
    return list(counts.items())


def _classify_rows(
    make: Callable[[dict[str, object]], LegacyRow],
    rows: Iterable[dict[str, object]],
    found: dict[str, set[tuple[str, str]]],
    ids: dict[tuple[str, str], list[tuple[str, str]]],
) -> None:
    """Each row through the run's normalisation; a row it cannot normalise is one the
    run stores flagged."""
    for raw in rows:
        row = make(raw)
        try:
            record = record_of(row, ())
            mid = legacy_message_id(record.storage_key, header_pairs(record.headers))
        except Exception:  # the run's fallback stores it, flagged
            found["flagged"].add((row.table, row.storage_key))
            continue
        for note in record.notes:
            _add(found, note)
        if mid:
            ids[(record.tenant_id, mid)].append((record.table, record.storage_key))


def _add(found: dict[str, set[tuple[str, str]]], note: Note | None) -> None:
    if note is not None:
        kind, table, key, _ = note
        found[kind].add((table, key))


def _duplicates(
    conn: Connection,
    ids: dict[tuple[str, str], list[tuple[str, str]]],
    *,
    schema_ready: bool,
) -> set[tuple[str, str]]:
    """The legacy rows that will share their Message-ID with another message of their
    tenant: another legacy row, or mail pmail already stores."""
    stored: dict[tuple[str, str], int] = {}
    if schema_ready and ids:
        wanted = sorted({mid for _, mid in ids})
        stored = {
            (tenant, mid): n
            for tenant, mid, n in repo.stored_message_ids(conn, ids=wanted)
        }
    return {
        row
        for pair, rows in ids.items()
        if len(rows) + stored.get(pair, 0) > 1
        for row in rows
    }


def _index_to_build(
    conn: Connection, tables: LegacyTables, move_aside: str | None
) -> str | None:
    """The index the run's set-up will build on the legacy attachments, if any."""
    if repo.parent_index_exists(conn, tables=tables):
        return None
    name = schema.ASIDE if move_aside else tables.attachments
    return f"{tables.schema}.{name} (parent_storage_key) as {INDEX_NAME}"


def _sample(conn: Connection, tables: LegacyTables) -> tuple[int, float]:
    """Read and map the first page of legacy rows as the run does, nothing written:
    (rows, seconds). Timed: the page read, the bytes of its distinct files, and the
    mapping (the fastest of three passes, so a busy moment of the machine does not
    skew it). Not timed: finding the page's files by message, which the run does
    through the index its set-up builds and the dry run may not have yet."""
    started = time.perf_counter()
    page = repo.refs_page(conn, tables=tables, after="", limit=SAMPLE_ROWS)
    read = time.perf_counter() - started
    rows = [ref_row(r) for r in page]
    if not rows:
        return 0, 0.0
    keys = [r.storage_key for r in rows if r.has_content]
    files = repo.attachment_files(conn, tables=tables, keys=keys) if keys else []
    first: dict[bytes, int] = {}
    for f in files:
        first.setdefault(as_bytes(f["sha256"]), int(str(f["id"])))
    started = time.perf_counter()
    repo.attachment_bytes(conn, tables=tables, ids=sorted(first.values()))
    read += time.perf_counter() - started
    items = [WorkItem(r.storage_key, key=r.storage_key, record=r) for r in rows]
    ctx = PrepareContext(tenant_id=rows[0].tenant_id, direction="auto")
    passes = []
    for _ in range(3):
        started = time.perf_counter()
        prepare_legacy_batch(items, ctx)
        passes.append(time.perf_counter() - started)
    return len(rows), read + min(passes)
