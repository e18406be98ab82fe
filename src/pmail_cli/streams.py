"""The queue's transport: Redis Streams with one consumer group (docs/queue.md).

This is to Redis what repository/ is to PostgreSQL: every command pmail sends to
Redis is here, nothing else. Jobs live in one stream per priority
(`<prefix>:jobs:high|normal|bulk`), read by the consumer group `workers`. An entry is
acknowledged and deleted only after the batch that stored it has committed; until
then it stays in the group's pending list, where a failed one waits out its backoff
and a silent worker's ones wait `claim_after`, before a worker claims them again.
After `max_deliveries` an entry moves to `<prefix>:dead` with its error.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from redis import exceptions as rexc

from pmail_cli.errors import PmailError

PRIORITIES = ("high", "normal", "bulk")  # read in this order
JOB_TYPES = ("store", "import-imap", "analytics")
GROUP = "workers"
BACKOFF_BASE = 0.5  # seconds before the first retry; doubles each time
BACKOFF_MAX = 60.0


class QueueUnavailable(PmailError):
    """Redis cannot be reached, refused us, or is not configured.

    Exit code 75 (EX_TEMPFAIL): a mail server's pipe transport defers the message
    and tries again, instead of bouncing it.
    """

    exit_code = 75


def redact_url(url: str) -> str:
    """The queue URL without its password, safe to print or log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (
        f":{parts.port}" if parts.port else ""
    )
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(slots=True)
class Job:
    """One unit of work as producers hand it over."""

    type: str  # store | import-imap | analytics
    tenant: str  # tenant name
    priority: str = "normal"
    origin: str = ""  # where the message came from (a path, "-", an IMAP account)
    direction: str = "auto"
    raw: bytes | None = None  # the message (store), unless it went to the spool
    spool: str | None = None  # path of the spooled message (over max_job_bytes)
    account: str | None = None  # import-imap: the account's name in the accounts file
    job_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    enqueued: float = field(default_factory=time.time)
    attempts: int = 0  # deliveries before a dead-letter re-drive

    def fields(self) -> dict[Any, bytes]:
        """The stream entry's fields."""
        out = {
            "type": self.type,
            "tenant": self.tenant,
            "priority": self.priority,
            "origin": self.origin,
            "direction": self.direction,
            "job": self.job_id,
            "enqueued": repr(self.enqueued),
            "attempts": str(self.attempts),
        }
        if self.spool:
            out["spool"] = self.spool
        if self.account:
            out["account"] = self.account
        encoded = {k: v.encode() for k, v in out.items()}
        if self.raw is not None:
            encoded["raw"] = self.raw
        return encoded

    @classmethod
    def from_fields(cls, fields: dict[bytes, bytes]) -> Job:
        """Read an entry back (fields pmail did not write are ignored)."""

        def text(name: str, default: str = "") -> str:
            value = fields.get(name.encode())
            return value.decode("utf-8", "replace") if value is not None else default

        return cls(
            type=text("type", "store"),
            tenant=text("tenant"),
            priority=text("priority", "normal"),
            origin=text("origin"),
            direction=text("direction", "auto"),
            raw=fields.get(b"raw"),
            spool=text("spool") or None,
            account=text("account") or None,
            job_id=text("job") or str(uuid.uuid4()),
            enqueued=float(text("enqueued", "0") or 0),
            attempts=int(text("attempts", "0") or 0),
        )

    @property
    def nbytes(self) -> int:
        """Bytes the entry carries, roughly."""
        return len(self.raw or b"") + 200


@dataclass(slots=True)
class Delivery:
    """A job handed to this worker: where it sits and how often it was delivered."""

    priority: str
    entry_id: str
    job: Job
    deliveries: int = 1  # times the group delivered it, this time included
    read_at: float = field(default_factory=time.time)

    @property
    def ref(self) -> str:
        """`priority/entry-id`: how errors and dead letters name the entry."""
        return f"{self.priority}/{self.entry_id}"

    @property
    def attempts(self) -> int:
        """Every delivery of the job so far, re-drives included."""
        return self.job.attempts + self.deliveries


