"""What the row guards of migration 0034 cost a tenant login's ingest: `pmail ingest`
run as a tenant's own login with the guards and without them, alternated, each on a
fresh copy of one empty database.

The guards are the statement triggers `pmail_refuse_late_rows` on `email_content` and
`attachments` (a tenant login adds rows only to messages its transaction stored: one
anti-join of each batch's keys against `email_messages`, on `stored_xid` and
`created`), the row trigger `pmail_refuse_chosen_xid` on `email_messages` inserts (its
WHEN compares `stored_xid` with the transaction's id for every message row) and the
row trigger `pmail_refuse_identity_changes` on `email_messages` (fires on updates of
`storage_key`, `created`, `stored_xid` or `purged_at` only, which ingest never
makes). The baseline is the same database with the four triggers dropped, so the
only difference between the two columns is the guards (the `stored_xid` column and
its default stay in both). The generated mail (benchmarks/gen_corpus.py) has
attachments on a share of its messages, so both triggers fire in every batch.

    python benchmarks/login_guards.py --messages 20000 --runs 5

Needs a PostgreSQL server the current user may create databases and roles on
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

GUARDS = (
    ("pmail_refuse_late_rows", "email_content"),
    ("pmail_refuse_late_rows", "attachments"),
    ("pmail_refuse_identity_changes", "email_messages"),
    ("pmail_refuse_chosen_xid", "email_messages"),
)


def _template(server: str, name: str, role: str) -> str:
    """Database `name` with tenant acme and `role`, acme's login; the login's password."""
    dsn = make_conninfo(server, dbname=name)
    _pmail("--dsn", dsn, "init-db", "--create", "-q")
    _pmail("--dsn", dsn, "tenant", "add", "acme")
    _pmail("--dsn", dsn, "-q", "tenant", "login", "acme", "--role", role)
    password = uuid.uuid4().hex
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {role} PASSWORD '{password}'")
    return password


def _run(
    server: str, template: str, login: dict[str, str], mail: Path, on: bool
) -> float:
    with fresh_copy(server, template) as dsn:
        if not on:
            with psycopg.connect(dsn, autocommit=True) as conn:
                for trigger, table in GUARDS:
                    conn.execute(f"DROP TRIGGER {trigger} ON {table}")
        started = time.perf_counter()
        _pmail(
            "--dsn",
            make_conninfo(dsn, **login),
            "-q",
            "ingest",
            str(mail),
            "-t",
            "acme",
        )
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
    suffix = uuid.uuid4().hex[:8]
    template, role = f"pmail_bench_guards_{suffix}", f"pmail_bench_login_{suffix}"
    with tempfile.TemporaryDirectory(prefix="pmail-guards-") as scratch:
        mail = Path(scratch) / "mail"
        gen_corpus.generate(mail, messages=args.messages, seed=1)
        try:
            password = _template(server, template, role)
            login = {"user": role, "password": password}
            for i in range(args.runs):
                for on in (i % 2 == 0, i % 2 != 0):  # alternate which goes first
                    times[on].append(_run(server, template, login, mail, on))
                    print(
                        f"run {i + 1} guards {'on ' if on else 'off'}: "
                        f"{times[on][-1]:.2f} s",
                        flush=True,
                    )
        finally:
            drop_database(server, template)
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f"DROP ROLE IF EXISTS {role}")
    without, with_ = statistics.median(times[False]), statistics.median(times[True])
    pairs = ", ".join(
        f"{a / b:.2f}" for a, b in zip(times[True], times[False], strict=True)
    )
    print(
        f"\n{args.messages:,} messages ingested by a tenant login, medians of "
        f"{args.runs}: guards off {without:.2f} s, on {with_:.2f} s, on / off = "
        f"{with_ / without:.3f}x (pairs: {pairs})"
    )


if __name__ == "__main__":
    main()
