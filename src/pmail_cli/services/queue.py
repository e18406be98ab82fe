"""The queue: producers (enqueue), the worker loop, status and dead letters.

A store job becomes a work item of `sources/queue.QueueSource`, which feeds the one
pipeline like any other source; IMAP syncs and analytics refreshes are handed to
their own services. See docs/queue.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection as PipeEnd
from pathlib import Path
from typing import BinaryIO

from pmail_cli import vocab
from pmail_cli.config import Settings
from pmail_cli.db import Connection, connect
from pmail_cli.errors import NotFound, PmailError, UsageError
from pmail_cli.output import counted
from pmail_cli.repository import jobs as jobs_repo
from pmail_cli.repository import tenants as tenants_repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import audit, imap_accounts, tenants
from pmail_cli.services.ingest import check_inputs
from pmail_cli.services.pipeline import Pipeline, PipelineOptions
from pmail_cli.sources import EmptyInput, ReadFailure, Skipped, TooLarge
from pmail_cli.sources.files import read_paths, reading_mode
from pmail_cli.sources.imap_session import AccountConfig
from pmail_cli.sources.queue import QueueSource, log_jobs, loggable
from pmail_cli.sources.spool import write_spooled
from pmail_cli.streams import (
    JOB_TYPES,
    PRIORITIES,
    DeadJob,
    Delivery,
    Job,
    QueueUnavailable,
    Streams,
    StreamStatus,
)
from pmail_cli.workerproc import watch_owner

logger = logging.getLogger(__name__)
QueueDay = jobs_repo.QueueDay  # the report's row type, for cli/ to name

ENQUEUE_CHUNK = 100  # jobs per round trip to Redis
PRESSURE_POLL = 0.5  # seconds between looks while the queue is full


def open_streams(settings: Settings, *, repair: bool = False) -> Streams:
    """The configured queue, its consumer group created; with repair (workers and
    the `queue` commands, not producers, whose Redis user may touch the job streams
    only), pmail's keys that hold another type first moved aside."""
    limits = settings.queue
    streams = Streams.connect(
        settings.queue_url,
        limits.prefix,
        password=limits.password,
        ca_file=limits.tls_ca_file,
        max_raw=limits.max_job_bytes,
        job_keys=limits.job_keys,
        require_signed=limits.require_signed,
    )
    if repair:
        streams.repair_keys()
    streams.ensure_groups()
    return streams


def spool_dir(settings: Settings) -> Path:
    """Where messages too large for Redis wait for a worker."""
    if settings.queue.spool_dir is not None:
        return settings.queue.spool_dir
    assert settings.data_dir is not None
    return settings.data_dir / "spool"


# --- producers ---------------------------------------------------------------------


@dataclass(slots=True)
class EnqueueResult:
    """What `pmail enqueue` handed over."""

    jobs: int = 0
    nbytes: int = 0
    spooled: int = 0
    waited: float = 0.0  # seconds spent waiting for room in the queue
    empty: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # left out by a directory walk
    failures: list[ReadFailure] = field(default_factory=list)


def _check(priority: str, tenant: str, settings: Settings) -> None:
    if priority not in PRIORITIES:
        raise vocab.refused("--priority", priority, PRIORITIES)
    if not tenant.strip():
        raise UsageError("give --tenant")
    _check_signable(tenant, settings)


def _check_signable(tenant: str, settings: Settings) -> None:
    """With require_signed, a job for a tenant without a job key here would only
    go to the dead letters: refuse it now."""
    limits = settings.queue
    if limits.require_signed and tenant not in limits.job_keys:
        raise UsageError(
            f"no job key for tenant {tenant!r}, and [queue] require_signed is set: "
            "its jobs would go to the dead letters",
            hint="add the tenant's key to [queue.job_keys] in the config file "
            "(docs/queue.md, Signed jobs)",
        )


