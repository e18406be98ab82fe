"""The front end between sources and the batch writer: plan, prepare in parallel, write.

A source's work items are read ahead in a thread, cut into batches, given their
storage keys, stripped of what the tenant already stores, prepared in worker
processes (parse, classify, split, compress) and handed, in source order, to the
one BatchWriter, each batch in one transaction with the caller's hooks. A
`Pipeline` keeps its worker pool across batches and calls (a queue worker runs
for days); `run_pipeline` is the one-shot form.
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
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
from pmail_cli.sources import FLUSH, WorkItem
from pmail_cli.workerproc import WorkerPool, worker_count, worker_pool

BATCH_MESSAGES = 200
BATCH_BYTES = 16 * 1024 * 1024
# A message this large is a batch of its own, prepared in this process: sent to a
# worker it would be held twice (here and there) and pickled both ways.
LARGE_MESSAGE = 8 * 1024 * 1024
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
    parent_status: bool = True  # linked children move their parent's status
    link_waiting: bool = True  # link stored children when their parent arrives


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
    problem_kinds: Counter[str] = field(
        default_factory=Counter
    )  # parse problems by kind

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
                for problem in m.message.parse_problems or []:
                    self.problem_kinds[problem.split(":", 1)[0]] += 1
        self.stored_bytes += written.new_blob_bytes
        self.linked += len(written.linked)


@dataclass(slots=True)
class _Pending:
    tenant: Tenant
    batch: Batch
    work: Future[list[PreparedMessage]] | list[PreparedMessage]


def _batches(
    items: Iterable[WorkItem], size: int, tenant: Tenant | None
) -> Iterator[tuple[Tenant | None, list[WorkItem], bool]]:
    """Cut items into batches of one tenant each, bounded in messages and bytes.

    The flag is True when the source asked for everything in hand to be committed
    now (`sources.FLUSH`: it has nothing more for the moment); the batch is then
    what was cut so far, possibly none (earlier batches may still be in flight).
    """
    batch: list[WorkItem] = []
    owner: Tenant | None = None
    total = 0
    for item in items:
        if item is FLUSH:
            yield owner, batch, True
            batch, total = [], 0
            continue
        whose = tenant or item.tenant
        if whose is None:
            raise ValueError(f"work item {item.origin!r} names no tenant")
        if (
            batch
            and owner is not None
            and (whose.tenant_id != owner.tenant_id or item.nbytes >= LARGE_MESSAGE)
        ):
            yield owner, batch, False
            batch, total = [], 0
        owner = whose
        batch.append(item)
        total += item.nbytes
        full = len(batch) >= size or total >= BATCH_BYTES
        full = full or item.nbytes >= LARGE_MESSAGE
        del item  # a batch handed on is the only holder of its items' bytes
        if full:
            yield owner, batch, False
            batch, total = [], 0
    if batch and owner is not None:
        yield owner, batch, False


PRELOAD = ("pmail_cli.mail.prepare", "pmail_cli.classify")


class Pipeline:
    """Prepare work items in worker processes and write them batch by batch.

    Use as a context manager: the worker pool starts on first need and stays up
    until the block ends, across any number of `run` calls and tenants.
    """

    def __init__(self, conn: Connection, *, jobs: int = 0) -> None:
        self.conn = conn
        self.workers = worker_count(jobs)
        self.writer = BatchWriter(conn)
        self._pool: WorkerPool | None = None

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
        """Start the worker processes now (they import their modules, ~0.15 s), so
        the pool is ready when the first batch is; returns at once."""
        self.start()

    def start(self) -> None:
        """Start the worker processes now (a long-running consumer: its first
        message must not wait for the pool, nor the pool for a second batch)."""
        if self.workers > 1 and self._pool is None:
            self._pool = worker_pool(self.workers, PRELOAD)

    @property
    def started(self) -> bool:
        """True while worker processes are up."""
        return self._pool is not None

    def submit(
        self, prepare: PrepareFn, items: list[WorkItem], ctx: PrepareContext
    ) -> Future[list[PreparedMessage]]:
        """Hand one batch to a worker process."""
        if self._pool is None:
            self._pool = worker_pool(self.workers, PRELOAD)
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
        tenant: Tenant | None,
        options: PipelineOptions,
        hooks: Sequence[BatchHook] = (),
        on_progress: Callable[[int], None] | None = None,
        prepare: PrepareFn = prepare_batch,
    ) -> PipelineResult:
        """Store every item; whole batches only, in source order.

        With a tenant, every item is that tenant's; with None, each item names its
        own (`WorkItem.tenant`) and a batch never spans two tenants.

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
    tenant: Tenant | None,
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


def _without_raw(item: WorkItem) -> WorkItem:
    """The item as hooks see it after the write: everything but its bytes."""
    return replace(item, raw=None, size=0) if item.raw is not None else item


@dataclass(slots=True)
class _TenantState:
    """What one run knows about one tenant: its prepare context and dictionary."""

    ctx: PrepareContext
    policy: dicts.DictionaryPolicy


