"""The one ingest pipeline every source feeds: batch, prepare in parallel, write, commit.

Sources (files, mbox, Maildir, IMAP, legacy rows) yield RawItems. The main process
derives each storage key, drops what the tenant already has, and hands batches to
worker processes that parse, classify, split and compress. Finished batches are
written in order, each in one transaction with the source's checkpoint, so a crash
leaves only whole batches and a rerun continues where it stopped.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from itertools import chain, islice

import psycopg

from pmail_cli.db import Connection
from pmail_cli.errors import IngestError
from pmail_cli.mail.prepare import (
    PrepareContext,
    PreparedMessage,
    prepare_batch,
    storage_key_for,
)
from pmail_cli.mail.readers import RawItem
from pmail_cli.repository import ingest as repo
from pmail_cli.repository import linking
from pmail_cli.repository import tenants as tenants_repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import dicts

logger = logging.getLogger(__name__)

BATCH_MESSAGES = 200
BATCH_BYTES = 16 * 1024 * 1024
ANALYZE_FIRST = 400  # messages stored in a run before the first ANALYZE, then doubling
READ_AHEAD = 2 * BATCH_MESSAGES  # items a source may run ahead of the writer ...
READ_AHEAD_BYTES = 2 * BATCH_BYTES  # ... and their bytes
# called inside each batch's transaction with the batch's items and their storage keys
CommitHook = Callable[[Connection, Sequence[RawItem], Sequence[str]], None]
PrepareFn = Callable[
    [Sequence[tuple[bytes, str]], PrepareContext], list[PreparedMessage]
]


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """How to run the pipeline."""

    direction: str = "auto"
    jobs: int = 0  # 0: one worker per CPU
    batch_messages: int = BATCH_MESSAGES
    auto_train_at: int = dicts.AUTO_TRAIN_AT  # 0 disables automatic training
    email_account_id: str | None = None  # the mailbox the mail was fetched from
    campaign_header: str = "X-PM-Campaign-Id"  # outbound header naming the campaign
    lead_header: str = "X-PM-Lead-Id"  # outbound header naming the lead


@dataclass(slots=True)
class PipelineResult:
    """What the pipeline did."""

    added: int = 0
    duplicates: int = 0
    flagged: int = 0
    raw_bytes: int = 0
    stored_bytes: int = 0
    dict_trained: int | None = None
    linked: int = 0
    flagged_origins: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Batch:
    items: list[RawItem]
    keys: list[str]  # storage key of each item
    todo: list[tuple[bytes, str]]
    work: Future[list[PreparedMessage]] | list[PreparedMessage] | None = None


def _batches(items: Iterable[RawItem], size: int) -> Iterator[list[RawItem]]:
    it = iter(items)
    while True:
        batch: list[RawItem] = []
        total = 0
        for item in islice(it, size):
            batch.append(item)
            total += len(item.raw)
            if total >= BATCH_BYTES:
                break
        if not batch:
            return
        yield batch


class ReadAhead:
    """Iterate a source in a background thread, up to two batches ahead.

    Sources wait on I/O (an IMAP server, the disk) while the writer waits on
    PostgreSQL; reading ahead lets the two waits overlap. At most `depth` items and
    `max_bytes` of raw mail wait (at least one item). Items keep their order; an
    exception in the source is raised to the reader. Leaving the `with` block stops
    the thread after the item it is reading and waits for it, except on Ctrl-C (or
    another BaseException), when the process is on its way out and a source blocked
    on a terminal or a silent server must not hold it up.
    """

    def __init__(
        self,
        items: Iterable[RawItem],
        depth: int = READ_AHEAD,
        max_bytes: int = READ_AHEAD_BYTES,
    ) -> None:
        self._depth, self._max_bytes = depth, max_bytes
        self._ready: deque[RawItem] = deque()
        self._bytes = 0
        self._finished = False
        self._error: BaseException | None = None
        self._stop = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(
            target=self._produce, args=(items,), name="pmail-read-ahead", daemon=True
        )
        self._thread.start()

    def _full(self) -> bool:
        return bool(self._ready) and (
            len(self._ready) >= self._depth or self._bytes >= self._max_bytes
        )

    def _produce(self, items: Iterable[RawItem]) -> None:
        error: BaseException | None = None
        try:
            for item in items:
                with self._cond:
                    while self._full() and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        return
                    self._ready.append(item)
                    self._bytes += len(item.raw)
                    self._cond.notify_all()
        except BaseException as exc:  # handed to the reader, raised there
            error = exc
        with self._cond:
            self._finished, self._error = True, error
            self._cond.notify_all()

    def __iter__(self) -> Iterator[RawItem]:
        while True:
            with self._cond:
                while not self._ready and not self._finished:
                    self._cond.wait()
                if not self._ready:
                    if self._error is not None:
                        raise self._error
                    return
                item = self._ready.popleft()
                self._bytes -= len(item.raw)
                self._cond.notify_all()
            yield item

    def close(self, *, wait: bool = True) -> None:
        """Stop the thread; wait for it unless told not to."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if wait:
            self._thread.join()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        self.close(wait=exc_type is None or issubclass(exc_type, Exception))