def enqueue_paths(
    settings: Settings,
    paths: list[str],
    *,
    tenant: str,
    priority: str,
    direction: str,
    as_format: str | None = None,
    stdin: BinaryIO | None = None,
    on_wait: Callable[[int, int], None] | None = None,
) -> EnqueueResult:
    """Put every message found under paths on the queue as store jobs; returns once
    Redis holds them. Over max_job_bytes a message goes to the spool directory and
    the job names the file. Waits while the queue holds more than max_queue_bytes."""
    _check(priority, tenant, settings)
    check_inputs(paths, direction=direction, as_format=as_format, undone="enqueued")
    streams = open_streams(settings)
    limits = settings.queue
    result = EnqueueResult()
    chunk: list[Job] = []
    chunk_bytes = 0
    events = read_paths(
        paths,
        as_mbox=reading_mode(as_format),
        stdin=stdin,
        max_bytes=limits.max_message_bytes,
    )
    for event in events:
        if isinstance(event, ReadFailure):
            result.failures.append(event)
            continue
        if isinstance(event, EmptyInput):
            result.empty.append(event.origin)
            continue
        if isinstance(event, Skipped):
            result.skipped.append(event)
            continue
        if isinstance(event, TooLarge):  # never read whole (sources/reading.py)
            cut = "input cut after " if event.cut else ""
            result.failures.append(
                ReadFailure(
                    event.origin,
                    f"{cut}{event.size:,} bytes, over max_message_bytes "
                    f"({limits.max_message_bytes:,}): not enqueued",
                )
            )
            continue
        raw = event.raw or b""
        job = Job(
            "store", tenant, priority, origin=event.origin, direction=direction, raw=raw
        )
        if len(raw) > limits.max_job_bytes:
            job.raw = None
            job.spool = write_spooled(
                spool_dir(settings), f"{job.job_id}.eml", raw, tenant=tenant
            )
            job.sha256 = hashlib.sha256(raw).hexdigest()  # signed with the job
            result.spooled += 1
        chunk.append(job)
        chunk_bytes += job.nbytes
        result.nbytes += len(raw)
        if len(chunk) >= ENQUEUE_CHUNK or chunk_bytes >= limits.max_job_bytes:
            result.waited += _room(streams, limits.max_queue_bytes, on_wait)
            result.jobs += len(streams.add(chunk))
            chunk, chunk_bytes = [], 0
    if chunk:
        result.waited += _room(streams, limits.max_queue_bytes, on_wait)
        result.jobs += len(streams.add(chunk))
    return result


def _room(
    streams: Streams, limit: int, on_wait: Callable[[int, int], None] | None
) -> float:
    """Wait while the queue holds more than `limit` bytes (back-pressure)."""
    started = time.monotonic()
    told = False
    while (held := streams.stream_bytes()) > limit:
        if on_wait is not None and not told:
            on_wait(held, limit)
            told = True
        time.sleep(PRESSURE_POLL)
    return time.monotonic() - started


def enqueue_imap(
    settings: Settings,
    names: list[str],
    *,
    tenant: str,
    priority: str,
    accounts: Path | None = None,
) -> int:
    """One import-imap job per account name. The job names the account only: the
    worker takes its host, credentials and folders from its own accounts file. With
    an accounts file here too (`accounts`, else [queue] accounts), each name is
    checked against it first and the job carries the account's tenant."""
    _check(priority, tenant, settings)
    path = accounts or settings.queue.accounts
    known = imap_accounts.load_accounts(path) if path is not None else None
    jobs = []
    for name in names:
        owner = tenant
        if known is not None:
            found = [a for a in known if a.user == name]
            if not found:
                raise NotFound(
                    f"no account {name!r} in {path}",
                    hint="an IMAP job names an account by its user in the accounts "
                    "file the workers read",
                )
            owner = found[0].tenant or tenants.DEFAULT_TENANT
            _check_signable(owner, settings)
        jobs.append(Job("import-imap", owner, priority, origin=name, account=name))
    return len(open_streams(settings).add(jobs))


def enqueue_analytics(settings: Settings, *, tenant: str, priority: str) -> int:
    """A rollup refresh for the tenant."""
    _check(priority, tenant, settings)
    return len(open_streams(settings).add([Job("analytics", tenant, priority)]))


# --- the worker ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How one worker runs."""

    burst: bool = False  # stop once the queue is empty
    jobs: int = 0  # prepare processes (0: one per CPU)
    batch: int = 200
    consumer: str = ""  # its name in the consumer group (default host-pid)
    accounts: Path | None = None  # IMAP accounts file (default: [queue] accounts)


