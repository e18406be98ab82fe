"""What the purge audit check of migration 0032 costs: `pmail purge` with the
`pmail_purge_audited` trigger on `email_content` and without it, alternated, each on
a fresh copy of one database of expired mail.

With the trigger, every content row `pmail_delete_content` deletes is checked at
commit against the transaction's `purge` audit entry (its `result.keys`). The baseline
is the same database with that trigger dropped, so the only difference between the
two columns is the check.

    python benchmarks/purge_audit.py --messages 20000 --runs 5

Needs a PostgreSQL server the current user may create databases on
(PMAIL_BENCH_DSN, default host=127.0.0.1 user=postgres dbname=postgres).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import gen_corpus
from benchmarks.hold_barrier import _pmail, drop_database, fresh_copy


def _template(server: str, name: str, messages: int, scratch: Path) -> None:
    """Database `name`: `messages` messages of tenant acme, all past its retention."""
    dsn = make_conninfo(server, dbname=name)
    corpus = scratch / "mail"
    gen_corpus.generate(corpus, messages=messages, seed=1)
    _pmail("--dsn", dsn, "init-db", "--create", "-q")
    _pmail("--dsn", dsn, "tenant", "add", "acme")
    _pmail("--dsn", dsn, "tenant", "set", "acme", "--retention-days", "30")
    _pmail("--dsn", dsn, "-q", "ingest", str(corpus), "-t", "acme")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE email_messages SET created = now() - interval '40 days'")


def _run(server: str, template: str, on: bool) -> float:
    with fresh_copy(server, template) as dsn:
        if not on:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("DROP TRIGGER pmail_purge_audited ON email_content")
        started = time.perf_counter()
        _pmail("--dsn", dsn, "-q", "purge", "-t", "acme")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    server = os.environ.get(
        "PMAIL_BENCH_DSN", "host=127.0.0.1 user=postgres dbname=postgres"
    )
    times: dict[bool, list[float]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="pmail-purge-") as scratch:
        template = f"pmail_bench_purge_{uuid.uuid4().hex[:8]}"
        try:
            _template(server, template, args.messages, Path(scratch))
            for i in range(args.runs):
                for on in (i % 2 == 0, i % 2 != 0):  # alternate which goes first
                    times[on].append(_run(server, template, on))
                    print(
                        f"run {i + 1} check {'on ' if on else 'off'}: "
                        f"{times[on][-1]:.2f} s",
                        flush=True,
                    )
        finally:
            drop_database(server, template)
    without, with_ = statistics.median(times[False]), statistics.median(times[True])
    pairs = ", ".join(
        f"{a / b:.2f}" for a, b in zip(times[True], times[False], strict=True)
    )
    print(
        f"\n{args.messages:,} messages, medians of {args.runs}: check off "
        f"{without:.2f} s, on {with_:.2f} s, on / off = {with_ / without:.3f}x "
        f"(pairs: {pairs})"
    )


if __name__ == "__main__":
    main()
