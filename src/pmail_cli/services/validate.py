"""pmail validate: prove that nothing was lost and nothing crossed tenants.

Every check is one SQL file (sql/queries/validate/<name>.sql) that selects the rows
breaking one rule of docs/schema.md; `--deep` also rebuilds every stored message and
file from its bytes in worker processes and compares sha256 and size. Read-only,
unless `repair` is asked for: then only the provably safe repairs run, each
reported with its count before and after.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from pmail_cli.db import Connection
from pmail_cli.mail.rawsplit import Splice
from pmail_cli.mail.verify import (
    Checked,
    Dicts,
    Finding,
    StoredMessage,
    check_files,
    check_messages,
)
from pmail_cli.repository import retention as retention_repo
from pmail_cli.repository import sqlbodies as sqlbodies_repo
from pmail_cli.repository import tenants as tenants_repo
from pmail_cli.repository import validate as repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import audit, reports, sqlbodies
from pmail_cli.services.tenants import every_tenant, scoped
from pmail_cli.workerproc import WorkerPool, worker_count, worker_pool

SAMPLE_CAP = 10  # rows named per problem
DEEP_CHUNK = 500  # rows per worker task


@dataclass(frozen=True, slots=True)
class Check:
    """One rule validate checks, and what --repair may do about it."""

    name: str
    rule: str
    repair: str | None = None


_ROLLUPS = Check(
    "rollups_disagree",
    "the report rollups equal the base tables",
    "rebuild the rollups (`pmail analytics rebuild`)",
)
_SUPPRESSIONS = Check(
    "suppressions_disagree",
    "the suppression list equals what the stored evidence says",
    "rebuild the rollups and the suppression list (`pmail analytics rebuild`)",
)
CHECKS: tuple[Check, ...] = (
    Check("messages_without_content", "every message not purged has its content"),
    Check("content_without_message", "every content row has its message"),
    Check(
        "attachments_without_content", "every attachment row has its message's content"
    ),
    Check("rows_in_wrong_tenant", "rows of a message live in that message's tenant"),
    Check("blobs_missing", "every attachment row's file is stored"),
    Check(
        "blobs_unreferenced",
        "every stored file is referred to",
        "delete the files no attachment row refers to",
    ),
    Check("missing_dictionaries", "every dictionary a row needs exists"),
    Check(
        "size_mismatches",
        "recorded sizes agree with the stored bytes",
        "recompute compressed sizes from the bytes; with --deep, a message's raw "
        "size from its verified content",
    ),
    Check("broken_parent_links", "every parent link points at a stored message"),
    Check("cross_tenant_links", "no parent link crosses tenants"),
    _ROLLUPS,
    _SUPPRESSIONS,
    Check("imap_checkpoints_ahead", "no IMAP checkpoint is past the mail stored"),
    Check(
        "tenant_names",
        "no tenant name holds control or format characters (rename them: `pmail "
        "tenant set ID --rename NEW`)",
    ),
    Check(
        "search_documents",
        "every message has a full-text document exactly when its tenant's search is on",
        "build the missing documents, drop those of tenants with search off",
    ),
    Check(
        "sql_bodies",
        "content_html and headers are filled exactly when the tenant's --sql-bodies is"
        " on (held mail keeps them)",
        "fill or clear them (the tenant's backfill, in committed batches)",
    ),
)
DEEP_CHECKS: tuple[Check, ...] = (
    Check(
        "raw_messages",
        "every stored message rebuilds to its sha256 and size (--deep)",
        "set a raw size to that of bytes whose sha256 matches",
    ),
    Check(
        "stored_files", "every stored file decompresses to its sha256 and size (--deep)"
    ),
)


@dataclass(slots=True)
class Outcome:
    """What one check found (after any repair)."""

    name: str
    rule: str
    count: int
    sample: list[str]
    repaired: str | None = None  # "<action>: <before> -> <after>"

    @property
    def status(self) -> str:
        """ok or problem."""
        return "ok" if self.count == 0 else "problem"


@dataclass(frozen=True, slots=True)
class DeepStats:
    """What --deep read and how fast."""

    messages: int
    files: int
    nbytes: int
    seconds: float
    workers: int


@dataclass(slots=True)
class Report:
    """Everything one validate run found."""

    totals: repo.Totals
    outcomes: list[Outcome] = field(default_factory=list)
    deep: DeepStats | None = None

    @property
    def problems(self) -> int:
        """How many checks found something."""
        return sum(1 for o in self.outcomes if o.count)


def _scope(conn: Connection, tenant: Tenant | None) -> AbstractContextManager[None]:
    return scoped(conn, tenant) if tenant else every_tenant(conn)


def validate(
    conn: Connection,
    tenant: Tenant | None,
    *,
    deep: bool = False,
    sample: int | None = None,
    repair: bool = False,
    jobs: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> Report:
    """Run every check (and the deep ones if asked) for a tenant or every tenant."""
    tenant_id = tenant.tenant_id if tenant else None
    with _scope(conn, tenant):
        report = Report(repo.totals(conn, tenant_id=tenant_id))
    for check in CHECKS:
        report.outcomes.append(_run(conn, tenant, check))
    findings: list[Finding] = []
    if deep:
        (findings, files), report.deep = _deep(
            conn, tenant, sample, jobs, on_progress, on_total
        )
        names = _names(conn, tenant)
        report.outcomes.append(_from_findings(DEEP_CHECKS[0], findings, names))
        report.outcomes.append(_from_findings(DEEP_CHECKS[1], files, names))
    if repair:
        if deep:
            _repair_raw_sizes(conn, tenant, report.outcomes[-2], findings, names)
        # a message's raw size is copied from its content only when --deep has just
        # proved every content row's size right
        _repair(conn, tenant, report, verified=deep and sample is None)
    return report


def _run(conn: Connection, tenant: Tenant | None, check: Check) -> Outcome:
    with _scope(conn, tenant):
        found = repo.run_check(
            conn,
            check.name,
            tenant_id=tenant.tenant_id if tenant else None,
            cap=SAMPLE_CAP,
        )
    return Outcome(check.name, check.rule, found.count, found.sample)


def _repair(
    conn: Connection, tenant: Tenant | None, report: Report, *, verified: bool
) -> None:
    """Run the safe repair of every check that found something; check again.

    Sizes first: the rollups are rebuilt from the repaired sizes.
    """
    tenant_id = tenant.tenant_id if tenant else None
    found = {o.name: o for o in report.outcomes if o.count}
    if "size_mismatches" in found:
        with _scope(conn, tenant):
            rows = repo.repair_sizes(conn, tenant_id=tenant_id, message_sizes=verified)
            _audit_repair(conn, tenant, "size_mismatches", rows=rows)
    if "blobs_unreferenced" in found:
        with _scope(conn, tenant):
            freed = retention_repo.delete_unreferenced_blobs(
                conn, tenant_id=tenant_id, hashes=None
            )
            _audit_repair(
                conn,
                tenant,
                "blobs_unreferenced",
                files=freed.files,
                stored_bytes=freed.stored_bytes,
            )
    if "search_documents" in found:
        with _scope(conn, tenant):
            rows = tenants_repo.sync_search_documents(conn, tenant_id=tenant_id)
            _audit_repair(conn, tenant, "search_documents", rows=rows)
    if "sql_bodies" in found:
        _repair_sql_bodies(conn, tenant)
    repaired = [c for c in CHECKS if c.repair and c.name in found]
    sizes_moved = repaired or "raw_messages" in found
    if sizes_moved and _run(conn, tenant, _ROLLUPS).count:
        reports.rebuild(conn, tenant)
        repaired.append(_ROLLUPS)
    elif "suppressions_disagree" in found:
        reports.rebuild(conn, tenant)
    for check in dict.fromkeys(repaired):
        before = found.get(check.name)
        after = _run(conn, tenant, check)
        after.repaired = (
            f"{check.repair}: {before.count if before else 0} -> {after.count}"
        )
        i = next(i for i, o in enumerate(report.outcomes) if o.name == check.name)
        report.outcomes[i] = after


def _repair_sql_bodies(conn: Connection, tenant: Tenant | None) -> None:
    with every_tenant(conn):
        every = [tenant] if tenant else tenants_repo.all_tenants(conn)
    for one in every:
        with scoped(conn, one):
            sqlbodies_repo.start_backfill(conn, tenant_id=one.tenant_id)
        done = sqlbodies.run_backfill(conn, one)
        with scoped(conn, one):
            _audit_repair(
                conn, one, "sql_bodies", filled=done.filled, cleared=done.cleared
            )


def _audit_repair(
    conn: Connection, tenant: Tenant | None, check: str, **result: object
) -> None:
    """Record one repair of `validate --repair` in its transaction."""
    audit.record(
        conn,
        "validate repair",
        tenant_id=tenant.tenant_id if tenant else None,
        params={"check": check},
        result=result,
    )


def _from_findings(
    check: Check, findings: Sequence[Finding], names: dict[str, str]
) -> Outcome:
    sample = [
        f"{names.get(f.tenant_id, f.tenant_id)}: {f.item}: {f.problem}"
        for f in findings[:SAMPLE_CAP]
    ]
    return Outcome(check.name, check.rule, len(findings), sample)


def _names(conn: Connection, tenant: Tenant | None) -> dict[str, str]:
    if tenant:
        return {str(tenant.tenant_id): tenant.name}
    with every_tenant(conn):
        return {str(t.tenant_id): t.name for t in tenants_repo.all_tenants(conn)}


def _repair_raw_sizes(
    conn: Connection,
    tenant: Tenant | None,
    outcome: Outcome,
    findings: list[Finding],
    names: dict[str, str],
) -> None:
    """Sizes --deep proved wrong (the bytes match their sha256) are rewritten."""
    fixable = [f for f in findings if f.actual_size is not None]
    if not fixable:
        return
    with _scope(conn, tenant):
        for f in fixable:
            assert f.actual_size is not None
            repo.repair_raw_size(
                conn,
                tenant_id=uuid.UUID(f.tenant_id),
                storage_key=f.item,
                raw_size_bytes=f.actual_size,
            )
        _audit_repair(
            conn, tenant, "raw_sizes", keys=[f.item for f in fixable], rows=len(fixable)
        )
    left = [f for f in findings if f.actual_size is None]
    outcome.count = len(left)
    outcome.sample = _from_findings(DEEP_CHECKS[0], left, names).sample
    outcome.repaired = f"{DEEP_CHECKS[0].repair}: {len(findings)} -> {len(left)}"


def _deep(
    conn: Connection,
    tenant: Tenant | None,
    sample: int | None,
    jobs: int,
    on_progress: Callable[[int, int], None] | None,
    on_total: Callable[[int], None] | None,
) -> tuple[tuple[list[Finding], list[Finding]], DeepStats]:
    """Rebuild every stored message and file (or a sample) in worker processes."""
    tenant_id = tenant.tenant_id if tenant else None
    workers = worker_count(jobs)
    started = time.perf_counter()
    with _scope(conn, tenant):
        n_messages, n_files = repo.deep_totals(conn, tenant_id=tenant_id, sample=sample)
        if on_total:
            on_total(n_messages + n_files)
        dicts = repo.dictionaries(conn, tenant_id=tenant_id)
        with _Fanout(workers, on_progress) as fan:
            for rows in repo.stored_messages(
                conn, tenant_id=tenant_id, sample=sample, chunk=DEEP_CHUNK
            ):
                fan.submit(
                    "messages",
                    check_messages,
                    rows,
                    _needed(rows, dicts),
                    _files(conn, rows),
                )
            for files in repo.stored_files(
                conn, tenant_id=tenant_id, sample=sample, chunk=DEEP_CHUNK
            ):
                fan.submit("files", check_files, files)
    stats = DeepStats(
        fan.rows["messages"],
        fan.rows["files"],
        fan.nbytes,
        time.perf_counter() - started,
        workers,
    )
    return (fan.findings["messages"], fan.findings["files"]), stats


def _needed(rows: Sequence[StoredMessage], dicts: Dicts) -> Dicts:
    wanted = {(r.tenant_id, r.dict_id) for r in rows if r.dict_id is not None}
    return {k: dicts[k] for k in wanted if k in dicts}


def _files(
    conn: Connection, rows: Sequence[StoredMessage]
) -> dict[tuple[str, bytes], tuple[str, bytes]]:
    wanted = sorted(
        {
            (r.tenant_id, Splice.from_json(s).sha256)
            for r in rows
            if r.raw_form == "spliced"
            for s in r.raw_splices or []
        }
    )
    return repo.files_by_hash(conn, wanted=wanted)


class _Fanout:
    """Chunks to worker processes (inline with one worker), a few in flight."""

    def __init__(
        self, workers: int, on_progress: Callable[[int, int], None] | None
    ) -> None:
        self.workers = workers
        self.on_progress = on_progress
        self.pool: WorkerPool | None = None
        self.flight: deque[tuple[str, Future[Checked]]] = deque()
        self.rows = {"messages": 0, "files": 0}
        self.nbytes = 0
        self.findings: dict[str, list[Finding]] = {"messages": [], "files": []}

    def __enter__(self) -> _Fanout:
        if self.workers > 1:
            self.pool = worker_pool(self.workers, ("pmail_cli.mail.verify",))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                while self.flight:
                    self._collect()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, kind: str, fn: Callable[..., Checked], *args: object) -> None:
        if self.pool is None:
            self._count(kind, fn(*args))
            return
        while len(self.flight) >= 2 * self.workers:
            self._collect()
        self.flight.append((kind, self.pool.submit(fn, *args)))

    def _collect(self) -> None:
        kind, future = self.flight.popleft()
        self._count(kind, future.result())

    def _count(self, kind: str, checked: Checked) -> None:
        self.rows[kind] += checked.rows
        self.nbytes += checked.nbytes
        self.findings[kind].extend(checked.findings)
        if self.on_progress:
            self.on_progress(checked.rows, checked.nbytes)


def outcomes_of(report: Report) -> Iterator[dict[str, object]]:
    """One record per check: name, status, count, sample (and any repair)."""
    for o in report.outcomes:
        record: dict[str, object] = {
            "name": o.name,
            "status": o.status,
            "count": o.count,
            "sample": o.sample,
        }
        if o.repaired:
            record["repaired"] = o.repaired
        yield record