class _Run:
    """One run: per-tenant contexts and dictionary policies, batches in flight."""

    def __init__(
        self,
        pipeline: Pipeline,
        tenant: Tenant | None,
        options: PipelineOptions,
        hooks: Sequence[BatchHook],
        on_progress: Callable[[int], None] | None,
        prepare: PrepareFn,
    ) -> None:
        self.pipeline, self.conn = pipeline, pipeline.conn
        self.tenant, self.options, self.hooks = tenant, options, hooks
        self.on_progress, self.prepare = on_progress, prepare
        self.result = PipelineResult()
        self.states: dict[uuid.UUID, _TenantState] = {}
        self.pending: deque[_Pending] = deque()

    def _state(self, tenant: Tenant) -> _TenantState:
        state = self.states.get(tenant.tenant_id)
        if state is None:
            options = self.options
            policy = dicts.DictionaryPolicy(
                self.conn, tenant, train_at=options.auto_train_at
            )
            ctx = PrepareContext(
                tenant_id=str(tenant.tenant_id),
                direction=options.direction,
                email_account_id=options.email_account_id,
                campaign_header=options.campaign_header,
                lead_header=options.lead_header,
                accounts=tenants.accounts(self.conn, tenant),
                dictionary=policy.start(),
                sql_bodies=tenant.sql_bodies,
            )
            state = self.states[tenant.tenant_id] = _TenantState(ctx, policy)
        return state

    def go(self, items: Iterator[WorkItem]) -> None:
        if self.tenant is not None:  # one tenant: its first dictionary may come first
            state = self._state(self.tenant)
            items = state.policy.train_ahead(items, on_training=self.pipeline.warm)
            state.ctx = replace(state.ctx, dictionary=state.policy.dictionary)
        batches = _batches(items, self.options.batch_messages, self.tenant)
        if self.pipeline.started:  # a pool is up already: no need to look ahead
            parallel = True
        else:
            first = next(batches, None)
            if first is None:
                return
            second = None if first[2] else next(batches, None)
            parallel = self.pipeline.workers > 1 and (
                second is not None or self.pipeline.started
            )
            batches = itertools.chain([first, *([second] if second else [])], batches)
        for tenant, batch, flush in batches:
            if batch and tenant is not None:
                self._submit(tenant, batch, parallel)
            if flush:  # the source waits: commit everything in hand now
                while self.pending:
                    self._drain_one()
        while self.pending:
            self._drain_one()
        for state in self.states.values():
            state.policy.finish()  # batches prepared before a dictionary existed
            if state.policy.trained is not None:
                self.result.dict_trained = state.policy.trained

    def _submit(self, tenant: Tenant, items: list[WorkItem], parallel: bool) -> None:
        state = self._state(tenant)
        batch, todo = self._plan(tenant, state, items)
        work: Future[list[PreparedMessage]] | list[PreparedMessage]
        large = sum(item.nbytes for item in todo) >= LARGE_MESSAGE
        if not todo:
            work = []
        elif parallel and not large:
            work = self.pipeline.submit(self.prepare, todo, state.ctx)
        else:
            work = self.prepare(todo, state.ctx)
        # the raw bytes now live only where they are prepared: not in the batch
        # the hooks see, nor in the list handed in (which callers may still hold)
        batch = replace(batch, items=[_without_raw(item) for item in batch.items])
        del todo
        items.clear()
        self.pending.append(_Pending(tenant, batch, work))
        while len(self.pending) > (self.pipeline.workers * 2 if parallel else 0):
            self._drain_one()

    def _plan(
        self, tenant: Tenant, state: _TenantState, items: list[WorkItem]
    ) -> tuple[Batch, list[WorkItem]]:
        """Key every item; keep those the tenant (and this batch) do not have yet."""
        keyed: dict[str, WorkItem] = {}
        keys: list[str] = []
        for item in items:
            key = item.key or storage_key_for(state.ctx.tenant_id, item.raw or b"")
            keys.append(key)
            if key not in keyed:  # workers get the key, not the tenant object
                keyed[key] = replace(item, key=key, tenant=None)
        with tenants.scoped(self.conn, tenant):
            known = writer_repo.existing_keys(
                self.conn, tenant_id=tenant.tenant_id, keys=list(keyed)
            )
        todo = [item for key, item in keyed.items() if key not in known]
        return Batch(items=items, keys=keys, prepared=[]), todo

    def _drain_one(self) -> None:
        pending = self.pending.popleft()
        prepared = self.pipeline.resolve(pending.work)
        written = self.pipeline.writer.write(
            pending.tenant,
            replace(pending.batch, prepared=prepared),
            self.hooks,
            parent_status=self.options.parent_status,
            link_waiting=self.options.link_waiting,
        )
        self.result.count(written)
        if self.on_progress is not None:
            self.on_progress(len(pending.batch.items))
        state = self.states[pending.tenant.tenant_id]
        if state.policy.after_batch():
            state.ctx = replace(state.ctx, dictionary=state.policy.dictionary)
