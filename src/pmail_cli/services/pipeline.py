"""The front end between sources and the batch writer: plan, prepare in parallel, write.

A source's work items are read ahead in a thread, cut into batches, given their
storage keys, stripped of what the tenant already stores, prepared in worker
processes (parse, classify, split, compress) and handed, in source order, to the
one BatchWriter, each batch in one transaction with the caller's hooks. A
`Pipeline` keeps its worker pool across batches and calls (a queue worker runs
for days); `run_pipeline` is the one-shot form.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from itertools import islice
from types import TracebackType

from pmail_cli.batch import Batch, BatchHook, Written
from pmail_cli.db import Connection
from pmail_cli.errors import IngestError
from pmail_cli.mail.prepare import (
    PrepareContext,
    PreparedMessage,
    prepare_batch,
    storage_key_for,
)
from pmail_cli.repository import writer as writer_repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import dicts, tenants
from pmail_cli.services.readahead import ReadAhead
from pmail_cli.services.writer import BatchWriter
from pmail_cli.sources import WorkItem
from pmail_cli.workerproc import init_worker

BATCH_MESSAGES = 200
BATCH_BYTES = 16 * 1024 * 1024
PrepareFn = Callable[[Sequence[WorkItem], PrepareContext], list[PreparedMessage]]


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """How to store one source's items."""

    direction: str = "auto"
    batch_messages: int = BATCH_MESSAGES
    auto_train_at: int = dicts.AUTO_TRAIN_AT  # 0 disables automatic training
    email_account_id: str | None = None  # the mailbox the mail was fetched from
    campaign_header: str = "X-PM-Campaign-Id"  # outbound header naming the campaign
    lead_header: str = "X-PM-Lead-Id"  # outbound header naming the lead


@dataclass(slots=True)
class PipelineResult:
    """What one run stored."""

    added: int = 0
    duplicates: int = 0
    flagged: int = 0
    raw_bytes: int = 0
    stored_bytes: int = 0
    dict_trained: int | None = None
    linked: int = 0
    flagged_origins: list[str] = field(default_factory=list)

    def count(self, written: Written) -> None:
        """Add one written batch to the counts."""
        batch = written.batch
        self.duplicates += len(batch.items) - len(batch.prepared)
        for m in batch.prepared:
            if m.storage_key not in written.inserted:
                self.duplicates += 1  # another writer stored it first
                continue
            self.added += 1
            self.raw_bytes += m.raw_size
            self.stored_bytes += m.stored_size
            if m.flagged:
                self.flagged += 1
                self.flagged_origins.append(m.origin)
        self.stored_bytes += written.new_blob_bytes
        self.linked += len(written.linked)


@dataclass(slots=True)
class _Pending:
    batch: Batch
    work: Future[list[PreparedMessage]] | list[PreparedMessage]


def _batches(items: Iterable[WorkItem], size: int) -> Iterator[list[WorkItem]]:
    it = iter(items)
    while True:
        batch: list[WorkItem] = []
        total = 0
        for item in islice(it, size):
            batch.append(item)
            total += item.nbytes
            if total >= BATCH_BYTES:
                break
        if not batch:
            return
        yield batch


def _worker_count(jobs: int) -> int:
    return jobs if jobs > 0 else max(1, os.cpu_count() or 1)


def _forkserver() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["pmail_cli.workerproc", "pmail_cli.mail.prepare", "pmail_cli.classify"]
    )
    return context