@dataclass(frozen=True, slots=True)
class DeadJob:
    """An entry of the dead-letter stream."""

    dead_id: str
    job: Job
    error: str
    failed_at: float
    deliveries: int


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """One priority's stream as `queue status` shows it."""

    priority: str
    waiting: int  # not delivered yet
    in_flight: int  # delivered, not acknowledged (being worked on, or waiting to retry)
    retrying: int  # of those, failed at least once
    oldest_age_s: float | None  # the oldest entry still in the stream


def backoff(entry_id: str, deliveries: int) -> float:
    """Seconds a failed entry waits before its next delivery: exponential, capped,
    with a jitter of +-25 % that is the same for the same entry every time."""
    base = min(BACKOFF_BASE * 2 ** max(deliveries - 1, 0), BACKOFF_MAX)
    jitter = int(hashlib.md5(entry_id.encode()).hexdigest()[:4], 16) / 0xFFFF
    return float(base * (0.75 + jitter / 2))


class Streams:
    """pmail's keys in one Redis database."""

    def __init__(self, client: redis.Redis, prefix: str, url: str = "") -> None:
        self.client = client
        self.prefix = prefix
        self.url = url

    @classmethod
    def connect(cls, url: str | None, prefix: str) -> Streams:
        """Connect to the queue at `url`; a clear error when there is none."""
        if not url:
            raise QueueUnavailable(
                "no queue is configured",
                hint="set PMAIL_QUEUE_URL (e.g. redis://127.0.0.1:6379/0) or queue_url "
                "in the config file (docs/queue.md)",
            )
        try:
            client = redis.Redis.from_url(
                url, socket_connect_timeout=5, health_check_interval=30
            )
        except ValueError as exc:
            raise QueueUnavailable(
                f"invalid queue URL {redact_url(url)}: {exc}",
                hint="use redis://[:password@]host:port/db or rediss:// for TLS",
            ) from None
        streams = cls(client, prefix, url)
        with streams.errors():
            client.ping()
        return streams

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn Redis failures into one error/hint pair."""
        try:
            yield
        except rexc.AuthenticationError as exc:
            raise QueueUnavailable(
                f"the queue at {redact_url(self.url)} refused the password: {exc}",
                hint="check the password in PMAIL_QUEUE_URL",
            ) from None
        except (rexc.ConnectionError, rexc.TimeoutError) as exc:
            raise QueueUnavailable(
                f"cannot reach the queue at {redact_url(self.url)}: {exc}",
                hint="is Redis running? Check PMAIL_QUEUE_URL; enqueued jobs are kept "
                "in Redis, rerun to continue",
            ) from None
        except rexc.ResponseError as exc:
            raise QueueUnavailable(
                f"the queue at {redact_url(self.url)} answered: {exc}",
                hint="is this a Redis 6.2 or newer?",
            ) from None

    def key(self, *parts: str) -> str:
        """A key under pmail's prefix."""
        return ":".join((self.prefix, *parts))

    def stream(self, priority: str) -> str:
        """The stream of one priority."""
        return self.key("jobs", priority)

    # --- producers -----------------------------------------------------------------

    def add(self, jobs: Sequence[Job]) -> list[str]:
        """Append jobs to their priorities' streams, in one round trip."""
        with self.errors():
            pipe = self.client.pipeline(transaction=False)
            for job in jobs:
                pipe.xadd(self.stream(job.priority), job.fields())  # type: ignore[arg-type]
            return [
                str(i.decode() if isinstance(i, bytes) else i) for i in pipe.execute()
            ]

    def stream_bytes(self) -> int:
        """Memory the job streams take in Redis (sampled), for back-pressure."""
        with self.errors():
            pipe = self.client.pipeline(transaction=False)
            for priority in PRIORITIES:
                pipe.memory_usage(self.stream(priority))
            return sum(int(n or 0) for n in pipe.execute())

    # --- consumers -----------------------------------------------------------------

    def ensure_groups(self) -> None:
        """Create the streams and the consumer group where missing."""
        with self.errors():
            for priority in PRIORITIES:
                try:
                    self.client.xgroup_create(
                        self.stream(priority), GROUP, id="0", mkstream=True
                    )
                except rexc.ResponseError as exc:
                    if "BUSYGROUP" not in str(exc):
                        raise

    def read(self, consumer: str, count: int, block_ms: int) -> list[Delivery]:
        """New jobs, highest priority first; waits up to block_ms when there are none."""
        found: list[Delivery] = []
        with self.errors():
            for priority in PRIORITIES:
                if len(found) >= count:
                    break
                found += self._read(
                    consumer, {self.stream(priority): ">"}, count - len(found), None
                )
            if not found and block_ms > 0:
                found = self._read(
                    consumer,
                    {self.stream(p): ">" for p in PRIORITIES},
                    count,
                    block_ms,
                )
        return found

    def _read(
        self, consumer: str, streams: dict[Any, Any], count: int, block: int | None
    ) -> list[Delivery]:
        reply: Any = self.client.xreadgroup(
            GROUP,
            consumer,
            streams,
            count=count,
            block=block,
        )
        out: list[Delivery] = []
        for name, entries in reply or []:
            priority = _priority_of(name)
            for entry_id, fields in entries:
                if fields is None:  # deleted while pending
                    continue
                out.append(Delivery(priority, _text(entry_id), Job.from_fields(fields)))
        return out

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Acknowledge and delete entries whose work has committed."""
        if not deliveries:
            return
        by_stream: dict[str, list[str]] = {}
        for d in deliveries:
            by_stream.setdefault(self.stream(d.priority), []).append(d.entry_id)
        with self.errors():
            pipe = self.client.pipeline(transaction=True)
            for stream, ids in by_stream.items():
                pipe.xack(stream, GROUP, *ids)
                pipe.xdel(stream, *ids)
            pipe.hdel(self.key("errors"), *[d.ref for d in deliveries])
            pipe.execute()

    def release(self, deliveries: Sequence[Delivery]) -> None:
        """Give entries read but not worked on back to the queue (a worker that
        stops): re-added at the end of their stream, the delivered copy removed,
        atomically. Their job ids stay, so nothing is stored or logged twice."""
        if not deliveries:
            return
        with self.errors():
            pipe = self.client.pipeline(transaction=True)
            for d in deliveries:
                pipe.xadd(self.stream(d.priority), d.job.fields())  # type: ignore[arg-type]
                pipe.xack(self.stream(d.priority), GROUP, d.entry_id)
                pipe.xdel(self.stream(d.priority), d.entry_id)
            pipe.execute()

    def fail(self, deliveries: Sequence[Delivery], error: str) -> None:
        """Note why entries failed; they stay pending and come back after a backoff."""
        if not deliveries:
            return
        with self.errors():
            self.client.hset(
                self.key("errors"), mapping={d.ref: error for d in deliveries}
            )

    def claim_due(
        self,
        consumer: str,
        *,
        claim_after: float,
        max_deliveries: int,
        count: int = 100,
    ) -> tuple[list[Delivery], list[Delivery]]:
        """Pending entries that may be delivered again: failed ones whose backoff is
        over, and silent workers' ones older than claim_after. Returns (claimed,
        exhausted): the exhausted ones were delivered max_deliveries times already
        and are the caller's to bury, with their last error."""
        claimed: list[Delivery] = []
        exhausted: list[Delivery] = []
        with self.errors():
            errors = {_text(k) for k in self.client.hkeys(self.key("errors"))}
            for priority in PRIORITIES:
                stream = self.stream(priority)
                pending: Any = self.client.xpending_range(
                    stream, GROUP, min="-", max="+", count=count
                )
                for p in pending:
                    entry_id = _text(p["message_id"])
                    idle = p["time_since_delivered"] / 1000
                    times = int(p["times_delivered"])
                    failed = f"{priority}/{entry_id}" in errors
                    wait = backoff(entry_id, times) if failed else claim_after
                    if idle < wait:
                        continue
                    got: Any = self.client.xclaim(
                        stream, GROUP, consumer, int(wait * 1000), [entry_id]
                    )
                    for got_id, fields in got or []:
                        if fields is None:
                            continue
                        job = Job.from_fields(fields)
                        if times >= max_deliveries:  # not delivered again: buried
                            exhausted.append(
                                Delivery(priority, _text(got_id), job, times)
                            )
                        else:
                            claimed.append(
                                Delivery(priority, _text(got_id), job, times + 1)
                            )
        return claimed, exhausted

    def last_error(self, delivery: Delivery) -> str | None:
        """The error an entry last failed with."""
        with self.errors():
            value = self.client.hget(self.key("errors"), delivery.ref)
        return _text(value) if value is not None else None

    def bury(self, delivery: Delivery, error: str) -> str:
        """Move an entry to the dead letters with its error (atomically)."""
        job = delivery.job
        fields = job.fields()
        fields.update(
            {
                b"error": error.encode(),
                b"failed_at": repr(time.time()).encode(),
                b"deliveries": str(delivery.attempts).encode(),
                b"original": delivery.ref.encode(),
            }
        )
        with self.errors():
            pipe = self.client.pipeline(transaction=True)
            pipe.xadd(self.key("dead"), fields)  # type: ignore[arg-type]
            pipe.xack(self.stream(delivery.priority), GROUP, delivery.entry_id)
            pipe.xdel(self.stream(delivery.priority), delivery.entry_id)
            pipe.hdel(self.key("errors"), delivery.ref)
            dead_id = pipe.execute()[0]
        return _text(dead_id)

    # --- dead letters and status ---------------------------------------------------

    def dead(self, count: int = 1000) -> list[DeadJob]:
        """The dead letters, oldest first."""
        with self.errors():
            entries: Any = self.client.xrange(self.key("dead"), count=count)
        return [_dead(entry_id, fields) for entry_id, fields in entries]

    def redrive(self, dead_ids: Sequence[str] | None) -> list[DeadJob]:
        """Put dead letters (all, or these) back on their streams; return them."""
        chosen = [
            d
            for d in self.dead(count=100_000)
            if dead_ids is None or d.dead_id in dead_ids
        ]
        with self.errors():
            pipe = self.client.pipeline(transaction=True)
            for d in chosen:
                job = d.job
                job.attempts = d.deliveries
                pipe.xadd(self.stream(job.priority), job.fields())  # type: ignore[arg-type]
                pipe.xdel(self.key("dead"), d.dead_id)
            pipe.execute()
        return chosen

    def status(self) -> tuple[list[StreamStatus], int]:
        """Each priority's stream, and the number of dead letters."""
        now = time.time()
        out = []
        with self.errors():
            errors = [_text(k) for k in self.client.hkeys(self.key("errors"))]
            for priority in PRIORITIES:
                stream = self.stream(priority)
                length = int(self.client.xlen(stream))
                pending = 0
                with_group: Any = self.client.xinfo_groups(stream) if length else []
                for group in with_group:
                    if _text(group["name"]) == GROUP:
                        pending = int(group["pending"])
                first: Any = self.client.xrange(stream, count=1)
                age = (
                    now - int(_text(first[0][0]).split("-")[0]) / 1000
                    if first
                    else None
                )
                retrying = sum(1 for e in errors if e.startswith(priority + "/"))
                out.append(
                    StreamStatus(priority, length - pending, pending, retrying, age)
                )
            dead = int(self.client.xlen(self.key("dead")))
        return out, dead

    def drop_all(self) -> None:
        """Delete every key under the prefix (tests and `queue purge`)."""
        with self.errors():
            keys = list(self.client.scan_iter(match=f"{self.prefix}:*", count=1000))
            if keys:
                self.client.delete(*keys)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _priority_of(stream: object) -> str:
    return _text(stream).rsplit(":", 1)[-1]


def _dead(entry_id: object, fields: dict[bytes, bytes]) -> DeadJob:
    def text(name: bytes) -> str:
        return fields.get(name, b"").decode("utf-8", "replace")

    return DeadJob(
        _text(entry_id),
        Job.from_fields(fields),
        text(b"error"),
        float(text(b"failed_at") or 0),
        int(text(b"deliveries") or 0),
    )
