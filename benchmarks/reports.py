"""Report benchmark: every `pmail report` at a million messages against the plain query.

A scratch database gets pmail's schema and N messages (default 1,000,000) across 20
tenants, 90 days, 200 campaigns and 100 mailboxes — outbound mail with its statuses,
replies, auto-replies, bounces with hard/soft and reasons, complaints, attachments —
written with `generate_series` in SQL (minutes, not hours), then `pmail analytics
rebuild`. For each report: the median wall time of 5 runs of the real command
(process start included) for one tenant's last `--days` days (default 30), beside the
original design's plain SQL for the same numbers on the same data, run through psql
(also a process). Each window is also counted: `report volume`'s total against the
seed's `count(*) … created >= now() - interval 'N days'` for the tenant, one tenant and
every tenant. `--baseline PMAIL` builds a second database with another pmail (an older
checkout's) and times and counts it the same way, in the same run. `--ingest` also
times `pmail ingest` of a generated corpus with the rollup triggers enabled and
disabled, alternated.

    python benchmarks/reports.py --messages 1000000
    python benchmarks/reports.py --messages 1000000 --days 30 90 --baseline ../old/.venv/bin/pmail
    python benchmarks/reports.py --messages 5000000 --runs 3
    python benchmarks/reports.py --messages 10000 --ingest 5000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import gen_corpus

DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
TARGET_SECONDS = 0.5
TENANTS, CAMPAIGNS, ACCOUNTS, DAYS = 20, 200, 100, 90
REASONS = (
    "'userunknown','mailboxfull','blocked','policyviolation','hostunknown','expired'"
)

FILL = f"""
INSERT INTO tenants (tenant_id, name)
SELECT ('00000000-0000-4000-8000-' || lpad(t::text, 12, '0'))::uuid, 'bench' || t
FROM generate_series(0, {TENANTS - 1}) AS t;
INSERT INTO email_accounts (tenant_id, email_account_id, email)
SELECT ('00000000-0000-4000-8000-' || lpad((a % {TENANTS})::text, 12, '0'))::uuid,
       ('00000000-0000-4000-9000-' || lpad(a::text, 12, '0'))::uuid, 'sdr' || a || '@bench.test'
FROM generate_series(0, {ACCOUNTS - 1}) AS a;
INSERT INTO campaigns (tenant_id, campaign_id, name)
SELECT ('00000000-0000-4000-8000-' || lpad((c % {TENANTS})::text, 12, '0'))::uuid,
       ('00000000-0000-4000-a000-' || lpad(c::text, 12, '0'))::uuid, 'Campaign ' || c
FROM generate_series(0, {CAMPAIGNS - 1}) AS c;
INSERT INTO attachment_blobs (tenant_id, sha256, size_bytes, compressed_size_bytes,
                              compression, data)
SELECT tenant_id, sha256('deck'::bytea), 250000, 240000, 'none', 'x'::bytea FROM tenants;
INSERT INTO email_messages (tenant_id, storage_key, message_id, direction, message_type,
    status, campaign_id, email_account_id, from_email, subject, created, sent_at,
    raw_size_bytes, attachment_count, is_reply, bounce_class, bounce_reason)
