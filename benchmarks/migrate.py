"""Legacy migration benchmark: `pmail migrate-legacy` against the original plan's copy.

Two scratch databases on one server get the same generated legacy data
(benchmarks/gen_legacy.py, same seed and size): one with the dirt production has,
for pmail; one clean, for the original plan's bare copy (`INSERT INTO ... SELECT *`
of the three tables into tables of the same shape, keys included), which fails on the
first dirty row and deduplicates nothing. Timed: the real `pmail migrate-legacy`
command (a subprocess, start-up included) and the bare copy, in the same run. Sizes:
the legacy tables, pmail's tables after the migration, the whole database before,
after, and after `--archive` and dropping the archived tables. Before the run, its
`--dry-run` estimate is taken, to be compared with the run's real time.

    python benchmarks/migrate.py --messages 200000 --tenants 20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import gen_legacy

DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
LEGACY_TABLES = ("content_inbox_message_refs", "content_objects", "attachments")
PMAIL_TABLES = (
    "email_messages",
    "email_content",
    "attachments",
    "attachment_blobs",
    "compression_dicts",
    "delivery_facts",
    "campaigns",
    "leads",
    "email_accounts",
    "migration_anomalies",
    "legacy_migration_steps",
    "legacy_migration_renames",
)
TARGET_RATE = 0.5  # pmail rows/s at least this share of the bare copy's
TARGET_SIZE = 0.35  # pmail's tables at most this share of the legacy tables


@dataclass(slots=True)
class Report:
    """Everything measured, for the table or --json."""

    command: str
    date: str
    machine: str
    postgresql: str
    messages: int
    tenants: int
    legacy_rows: int
    legacy_attachments: int
    generate_seconds: float
    dry_run_seconds: float
    estimate_seconds: float
    pmail_seconds: float
    pmail_rows_per_s: float
    bare_seconds: float
    bare_rows_per_s: float
    rate_ratio: float
    legacy_table_bytes: int
    pmail_table_bytes: int
    size_ratio: float
    database_before: int
    database_after: int
    database_after_archive_and_drop: int
    pmail_summary: str


def _scratch(admin: str, name: str) -> str:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return make_conninfo(admin, dbname=name)


def _drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _bytes(dsn: str, tables: tuple[str, ...]) -> int:
    with psycopg.connect(dsn) as conn:
        total = 0
        for table in tables:
            row = conn.execute(
                "SELECT coalesce(pg_total_relation_size(to_regclass(%s)), 0)", (table,)
            ).fetchone()
            total += int(str(row[0])) if row else 0
        return total


def _database_bytes(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(str(row[0])) if row else 0


def _bare_copy(dsn: str) -> float:
    """The original plan: copy each table as it is, in one transaction."""
    with psycopg.connect(dsn) as conn:
        for table in LEGACY_TABLES:
            conn.execute(f"CREATE TABLE plain_{table} (LIKE {table} INCLUDING ALL)")
        conn.commit()
        started = time.perf_counter()
        for table in LEGACY_TABLES:
            conn.execute(f"INSERT INTO plain_{table} SELECT * FROM {table}")
        conn.commit()
        return time.perf_counter() - started


def _pmail(dsn: str, *args: str) -> tuple[float, str]:
    pmail = shutil.which("pmail", path=str(Path(sys.executable).parent)) or "pmail"
    started = time.perf_counter()
    done = subprocess.run(
        [pmail, "--dsn", dsn, "-q", "migrate-legacy", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"pmail migrate-legacy {' '.join(args)} failed:\n{done.stderr}"
        )
    return took, done.stderr


def _estimate(dsn: str) -> tuple[float, float]:
    """The dry run's time and the run time it estimates."""
    pmail = shutil.which("pmail", path=str(Path(sys.executable).parent)) or "pmail"
    started = time.perf_counter()
    done = subprocess.run(
        [pmail, "--dsn", dsn, "-q", "migrate-legacy", "--dry-run", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    took = time.perf_counter() - started
    rows = {r["what"]: r["count"] for r in json.loads(done.stdout)}
    return took, float(rows["estimate: seconds"])


def run(args: argparse.Namespace) -> Report:
    """Build both databases, time both copies, measure the sizes."""
    tag = os.getpid()
    pmail_db, bare_db = f"pmail_bench_legacy_{tag}", f"pmail_bench_plain_{tag}"
    pmail_dsn, bare_dsn = _scratch(args.dsn, pmail_db), _scratch(args.dsn, bare_db)
    try:
        started = time.perf_counter()
        with psycopg.connect(pmail_dsn) as conn:
            built = gen_legacy.build(
                conn, messages=args.messages, tenants=args.tenants, seed=args.seed
            )
        with psycopg.connect(bare_dsn) as conn:
            gen_legacy.build(
                conn,
                messages=args.messages,
                tenants=args.tenants,
                seed=args.seed,
                dirt=False,
            )
        generated = time.perf_counter() - started
        print(
            f"generated 2 x {built.refs:,} legacy messages in {generated:.0f} s",
            file=sys.stderr,
        )
        legacy_bytes = _bytes(pmail_dsn, LEGACY_TABLES)
        before = _database_bytes(pmail_dsn)
        bare = _bare_copy(bare_dsn)
        print(f"bare copy {bare:.1f} s", file=sys.stderr)
        dry_took, estimate = _estimate(pmail_dsn)
        print(f"pmail migrate-legacy --dry-run {dry_took:.1f} s", file=sys.stderr)
        took, summary = _pmail(pmail_dsn, "--batch-size", str(args.batch_size))
        print(f"pmail migrate-legacy {took:.1f} s", file=sys.stderr)
        pmail_bytes = _bytes(pmail_dsn, PMAIL_TABLES)
        after = _database_bytes(pmail_dsn)
        _pmail(pmail_dsn, "--verify")
        _pmail(pmail_dsn, "--archive")
        with psycopg.connect(pmail_dsn) as conn:
            for table in (
                "content_inbox_message_refs",
                "content_objects",
                "legacy_attachments",
            ):
                conn.execute(f"DROP TABLE {table}_archived")
            conn.commit()
        with psycopg.connect(pmail_dsn, autocommit=True) as conn:
            conn.execute("VACUUM FULL")
        dropped = _database_bytes(pmail_dsn)
        rows = built.refs + built.dirt["content_without_ref"]
        with psycopg.connect(args.dsn) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return Report(
            command=" ".join(sys.argv),
            date=datetime.now(UTC).isoformat(timespec="seconds"),
            machine=f"{os.cpu_count()} CPUs, {platform.platform()}",
            postgresql=str(row[0]) if row else "?",
            messages=args.messages,
            tenants=args.tenants,
            legacy_rows=rows,
            legacy_attachments=built.attachments,
            generate_seconds=generated,
            dry_run_seconds=dry_took,
            estimate_seconds=estimate,
            pmail_seconds=took,
            pmail_rows_per_s=rows / took,
            bare_seconds=bare,
            bare_rows_per_s=built.refs / bare,
            rate_ratio=(rows / took) / (built.refs / bare),
            legacy_table_bytes=legacy_bytes,
            pmail_table_bytes=pmail_bytes,
            size_ratio=pmail_bytes / legacy_bytes,
            database_before=before,
            database_after=after,
            database_after_archive_and_drop=dropped,
            pmail_summary=summary.strip().splitlines()[-2] if summary.strip() else "",
        )
    finally:
        _drop(args.dsn, pmail_db)
        _drop(args.dsn, bare_db)


def render(r: Report) -> str:
    """The report as a table with verdicts."""
    mb = 1024 * 1024
    rate_ok = "PASS" if r.rate_ratio >= TARGET_RATE else "FAIL"
    size_ok = "PASS" if r.size_ratio <= TARGET_SIZE else "FAIL"
    lines = [
        f"command     {r.command}",
        f"date        {r.date}",
        f"machine     {r.machine}",
        f"postgresql  {r.postgresql}",
        f"data        {r.legacy_rows:,} legacy rows ({r.messages:,} messages generated, "
        f"{r.tenants} tenants, {r.legacy_attachments:,} attachment rows)",
        "",
        f"pmail migrate-legacy       {r.pmail_seconds:8.1f} s  {r.pmail_rows_per_s:10,.0f} rows/s",
        f"its --dry-run estimate     {r.estimate_seconds:8.1f} s  "
        f"({r.estimate_seconds / r.pmail_seconds:.2f}x the run; the dry run took "
        f"{r.dry_run_seconds:.1f} s)",
        f"bare INSERT ... SELECT     {r.bare_seconds:8.1f} s  {r.bare_rows_per_s:10,.0f} rows/s",
        f"pmail / bare rows/s        {r.rate_ratio:8.2f}x   target >= {TARGET_RATE}x  {rate_ok}",
        f"legacy tables              {r.legacy_table_bytes / mb:8.1f} MB",
        f"pmail tables after         {r.pmail_table_bytes / mb:8.1f} MB",
        f"pmail / legacy size        {r.size_ratio:8.3f}x   target <= {TARGET_SIZE}x  {size_ok}",
        f"database before            {r.database_before / mb:8.1f} MB",
        f"database after migration   {r.database_after / mb:8.1f} MB",
        f"after --archive + drop     {r.database_after_archive_and_drop / mb:8.1f} MB",
        "",
        f"pmail's summary: {r.pmail_summary}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument(
        "--dsn", default=os.environ.get("PMAIL_BENCH_DSN") or DEFAULT_DSN
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(args)
    print(json.dumps(asdict(report), indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
