"""`pmail show PREFIX` at a large tenant: the key-prefix lookup before and after.

A scratch database gets pmail's schema, one tenant with `--messages` rows (keys of 32
hex digits, as `storage_key_for` makes them; subject, addresses and dates filled so a
row is as wide as a real one's metadata) and a second tenant with a tenth of that.
Then, alternating the two in each round, `sql/queries/messages/find_message.sql` as
committed at `--baseline` (default `main`, read with `git show`) and as in this tree,
run in this process on one open connection with the parameters this tree's repository
passes (the older query ignores the ones it does not name): the median of `--runs` per
prefix — an 8-character prefix of a stored key (unique), a 4-character one (ambiguous:
six listed), 12 characters, a whole key (the primary key either way), a prefix no key
has, and a prefix with a character outside printable ASCII (LIKE alone either way).
`--pmail LABEL=PATH` (repeatable) also times the whole command `pmail show PREFIX`
(process start included) of each installation, alternated. `--plans FILE` writes the
EXPLAIN (ANALYZE, BUFFERS) of both queries for the 8-character prefix.

    python benchmarks/show_prefix.py --messages 1000000 --runs 7 \\
        --pmail main=../main/.venv/bin/pmail --pmail branch=.venv/bin/pmail
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.reports import DEFAULT_DSN, fresh_database, timed_run

from pmail_cli.repository.messages import prefix_upper_bound
from pmail_cli.sqlfiles import load_sql

ROOT = Path(__file__).resolve().parents[1]
QUERY = "sql/queries/messages/find_message.sql"
TENANT, OTHER = "bench", "other"
TENANT_ID = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
OTHER_ID = uuid.UUID("00000000-0000-4000-8000-0000000000b2")

FILL = """
INSERT INTO tenants (tenant_id, name) VALUES (%(t)s, %(tn)s), (%(o)s, %(on)s);
INSERT INTO email_messages (tenant_id, storage_key, message_id, direction, message_type,
    status, from_email, from_name, to_email, subject, created, sent_at, raw_size_bytes)
SELECT CASE WHEN i %% 11 = 0 THEN %(o)s::uuid ELSE %(t)s::uuid END,
       md5('k' || i), '<' || md5('m' || i) || '@mail.example.com>', 'inbound', 'email',
       'received', 'someone' || i %% 5000 || '@example' || i %% 300 || '.com',
       'Some One ' || i %% 5000, 'sdr' || i %% 40 || '@acme.test',
       'Re: about the quarterly numbers ' || i %% 7000,
       now() - (i %% 365 || ' days')::interval, now() - (i %% 365 || ' days')::interval,
       2000 + i %% 20000
FROM generate_series(1, %(n)s) AS i;
INSERT INTO email_content (tenant_id, storage_key, raw_size_bytes, compressed_size_bytes,
                           raw_form, compression, created)
SELECT tenant_id, storage_key, raw_size_bytes, raw_size_bytes / 8, 'none', 'none', created
FROM email_messages
"""


def build(admin: str, name: str, messages: int) -> str:
    """The scratch database: `messages` rows in tenant `bench`, a tenth in `other`."""
    dsn = fresh_database(admin, name)
    total = messages + messages // 10
    with psycopg.connect(dsn) as conn:
        conn.execute("SET session_replication_role = replica")  # no rollup triggers
        for statement in FILL.split(";\n"):
            conn.execute(
                statement,
                {"t": TENANT_ID, "tn": TENANT, "o": OTHER_ID, "on": OTHER, "n": total},
            )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return dsn


def prefixes(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, str]:
    """The prefixes timed, from a key in the middle of the tenant's keys."""
    row = conn.execute(
        "SELECT storage_key FROM email_messages WHERE tenant_id = %s"
        " ORDER BY storage_key OFFSET (SELECT count(*) / 2 FROM email_messages"
        " WHERE tenant_id = %s) LIMIT 1",
        (TENANT_ID, TENANT_ID),
    ).fetchone()
    assert row is not None
    key = str(row[0])
    return {
        "8 characters (unique)": key[:8],
        "4 characters (ambiguous)": key[:4],
        "12 characters": key[:12],
        "whole key": key,
        "no such key": "0000000g",
        "non-ASCII (LIKE alone)": key[:7] + "é",
    }


