"""What the stored-bytes guard of migrations 0033 and 0037 costs the owner's updates:
`UPDATE email_content` of every row, shaped as pmail's recompression (a move to
another dictionary) and as a plain rewrite of `raw_data`, with the
`pmail_refuse_body_rewrites` trigger enabled and disabled, alternated, each rolled back.

The trigger fires only on updates that name the stored-bytes columns, and its WHEN
tests the columns before it asks whether the session is a tenant login. Under 0033 the
recompression shape cost nothing and the plain rewrite (which pmail never runs) one
session test per row; since 0037 a tenant login may not recompress either, so both
shapes pay that test. What it costs the command is the last measurement: the whole
`pmail dict train --recompress` of the owner (every row moved to a new dictionary,
in Python: unpack, pack, check), guard enabled and disabled, alternated, each on a
fresh copy of the database (`--whole-runs`).

    python benchmarks/body_rewrites.py --messages 20000 --runs 9 --whole-runs 5

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

SHAPES = {
    # new bytes (one more byte: a recompression writes bytes of another length
    # nearly always), a new dictionary
    "recompression": "UPDATE email_content SET raw_data = raw_data || '\\x00', "
    "dict_id = 99, compression = 'zstd-dict'",
    "plain rewrite": "UPDATE email_content SET raw_data = raw_data || '\\x00'",
}


def _time(dsn: str, statement: str, runs: int) -> dict[bool, list[float]]:
    times: dict[bool, list[float]] = {True: [], False: []}
    with psycopg.connect(dsn) as conn:
        for i in range(runs):
            for on in (i % 2 == 0, i % 2 != 0):  # alternate which goes first
                if not on:
                    conn.execute(
                        "ALTER TABLE email_content "
                        "DISABLE TRIGGER pmail_refuse_body_rewrites"
                    )
                started = time.perf_counter()
                conn.execute(statement)
                times[on].append(time.perf_counter() - started)
                conn.rollback()  # the trigger is enabled again too
    return times


def _whole(server: str, template: str, runs: int) -> dict[bool, list[float]]:
    """`pmail dict train --recompress` as the owner, guard on and off, alternated,
    each on a fresh copy of `template`."""
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(runs):
        for on in (i % 2 == 0, i % 2 != 0):
            with fresh_copy(server, template) as dsn:
                if not on:
                    with psycopg.connect(dsn, autocommit=True) as conn:
                        conn.execute(
                            "ALTER TABLE email_content "
                            "DISABLE TRIGGER pmail_refuse_body_rewrites"
                        )
                started = time.perf_counter()
                _pmail(
                    "--dsn", dsn, "-q", "dict", "train", "-t", "acme", "--recompress"
                )
                times[on].append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--whole-runs", type=int, default=5)
    args = parser.parse_args()
    server = os.environ.get(
        "PMAIL_BENCH_DSN", "host=127.0.0.1 user=postgres dbname=postgres"
    )
    name = f"pmail_bench_rewrites_{uuid.uuid4().hex[:8]}"
    dsn = make_conninfo(server, dbname=name)
    with tempfile.TemporaryDirectory(prefix="pmail-rewrites-") as scratch:
        try:
            corpus = Path(scratch) / "mail"
            gen_corpus.generate(corpus, messages=args.messages, seed=1)
            _pmail("--dsn", dsn, "init-db", "--create", "-q")
            _pmail("--dsn", dsn, "tenant", "add", "acme")
            _pmail("--dsn", dsn, "-q", "ingest", str(corpus), "-t", "acme")
            if args.whole_runs:
                times = _whole(server, name, args.whole_runs)
                off, on = (
                    statistics.median(times[False]),
                    statistics.median(times[True]),
                )
                pairs = ", ".join(
                    f"{a / b:.2f}"
                    for a, b in zip(times[True], times[False], strict=True)
                )
                print(
                    f"pmail dict train --recompress: {args.messages:,} rows, medians "
                    f"of {args.whole_runs}: guard off {off:.2f} s, on {on:.2f} s, "
                    f"on / off = {on / off:.3f}x (pairs: {pairs})",
                    flush=True,
                )
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(  # a dictionary to move to (its bytes are never read)
                    "INSERT INTO compression_dicts (tenant_id, dict_id, zstd_dict_id, "
                    "dict_data, sample_count, sample_bytes) "
                    "SELECT tenant_id, 99, 1, '\\x00', 1, 1 FROM tenants "
                    "WHERE name = 'acme'"
                )
            for shape, statement in SHAPES.items():
                times = _time(dsn, statement, args.runs)
                off, on = (
                    statistics.median(times[False]),
                    statistics.median(times[True]),
                )
                print(
                    f"{shape}: {args.messages:,} rows, medians of {args.runs}: "
                    f"guard off {off:.3f} s, on {on:.3f} s, on / off = {on / off:.3f}x"
                )
        finally:
            drop_database(server, name)


if __name__ == "__main__":
    main()