@dataclass(slots=True)
class WorkerResult:
    """What one worker did."""

    stored: int = 0
    duplicates: int = 0
    control: int = 0  # IMAP syncs and analytics refreshes done
    failed_runs: int = 0  # batches rolled back (their jobs retried)
    dead: int = 0


def run_worker(
    settings: Settings, options: WorkerOptions, stop: threading.Event
) -> WorkerResult:
    """Consume jobs until `stop` is set (or, burst, the queue is empty).

    Store jobs stream through one pipeline run after another; a run ends at an
    IMAP or analytics job, which is handled on its own, or at a change of
    direction. A run that fails (the database went away, a batch that cannot be
    written) leaves its uncommitted jobs pending with the error: they come back
    after a backoff, each in a batch of its own, and go to the dead letters after
    max_deliveries.
    """
    streams = open_streams(settings, repair=True)
    limits = settings.queue
    accounts = worker_accounts(settings, options.accounts)
    consumer = options.consumer or f"{socket.gethostname()}-{os.getpid()}"
    result = WorkerResult()
    with connect(settings) as conn, connect(settings) as aux:
        lookup = _TenantLookup(aux)

        def bury(delivery: Delivery, error: str) -> None:
            streams.bury(delivery, error)
            result.dead += 1
            # the job log files rows by tenant: a job naming no tenant there is (a
            # malformed name, an unknown tenant, a type the log does not know) is
            # recorded in the dead letters and the worker's log only
            tenant = lookup(delivery.job.tenant) if loggable(delivery) else None
            if tenant is not None:
                with tenants.scoped(aux, tenant):
                    log_jobs(aux, tenant, [delivery], outcomes=["dead"], error=error)
            logger.warning("job %s buried: %s", delivery.ref, error)

        source = QueueSource(
            streams,
            consumer,
            tenant_of=lookup,
            bury=bury,
            batch=options.batch,
            linger_ms=limits.linger_ms,
            claim_after=limits.claim_after,
            max_deliveries=limits.max_deliveries,
            stop=stop,
            spool_dir=spool_dir(settings),
            max_message_bytes=limits.max_message_bytes,
            burst=options.burst,
        )
        with Pipeline(conn, jobs=options.jobs) as pipeline:
            pipeline.warm()  # the workers start while the first jobs are read
            while not stop.is_set():
                try:
                    pipeline.run(
                        source.items(),
                        tenant=None,
                        options=PipelineOptions(
                            direction=source.direction, batch_messages=options.batch
                        ),
                        hooks=[source.hook()],
                    )
                except Exception as exc:  # retried, never lost
                    _rolled_back(conn)
                    result.failed_runs += 1
                    held = source.in_hand()
                    streams.fail(held, _describe(exc))
                    logger.warning(
                        "a batch failed (%s); %s will be retried",
                        exc,
                        counted(len(held), "job"),
                    )
                    stop.wait(0.5)
                    continue
                if source.control is not None:
                    _handle(
                        settings,
                        conn,
                        streams,
                        source,
                        source.control,
                        result,
                        accounts,
                    )
                elif source.drained:
                    break
        # read but not started: back on the queue now, not after claim_after
        streams.release(list(source.backlog))
        source.backlog.clear()
    result.stored, result.duplicates = source.stored, source.duplicates
    return result


def run_workers(
    settings: Settings, options: WorkerOptions, count: int, stop: threading.Event
) -> WorkerResult:
    """`count` workers in processes of their own; `stop` stops them all (each
    finishing its batch in hand). Returns their results added up."""
    # Each worker sends its result over a pipe of its own: no multiprocessing
    # Queue, whose named semaphores outlive a `kill -9` of this process (and make
    # the resource tracker warn about them).
    context = multiprocessing.get_context("spawn")
    pipes = [context.Pipe(duplex=False) for _ in range(count)]
    procs = [
        context.Process(
            target=_worker_process,
            args=(
                settings,
                dataclasses.replace(options, consumer=new_consumer_name()),
                sender,
                os.getpid(),
            ),
            name=f"pmail-worker-{n}",
        )
        for n, (_, sender) in enumerate(pipes)
    ]
    for proc in procs:
        proc.start()
    for _, sender in pipes:
        sender.close()  # the child has its copy
    total = WorkerResult()
    try:
        while any(p.is_alive() for p in procs) and not stop.is_set():
            stop.wait(0.2)
    finally:
        for proc in procs:
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)
        results = [_result_of(receiver) for receiver, _ in pipes]
        for proc in procs:
            proc.join()
    for one in results:
        for f in dataclasses.fields(WorkerResult):
            setattr(total, f.name, getattr(total, f.name) + getattr(one, f.name))
    return total


