"""Queue benchmark: enqueue rate, worker throughput vs `pmail ingest`, arrival->row latency.

(Not `queue.py`: run as a script, that name would shadow the standard library's `queue`
for every script in this folder.)

Same seeded corpus (default 10,000 messages), fresh scratch database for each timed
store, all in one run and alternated:

* `pmail ingest DIR` (the baseline);
* `pmail enqueue DIR` (messages/s into Redis), then `pmail worker --burst` with one
  worker and with `--concurrency 2` (messages/s from the first read to the empty queue,
  process start included);
* latency: an idle `pmail worker` running; messages put on the `high` stream one at a
  time (idle) and at a steady 50 messages/s (load); each message's arrival is its XADD,
  its row time the first poll (every 5 ms) that finds it in email_messages. Median and
  p95 over N messages (default 200).

    python benchmarks/queue_bench.py --messages 10000 --runs 3 --latency 200

Targets (issue 15): worker throughput >= 0.9x of `pmail ingest`; latency p95 < 250 ms.
Needs PostgreSQL (a role that may create databases) and Redis ($PMAIL_BENCH_REDIS_URL,
default redis://127.0.0.1:6379/0; the keys live under a private prefix, deleted after).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import redis

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest import (
    DEFAULT_DSN,
    TENANT,
    Pmail,
    load_corpus,
    prepare_database,
    scratch_database,
)

from pmail_cli.mail.prepare import storage_key_for
from pmail_cli.streams import Job, Streams

THROUGHPUT_TARGET = 0.9
P95_TARGET_MS = 250.0


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--latency", type=int, default=200, help="Messages per latency test."
    )
    parser.add_argument(
        "--rate", type=float, default=50.0, help="Messages/s under load."
    )
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument(
        "--redis",
        default=os.environ.get("PMAIL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "pmail-bench"
    )
    return parser.parse_args()


class Bench:
    """The pmail command with a private queue prefix."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.prefix = f"pmailbench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        args.workdir.mkdir(parents=True, exist_ok=True)
        self.config = args.workdir / f"queue-{self.prefix}.toml"
        self.config.write_text(f'[queue]\nprefix = "{self.prefix}"\n')
        self.pmail = Pmail(Path(sys.executable).with_name("pmail"), args.workdir)
        self.pmail.env["PMAIL_CONFIG"] = str(self.config)
        self.pmail.env["PMAIL_QUEUE_URL"] = args.redis
        self.redis = redis.Redis.from_url(args.redis)

    def timed(self, dsn: str, *args: str) -> float:
        result = self.pmail.run(dsn, *args)
        if result.returncode != 0:
            raise SystemExit(
                f"pmail {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
            )
        return result.seconds

    def clean(self) -> None:
        keys = list(self.redis.scan_iter(match=f"{self.prefix}:*", count=1000))
        if keys:
            self.redis.delete(*keys)


def throughput(bench: Bench, corpus_dir: str, corpus: object) -> dict[str, float]:
    """One run: ingest, enqueue + 1 worker, enqueue + 2 workers, each on a fresh DB."""
    out: dict[str, float] = {}
    with scratch_database(bench.args.dsn) as dsn:
        prepare_database(bench.pmail, dsn, corpus, rows=True)  # type: ignore[arg-type]
        out["ingest"] = bench.timed(dsn, "ingest", corpus_dir, "-t", TENANT)
    for workers in (1, 2):
        with scratch_database(bench.args.dsn) as dsn:
            prepare_database(bench.pmail, dsn, corpus, rows=True)  # type: ignore[arg-type]
            out["enqueue"] = bench.timed(dsn, "enqueue", corpus_dir, "-t", TENANT)
            extra = ["--concurrency", "2"] if workers == 2 else []
            out[f"worker{workers}"] = bench.timed(dsn, "worker", "--burst", *extra)
            bench.clean()
    return out


