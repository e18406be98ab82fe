"""Queue reads: what reading one entry per capped reply costs the worker.

A worker reads new jobs one entry per reply (XREADGROUP COUNT 1 per entry, sent
together) on a connection whose parser refuses a reply over its limit, so that an
oversized entry is never read whole (docs/queue.md, "Entries too large to read").
The baseline is the read pmail made before: one XREADGROUP COUNT n per stream
straight into hiredis. Both build the same checked Deliveries from the same entries,
alternated, in one run:

* drain: N entries (the real messages of ../shared/corpus, repeated) already waiting,
  read in batches of --batch until none is left; entries per second;
* wait: a worker blocked on an empty queue, one entry put on it at a time; the time
  from XADD to the entry in the worker's hands, median and p95 over --waits entries.

    python benchmarks/queue_reads.py --messages 10000 --runs 5

Needs Redis ($PMAIL_BENCH_REDIS_URL, default redis://127.0.0.1:6379/0); its keys live
under a private prefix, deleted after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pmail_cli.streams import GROUP, PRIORITIES, Delivery, Job, Streams

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--waits", type=int, default=200)
    parser.add_argument(
        "--redis",
        default=os.environ.get("PMAIL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    return parser.parse_args()


def corpus_jobs(n: int) -> list[Job]:
    """n store jobs carrying the corpus's real messages (repeated as needed)."""
    raws = [
        p.read_bytes()
        for p in sorted(CORPUS.rglob("*"))
        if p.is_file() and p.suffix in (".eml", ".msg", ".txt", "")
    ]
    raws = [r for r in raws if r]
    return [Job("store", "bench", raw=raws[i % len(raws)]) for i in range(n)]


class Fresh:
    """A private prefix with its consumer group, deleted after."""

    def __init__(self, url: str) -> None:
        self.prefix = f"pmailbench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.streams = Streams.connect(url, self.prefix)
        self.streams.ensure_groups()
        self.plain = redis.Redis.from_url(url)  # hiredis, as pmail's reads were

    def close(self) -> None:
        client = self.streams.client
        keys = list(client.scan_iter(match=f"{self.prefix}:*", count=1000))
        if keys:
            client.delete(*keys)


def baseline_read(fresh: Fresh, count: int, block_ms: int) -> int:
    """pmail's read before this change: XREADGROUP into hiredis, each priority in
    turn, then a blocking one on all of them, each entry checked into a Delivery as
    pmail does (read_job); entries returned."""
    names = [fresh.streams.stream(p) for p in PRIORITIES]
    got: list[Delivery] = []

    def take(reply: Any) -> None:
        for name, entries in reply or []:
            priority = name.decode().rsplit(":", 1)[-1]
            for entry_id, fields in entries:
                got.append(fresh.streams._delivery(priority, entry_id, fields, 1))

    for name in names:
        if len(got) >= count:
            break
        left = count - len(got)
        take(fresh.plain.xreadgroup(GROUP, "bench", {name: ">"}, count=left))
    if not got and block_ms:
        wait: Any = dict.fromkeys(names, ">")
        take(fresh.plain.xreadgroup(GROUP, "bench", wait, count=count, block=block_ms))
    return len(got)


def pmail_read(fresh: Fresh, count: int, block_ms: int) -> int:
    return len(fresh.streams.read("bench", count, block_ms))


def drain(url: str, jobs: list[Job], batch: int, read: Callable[..., int]) -> float:
    """Seconds to read every waiting entry, in batches."""
    fresh = Fresh(url)
    try:
        for i in range(0, len(jobs), 500):
            fresh.streams.add(jobs[i : i + 500])
        started = time.perf_counter()
        got = 0
        while got < len(jobs):
            n = read(fresh, batch, 0)
            if not n:
                raise SystemExit(f"read {got} of {len(jobs)} entries, then none")
            got += n
        return time.perf_counter() - started
    finally:
        fresh.close()


def _put(fresh: Fresh, job: Job, sent: list[float]) -> None:
    time.sleep(0.01)  # the reader is blocked by now
    sent.append(time.perf_counter())
    fresh.streams.add([job])


def waits(url: str, job: Job, n: int, read: Callable[..., int]) -> list[float]:
    """ms from XADD to the entry read by a blocked reader, n times."""
    fresh = Fresh(url)
    out: list[float] = []
    try:
        for _ in range(n):
            sent: list[float] = []
            putter = threading.Thread(target=_put, args=(fresh, job, sent))
            putter.start()
            if read(fresh, 1, 5000) != 1:
                raise SystemExit("a blocked read returned no entry")
            out.append((time.perf_counter() - sent[0]) * 1000)
            putter.join()
        return out
    finally:
        fresh.close()


def p95(values: list[float]) -> float:
    return sorted(values)[max(int(len(values) * 0.95) - 1, 0)]


def main() -> None:
    args = parse_args()
    jobs = corpus_jobs(args.messages)
    size = sum(len(j.raw or b"") for j in jobs)
    print(f"{len(jobs):,} entries, {size / 1e6:.0f} MB; batches of {args.batch}")
    readers = {"baseline (XREADGROUP, hiredis)": baseline_read, "pmail": pmail_read}
    drained: dict[str, list[float]] = {name: [] for name in readers}
    waited: dict[str, list[float]] = {name: [] for name in readers}
    for run in range(args.runs):
        for name, read in readers.items():  # alternated within each run
            drained[name].append(drain(args.redis, jobs, args.batch, read))
            waited[name] += waits(args.redis, jobs[run], args.waits // args.runs, read)
    print(
        f"| read | drain, median of {args.runs} | entries/s | wait median | wait p95 |"
    )
    print("|---|---:|---:|---:|---:|")
    for name in readers:
        seconds = statistics.median(drained[name])
        print(
            f"| {name} | {seconds:.3f} s | {len(jobs) / seconds:,.0f} |"
            f" {statistics.median(waited[name]):.2f} ms | {p95(waited[name]):.2f} ms |"
        )
    base, ours = (statistics.median(drained[n]) for n in readers)
    print(f"drain: pmail / baseline time = {ours / base:.2f}x")


if __name__ == "__main__":
    main()
