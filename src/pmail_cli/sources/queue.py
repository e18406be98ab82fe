"""The queue as a source: store jobs from Redis Streams become work items.

`QueueSource.items()` reads jobs (highest priority first), hands each store job over
as a WorkItem that names its tenant, and yields `FLUSH` when nothing more arrives
within the linger, so a lone message is committed at once. It ends when it meets a
job that is not a store (an IMAP sync, an analytics refresh) or whose direction
differs, which the worker then handles, or when asked to stop. `QueueHook` logs each
batch's jobs in the batch's transaction and acknowledges their entries only after
it commits (at-least-once delivery; storage is idempotent, so each message is stored
once). Jobs delivered before (a retry, a dead worker's claim) go in batches of their
own, so one poison message cannot take innocent ones to the dead letters with it.
An entry that is not a valid job (streams.Delivery.problem) never reaches a batch:
it is buried as soon as it is read, alone and without retries.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from pmail_cli.batch import BatchHook, Written
from pmail_cli.db import Connection
from pmail_cli.errors import PmailError
from pmail_cli.queue_job import EARLIEST, FUTURE_SLACK, JOB_TYPES
from pmail_cli.repository import jobs as jobs_repo
from pmail_cli.repository.tenants import Tenant
from pmail_cli.sources import FLUSH, WorkItem
from pmail_cli.sources.spool import Spooled, SpoolRefused, read_spooled, remove_spooled
from pmail_cli.streams import Delivery, Streams

logger = logging.getLogger(__name__)

IDLE_BLOCK_MS = 500  # how long one read waits when idle (stop is checked between)
SHORT_BLOCK_MS = 20  # ... while batches of ours are still being written
CLAIM_EVERY = 0.5  # seconds between looks at the pending entries


class QueueSource:
    """Jobs from the queue for one worker (consumer), across pipeline runs."""

    def __init__(
        self,
        streams: Streams,
        consumer: str,
        *,
        tenant_of: Callable[[str], Tenant | None],
        bury: Callable[[Delivery, str], None],
        batch: int,
        linger_ms: int,
        claim_after: float,
        max_deliveries: int,
        stop: threading.Event,
        spool_dir: Path,
        max_message_bytes: int,
        burst: bool = False,
    ) -> None:
        self.streams, self.consumer = streams, consumer
        self.spool_dir, self.max_message_bytes = spool_dir, max_message_bytes
        self.spooled: dict[str, Spooled] = {}  # read from the spool, by entry ref
        self.tenant_of, self.bury = tenant_of, bury
        self.batch, self.linger_ms = batch, linger_ms
        self.claim_after, self.max_deliveries = claim_after, max_deliveries
        self.stop, self.burst = stop, burst
        self.backlog: deque[Delivery] = deque()  # delivered to us, not handed over yet
        self.unacked: dict[str, Delivery] = {}  # handed over, not committed yet
        self.lock = threading.Lock()
        self.control: Delivery | None = None  # the job that ended the last run
        self.direction = "auto"  # of the store jobs of the current run
        self.drained = False  # burst: nothing left anywhere
        self.stored = 0  # messages committed new, across runs
        self.duplicates = 0  # messages the tenant had already
        self._claimed_at = 0.0

    def items(self) -> Iterator[WorkItem]:
        """Store jobs as work items, FLUSH when idle; see the module docstring."""
        self.control, self.drained = None, False
        self.direction = self.backlog[0].job.direction if self.backlog else "auto"
        since_flush = 0
        first_at = 0.0  # when the first item since the last FLUSH was handed over
        started = False
        while not self.stop.is_set():
            if not self.backlog:
                # waiting for input: at most until the linger since the batch's first
                # item is over (so a steady trickle is committed every linger too)
                left = self.linger_ms - (time.monotonic() - first_at) * 1000
                self._fetch(wait_ms=max(int(left), 0) if since_flush else None)
            if not self.backlog:
                # also when idle: the reader learns here that its run has ended
                yield FLUSH
                if not since_flush and self.burst and self._nothing_left():
                    self.drained = True
                    return
                since_flush = 0
                continue
            delivery = self.backlog[0]
            job = delivery.job
            if job.type != "store" or (started and job.direction != self.direction):
                if job.type != "store":
                    self.control = self.backlog.popleft()
                    self._hand_over(self.control)
                if since_flush:
                    yield FLUSH
                return
            self.backlog.popleft()
            if not started:
                self.direction, started = job.direction, True
            item = self._item(delivery)
            if item is None:
                continue
            alone = delivery.deliveries > 1 or job.attempts > 0
            if alone and since_flush:
                yield FLUSH
                since_flush = 0
            self._hand_over(delivery)
            if not since_flush:
                first_at = time.monotonic()
            yield item
            since_flush += 1
            if alone:
                yield FLUSH
                since_flush = 0

    def _fetch(self, *, wait_ms: int | None) -> None:
        """Fill the backlog: due retries and stale claims first, then new jobs,
        waiting up to wait_ms for them (None: idle, a short slice at a time)."""
        now = time.monotonic()
        if now - self._claimed_at >= CLAIM_EVERY:
            self._claimed_at = now
            with self.lock:  # ours in hand: never claimed back from ourselves
                holding = {d.ref for d in self.backlog} | set(self.unacked)
                if self.control is not None:
                    holding.add(self.control.ref)
            claimed, exhausted = self.streams.claim_due(
                self.consumer,
                claim_after=self.claim_after,
                max_deliveries=self.max_deliveries,
                holding=holding,
            )
            for d in exhausted:
                try:
                    error = d.problem or (
                        self.streams.last_error(d)
                        or (
                            f"delivered {d.deliveries - 1} times without being "
                            "acknowledged (a worker died with it)"
                        )
                    )
                except PmailError as exc:
                    error = f"its last error could not be read: {exc}"
                self._bury(d, error)
            self._accept(claimed)
            if claimed:
                return
        if wait_ms is None:
            with self.lock:  # our own batches in flight: their acks come soon
                wait_ms = SHORT_BLOCK_MS if self.unacked else IDLE_BLOCK_MS
        self._accept(self.streams.read(self.consumer, self.batch, wait_ms))

    def _accept(self, deliveries: list[Delivery]) -> None:
        """Valid jobs join the backlog; the others go to the dead letters now,
        each alone (the same entry would fail the same way every time)."""
        for d in deliveries:
            if d.problem is not None:
                self._bury(d, d.problem)
            else:
                self.backlog.append(d)

    def _bury(self, delivery: Delivery, error: str) -> None:
        """bury, one entry at a time: an entry Redis or the job log refuses (it
        stays pending, and is tried again when claimed) must not stop the read, or
        the good jobs read with it would wait, be claimed again, and be buried as
        never acknowledged."""
        try:
            self.bury(delivery, error)
        except (PmailError, psycopg.Error) as exc:
            logger.warning("job %s could not be buried: %s", delivery.ref, exc)

    def _nothing_left(self) -> bool:
        with self.lock:
            if self.unacked:
                return False
        streams, _ = self.streams.status()
        return all(s.waiting == 0 and s.in_flight == 0 for s in streams)

    def _hand_over(self, delivery: Delivery) -> None:
        with self.lock:
            self.unacked[delivery.ref] = delivery

    def _item(self, delivery: Delivery) -> WorkItem | None:
        """The work item of a store job; a job that cannot be one is buried."""
        job = delivery.job
        tenant = self.tenant_of(job.tenant)
        if tenant is None:
            self._bury(delivery, f"tenant {job.tenant!r} does not exist")
            return None
        raw = job.raw
        if raw is None and job.spool:
            try:
                spooled = read_spooled(
                    self.spool_dir,
                    job.spool,
                    tenant=job.tenant,
                    max_bytes=self.max_message_bytes,
                    sha256=job.sha256,
                )
            except SpoolRefused as exc:
                self._bury(delivery, str(exc))
                return None
            raw = spooled.raw
            with self.lock:
                self.spooled[delivery.ref] = spooled
        if raw is None:
            self._bury(delivery, "a store job without a message")
            return None
        return WorkItem(
            origin=job.origin or f"queue:{delivery.ref}",
            raw=raw,
            position=delivery.ref,
            tenant=tenant,
        )

    def taken(self, refs: Sequence[str]) -> list[Delivery]:
        """Forget handed-over entries (committed, or to be retried); return them."""
        with self.lock:
            return [d for r in refs if (d := self.unacked.pop(r, None)) is not None]

    def in_hand(self) -> list[Delivery]:
        """Every entry handed over and not yet committed (forgotten here)."""
        with self.lock:
            held, self.unacked = list(self.unacked.values()), {}
            self.spooled.clear()  # read again when they come back
        return held

    def hook(self) -> QueueHook:
        """The hook that logs and acknowledges each committed batch."""
        return QueueHook(self)


class QueueHook(BatchHook):
    """Job log rows in the batch's transaction; XACK after its commit."""

    def __init__(self, source: QueueSource) -> None:
        self.source = source

    def _deliveries(self, written: Written) -> list[Delivery]:
        with self.source.lock:
            return [
                d
                for item in written.batch.items
                if (d := self.source.unacked.get(str(item.position))) is not None
            ]

    def in_transaction(self, conn: Connection, written: Written) -> None:
        deliveries = self._deliveries(written)
        keys = dict(
            zip(
                (str(i.position) for i in written.batch.items),
                written.batch.keys,
                strict=True,
            )
        )
        log_jobs(
            conn,
            written.tenant,
            deliveries,
            outcomes=[
                "stored" if keys[d.ref] in written.inserted else "duplicate"
                for d in deliveries
            ],
            keys=[keys[d.ref] for d in deliveries],
        )

    def after_commit(self, written: Written) -> None:
        self.source.stored += len(written.inserted)
        self.source.duplicates += len(written.batch.items) - len(written.inserted)
        done = self.source.taken([str(i.position) for i in written.batch.items])
        self.source.streams.ack(done)
        for d in done:
            with self.source.lock:
                spooled = self.source.spooled.pop(d.ref, None)
            if spooled is not None:  # stored already: a leftover file is harmless
                left = remove_spooled(self.source.spool_dir, spooled)
                if left is not None:
                    logger.warning("spooled %s not removed: %s", spooled.name, left)


