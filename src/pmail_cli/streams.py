"""The queue's transport: Redis Streams with one consumer group (docs/queue.md).

This is to Redis what repository/ is to PostgreSQL: every command pmail sends to
Redis is here, nothing else. Jobs live in one stream per priority
(`<prefix>:jobs:high|normal|bulk`), read by the consumer group `workers`. An entry is
acknowledged and deleted only after the batch that stored it has committed; until
then it stays in the group's pending list, where a failed one waits out its backoff
and a silent worker's ones wait `claim_after`, before a worker claims them again.
After `max_deliveries` an entry moves to `<prefix>:dead` with its error.

Entries are read as untrusted, and their size is not known before they are read:
every read of entries goes through a connection whose parser refuses a reply over
its limit (`_CappedParser`), one entry per reply (the blocking wait: one per
stream), so an entry larger than max_job_bytes and room for its other fields is
never read whole. streams.lua then buries it inside Redis, and shows the dead
letters and the oldest entry without sending an oversized one.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from redis import exceptions as rexc
from redis._parsers import _HiredisParser  # see _CappedParser

from pmail_cli.errors import PmailError, UsageError
from pmail_cli.queue_job import (
    JOB_TYPES,
    MAX_ATTEMPTS,
    PRIORITIES,
    InvalidJob,
    Job,
    loose_job,
    read_job,
)

__all__ = ["JOB_TYPES", "PRIORITIES", "Job"]
logger = logging.getLogger(__name__)
DEFAULT_MAX_RAW = 10 * 1024 * 1024
GROUP = "workers"
BACKOFF_BASE = 0.5  # seconds before the first retry; doubles each time
BACKOFF_MAX = 60.0
ENTRY_SLACK = 64 * 1024  # an entry's fields besides raw (origin <= 4 KiB, ids, ...)
# a socket read brings at most 64 KiB of the replies that follow the one being read,
# which the capped parser counts with it; twice that keeps every entry it refuses
# over the limit streams.lua buries at (so a refused entry is always buried)
SPILL = 2 * 64 * 1024
KEEP_FIELD = 4096  # a buried or listed dead letter keeps its known fields up to this
SWEEP_COUNT = 1000  # pending entries of one consumer looked at after a refused reply
DEAD_PAGE = 100  # dead letters per call of streams.lua
# a read stops taking new entries once it has read this many bytes of replies (or
# two entries' limit, if more): a batch of entries of millions of tiny fields takes
# several times its bytes in memory
READ_BUDGET = 32 * 1024 * 1024
READ_CHUNK = 50  # XREADGROUP COUNT 1 commands sent at once


class ReplyTooLarge(rexc.RedisError):
    """A Redis reply over the reading connection's limit: refused unread, and the
    connection dropped (redis-py disconnects on any error while reading)."""


class _CappedParser(_HiredisParser):
    """redis-py's hiredis parser with a limit on the bytes of each reply.

    hiredis hands a reply over only when it is whole, so a plain client holds
    every byte of an entry before pmail can look at it. This one counts the bytes
    it feeds hiredis since the reply began and refuses the reply (ReplyTooLarge)
    as soon as they pass `limit`: a reply of 500 MB costs the worker `limit` and one
    socket read, not 500 MB. The count includes an entry's field names and values
    and the protocol around them, so an entry of a million tiny fields is refused
    too."""

    limit = 0
    fed = 0

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        self.fed = 0
        return super().read_response(*args, **kwargs)

    def read_from_socket(self, *args: Any, **kwargs: Any) -> Any:
        reader = self._reader
        before = reader.len() if reader is not None else 0
        read = super().read_from_socket(*args, **kwargs)  # type: ignore[no-untyped-call]
        if reader is not None:
            self.fed += reader.len() - before
            if self.fed > self.limit:
                raise ReplyTooLarge(
                    f"a reply of over {self.limit:,} bytes from the queue, refused"
                )
        return read


def _capped(limit: int) -> type[_CappedParser]:
    """The capped parser class for replies of at most limit bytes."""
    return type("CappedParser", (_CappedParser,), {"limit": limit})


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
class Delivery:
    """A job handed to this worker: where it sits and how often it was delivered."""

    priority: str
    entry_id: str
    job: Job  # checked; for a refused entry (problem set) only what it says
    deliveries: int = 1  # times the group delivered it, this time included
    read_at: float = field(default_factory=time.time)
    entry: dict[bytes, bytes] = field(default_factory=dict)  # the fields as read
    problem: str | None = None  # why the entry is not a job pmail acts on
    dead_id: str | None = None  # already buried, inside Redis (streams.lua)

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
    job: Job  # what the entry says (shown, never acted on here)
    error: str
    failed_at: float
    deliveries: int
    entry: dict[bytes, bytes] = field(default_factory=dict)  # as it was buried


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
    # the count is Redis's, which anyone may set (XCLAIM RETRYCOUNT): bound it first
    base = min(BACKOFF_BASE * 2 ** min(max(deliveries - 1, 0), 16), BACKOFF_MAX)
    jitter = int(hashlib.md5(entry_id.encode()).hexdigest()[:4], 16) / 0xFFFF
    return float(base * (0.75 + jitter / 2))


class Streams:
    """pmail's keys in one Redis database."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        url: str = "",
        *,
        capped: Callable[[int], redis.Redis],
        max_raw: int = DEFAULT_MAX_RAW,
        job_keys: Mapping[str, tuple[bytes, ...]] | None = None,
        require_signed: bool = False,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.url = url
        self.max_raw = max_raw  # a job's raw message larger than this is refused
        # tenant -> job key: jobs added are signed with it, jobs read checked
        self.job_keys = dict(job_keys or {})
        self.require_signed = require_signed  # read: a tenant without a key takes none
        # streams.lua buries an entry over this (its size in a reply, estimated high)
        self.entry_limit = max_raw + ENTRY_SLACK
        # the capped connection refuses a reply over this: one entry, and what a
        # socket read brings of the next replies with it
        self.reply_limit = self.entry_limit + SPILL
        self.reader = capped(self.reply_limit)
        # per priority, the newest entry id taken into hand: the ones pending to us
        # after it were delivered and not read (a refused reply, a lost connection)
        self.seen: dict[str, str] = {}
        self.script = client.register_script(
            resources.files("pmail_cli").joinpath("streams.lua").read_text("utf-8")
        )

    @classmethod
    def connect(
        cls,
        url: str | None,
        prefix: str,
        *,
        password: str | None = None,
        ca_file: Path | None = None,
        max_raw: int = DEFAULT_MAX_RAW,
        job_keys: Mapping[str, tuple[bytes, ...]] | None = None,
        require_signed: bool = False,
    ) -> Streams:
        """Connect to the queue at `url` (AUTH with `password`; over TLS for
        rediss://, verified against ca_file or the system's CAs); a clear error
        when there is none or it refuses us."""
        if not url:
            raise QueueUnavailable(
                "no queue is configured",
                hint="set PMAIL_QUEUE_URL (e.g. redis://127.0.0.1:6379/0) or queue_url "
                "in the config file (docs/queue.md)",
            )
        options = _tls_options(url, ca_file)
        if password is not None:
            if urlsplit(url).password is not None:
                raise UsageError(
                    f"the queue's password is given twice: in the URL "
                    f"{redact_url(url)} and in PMAIL_QUEUE_PASSWORD or [queue] password",
                    hint="keep one (docs/queue.md, Redis with a password)",
                )
            options["password"] = password
        options.update(socket_connect_timeout=5, health_check_interval=30)

        def capped(limit: int) -> redis.Redis:
            return redis.Redis.from_url(url, parser_class=_capped(limit), **options)

        try:
            client = redis.Redis.from_url(url, **options)
        except ValueError as exc:
            raise QueueUnavailable(
                f"invalid queue URL {redact_url(url)}: {exc}",
                hint="use redis://host:port/db, or rediss:// for TLS",
            ) from None
        streams = cls(
            client,
            prefix,
            url,
            capped=capped,
            max_raw=max_raw,
            job_keys=job_keys,
            require_signed=require_signed,
        )
        with streams.errors():
            client.ping()
        return streams

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Turn Redis failures into one error/hint pair."""
        where = redact_url(self.url)
        try:
            yield
        except rexc.AuthenticationError as exc:
            kwargs = self.client.connection_pool.connection_kwargs
            if not kwargs.get("password"):
                raise QueueUnavailable(
                    f"the queue at {where} needs a password",
                    hint="set PMAIL_QUEUE_PASSWORD, or password in the [queue] table "
                    "of the config file (docs/queue.md)",
                ) from None
            raise QueueUnavailable(
                f"the queue at {where} refused the password: {exc}",
                hint="check PMAIL_QUEUE_PASSWORD (or [queue] password in the config "
                "file) against the server's requirepass or ACL user",
            ) from None
        except (rexc.ConnectionError, rexc.TimeoutError) as exc:
            raise QueueUnavailable(
                f"cannot reach the queue at {where}: {exc}", hint=_connect_hint(exc)
            ) from None
        except rexc.ResponseError as exc:
            if "WRONGTYPE" in str(exc):
                try:
                    moved = self.move_aside_wrong_types()
                except rexc.RedisError:
                    moved = []
                raise QueueUnavailable(
                    f"a key of the queue at {where} is not what pmail keeps there: "
                    f"{exc}",
                    hint=(
                        f"pmail moved {', '.join(moved)} aside; run the command again. "
                        if moved
                        else ""
                    )
                    + "Only workers write the queue's own keys: give producers "
                    "rights on the job streams only (docs/queue.md)",
                ) from None
            if isinstance(exc, rexc.NoPermissionError):
                raise QueueUnavailable(
                    f"the queue at {where} refused a key to this Redis user: {exc}",
                    hint=f"a producer (`pmail enqueue`) needs its job streams "
                    f"({self.key('jobs', '*')}); a worker and the `queue` commands "
                    f"need every key under {self.prefix}: (docs/queue.md)",
                ) from None
            if "last possible ID" in str(exc):
                raise QueueUnavailable(
                    f"the queue at {where} answered: {exc}",
                    hint="someone added an entry with the largest id a stream can "
                    "have, so Redis refuses every new one there; the jobs in it are "
                    "kept. Repair it by hand with no worker running (docs/queue.md, "
                    "A stream at the largest id): XDEL that entry, XSETID the stream "
                    "and XGROUP SETID the group workers back to the newest real id",
                ) from None
            raise QueueUnavailable(
                f"the queue at {where} answered: {exc}",
                hint="is this a Redis 6.2 or newer?",
            ) from None

    def move_aside_wrong_types(self) -> list[str]:
        """Rename pmail's keys that hold another type than pmail keeps there (the
        errors hash, the dead letters and job streams) to `<key>:aside:<time>`, in
        one step of streams.lua ("aside"), so that one XADD to the errors key cannot
        stop every worker and two workers starting together cannot move a key the
        other just made right; the names moved. Workers and the queue commands call
        it, never producers (whose Redis user may touch the job streams only)."""
        expected = {self.key("errors"): "hash", self.key("dead"): "stream"}
        expected.update({self.stream(p): "stream" for p in PRIORITIES})
        moved = self.script(
            keys=list(expected), args=["aside", *expected.values()], client=self.client
        )
        for key, found, aside in moved or []:
            logger.warning(
                "the queue's key %s held a %s, not a %s: moved aside to %s",
                _text(key),
                _text(found),
                expected.get(_text(key), "?"),
                _text(aside),
            )
        return [_text(key) for key, _, _ in moved or []]

    def repair_keys(self) -> None:
        """move_aside_wrong_types, with Redis's errors as error/hint pairs."""
        with self.errors():
            self.move_aside_wrong_types()

    def key(self, *parts: str) -> str:
        """A key under pmail's prefix."""
        return ":".join((self.prefix, *parts))

    def stream(self, priority: str) -> str:
        """The stream of one priority."""
        return self.key("jobs", priority)

    # --- producers -----------------------------------------------------------------

    def add(self, jobs: Sequence[Job]) -> list[str]:
        """Append jobs to their priorities' streams, in one round trip; each signed
        with its tenant's job key when there is one."""
        with self.errors():
            pipe = self.client.pipeline(transaction=False)
            for job in jobs:
                ring = self.job_keys.get(job.tenant)
                fields = job.fields(ring[0] if ring else None)  # the newest key
                pipe.xadd(self.stream(job.priority), fields)  # type: ignore[arg-type]
            return [_text(i) for i in pipe.execute()]

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
        """New jobs, highest priority first; waits up to block_ms when there are none.
        Entries too large to read come back already buried (dead_id set)."""
        found: list[Delivery] = []
        with self.errors():
            found = self._screened(consumer, count)
            if not found and block_ms > 0:
                found = self._lost_streams(self._wait, consumer, block_ms) or []
                if found:  # more may have come with it: fill the batch
                    found += self._screened(consumer, count - len(found))
        return found

    def _lost_streams(self, read: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """read(...); None when Redis lost the streams and their group (a restart
        without persistence, a flush: NOGROUP), which are made again so that the
        next read goes on, instead of failing every read until a restart."""
        try:
            return read(*args, **kwargs)
        except rexc.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self.ensure_groups()
            return None

    def _run(self, mode: str, key: str, *extra: str | bytes, **args: Any) -> Any:
        """Run one mode of streams.lua on `key` (a job stream, or the dead letters)."""
        argv: list[str | int | bytes] = [
            mode,
            GROUP,
            args.get("consumer", ""),
            args.get("count", 1),
            args.get("limit", self.entry_limit),
            KEEP_FIELD,
            repr(time.time()),
            args.get("priority", _priority_of(key)),
            *extra,
        ]
        return self.script(
            keys=[key, self.key("dead"), self.key("errors")],
            args=argv,
            client=self.client,
        )

    def _screened(self, consumer: str, count: int) -> list[Delivery]:
        """Up to count new entries, highest priority first, one entry per reply;
        fewer once READ_BUDGET bytes were read (the rest wait for the next read)."""
        out: list[Delivery] = []
        budget = max(READ_BUDGET, 2 * self.reply_limit)
        for priority in PRIORITIES:
            n = 1  # one round trip first (is there any?), then the rest in chunks
            while len(out) < count and budget > 0:
                got, size = self._lost_streams(self._each, consumer, priority, n) or (
                    [],
                    0,
                )
                out += got
                budget -= size
                if len([d for d in got if d.dead_id is None]) < n:
                    break  # this stream has no more
                n = min(count - len(out), READ_CHUNK)
        return out

    def _each(self, consumer: str, priority: str, n: int) -> tuple[list[Delivery], int]:
        """n XREADGROUP COUNT 1 sent at once on the capped reader, so that each
        reply holds one entry and is refused past reply_limit; with the bytes read.
        The command is packed once and its replies read raw: redis-py's
        pipeline would spend more on its per-command bookkeeping than Redis spends
        on the reads. After a refusal, _recover buries the oversized entries and
        reads the others."""
        command = ("XREADGROUP", "GROUP", GROUP, consumer, "COUNT", 1, "STREAMS")
        try:
            replies, size = self._raw((*command, self.stream(priority), ">"), n)
        except ReplyTooLarge:
            return self._recover(consumer, [priority], n), 0
        return [d for reply in replies for d in self._entries(reply)], size

    def _raw(self, command: tuple[object, ...], n: int = 1) -> tuple[list[Any], int]:
        """The raw replies of `command` sent n times at once on the capped reader,
        and the bytes they took. On a ReplyTooLarge the connection is dropped and
        the replies read before it are let go too: their entries stay pending to
        us, for _recover."""
        pool = self.reader.connection_pool
        conn: Any = pool.get_connection()  # redis-py leaves these methods untyped
        try:
            packed = b"".join(conn.pack_command(*command))
            conn.send_packed_command([packed * n])
            replies, size = [], 0
            for _ in range(n):
                replies.append(conn.read_response())
                size += conn._parser.fed
            return replies, size
        except ReplyTooLarge:
            raise  # read_response dropped the connection
        except BaseException:
            conn.disconnect()  # replies may be left unread: never reuse it
            raise
        finally:
            pool.release(conn)

    def _entries(self, reply: Any) -> list[Delivery]:
        """The entries of a raw XREADGROUP reply, taken into hand. One deleted while
        pending to us (nothing but its id) is acknowledged, so it leaves our list."""
        out = []
        for name, entries in _raw_streams(reply):
            priority = _priority_of(name)
            for entry_id, flat in entries:
                self._took(priority, _text(entry_id))
                if flat is None:
                    self.client.xack(self.stream(priority), GROUP, entry_id)
                    continue
                out.append(self._delivery(priority, entry_id, _pairs(flat), 1))
        return out

    def _took(self, priority: str, entry_id: str) -> None:
        if _id_key(entry_id) > _id_key(self.seen.get(priority, "0-0")):
            self.seen[priority] = entry_id

    def _wait(self, consumer: str, block_ms: int) -> list[Delivery]:
        """Wait up to block_ms for a new entry on any stream (one per stream in the
        reply, refused past reply_limit like any other; then _recover)."""
        names = [self.stream(p) for p in PRIORITIES]
        command = ("XREADGROUP", "GROUP", GROUP, consumer, "COUNT", 1, "BLOCK")
        try:
            (reply,), _ = self._raw((*command, block_ms, "STREAMS", *names, *[">"] * 3))
        except ReplyTooLarge:
            return self._recover(consumer, PRIORITIES, len(PRIORITIES))
        return self._entries(reply)

    def _recover(
        self, consumer: str, priorities: Sequence[str], wanted: int
    ) -> list[Delivery]:
        """After a refused reply: bury, inside Redis, the oversized entries pending
        to us since the newest we took, then read up to `wanted` others (one per
        reply) from our pending list; any more come back after claim_after. Every
        refused entry is over the limit streams.lua buries at (SPILL), so each
        sweep buries what was refused and this ends."""
        out: list[Delivery] = []
        for priority in priorities:
            stream = self.stream(priority)
            sweep, read = True, 0
            for _ in range(SWEEP_COUNT):
                after = self.seen.get(priority)
                if sweep:
                    out += self._sweep(
                        consumer, priority, f"({after}" if after else "-"
                    )
                if read >= wanted:
                    break
                command = ("XREADGROUP", "GROUP", GROUP, consumer, "COUNT", 1)
                try:
                    (reply,), _ = self._raw((*command, "STREAMS", stream, after or "0"))
                except ReplyTooLarge:
                    sweep = True  # the next sweep buries it
                    continue
                if not any(entries for _, entries in _raw_streams(reply)):
                    break
                got = self._entries(reply)
                out += got
                read += len(got)
                sweep = False
        return out

    def _sweep(
        self, consumer: str, priority: str, start: str, end: str = "+"
    ) -> list[Delivery]:
        """Bury, inside Redis, the oversized entries pending to consumer from start
        to end (ids; `(` makes start exclusive)."""
        buried = self._run(
            "sweep",
            self.stream(priority),
            start,
            end,
            consumer=consumer,
            count=SWEEP_COUNT,
        )
        return [self._buried(priority, b) for b in buried]

    def _buried(self, priority: str, stub: Any) -> Delivery:
        """An entry streams.lua buried: what it kept of it, for the job log."""
        entry_id, dead_id, kept, reason = stub
        fields = _pairs(kept)
        return Delivery(
            priority,
            _text(entry_id),
            loose_job(fields),
            entry=fields,
            problem=_text(reason),
            dead_id=_text(dead_id),
        )

    def _delivery(
        self, priority: str, entry_id: object, fields: dict[bytes, bytes], times: int
    ) -> Delivery:
        """A delivered entry, its job checked (a refused one carries its problem)."""
        try:
            job = read_job(
                fields,
                stream=priority,
                max_raw=self.max_raw,
                keys=self.job_keys,
                require_signed=self.require_signed,
            )
            problem = None
        except InvalidJob as exc:
            job, problem = loose_job(fields), str(exc)
        return Delivery(
            priority, _text(entry_id), job, times, entry=dict(fields), problem=problem
        )

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
            for d in deliveries:
                stream = self.stream(d.priority)
                self._move(d, stream, d.entry or d.job.fields())

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
        holding: Collection[str] = (),
        count: int = 100,
    ) -> tuple[list[Delivery], list[Delivery]]:
        """Pending entries that may be delivered again: failed ones whose backoff is
        over, and silent workers' ones older than claim_after. `holding`: refs the
        caller has in hand (read, or in a batch being written), never claimed back
        however long they take. Returns (claimed, exhausted): the exhausted ones were
        delivered max_deliveries times already and are the caller's to bury, with
        their last error."""
        claimed: list[Delivery] = []
        exhausted: list[Delivery] = []
        with self.errors():
            for priority in PRIORITIES:
                stream = self.stream(priority)
                pending = self._lost_streams(self._run, "pending", stream, count=count)
                for raw_id, idle_ms, times_delivered, failed in pending or []:
                    entry_id = _text(raw_id)
                    times = min(int(times_delivered), MAX_ATTEMPTS)
                    if f"{priority}/{entry_id}" in holding:
                        continue
                    if failed and times >= max_deliveries:
                        wait = 0.0  # never delivered again: no backoff to wait out
                    else:
                        wait = backoff(entry_id, times) if failed else claim_after
                    if int(idle_ms) / 1000 < wait:
                        continue
                    claim = ("XCLAIM", stream, GROUP, consumer, int(wait * 1000))
                    try:
                        (got,), _ = self._raw((*claim, entry_id))
                    except ReplyTooLarge:  # ours now, and too large to read
                        claimed += self._sweep(consumer, priority, entry_id, entry_id)
                        continue
                    for got_id, flat in got or []:
                        if flat is None:
                            continue
                        self._took(priority, _text(got_id))
                        fields = _pairs(flat)
                        if times >= max_deliveries:  # not delivered again: buried
                            exhausted.append(
                                self._delivery(priority, got_id, fields, times)
                            )
                        else:
                            claimed.append(
                                self._delivery(priority, got_id, fields, times + 1)
                            )
        return claimed, exhausted

    def last_error(self, delivery: Delivery) -> str | None:
        """The error an entry last failed with (its first KEEP_FIELD bytes; anyone
        who can write to Redis chooses them, and the cut may split a character)."""
        with self.errors():
            value = self._run("error", self.stream(delivery.priority), delivery.ref)
        if value is None:
            return None
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return str(value)

    def bury(self, delivery: Delivery, error: str) -> str:
        """Move an entry to the dead letters with its error (atomically); one that
        streams.lua buried already is left where it is."""
        if delivery.dead_id is not None:
            return delivery.dead_id
        fields = dict(delivery.entry or delivery.job.fields())  # kept as it came
        fields.update(
            {
                b"error": error.encode(),
                b"failed_at": repr(time.time()).encode(),
                b"deliveries": str(delivery.attempts).encode(),
                b"original": delivery.ref.encode(),
            }
        )
        with self.errors():
            dead_id = self._move(delivery, self.key("dead"), fields)
        return _text(dead_id)

    def _move(
        self, delivery: Delivery, target: str, fields: Mapping[bytes, bytes] | Any
    ) -> Any:
        """streams.lua's "move": the entry to the end of `target` with `fields`, its
        pending copy and error dropped, in one script that stops at a refused XADD
        (a MULTI ran the XACK and XDEL after it, and the job was gone)."""
        flat: list[Any] = []
        for name, value in dict(fields).items():
            flat += [name, value]
        return self._run(
            "move",
            self.stream(delivery.priority),
            delivery.entry_id,
            target,
            *flat,
        )

    # --- dead letters and status ---------------------------------------------------

    def dead(self, count: int = 1000) -> list[DeadJob]:
        """The dead letters, oldest first: their known fields only (type, tenant,
        origin, error, ...), each cut to KEEP_FIELD bytes, never the message."""
        out: list[DeadJob] = []
        after = "-"
        with self.errors():
            while len(out) < count:
                page = self._run(
                    "dead",
                    self.key("dead"),
                    after,
                    count=min(DEAD_PAGE, count - len(out)),
                    limit=self.reply_limit,
                )
                out += [_dead(i, _pairs(fields)) for i, fields in page]
                if len(page) < DEAD_PAGE:
                    break
                after = f"({out[-1].dead_id}"
        return out

    def chosen_dead(self, dead_ids: Sequence[str] | None) -> list[DeadJob]:
        """The dead letters named (all of them for None), oldest first."""
        return [
            d
            for d in self.dead(count=100_000)
            if dead_ids is None or d.dead_id in dead_ids
        ]

    def redrive(self, chosen: Sequence[DeadJob]) -> list[DeadJob]:
        """Put these dead letters back on the streams they came from, inside Redis
        (an entry never passes through pmail); return them."""
        with self.errors():
            for d in chosen:
                self._run(
                    "redrive",
                    self.key("dead"),
                    d.dead_id,
                    priority=self.key("jobs", ""),
                )
        return list(chosen)

    def status(self) -> tuple[list[StreamStatus], int]:
        """Each priority's stream, and the number of dead letters."""
        now = time.time()
        out = []
        with self.errors():
            for priority in PRIORITIES:
                length, pending, first, retrying = self._run(
                    "status", self.stream(priority)
                )
                age = now - int(_text(first).split("-")[0]) / 1000 if first else None
                out.append(
                    StreamStatus(
                        priority,
                        int(length) - int(pending),
                        int(pending),
                        int(retrying),
                        age,
                    )
                )
            dead = int(self.client.xlen(self.key("dead")))
        return out, dead


