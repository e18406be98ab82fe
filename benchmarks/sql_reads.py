"""The platform's reads (docs/sql.md): the seed's queries and an inbox view, with plans.

A scratch database gets pmail's schema and `--messages` generated rows
(`benchmarks/reports.build`, 20 tenants, 90 days), then each message gets the columns a
platform service reads — `content_text` (~0.5 KB), `content_html` (~1 KB) and `headers`
(~15 fields, ~1.2 KB as JSON) — and each inbound message a `parent_storage_key`, so
threads exist. A login bound to one tenant is made with `pmail tenant login`. Each
query of docs/sql.md runs `--runs` times as that login (under row-level security) and as
the owner (a superuser here: no row-level security); printed: the median execution time
reported by EXPLAIN ANALYZE and the plan's nodes; `--plans FILE` writes the whole
EXPLAIN (ANALYZE, BUFFERS) output of the last run of each.

    python benchmarks/sql_reads.py --messages 1000000 --plans /tmp/sql-plans.txt
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import psycopg

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.reports import DEFAULT_DSN, TENANT_ID, pmail_path
from benchmarks.tenant_login import prepare

FILL_CONTENT = """
UPDATE email_content AS c SET
    content_text = 'Hi ' || m.from_email || E',\\n\\nthanks for the note about '
        || m.subject || E'. Our rate card for next quarter is attached; the pricing '
        || E'covers onboarding, support and the first three integrations.\\n\\n'
        || repeat('Happy to walk through it on a call this week. ', 6)
        || E'\\n\\nBest,\\nSam ' || (hashtext(m.storage_key) % 997)::text,
    content_html = '<html><head><meta charset="utf-8"><style>p{margin:0 0 1em}'
        || '</style></head><body><div dir="ltr"><p>Hi ' || m.from_email
        || ',</p><p>thanks for the note about <b>' || m.subject || '</b>. Our '
        || '<a href="https://example.com/rates?c=' || m.storage_key || '">rate card</a>'
        || ' for next quarter is attached; the pricing covers onboarding, support and '
        || 'the first three integrations.</p>'
        || repeat('<p>Happy to walk through it on a call this week.</p>', 6)
        || '<p>Best,<br>Sam ' || (hashtext(m.storage_key) % 997)::text
        || '</p></div></body></html>',
    headers = jsonb_build_object(
        'received', jsonb_build_array(
            'from mail-out.example.com (mail-out.example.com [192.0.2.' || m.raw_size_bytes % 250
                || ']) by mx.bench.test with ESMTPS id ' || left(m.storage_key, 12)
                || '; ' || to_char(m.created, 'Dy, DD Mon YYYY HH24:MI:SS +0000'),
            'by mail-out.example.com with SMTP id ' || right(m.storage_key, 12)),
        'from', m.from_email,
        'to', 'lead' || (hashtext(m.storage_key) % 100000)::text || '@example.org',
        'subject', m.subject,
        'message-id', m.message_id,
        'date', to_char(m.created, 'Dy, DD Mon YYYY HH24:MI:SS +0000'),
        'mime-version', '1.0',
        'content-type', 'multipart/alternative; boundary="b' || left(m.storage_key, 16) || '"',
        'authentication-results', 'mx.bench.test; spf=pass smtp.mailfrom=example.com; '
            || 'dkim=pass header.d=example.com; dmarc=pass header.from=example.com',
        'dkim-signature', 'v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s1; '
            || 'h=from:to:subject:date:message-id; bh=' || encode(sha256(m.storage_key::bytea), 'base64')
            || '; b=' || encode(sha512(m.storage_key::bytea), 'base64')
            || encode(sha512(m.message_id::bytea), 'base64'),
        'x-mailer', 'Outreach 4.2')
FROM email_messages AS m
WHERE m.tenant_id = c.tenant_id AND m.storage_key = c.storage_key
"""

# each inbound message answers the outbound one 20 rows before it (same tenant)
LINK_THREADS = """
UPDATE email_messages SET parent_storage_key =
    md5((split_part(trim(both '<>' FROM message_id), '@', 1)::bigint - 20)::text)