def _result_of(receiver: PipeEnd[WorkerResult, WorkerResult]) -> WorkerResult:
    """What one worker process sent before it ended (nothing if it died)."""
    with receiver:
        try:
            return receiver.recv()
        except (EOFError, OSError):
            return WorkerResult()


def _worker_process(
    settings: Settings,
    options: WorkerOptions,
    results: PipeEnd[WorkerResult, WorkerResult],
    owner: int,
) -> None:
    stop = threading.Event()
    watch_owner(owner, stop.set)  # `kill -9` of `pmail worker`: finish and go
    with stopped_by_signals(stop):
        try:
            result = run_worker(settings, options, stop)
        except PmailError as exc:
            logger.error("worker %s: %s", options.consumer, exc)
            result = WorkerResult()
    with contextlib.suppress(OSError):  # no one to tell when `pmail worker` died
        results.send(result)


def _rolled_back(conn: Connection) -> None:
    try:
        conn.rollback()
    except Exception as exc:  # a dead connection: the next run says so
        logger.debug("rollback failed: %s", exc)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


class _TenantLookup:
    """Tenant names to tenants, cached (unknown names are looked up again later)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.known: dict[str, Tenant] = {}
        self.lock = threading.Lock()

    def __call__(self, name: str) -> Tenant | None:
        with self.lock:
            if name not in self.known:
                with self.conn.transaction():
                    found = tenants_repo.find_tenant(self.conn, name=name)
                if found is None:
                    return None
                self.known[name] = found
            return self.known[name]


def worker_accounts(
    settings: Settings, path: Path | None = None
) -> list[AccountConfig] | None:
    """The IMAP accounts this worker syncs: `path`, else [queue] accounts, else none
    (its IMAP jobs then go to the dead letters)."""
    chosen = path or settings.queue.accounts
    return imap_accounts.load_accounts(chosen) if chosen is not None else None


def _handle(
    settings: Settings,
    conn: Connection,
    streams: Streams,
    source: QueueSource,
    delivery: Delivery,
    result: WorkerResult,
    accounts: list[AccountConfig] | None,
) -> None:
    """Run an IMAP sync or an analytics refresh; ack and log it, or let it retry."""
    job = delivery.job
    try:
        tenant = source.tenant_of(job.tenant)
        refused = _refused(job, tenant, accounts)
        if refused is not None or tenant is None:
            source.taken([delivery.ref])
            source.bury(delivery, refused or f"tenant {job.tenant!r} does not exist")
            return
        if job.type == "analytics":
            from pmail_cli.services import reports

            reports.rebuild(conn, tenant)
        else:
            _import_imap(settings, _account(job, accounts))
    except Exception as exc:  # retried with backoff, then dead-lettered
        _rolled_back(conn)
        source.taken([delivery.ref])
        streams.fail([delivery], _describe(exc))
        return
    with tenants.scoped(conn, tenant):
        log_jobs(conn, tenant, [delivery], outcomes=["done"])
    source.taken([delivery.ref])
    streams.ack([delivery])
    result.control += 1


def _refused(
    job: Job, tenant: Tenant | None, accounts: list[AccountConfig] | None
) -> str | None:
    """Why a control job is buried at once (retrying cannot help), or None."""
    if tenant is None:
        return f"tenant {job.tenant!r} does not exist"
    if job.type == "import-imap":
        return _account_problem(job, accounts)
    if job.type != "analytics":
        return f"unknown job type {job.type!r}"
    return None


def _account(job: Job, accounts: list[AccountConfig] | None) -> AccountConfig:
    found = [a for a in accounts or [] if a.user == job.account]
    return found[0]


def _account_problem(job: Job, accounts: list[AccountConfig] | None) -> str | None:
    """Why an import-imap job cannot run here (never retried: the same job names
    the same account), or None. The account, its host, credentials and folders
    come from the worker's own accounts file, never from the job."""
    if accounts is None:
        return (
            "this worker has no accounts file (pmail worker --accounts FILE, or "
            "[queue] accounts): IMAP jobs name accounts it defines"
        )
    found = [a for a in accounts if a.user == job.account]
    shown = repr(job.account)[:80]
    if not found:
        return f"no account {shown} in the worker's accounts file"
    if len(found) > 1:
        return f"account {shown} is listed {len(found)} times in the worker's file"
    owner = found[0].tenant or tenants.DEFAULT_TENANT
    if owner != job.tenant:
        return (
            f"the job is for tenant {job.tenant!r}, account {shown} belongs to "
            f"tenant {owner!r}"
        )
    return None