def _tls_options(url: str, ca_file: Path | None) -> dict[str, Any]:
    """Connection options for TLS: only rediss:// speaks it, and always verifies
    the server's certificate and name."""
    if urlsplit(url).scheme != "rediss":
        if ca_file is not None:
            raise UsageError(
                f"[queue] tls_ca_file is set but the queue URL {redact_url(url)} is "
                "not rediss://",
                hint="use rediss:// for TLS, or remove tls_ca_file",
            )
        return {}
    options: dict[str, Any] = {"ssl_cert_reqs": "required", "ssl_check_hostname": True}
    if ca_file is not None:
        if not ca_file.is_file():
            raise UsageError(
                f"[queue] tls_ca_file {ca_file} is not a readable file",
                hint="name a PEM file of CA certificates",
            )
        options["ssl_ca_certs"] = str(ca_file)
    return options


def _connect_hint(exc: BaseException) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower():
        return (
            "the server's TLS certificate is not trusted or does not name the host: "
            "set [queue] tls_ca_file to the CA that signed it (docs/queue.md)"
        )
    if "SSL" in text or "reset by peer" in text or "Timeout" in type(exc).__name__:
        return (
            "is Redis running, and does the URL's scheme match the port (rediss:// "
            "for a TLS port, redis:// for a plain one)? Check PMAIL_QUEUE_URL"
        )
    return (
        "is Redis running? Check PMAIL_QUEUE_URL; enqueued jobs are kept in Redis, "
        "rerun to continue"
    )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _raw_streams(reply: Any) -> list[tuple[Any, Any]]:
    """(stream, entries) of a raw XREADGROUP reply: a map of streams (RESP3) or a
    list of [stream, entries] (RESP2); none for nil. An entry is [id, flat fields],
    the fields None for an entry deleted while pending."""
    if not reply:
        return []
    return list(reply.items()) if isinstance(reply, dict) else [tuple(r) for r in reply]


def _id_key(entry_id: str) -> tuple[int, int]:
    """A stream id (`ms-seq`) in the order Redis gives them."""
    ms, _, seq = entry_id.partition("-")
    return int(ms or 0), int(seq or 0)


def _pairs(flat: Sequence[Any]) -> dict[bytes, bytes]:
    """An entry's fields from Lua's flat [name, value, ...] list."""
    return {bytes(flat[i]): bytes(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


def _priority_of(stream: object) -> str:
    return _text(stream).rsplit(":", 1)[-1]


def _dead(entry_id: object, fields: dict[bytes, bytes]) -> DeadJob:
    def text(name: bytes) -> str:
        return fields.get(name, b"").decode("utf-8", "replace")

    def number(name: bytes) -> float:
        try:
            value = float(text(name) or 0)
        except ValueError:
            return 0.0
        return value if math.isfinite(value) and abs(value) < 1e15 else 0.0

    return DeadJob(
        _text(entry_id),
        loose_job(fields),
        text(b"error"),
        number(b"failed_at"),
        int(number(b"deliveries")),
        entry=dict(fields),
    )
