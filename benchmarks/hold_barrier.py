"""What the legal-hold barrier of migration 0030 costs: `pmail ingest` with the
`pmail_hold_barrier_*` triggers on and off, alternated, in fresh scratch databases.

Every statement the hold guards look at (updates, deletes, and the inserts of
content, attachments, facts and search documents) first takes a share lock on its
tenants' rows of `pmail_hold_epochs`. The baseline is the same schema with those
triggers disabled (ALTER TABLE ... DISABLE TRIGGER, as the tables' owner), so the
only difference between the two columns is the barrier.

    python benchmarks/hold_barrier.py --messages 5000 --runs 5

Needs a PostgreSQL server the current user may create databases on
(PMAIL_BENCH_DSN, default host=127.0.0.1 user=postgres dbname=postgres).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import gen_corpus

BARRIER_TABLES = (
    "email_messages",
    "email_content",
    "attachments",
    "attachment_blobs",
    "delivery_facts",
    "compression_dicts",
    "search_documents",
)


def _pmail(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pmail_cli", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _barrier(dsn: str, on: bool) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in BARRIER_TABLES:
            rows = conn.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass "
                "AND tgname LIKE 'pmail_hold_barrier%%'",
                (table,),
            ).fetchall()
            for (name,) in rows:
                verb = "ENABLE" if on else "DISABLE"
                conn.execute(f'ALTER TABLE {table} {verb} TRIGGER "{name}"')


def _run(server: str, corpus: Path, on: bool) -> float:
    name = f"pmail_bench_barrier_{uuid.uuid4().hex[:8]}"
    dsn = make_conninfo(server, dbname=name)
    try:
        _pmail("--dsn", dsn, "init-db", "--create", "-q")
        _barrier(dsn, on)
        _pmail("--dsn", dsn, "tenant", "add", "acme")
        started = time.perf_counter()
        _pmail("--dsn", dsn, "-q", "ingest", str(corpus), "-t", "acme")
        return time.perf_counter() - started
    finally:
        drop_database(server, name)


def drop_database(server: str, name: str) -> None:
    """Drop a scratch database of a benchmark, sessions and all."""
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_copy(server: str, template: str) -> Iterator[str]:
    """A copy of database `template` for one timed run (its DSN); dropped after."""
    name = f"{template}_c"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield make_conninfo(server, dbname=name)
    finally:
        drop_database(server, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    server = os.environ.get(
        "PMAIL_BENCH_DSN", "host=127.0.0.1 user=postgres dbname=postgres"
    )
    with tempfile.TemporaryDirectory(prefix="pmail-barrier-") as scratch:
        corpus = Path(scratch) / "mail"
        gen_corpus.generate(corpus, messages=args.messages, seed=1)
        times: dict[bool, list[float]] = {True: [], False: []}
        for i in range(args.runs):
            for on in (i % 2 == 0, i % 2 != 0):  # alternate which goes first
                times[on].append(_run(server, corpus, on))
                print(
                    f"run {i + 1} barrier {'on ' if on else 'off'}: "
                    f"{times[on][-1]:.2f} s",
                    flush=True,
                )
    without, with_ = statistics.median(times[False]), statistics.median(times[True])
    print(
        f"\n{args.messages:,} messages, medians of {args.runs}: barrier off "
        f"{without:.2f} s, on {with_:.2f} s, on / off = {with_ / without:.3f}x"
    )


if __name__ == "__main__":
    main()