WHERE direction = 'inbound' AND split_part(trim(both '<>' FROM message_id), '@', 1)::bigint > 20
"""

QUERIES = {
    "seed: subject, text, file names of a tenant": """
        SELECT m.subject, c.content_text, a.filename
        FROM email_messages m
        JOIN email_content c ON m.storage_key = c.storage_key
        LEFT JOIN attachments a ON c.storage_key = a.parent_storage_key
        WHERE m.tenant_id = %(t)s""",
    "seed: status counts of a tenant": """
        SELECT m.direction, m.status, COUNT(*) AS email_count,
               AVG(c.raw_size_bytes) AS avg_size, COUNT(a.*) AS total_attachments
        FROM email_messages m JOIN email_content c ON m.storage_key = c.storage_key
        LEFT JOIN attachments a ON c.storage_key = a.parent_storage_key
        WHERE m.tenant_id = %(t)s GROUP BY m.direction, m.status""",
    "seed status counts, joined on tenant_id too": """
        SELECT m.direction, m.status, COUNT(*) AS email_count,
               AVG(c.raw_size_bytes) AS avg_size, COUNT(a.*) AS total_attachments
        FROM email_messages m
        JOIN email_content c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
        LEFT JOIN attachments a
          ON a.tenant_id = c.tenant_id AND a.parent_storage_key = c.storage_key
        WHERE m.tenant_id = %(t)s GROUP BY m.direction, m.status""",
    "inbox: a thread with its html bodies": """
        SELECT m.storage_key, m.direction, m.from_email, m.subject, m.created,
               c.content_html, c.headers->>'authentication-results' AS auth
        FROM email_messages m
        JOIN email_content c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
        WHERE m.tenant_id = %(t)s
          AND (m.storage_key = %(k)s OR m.parent_storage_key = %(k)s)
        ORDER BY m.created""",
    "inbox: newest 50 replies with html": """
        SELECT m.storage_key, m.from_email, m.subject, m.created, c.content_html
        FROM email_messages m
        JOIN email_content c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
        WHERE m.tenant_id = %(t)s AND m.direction = 'inbound'
        ORDER BY m.created DESC LIMIT 50""",
    "one message by Message-ID, its headers": """
        SELECT c.headers
        FROM email_messages m
        JOIN email_content c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
        WHERE m.tenant_id = %(t)s AND md5(m.message_id) = md5(%(mid)s)""",
}


def fill(dsn: str) -> None:
    """The platform's columns and thread links on every generated row."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SET session_replication_role = replica")  # no guards, no rollups
        conn.execute(FILL_CONTENT)
        conn.execute(LINK_THREADS)
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def thread_root(dsn: str) -> tuple[str, str]:
    """An outbound message of the benchmark's tenant that has replies, its Message-ID."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT p.storage_key, p.message_id FROM email_messages p "
            "WHERE p.tenant_id = %s AND EXISTS (SELECT 1 FROM email_messages r "
            "WHERE r.tenant_id = p.tenant_id AND r.parent_storage_key = p.storage_key) "
            "ORDER BY p.created DESC LIMIT 1",
            (TENANT_ID,),
        ).fetchone()
    assert row is not None, "no thread in the generated data"
    return str(row[0]), str(row[1])


def explain(dsn: str, sql: str, params: dict[str, str]) -> tuple[float, list[str]]:
    """Execution time (ms) and the plan's lines of one EXPLAIN (ANALYZE, BUFFERS)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params
        ).fetchone()
        text = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
    assert rows is not None
    plan = rows[0] if isinstance(rows[0], list) else json.loads(rows[0])
    return float(plan[0]["Execution Time"]), [str(r[0]) for r in text]


def nodes(plan: list[str]) -> str:
    """The plan's node names, outermost first, on one line."""
    names = []
    for line in plan:
        stripped = line.strip().removeprefix("->").strip()
        if "(cost=" in stripped and "rows=" in stripped:
            names.append(stripped.split("  (cost=")[0])
    return " > ".join(names)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dsn", default=os.environ.get("PMAIL_BENCH_DSN", DEFAULT_DSN))
    parser.add_argument("--plans", type=Path, help="write every plan to this file")
    args = parser.parse_args(argv)
    owner, login, role = prepare(args.dsn, pmail_path(), 0, args.messages)
    try:
        fill(owner)
        key, message_id = thread_root(owner)
        params = {"t": TENANT_ID, "k": key, "mid": message_id}
        out: list[str] = []
        print(f"{'query':46s} {'login ms':>9s} {'owner ms':>9s}  plan (login)")
        for name, sql in QUERIES.items():
            times: dict[str, list[float]] = {"login": [], "owner": []}
            plans: dict[str, list[str]] = {}
            for _ in range(args.runs):
                for who, dsn in (("login", login), ("owner", owner)):
                    ms, plans[who] = explain(dsn, sql, params)
                    times[who].append(ms)
            print(
                f"{name:46s} {statistics.median(times['login']):9.1f} "
                f"{statistics.median(times['owner']):9.1f}  {nodes(plans['login'])}"
            )
            for who in ("login", "owner"):
                out += [f"== {name} ({who})", *plans[who], ""]
        if args.plans:
            args.plans.write_text("\n".join(out))
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            dbname = str(psycopg.conninfo.conninfo_to_dict(owner)["dbname"])
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            conn.execute(f"DROP ROLE IF EXISTS {role}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