def _worker_count(jobs: int) -> int:
    return jobs if jobs > 0 else max(1, os.cpu_count() or 1)


def _forkserver() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pmail_cli.mail.prepare", "pmail_cli.classify"])
    return context


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=_forkserver())


def _warm_pool() -> None:
    """Start the fork server now (it imports the workers' modules, ~0.3 s) so the
    pool is ready when the first batch is; returns at once."""
    _forkserver()
    multiprocessing.forkserver.ensure_running()


class _Run:
    """State of one pipeline run."""

    def __init__(
        self,
        conn: Connection,
        tenant: Tenant,
        options: PipelineOptions,
        on_commit: CommitHook | None,
        on_progress: Callable[[int], None] | None,
        prepare: PrepareFn,
    ) -> None:
        self.conn = conn
        self.prepare = prepare
        self.tenant = tenant
        self.options = options
        self.on_commit = on_commit
        self.on_progress = on_progress
        self.result = PipelineResult()
        self.pending: deque[_Batch] = deque()
        self.analyze_at = ANALYZE_FIRST
        self.ctx = PrepareContext(
            tenant_id=str(tenant.tenant_id),
            direction=options.direction,
            email_account_id=options.email_account_id,
            campaign_header=options.campaign_header,
            lead_header=options.lead_header,
            account_emails=self._accounts(),
            dictionary=dicts.current_dictionary(conn, tenant),
        )

    def _accounts(self) -> frozenset[str]:
        with self.conn.transaction():
            return tenants_repo.list_account_emails(
                self.conn, tenant_id=self.tenant.tenant_id
            )

    def plan(self, items: list[RawItem]) -> _Batch:
        """Drop messages the tenant already has (or that repeat within the batch)."""
        keys = [storage_key_for(self.ctx.tenant_id, item.raw) for item in items]
        keyed: dict[str, RawItem] = {}
        for key, item in zip(keys, items, strict=True):
            if key in keyed:
                self.result.duplicates += 1
            keyed[key] = item
        with self.conn.transaction():
            known = repo.existing_keys(
                self.conn, tenant_id=self.tenant.tenant_id, keys=list(keyed)
            )
        self.result.duplicates += len(known)
        todo = [(it.raw, it.origin) for k, it in keyed.items() if k not in known]
        return _Batch(items=items, keys=keys, todo=todo)

    def write(self, batch: _Batch, prepared: list[PreparedMessage]) -> None:
        """Write one prepared batch and its checkpoint in one transaction."""
        tenant_id = self.tenant.tenant_id
        if not prepared and self.on_commit is None:
            self._advance(batch)
            return
        new_blob_bytes = 0
        with self.conn.transaction():
            keys: list[str] = []
            if prepared:
                repo.lock_tenant_writes(self.conn, tenant_id=tenant_id)
                hashes = {a.sha256 for m in prepared for a in m.attachments}
                known = repo.existing_blobs(
                    self.conn, tenant_id=tenant_id, hashes=sorted(hashes)
                )
                new_blobs = hashes - known
                repo.stage_batch(
                    self.conn,
                    tenant_id=tenant_id,
                    batch=prepared,
                    new_blobs=new_blobs,
                )
                linked = linking.link_staged(self.conn, tenant_id=tenant_id)
                keys = repo.insert_staged(self.conn)
                self._link(keys, linked)
                new_blob_bytes = _blob_bytes(prepared, new_blobs)
            if self.on_commit is not None:
                self.on_commit(self.conn, batch.items, batch.keys)
        self._count(prepared, set(keys))
        self.result.stored_bytes += new_blob_bytes
        self._advance(batch)

    def _link(self, keys: list[str], linked_before_insert: set[str]) -> None:
        """Move parents' status for this batch's children; link late-arriving parents."""
        if not keys:
            return
        tenant_id = self.tenant.tenant_id
        children = [k for k in keys if k in linked_before_insert]
        waiting = linking.link_waiting(self.conn, tenant_id=tenant_id, keys=keys)
        children += [child for child, _ in waiting]
        if children:
            linking.update_parent_status(
                self.conn, tenant_id=tenant_id, children=children
            )
        self.result.linked += len(children)

    def _count(self, prepared: list[PreparedMessage], keys: set[str]) -> None:
        res = self.result
        for m in prepared:
            if m.storage_key not in keys:
                res.duplicates += 1  # another writer stored it first
                continue
            res.added += 1
            res.raw_bytes += m.raw_size
            res.stored_bytes += len(m.raw.data)
            if m.problems:
                res.flagged += 1
                res.flagged_origins.append(m.origin)

    def _advance(self, batch: _Batch) -> None:
        if self.on_progress is not None:
            self.on_progress(len(batch.items))

    def maybe_analyze(self) -> None:
        """ANALYZE as this run's rows double, so plans follow the tables' growth."""
        if self.result.added < self.analyze_at:
            return
        self.analyze_at = self.result.added * 2
        try:
            with self.conn.transaction():
                repo.analyze_tables(self.conn)
        except psycopg.errors.InsufficientPrivilege:
            logger.info("cannot ANALYZE (not the owner); relying on autovacuum")

    def train_ahead(self, items: Iterator[RawItem]) -> Iterator[RawItem]:
        """Train the tenant's first dictionary on the head of a large input, before
        anything is written, so every message of the run is stored with it."""
        wanted = self.options.auto_train_at
        if self.ctx.dictionary is not None or wanted <= 0:
            return items
        head = list(islice(items, wanted))
        if len(head) >= wanted:
            if _worker_count(self.options.jobs) > 1:
                _warm_pool()  # boots while the dictionary trains
            self._use(
                dicts.train_from_samples(self.conn, self.tenant, [i.raw for i in head])
            )
        return chain(head, items)

    def _use(self, trained: dicts.TrainResult) -> None:
        self.result.dict_trained = trained.dict_id
        self.ctx = replace(self.ctx, dictionary=trained.dictionary)
        logger.info(
            "trained dictionary %s for tenant %s", trained.dict_id, self.tenant.name
        )

    def maybe_train(self) -> None:
        """Train the tenant's first dictionary once it has enough mail."""
        threshold = self.options.auto_train_at
        if self.ctx.dictionary is not None or threshold <= 0:
            return
        if not dicts.auto_train_due(self.conn, self.tenant, threshold=threshold):
            return
        trained = dicts.train_dictionary(self.conn, self.tenant)
        self._use(trained)
        # the mail that taught the dictionary is the mail it compresses best
        dicts.recompress(self.conn, self.tenant, trained.dictionary, only_plain=True)