SELECT ('00000000-0000-4000-8000-' || lpad((i % {TENANTS})::text, 12, '0'))::uuid,
       md5(i::text), '<' || i || '@bench.test>',
       CASE WHEN k < 60 THEN 'outbound' ELSE 'inbound' END,
       CASE WHEN k < 60 THEN 'email' WHEN k < 75 THEN 'email' WHEN k < 82 THEN 'auto_reply'
            WHEN k < 95 THEN 'bounce' WHEN k < 97 THEN 'complaint' ELSE 'email' END,
       CASE WHEN k < 60 THEN (ARRAY['sent','replied','bounced','auto_replied','sent'])[1 + i % 5]
            ELSE 'received' END,
       ('00000000-0000-4000-a000-' || lpad((i % {TENANTS} + {TENANTS} * (i / {TENANTS} % {CAMPAIGNS // TENANTS}))::text, 12, '0'))::uuid,
       ('00000000-0000-4000-9000-' || lpad((i % {TENANTS} + {TENANTS} * (i / {TENANTS} % {ACCOUNTS // TENANTS}))::text, 12, '0'))::uuid,
       'someone' || i % 1000 || '@example.com', 'Subject ' || i % 5000,
       now() - ((i % {DAYS}) || ' days')::interval - ((i % 1440) || ' minutes')::interval,
       now() - ((i % {DAYS}) || ' days')::interval,
       2000 + i % 20000, CASE WHEN k < 60 AND i % 7 = 0 THEN 1 ELSE 0 END,
       k >= 60 AND k < 75,
       CASE WHEN k >= 82 AND k < 95 THEN (ARRAY['hard','soft'])[1 + i % 2] END,
       CASE WHEN k >= 82 AND k < 95 THEN (ARRAY[{REASONS}])[1 + i % 6] END
FROM (SELECT i, (i::bigint * 7919) % 100 AS k FROM generate_series(1, %(n)s) AS i) AS g;
INSERT INTO email_content (tenant_id, storage_key, raw_size_bytes, compressed_size_bytes,
                           raw_form, compression, created)
SELECT tenant_id, storage_key, raw_size_bytes, raw_size_bytes / 8, 'none', 'none', created
FROM email_messages;
INSERT INTO attachments (tenant_id, parent_storage_key, part_index, filename, mime_type,
                         size_bytes, sha256, created)
SELECT tenant_id, storage_key, 0, 'deck.pdf', 'application/pdf', 250000,
       sha256('deck'::bytea), created
FROM email_messages WHERE attachment_count = 1;
"""

PLAIN = {  # the original design's plain queries for the same numbers
    "volume": """
        SELECT date(created) AS date, count(*) AS total_emails,
               count(*) FILTER (WHERE direction = 'inbound') AS inbound_emails,
               count(*) FILTER (WHERE direction = 'outbound') AS outbound_emails,
               count(*) FILTER (WHERE direction = 'outbound' AND status NOT IN ('bounced', 'failed'))
                   AS delivered_emails
        FROM email_messages WHERE tenant_id = '{t}' AND created >= now() - interval '{days} days'
        GROUP BY 1 ORDER BY 1""",
    "storage": """
        SELECT date(created), sum(raw_size_bytes) / 1e6 AS raw_mb,
               sum(compressed_size_bytes) / 1e6 AS stored_mb
        FROM email_content WHERE tenant_id = '{t}' AND created >= now() - interval '{days} days'
        GROUP BY 1 ORDER BY 1""",
    "status": """
        SELECT m.direction, m.status, COUNT(*) AS email_count, AVG(c.raw_size_bytes) AS avg_size,
               COUNT(a.*) AS total_attachments
        FROM email_messages m JOIN email_content c ON m.storage_key = c.storage_key
        LEFT JOIN attachments a ON c.storage_key = a.parent_storage_key
        WHERE m.tenant_id = '{t}' AND m.created >= now() - interval '{days} days'
        GROUP BY m.direction, m.status""",
    "campaigns": """
        SELECT campaign_id, count(*) FILTER (WHERE direction = 'outbound') AS sent,
               count(*) FILTER (WHERE message_type = 'email' AND is_reply) AS replied,
               count(*) FILTER (WHERE message_type = 'bounce' AND bounce_class = 'hard') AS hard,
               count(*) FILTER (WHERE message_type = 'bounce' AND bounce_class = 'soft') AS soft,
               count(*) FILTER (WHERE message_type = 'complaint') AS complained
        FROM email_messages WHERE tenant_id = '{t}' AND created >= now() - interval '{days} days'
          AND campaign_id IS NOT NULL GROUP BY 1""",
    "mailboxes": """
        SELECT email_account_id, count(*) FILTER (WHERE direction = 'outbound') AS sent,
               count(*) FILTER (WHERE message_type = 'bounce') AS bounced,
               count(*) FILTER (WHERE message_type = 'complaint') AS complained
        FROM email_messages WHERE tenant_id = '{t}' AND created >= now() - interval '{days} days'
          AND email_account_id IS NOT NULL GROUP BY 1""",
    "bounces": """
        SELECT bounce_reason, count(*) FROM email_messages
        WHERE tenant_id = '{t}' AND created >= now() - interval '{days} days'
          AND message_type = 'bounce' GROUP BY 1""",
}
TENANT = "bench7"
TENANT_ID = "00000000-0000-4000-8000-000000000007"


def timed_run(command: list[str]) -> float:
    """Wall seconds of one run of a command, output discarded; it must succeed."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command[:8])} failed (exit {done.returncode}): "
            f"{done.stderr.decode(errors='replace')[-500:]}"
        )
    return seconds


def _median(command: list[str], runs: int) -> float:
    return statistics.median(timed_run(command) for _ in range(runs))


def pmail_path() -> str:
    return shutil.which("pmail", path=str(Path(sys.executable).parent)) or "pmail"


def psql_command(dsn: str) -> list[str]:
    p = conninfo_to_dict(dsn)
    return ["psql", "-X", "-q", "-h", str(p.get("host", "127.0.0.1")), "-p",
            str(p.get("port", 5432)), "-U", str(p.get("user", "postgres")), "-d",
            str(p["dbname"]), "-o", "/dev/null", "-c"]  # fmt: skip


def fresh_database(admin: str, name: str, pmail: str | None = None) -> str:
    """An empty database `name` (dropped first if there) with the schema of `pmail`
    (default: the one beside this python)."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    dsn = make_conninfo(admin, dbname=name)
    subprocess.run(
        [pmail or pmail_path(), "--dsn", dsn, "-q", "init-db"],
        check=True,
        capture_output=True,
    )
    return dsn


def build(admin: str, name: str, messages: int, pmail: str | None = None) -> str:
    """A scratch database with the schema of `pmail` (default: the one beside this
    python) and `messages` generated rows."""
    dsn = fresh_database(admin, name, pmail)
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "SET session_replication_role = replica"
        )  # no triggers while filling
        for statement in FILL.split(";\n"):
            if statement.strip():
                conn.execute(statement.replace("%(n)s", str(messages)))
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    rebuild = time.perf_counter()
    subprocess.run(
        [pmail or pmail_path(), "--dsn", dsn, "-q", "analytics", "rebuild"], check=True
    )
    done = time.perf_counter()
    print(f"built {messages:,} messages in {rebuild - started:.0f} s, "
          f"rebuilt the rollups in {done - rebuild:.1f} s", file=sys.stderr)  # fmt: skip
    return dsn


Target = tuple[str, str, str | None]  # label, database, pmail program (None: this one)


def time_reports(
    targets: list[Target], runs: int, days: int = 30
) -> dict[str, list[dict[str, object]]]:
    """Each report (pmail) beside its plain query (psql), medians of `runs`, for each
    target; the targets' runs alternate, so a busy machine slows them alike."""
    rows: dict[str, list[dict[str, object]]] = {label: [] for label, _, _ in targets}
    for report, plain in PLAIN.items():
        times: dict[str, dict[str, list[float]]] = {
            label: {"pmail": [], "plain": []} for label, _, _ in targets
        }
        for _ in range(runs):
            for label, dsn, program in targets:
                times[label]["pmail"].append(
                    timed_run(
                        [
                            program or pmail_path(),
                            "--dsn",
                            dsn,
                            "-q",
                            "report",
                            report,
                            "--tenant",
                            TENANT,
                            "--days",
                            str(days),
                            "--format",
                            "csv",
                        ]
                    )
                )
                times[label]["plain"].append(timed_run(
                    [*psql_command(dsn), plain.format(t=TENANT_ID, days=days)]))  # fmt: skip
        for label, _, _ in targets:
            seconds = statistics.median(times[label]["pmail"])
            base = statistics.median(times[label]["plain"])
            rows[label].append({"report": report, "days": days,
                                "pmail_s": round(seconds, 3), "plain_query_s": round(base, 3),
                                "pass": seconds < TARGET_SECONDS and seconds < base})  # fmt: skip
            print(f"{label:8s} {report:10s} --days {days} pmail {seconds:.3f} s  "
                  f"plain {base:.3f} s", file=sys.stderr)  # fmt: skip
    for label, _, program in targets:
        startup = _median([program or pmail_path(), "--help"], runs)
        rows[label].append({"report": "(pmail --help)", "days": days,
                            "pmail_s": round(startup, 3), "plain_query_s": None,
                            "pass": None})  # fmt: skip
    return rows


QUERY_TIMER = """
import json, sys, time
from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.services import reports as r
dsn, tenant, days, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
out = {}
with connect(Settings(dsn=dsn, dsn_source="benchmark")) as conn:
    for name in ("volume", "storage", "status", "campaigns", "mailboxes", "bounces"):
        out[name] = []
        for _ in range(runs):
            started = time.perf_counter()
            w = r.window(conn, tenant=tenant, all_tenants=False, days=days, since=None,
                         until=None, tz=None)
            if name in ("campaigns", "mailboxes"):
                getattr(r, name)(conn, w, r.local_names(conn, w))
            elif name == "bounces":
                r.bounces(conn, w, by="reason")
            else:
                getattr(r, name)(conn, w)
            conn.commit()
            out[name].append(time.perf_counter() - started)
print(json.dumps(out))
"""


def time_queries(
    targets: list[Target], runs: int, days: int, rounds: int = 5
) -> dict[str, dict[str, float]]:
    """Each report's work inside one process (window, queries, commit; no start-up),
    median ms of rounds x runs per target, the targets' rounds alternating."""
    times: dict[str, dict[str, list[float]]] = {label: {} for label, _, _ in targets}
    for _ in range(rounds):
        for label, dsn, program in targets:
            python = str(Path(program or pmail_path()).with_name("python"))
            done = subprocess.run(
                [python, "-c", QUERY_TIMER, dsn, TENANT, str(days), str(runs)],
                capture_output=True, check=True,
            )  # fmt: skip
            for name, seconds in json.loads(done.stdout).items():
                times[label].setdefault(name, []).extend(seconds)
    found = {
        label: {n: round(1000 * statistics.median(t), 2) for n, t in per.items()}
        for label, per in times.items()
    }
    print(f"--days {days} in-process ms: {found}", file=sys.stderr)
    return found


SEED_COUNT = """
    SELECT count(*) FROM email_messages
    WHERE (%(t)s::uuid IS NULL OR tenant_id = %(t)s::uuid)
      AND created >= now() - make_interval(days => %(days)s)"""


def count_window(dsn: str, days: int, pmail: str | None = None) -> dict[str, object]:
    """`report volume --days N`'s total against the seed's count of the same window,
    for one tenant and for every tenant. The seed's query runs just before and just
    after pmail (its window moves with the clock): pmail's total must lie between."""
    found: dict[str, object] = {"days": days}
    for scope, args, tenant in (
        ("tenant", ["--tenant", TENANT], TENANT_ID),
        ("all", ["--all-tenants"], None),
    ):
        with psycopg.connect(dsn, autocommit=True) as conn:
            query = {"t": tenant, "days": days}
            before = conn.execute(SEED_COUNT, query).fetchone()
            done = subprocess.run(
                [pmail or pmail_path(), "--dsn", dsn, "-q", "report", "volume", *args,
                 "--days", str(days), "--format", "json"],
                capture_output=True, check=True,
            )  # fmt: skip
            after = conn.execute(SEED_COUNT, query).fetchone()
        assert before is not None and after is not None
        total = sum(int(r["total_emails"]) for r in json.loads(done.stdout))
        low, high = sorted((int(before[0]), int(after[0])))
        found[scope] = {"pmail": total, "seed": [low, high] if low != high else low,
                        "equal": low <= total <= high}  # fmt: skip
        print(f"--days {days} {scope}: pmail {total:,}, seed {low:,}"
              + (f"..{high:,}" if high != low else ""), file=sys.stderr)  # fmt: skip
    return found


def index_sizes(dsn: str) -> dict[str, int]:
    """Bytes of the (tenant_id, created) indexes the windows read."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) "
            "FROM pg_index WHERE indexrelid::regclass::text LIKE 'idx_%created'"
        ).fetchall()
    return {str(name): int(size) for name, size in rows}


def measure(
    targets: list[Target], runs: int, days: list[int]
) -> dict[str, dict[str, object]]:
    """Times, window counts and index sizes of each target."""
    found: dict[str, dict[str, object]] = {
        label: {"reports": [], "windows": [], "created_indexes_bytes": index_sizes(dsn)}
        for label, dsn, _ in targets
    }
    for d in days:
        for label, rows in time_reports(targets, runs, d).items():
            cast(list[object], found[label]["reports"]).extend(rows)
    for d in days:
        for label, per in time_queries(targets, runs, d).items():
            found[label].setdefault("query_ms", {})
            cast(dict[str, object], found[label]["query_ms"])[str(d)] = per
    for label, dsn, program in targets:
        found[label]["windows"] = [count_window(dsn, d, program) for d in days]
    return found


def time_ingest(admin: str, messages: int, runs: int) -> dict[str, object]:
    """pmail ingest of a generated corpus with the rollup triggers on and off."""
    work = Path(os.environ.get("TMPDIR", "/tmp")) / "pmail-bench"
    corpus = work / f"corpus-{messages}-seed1"
    if not corpus.is_dir():
        gen_corpus.generate(corpus, messages=messages, seed=1)
    results: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(runs):
        for mode in ("on", "off"):
            name = f"pmail_bench_rollups_{os.getpid()}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {name}")
            dsn = make_conninfo(admin, dbname=name)
            pmail = pmail_path()
            subprocess.run(
                [pmail, "--dsn", dsn, "-q", "init-db"], check=True, capture_output=True
            )
            subprocess.run(
                [pmail, "--dsn", dsn, "-q", "tenant", "add", "bench"],
                check=True,
                capture_output=True,
            )
            for i in range(5):
                subprocess.run([pmail, "--dsn", dsn, "-q", "account", "add", f"{gen_corpus.SDRS[i]}@acme.test",
                                "--tenant", "bench"], check=True, capture_output=True)  # fmt: skip
            if mode == "off":
                with psycopg.connect(dsn) as conn:
                    for table in (
                        "email_messages",
                        "email_content",
                        "attachments",
                        "attachment_blobs",
                    ):
                        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            started = time.perf_counter()
            subprocess.run([pmail, "--dsn", dsn, "-q", "ingest", str(corpus), "--tenant", "bench"],
                           check=True, capture_output=True)  # fmt: skip
            results[mode].append(time.perf_counter() - started)
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            print(f"ingest rollups {mode}: {results[mode][-1]:.2f} s", file=sys.stderr)
    on, off = statistics.median(results["on"]), statistics.median(results["off"])
    return {"messages": messages, "with_rollups_s": round(on, 2), "without_rollups_s": round(off, 2),
            "msgs_per_s_with": round(messages / on), "msgs_per_s_without": round(messages / off),
            "cost": round(on / off - 1, 3), "runs": results}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Build, time, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--ingest", type=int, default=0, help="also time ingest of N messages"
    )
    parser.add_argument(
        "--dsn", default=os.environ.get("PMAIL_BENCH_DSN") or DEFAULT_DSN
    )
    parser.add_argument("--days", type=int, nargs="+", default=[30])
    parser.add_argument(
        "--baseline", help="another pmail program, measured the same way"
    )
    args = parser.parse_args(argv)
    report: dict[str, object] = {"messages": args.messages, "runs": args.runs}
    programs = [("pmail", None)] + (
        [("baseline", args.baseline)] if args.baseline else []
    )
    names = [f"pmail_bench_reports_{os.getpid()}_{label}" for label, _ in programs]
    try:
        targets = [
            (label, build(args.dsn, name, args.messages, program), program)
            for (label, program), name in zip(programs, names, strict=True)
        ]
        report |= measure(targets, args.runs, args.days)
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            for name in names:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    if args.ingest:
        report["ingest"] = time_ingest(
            args.dsn, args.ingest, max(1, args.runs // 2 + 1)
        )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