# a job log row needs a UUID: a refused job's malformed id is mapped to one derived
# from it, so that the same bad job logs one row however often it is re-driven
_REFUSED_IDS = uuid.UUID("5b0c7f4e-2f5d-4c1a-9a57-6d1f1f0e5a23")


def loggable(delivery: Delivery) -> bool:
    """Whether a job can have a job log row: its type is one the log knows and its
    tenant is a name (whether that tenant exists is the caller's to look up)."""
    job = delivery.job
    return (
        job.type in JOB_TYPES
        and 0 < len(job.tenant) <= 200
        and job.tenant.isprintable()
        and bool(job.tenant.strip())
    )


def _log_id(delivery: Delivery) -> str:
    """The job's id; for an entry refused unread or as not a job (a problem set), an
    id derived from the entry itself: its job id is then only what whoever wrote it
    chose, and a forged entry carrying a real job's id must not take that job's row
    (the log keeps one row per job id)."""
    if delivery.problem is not None:
        return str(uuid.uuid5(_REFUSED_IDS, f"{delivery.ref}:{delivery.job.job_id}"))
    try:
        return str(uuid.UUID(delivery.job.job_id))
    except ValueError:
        return str(uuid.uuid5(_REFUSED_IDS, delivery.job.job_id or delivery.ref))