class Pipeline:
    """Prepare work items in worker processes and write them batch by batch.

    Use as a context manager: the worker pool starts on first need and stays up
    until the block ends, across any number of `run` calls and tenants.
    """

    def __init__(self, conn: Connection, *, jobs: int = 0) -> None:
        self.conn = conn
        self.workers = _worker_count(jobs)
        self.writer = BatchWriter(conn)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (waiting for the batch in hand)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def warm(self) -> None:
        """Start the fork server now (it imports the workers' modules, ~0.3 s), so
        the pool is ready when the first batch is; returns at once."""
        if self.workers > 1 and self._pool is None:
            _forkserver()
            multiprocessing.forkserver.ensure_running()

    @property
    def started(self) -> bool:
        """True while worker processes are up."""
        return self._pool is not None

    def submit(
        self, prepare: PrepareFn, items: list[WorkItem], ctx: PrepareContext
    ) -> Future[list[PreparedMessage]]:
        """Hand one batch to a worker process."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=_forkserver(),
                initializer=init_worker,
                initargs=(os.getpid(),),
            )
        return self._pool.submit(prepare, items, ctx)

    def resolve(
        self, work: Future[list[PreparedMessage]] | list[PreparedMessage]
    ) -> list[PreparedMessage]:
        """The prepared batch; a dead worker fails the batch and retires the pool."""
        if isinstance(work, list):
            return work
        try:
            return work.result()
        except BrokenProcessPool:
            self.close()
            raise IngestError(
                "a worker process died while preparing a batch; nothing of that "
                "batch was stored",
                hint="committed batches are kept: rerun the same command to finish "
                "(use --jobs 1 to debug)",
            ) from None

    def run(
        self,
        items: Iterable[WorkItem],
        *,
        tenant: Tenant,
        options: PipelineOptions,
        hooks: Sequence[BatchHook] = (),
        on_progress: Callable[[int], None] | None = None,
        prepare: PrepareFn = prepare_batch,
    ) -> PipelineResult:
        """Store every item for the tenant; whole batches only, in source order.

        `prepare` must be a module-level function (it is sent to worker processes);
        tests pass one that crashes to prove a dead worker leaves nothing half-written.
        """
        run = _Run(self, tenant, options, hooks, on_progress, prepare)
        with ReadAhead(items) as ahead:
            run.go(iter(ahead))
        return run.result


def run_pipeline(
    conn: Connection,
    items: Iterable[WorkItem],
    *,
    tenant: Tenant,
    options: PipelineOptions,
    jobs: int = 0,
    hooks: Sequence[BatchHook] = (),
    on_progress: Callable[[int], None] | None = None,
    prepare: PrepareFn = prepare_batch,
) -> PipelineResult:
    """Store every item for the tenant with a pipeline of its own."""
    with Pipeline(conn, jobs=jobs) as pipeline:
        return pipeline.run(
            items,
            tenant=tenant,
            options=options,
            hooks=hooks,
            on_progress=on_progress,
            prepare=prepare,
        )


class _Run:
    """One run: the tenant's context, its dictionary policy, batches in flight."""

    def __init__(
        self,
        pipeline: Pipeline,
        tenant: Tenant,
        options: PipelineOptions,
        hooks: Sequence[BatchHook],
        on_progress: Callable[[int], None] | None,
        prepare: PrepareFn,
    ) -> None:
        self.pipeline, self.conn = pipeline, pipeline.conn
        self.tenant, self.options, self.hooks = tenant, options, hooks
        self.on_progress, self.prepare = on_progress, prepare
        self.result = PipelineResult()
        self.policy = dicts.DictionaryPolicy(
            self.conn, tenant, train_at=options.auto_train_at
        )
        self.ctx = PrepareContext(
            tenant_id=str(tenant.tenant_id),
            direction=options.direction,
            email_account_id=options.email_account_id,
            campaign_header=options.campaign_header,
            lead_header=options.lead_header,
        )
        self.pending: deque[_Pending] = deque()

    def go(self, items: Iterator[WorkItem]) -> None:
        self.ctx = replace(
            self.ctx,
            account_emails=tenants.account_emails(self.conn, self.tenant),
            dictionary=self.policy.start(),
        )
        items = self.policy.train_ahead(items, on_training=self.pipeline.warm)
        self.ctx = replace(self.ctx, dictionary=self.policy.dictionary)
        batches = _batches(items, self.options.batch_messages)
        first = next(batches, None)
        if first is None:
            return
        second = next(batches, None)
        parallel = self.pipeline.workers > 1 and (
            second is not None or self.pipeline.started
        )
        for items_ in (first, *([second] if second else [])):
            self._submit(items_, parallel)
        for items_ in batches:
            self._submit(items_, parallel)
        while self.pending:
            self._drain_one()
        self.policy.finish()  # batches prepared before a dictionary existed
        self.result.dict_trained = self.policy.trained

    def _submit(self, items: list[WorkItem], parallel: bool) -> None:
        batch, todo = self._plan(items)
        work: Future[list[PreparedMessage]] | list[PreparedMessage]
        if not todo:
            work = []
        elif parallel:
            work = self.pipeline.submit(self.prepare, todo, self.ctx)
        else:
            work = self.prepare(todo, self.ctx)
        self.pending.append(_Pending(batch, work))
        while len(self.pending) > (self.pipeline.workers * 2 if parallel else 0):
            self._drain_one()

    def _plan(self, items: list[WorkItem]) -> tuple[Batch, list[WorkItem]]:
        """Key every item; keep those the tenant (and this batch) do not have yet."""
        tenant_id = self.ctx.tenant_id
        keyed: dict[str, WorkItem] = {}
        keys: list[str] = []
        for item in items:
            key = item.key or storage_key_for(tenant_id, item.raw or b"")
            keys.append(key)
            if key not in keyed:
                keyed[key] = item if item.key else replace(item, key=key)
        with tenants.scoped(self.conn, self.tenant):
            known = writer_repo.existing_keys(
                self.conn, tenant_id=self.tenant.tenant_id, keys=list(keyed)
            )
        todo = [item for key, item in keyed.items() if key not in known]
        return Batch(items=items, keys=keys, prepared=[]), todo

    def _drain_one(self) -> None:
        pending = self.pending.popleft()
        prepared = self.pipeline.resolve(pending.work)
        written = self.pipeline.writer.write(
            self.tenant, replace(pending.batch, prepared=prepared), self.hooks
        )
        self.result.count(written)
        if self.on_progress is not None:
            self.on_progress(len(pending.batch.items))
        if self.policy.after_batch():
            self.ctx = replace(self.ctx, dictionary=self.policy.dictionary)