def latency(
    bench: Bench, corpus: object, raws: list[bytes], rate: float | None
) -> list[float]:
    """Arrival -> row, in ms, for each message; one at a time (rate None) or at `rate`/s."""
    with scratch_database(bench.args.dsn) as dsn:
        prepare_database(bench.pmail, dsn, corpus, rows=True)  # type: ignore[arg-type]
        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT tenant_id::text FROM tenants WHERE name = %s", (TENANT,)
            ).fetchone()
            assert row is not None
            tenant_id = str(row[0])
        worker = subprocess.Popen(
            [str(bench.pmail.executable), "--dsn", dsn, "-q", "worker"],
            env=bench.pmail.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        streams = Streams.connect(bench.args.redis, bench.prefix)
        streams.ensure_groups()
        time.sleep(3)  # the worker is up and idle
        sent: dict[str, float] = {}
        seen: dict[str, float] = {}
        lock = threading.Lock()
        done = threading.Event()

        def poll() -> None:
            with psycopg.connect(dsn, autocommit=True) as conn:
                while not done.is_set():
                    with lock:
                        wanted = [k for k in sent if k not in seen]
                    if wanted:
                        found = conn.execute(
                            "SELECT storage_key FROM email_messages WHERE storage_key = ANY(%s)",
                            (wanted,),
                        ).fetchall()
                        now = time.perf_counter()
                        with lock:
                            for (key,) in found:
                                seen.setdefault(str(key), now)
                    time.sleep(0.005)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            for n, raw in enumerate(raws):
                key = storage_key_for(tenant_id, raw)
                job = Job("store", TENANT, "high", origin=f"bench-{n}", raw=raw)
                with lock:
                    sent[key] = time.perf_counter()
                streams.add([job])
                if rate is None:
                    deadline = time.perf_counter() + 10
                    while key not in seen and time.perf_counter() < deadline:
                        time.sleep(0.001)
                else:
                    time.sleep(max(0.0, sent[key] + 1 / rate - time.perf_counter()))
            deadline = time.perf_counter() + 30
            while len(seen) < len(sent) and time.perf_counter() < deadline:
                time.sleep(0.01)
        finally:
            done.set()
            poller.join()
            worker.terminate()
            worker.wait()
            bench.clean()
        return [(seen[k] - t) * 1000 for k, t in sent.items() if k in seen]


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def main() -> None:
    args = parse_args()
    bench = Bench(args)
    corpus = load_corpus(args.workdir, messages=args.messages, seed=args.seed)
    corpus_dir = str(corpus.directory)
    runs = []
    try:
        for run in range(args.runs):
            runs.append(throughput(bench, corpus_dir, corpus))
            _log(
                f"run {run + 1}: "
                + ", ".join(f"{k} {v:.2f} s" for k, v in runs[-1].items())
            )
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        raws = [p.read_bytes() for p in corpus.paths[: args.latency]]
        idle = latency(bench, corpus, raws, None)
        loaded = latency(bench, corpus, [r + b"\n" for r in raws], args.rate)
    finally:
        bench.clean()
        bench.config.unlink(missing_ok=True)
    n = args.messages
    result = {
        "messages": n,
        "runs": args.runs,
        "seconds": med,
        "ingest_msgs_per_s": n / med["ingest"],
        "enqueue_msgs_per_s": n / med["enqueue"],
        "worker1_msgs_per_s": n / med["worker1"],
        "worker2_msgs_per_s": n / med["worker2"],
        "worker1_vs_ingest": med["ingest"] / med["worker1"],
        "worker2_vs_ingest": med["ingest"] / med["worker2"],
        "throughput_pass": med["ingest"] / min(med["worker1"], med["worker2"])
        >= THROUGHPUT_TARGET,
        "latency_idle_ms": {
            "n": len(idle),
            "median": statistics.median(idle),
            "p95": _p95(idle),
        },
        "latency_load_ms": {
            "n": len(loaded),
            "rate": args.rate,
            "median": statistics.median(loaded),
            "p95": _p95(loaded),
        },
    }
    result["latency_pass"] = max(_p95(idle), _p95(loaded)) < P95_TARGET_MS
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