def _when(delivery: Delivery) -> datetime:
    """When the job was enqueued, or (a refused job's implausible time) read."""
    at = delivery.job.enqueued
    if not (EARLIEST <= at <= delivery.read_at + FUTURE_SLACK):
        at = delivery.read_at
    return datetime.fromtimestamp(at, UTC)


def log_jobs(
    conn: Connection,
    tenant: Tenant,
    deliveries: Sequence[Delivery],
    *,
    outcomes: Sequence[str],
    keys: Sequence[str | None] | None = None,
    error: str | None = None,
) -> None:
    """Write the job log rows of ended jobs (one tenant's) in the open transaction."""
    if not deliveries:
        return
    jobs_repo.log_jobs(
        conn,
        tenant_id=tenant.tenant_id,
        job_ids=[_log_id(d) for d in deliveries],
        job_types=[d.job.type for d in deliveries],
        priorities=[d.priority for d in deliveries],
        outcomes=list(outcomes),
        attempts=[d.attempts for d in deliveries],
        storage_keys=list(keys) if keys is not None else [None] * len(deliveries),
        sources=[d.job.origin.replace("\x00", "\\x00") or None for d in deliveries],
        errors=[error.replace("\x00", "\\x00") if error else error] * len(deliveries),
        enqueued=[_when(d) for d in deliveries],
        started=[datetime.fromtimestamp(d.read_at, UTC) for d in deliveries],
    )