def _import_imap(settings: Settings, account: AccountConfig) -> None:
    from pmail_cli.services import imap_import

    password = imap_accounts.resolve_password(account, prompt=None)
    report = imap_import.import_accounts(
        lambda: connect(settings),
        [(account, password)],
        parallel=1,
        max_bytes=settings.queue.max_message_bytes,
    )
    for folder in report.folders:
        for why in folder.refused:
            logger.warning("%s: %s", why.origin, why.describe())
    failed = imap_import.failure(report, accounts=1)
    if failed is not None:
        raise failed


@contextmanager
def stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM (and SIGINT) set `stop`: the batch in hand is finished, then the
    worker exits."""
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set())
        for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- status, dead letters, report ----------------------------------------------------


def status(settings: Settings) -> tuple[list[StreamStatus], int]:
    """Each priority's stream and the dead-letter count."""
    return open_streams(settings, repair=True).status()


def dead_letters(settings: Settings) -> list[DeadJob]:
    """The dead letters, oldest first."""
    return open_streams(settings, repair=True).dead()


def redrive(conn: Connection, settings: Settings, ids: list[str]) -> list[DeadJob]:
    """Put dead letters (these, or all when none are named) back on the queue. The
    audit entry names them and commits before Redis moves any (a refused entry moves
    nothing); a move Redis refuses part way ends in an error saying how many went
    back, so no move is ever unaudited."""
    streams = open_streams(settings, repair=True)
    chosen = streams.chosen_dead(ids or None)
    known = {d.dead_id for d in chosen}
    missing = [i for i in ids if i not in known]
    if missing:
        raise UsageError(
            f"no dead letter {missing[0]}", hint="see `pmail queue dead list`"
        )
    with tenants.every_tenant(conn):
        audit.record(
            conn,
            "queue dead retry",
            tenant_id=None,
            params={"ids": ids or "all"},
            result={
                "jobs": [
                    {"id": d.dead_id, "type": d.job.type, "tenant": d.job.tenant}
                    for d in chosen
                ]
            },
        )
    moved: list[DeadJob] = []
    for d in chosen:
        try:
            moved += streams.redrive([d])
        except QueueUnavailable as exc:
            raise QueueUnavailable(
                f"{len(moved)} of {len(chosen)} dead letters were put back before "
                f"the queue refused {d.dead_id}: {exc}",
                hint=exc.hint,
            ) from None
    return moved


@dataclass(frozen=True, slots=True)
class QueueReport:
    """`report queue`: jobs per day and the dead ones by error."""

    days: list[jobs_repo.QueueDay]
    failures: list[jobs_repo.Failure]


def report(conn: Connection, tenant: Tenant | None, *, days: int) -> QueueReport:
    """The job log of the last `days` days."""
    stop = datetime.now(UTC) + timedelta(seconds=1)
    start = stop - timedelta(days=days)
    tenant_id = tenant.tenant_id if tenant else None
    with tenants.scoped(conn, tenant) if tenant else tenants.every_tenant(conn):
        return QueueReport(
            jobs_repo.queue_report(conn, tenant_id=tenant_id, start=start, stop=stop),
            jobs_repo.failures(conn, tenant_id=tenant_id, start=start, stop=stop),
        )


def new_consumer_name() -> str:
    """A consumer name unique to this process."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


__all__ = ["JOB_TYPES", "PRIORITIES"]