def _blob_bytes(prepared: list[PreparedMessage], new: set[bytes]) -> int:
    sizes = {a.sha256: len(a.blob.data) for m in prepared for a in m.attachments}
    return sum(size for sha, size in sizes.items() if sha in new)


def _resolve(batch: _Batch) -> list[PreparedMessage]:
    work = batch.work
    if work is None:
        return []
    if isinstance(work, list):
        return work
    try:
        return work.result()
    except BrokenProcessPool:
        raise IngestError(
            "a worker process died while preparing a batch; nothing of that batch was stored",
            hint="committed batches are kept: rerun the same command to finish "
            "(use --jobs 1 to debug)",
        ) from None


def run_pipeline(
    conn: Connection,
    items: Iterable[RawItem],
    *,
    tenant: Tenant,
    options: PipelineOptions,
    on_commit: CommitHook | None = None,
    on_progress: Callable[[int], None] | None = None,
    prepare: PrepareFn = prepare_batch,
) -> PipelineResult:
    """Store every item for the tenant; whole batches only, in source order.

    `prepare` must be a module-level function (it is sent to worker processes); tests
    pass one that crashes to prove a dead worker leaves nothing half-written.
    """
    repo.create_staging(conn)
    conn.commit()
    run = _Run(conn, tenant, options, on_commit, on_progress, prepare)
    with ReadAhead(items) as ahead:
        batches = _batches(run.train_ahead(iter(ahead)), options.batch_messages)
        first = next(batches, None)
        if first is None:
            return run.result
        second = next(batches, None)
        workers = _worker_count(options.jobs)
        if second is None or workers == 1:
            _run_inline(run, first, second, batches)
        else:
            _run_parallel(run, workers, first, second, batches)
    if run.result.dict_trained and run.ctx.dictionary is not None:
        # batches prepared before the dictionary existed were written without it
        dicts.recompress(conn, tenant, run.ctx.dictionary, only_plain=True)
    return run.result


def _run_inline(
    run: _Run,
    first: list[RawItem],
    second: list[RawItem] | None,
    rest: Iterator[list[RawItem]],
) -> None:
    for items in chain([first], [second] if second else [], rest):
        batch = run.plan(items)
        run.write(batch, run.prepare(batch.todo, run.ctx) if batch.todo else [])
        run.maybe_analyze()
        run.maybe_train()


def _run_parallel(
    run: _Run,
    workers: int,
    first: list[RawItem],
    second: list[RawItem],
    rest: Iterator[list[RawItem]],
) -> None:
    executor: Executor = _pool(workers)
    try:
        for items in chain([first, second], rest):
            batch = run.plan(items)
            if batch.todo:
                batch.work = executor.submit(run.prepare, batch.todo, run.ctx)
            run.pending.append(batch)
            while len(run.pending) > workers * 2:
                _drain_one(run)
        while run.pending:
            _drain_one(run)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _drain_one(run: _Run) -> None:
    batch = run.pending.popleft()
    run.write(batch, _resolve(batch))
    run.maybe_analyze()
    run.maybe_train()