def params(key: str) -> dict[str, object]:
    """The parameters this tree's repository passes (repository/messages.py)."""
    escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {
        "tenant_id": TENANT_ID,
        "key": key,
        "prefix": escaped + "%",
        "low": key,
        "high": prefix_upper_bound(key),
    }


def run_once(conn: psycopg.Connection[tuple[object, ...]], sql: str, key: str) -> float:
    started = time.perf_counter()
    conn.execute(sql.encode(), params(key)).fetchall()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dsn", default=os.environ.get("PMAIL_BENCH_DSN", DEFAULT_DSN))
    parser.add_argument("--db-name", default="pmail_show_prefix_bench")
    parser.add_argument("--baseline", default="main", help="git revision of the query")
    parser.add_argument("--reuse", action="store_true", help="query the kept database")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--pmail", action="append", default=[], metavar="LABEL=PATH")
    parser.add_argument(
        "--plans", type=Path, help="write EXPLAIN (ANALYZE, BUFFERS) here"
    )
    args = parser.parse_args(argv)
    baseline = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{args.baseline}:{QUERY}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    queries = {args.baseline: baseline, "this tree": load_sql("messages/find_message")}
    if args.reuse:
        dsn = make_conninfo(args.dsn, dbname=args.db_name)
    else:
        started = time.perf_counter()
        dsn = build(args.dsn, args.db_name, args.messages)
        print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            count = conn.execute(
                "SELECT count(*) FROM email_messages WHERE tenant_id = %s", (TENANT_ID,)
            ).fetchone()
            shown = prefixes(conn)
            print(f"tenant {TENANT!r}: {count[0] if count else 0:,} messages; "
                  f"medians of {args.runs} runs, alternated")  # fmt: skip
            print(f"| prefix | matches | {' | '.join(queries)} | ratio |")
            print("|---|---|" + "---|" * len(queries) + "---|")
            for label, key in shown.items():
                times: dict[str, list[float]] = {name: [] for name in queries}
                found = {
                    name: len(conn.execute(sql.encode(), params(key)).fetchall())
                    for name, sql in queries.items()
                }
                assert len(set(found.values())) == 1, (label, found)
                names = list(queries)
                for run in range(args.runs):
                    for name in names[run % 2 :] + names[: run % 2]:
                        times[name].append(run_once(conn, queries[name], key))
                medians = [statistics.median(times[name]) for name in names]
                cells = " | ".join(f"{m * 1000:.2f} ms" for m in medians)
                print(f"| {label} (`{key}`) | {found[names[0]]} | {cells} | "
                      f"{medians[0] / medians[1]:,.1f}x |")  # fmt: skip
            if args.plans:
                key = shown["8 characters (unique)"]
                with args.plans.open("w", encoding="utf-8") as out:
                    for name, sql in queries.items():
                        rows = conn.execute(
                            b"EXPLAIN (ANALYZE, BUFFERS) " + sql.encode(), params(key)
                        ).fetchall()
                        out.write(f"-- {name}, prefix {key}\n")
                        out.write("\n".join(str(r[0]) for r in rows) + "\n\n")
        if args.pmail:
            pmails = dict(given.partition("=")[::2] for given in args.pmail)
            key = shown["8 characters (unique)"]
            print(f"\nwhole command `pmail show {key}` (process start included)")
            whole: dict[str, list[float]] = {label: [] for label in pmails}
            labels = list(pmails)
            for run in range(args.runs):
                for label in labels[run % len(labels) :] + labels[: run % len(labels)]:
                    command = [
                        pmails[label],
                        "--dsn",
                        dsn,
                        "-q",
                        "show",
                        key,
                        "-t",
                        TENANT,
                    ]
                    whole[label].append(timed_run(command))
            for label in labels:
                print(f"| {label} | {statistics.median(whole[label]):.3f} s |")
    finally:
        if not (args.keep or args.reuse):
            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {args.db_name} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
