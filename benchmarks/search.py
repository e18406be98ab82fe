"""Search benchmark: `pmail search` / `pmail list` at a million messages against ILIKE.

A scratch database gets pmail's schema and N messages (default 1,000,000) in one
tenant, written with `generate_series` in SQL: subjects and bodies of 30-150 words
drawn from a Zipf distribution over the vocabulary of real mail (the words of
`../shared/corpus`'s text bodies, most frequent first; 100,000 distinct subjects and
bodies, each message with an order reference of its own), addresses, types, statuses, dates over a
year, some attachments and bounce reasons. Each body's full-text document is built
by the same SQL function the batch writer calls (`pmail_search_vector`), then the
GIN index — both timed, for the index build rate. Then 56 varied queries (rare word,
common word, phrase, OR, negation, field filters, combined, deep keyset pages) are run as a user runs
them — the real `pmail` command, process start included — beside the equivalent
`ILIKE` query through psql (also a process) on the same data; medians and p95.

`--ingest N` also ingests N generated cold-email messages (benchmarks/gen_corpus.py)
through `pmail ingest` into a tenant with full-text search on and one with it off,
alternated `--runs` times: the cost of the document and its index in the batch
writer, in throughput and in storage.

    python benchmarks/search.py --messages 1000000
    python benchmarks/search.py --messages 20000 --ingest 5000 --runs 3
"""

from __future__ import annotations

import argparse
import email
import functools
import itertools
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email import policy
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import gen_corpus
from benchmarks.reports import fresh_database, pmail_path, psql_command, timed_run

DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
POOL = 100_000
TENANT = "bench"
TENANT_ID = "00000000-0000-4000-8000-00000000000b"
TARGET_P50, TARGET_P95 = 0.200, 0.500
WORD = re.compile(r"[a-z]{3,14}")

FILL = f"""
INSERT INTO tenants (tenant_id, name) VALUES ('{TENANT_ID}', '{TENANT}');
INSERT INTO email_messages (tenant_id, storage_key, message_id, direction, message_type,
    status, from_email, to_email, subject, created, sent_at, raw_size_bytes,
    attachment_count, bounce_class, bounce_reason)
SELECT '{TENANT_ID}', md5(i::text), '<' || i || '@bench.test>',
       CASE WHEN k < 50 THEN 'outbound' ELSE 'inbound' END,
       CASE WHEN k < 80 THEN 'email' WHEN k < 88 THEN 'auto_reply'
            WHEN k < 97 THEN 'bounce' ELSE 'complaint' END,
       CASE WHEN k < 50 THEN (ARRAY['sent','replied','bounced','auto_replied','sent'])[1 + i % 5]
            ELSE 'received' END,
       'someone' || i % 5000 || '@example' || i % 300 || '.com',
       'lead' || i % 20000 || '@client' || i % 700 || '.com',
       CASE WHEN k < 50 THEN '' ELSE 'Re: ' END
           || (SELECT p.subject FROM pool AS p WHERE p.id = (i * 7) % %(pool)s),
       now() - (i % 365 || ' days')::interval - (i % 1440 || ' minutes')::interval,
       now() - (i % 365 || ' days')::interval - (i % 1440 || ' minutes')::interval,
       2000 + i % 20000, CASE WHEN i % 9 = 0 THEN 1 ELSE 0 END,
       CASE WHEN k >= 88 AND k < 97 THEN (ARRAY['hard','soft'])[1 + i % 2] END,
       CASE WHEN k >= 88 AND k < 97
            THEN (ARRAY['userunknown','mailboxfull','blocked','expired'])[1 + i % 4] END
FROM (SELECT i, (i::bigint * 7919) % 100 AS k FROM generate_series(1, %(n)s) AS i) AS g;
INSERT INTO email_content (tenant_id, storage_key, raw_size_bytes, compressed_size_bytes,
                           raw_form, compression, created, content_text)
SELECT m.tenant_id, m.storage_key, m.raw_size_bytes, m.raw_size_bytes / 8, 'none', 'none',
       m.created, p.body || ' ref' || (hashtext(m.storage_key) & 1048575)
FROM email_messages AS m
JOIN pool AS p ON p.id = (hashtext(m.storage_key) & 2147483647) % %(pool)s;
INSERT INTO attachment_blobs (tenant_id, sha256, size_bytes, compressed_size_bytes,
                              compression, data)
VALUES ('{TENANT_ID}', sha256('deck'::bytea), 250000, 240000, 'none', 'x'::bytea);
INSERT INTO attachments (tenant_id, parent_storage_key, part_index, filename, mime_type,
                         size_bytes, sha256, created)
SELECT tenant_id, storage_key, 0, 'deck.pdf', 'application/pdf', 250000,
       sha256('deck'::bytea), created
FROM email_messages WHERE attachment_count = 1;
INSERT INTO delivery_facts (tenant_id, storage_key, recipient_index, recipient, action,
                            status, reason, hard)
SELECT tenant_id, storage_key, 0, to_email, 'failed', '5.0.0', bounce_reason,
       bounce_class = 'hard'
FROM email_messages WHERE message_type = 'bounce'
"""
DOCUMENTS = """
INSERT INTO search_documents (tenant_id, storage_key, date, message_type, direction,
                              document)
SELECT m.tenant_id, m.storage_key, coalesce(m.sent_at, m.created), m.message_type,
       m.direction,
       pmail_search_vector('simple', m.subject,
           CASE WHEN m.attachment_count > 0 THEN 'deck.pdf' END, NULL, c.content_text,
           NULL, NULL, NULL)
FROM email_messages AS m
JOIN email_content AS c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
"""


def vocabulary(corpus: Path) -> list[str]:
    """The words of real mail, most frequent first: the decoded plain-text bodies of
    the corpus, words of 3-14 letters found in at least two messages."""
    counts: Counter[str] = Counter()
    files: Counter[str] = Counter()
    for path in sorted(corpus.rglob("*")):
        if not path.is_file() or path.suffix not in (".eml", ".txt", ""):
            continue
        try:
            message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content().lower() if body is not None else ""
        except Exception:  # broken mail is part of the corpus
            continue
        found = WORD.findall(text)
        counts.update(found)
        files.update(set(found))
    words = [w for w, _ in counts.most_common() if files[w] >= 2]
    if len(words) < 1000:
        raise SystemExit(
            f"too few words in {corpus} ({len(words)}): is ../shared there?"
        )
    return words


def _texts(words: list[str]) -> Iterator[tuple[str, str]]:
    """The pool's (subject, body) pairs, the same on every run."""
    rng = random.Random(1)
    weights = [1 / rank for rank in range(1, len(words) + 1)]
    for n in range(POOL):
        subject = rng.choices(words, weights, k=3 + n % 5)
        body = rng.choices(words, weights, k=30 + n % 128)
        yield " ".join(subject).capitalize(), " ".join(body)


def _pool(conn: psycopg.Connection, words: list[str]) -> None:
    """POOL distinct subjects (3-7 words) and bodies (30-157 words), words drawn
    Zipf-distributed from `words`; each message takes one of each, plus its own order
    reference (about one message in a million shares it)."""
    conn.execute("CREATE TEMP TABLE pool (id int PRIMARY KEY, subject text, body text)")
    with conn.cursor() as cur, cur.copy("COPY pool FROM STDIN") as copy:
        for n, (subject, body) in enumerate(_texts(words)):
            copy.write_row((n, subject, body))


def _remembered_phrases(words: list[str], count: int) -> list[str]:
    """Two adjacent words of a stored body, neither among the 50 commonest: a
    phrase someone remembers from a message."""
    common = set(words[:50])
    found: list[str] = []
    for n, (_, body) in enumerate(_texts(words)):
        if n % 997:
            continue
        tokens = body.split()
        pairs = [
            f"{a} {b}"
            for a, b in itertools.pairwise(tokens)
            if a not in common and b not in common and a != b
        ]
        if pairs:
            found.append(pairs[0])
        if len(found) == count:
            break
    return found


def build(
    admin: str, name: str, messages: int, words: list[str]
) -> tuple[str, dict[str, float]]:
    """The scratch database, and how long the documents and the index took."""
    dsn = fresh_database(admin, name)
    facts: dict[str, float] = {}
    with psycopg.connect(dsn) as conn:
        conn.execute("SET session_replication_role = replica")  # no rollup triggers
        conn.execute("DROP INDEX idx_search_documents_weeks")
        started = time.perf_counter()
        _pool(conn, words)
        for statement in FILL.split(";\n"):
            conn.execute(
                statement.replace("%(n)s", str(messages)).replace("%(pool)s", str(POOL))
            )
        conn.commit()
        facts["fill_s"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute(DOCUMENTS)
        conn.commit()
        facts["documents_s"] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute(
            "CREATE INDEX idx_search_documents_weeks ON search_documents"
            " USING gin (document, pmail_search_week_vector(date))"
            " WITH (gin_pending_list_limit = 64)"  # as migration 0022
        )
        conn.commit()
        facts["gin_s"] = time.perf_counter() - started
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        row = conn.execute(
            "SELECT sum(pg_column_size(document)),"
            " pg_relation_size('idx_search_documents_weeks'),"
            " pg_relation_size('idx_email_messages_addresses')"
            " + pg_relation_size('idx_email_messages_date')"
            " + pg_relation_size('idx_email_messages_type')"
            " + pg_relation_size('idx_delivery_facts_reason')"
            " + pg_relation_size('idx_attachments_mime_type')"
            " FROM search_documents"
        ).fetchone()
        assert row is not None
        facts |= {
            "vector_bytes": float(row[0]),
            "gin_bytes": float(row[1]),
            "other_index_bytes": float(row[2]),
        }
    return dsn, facts


def queries(words: list[str]) -> list[tuple[str, str, list[str], str]]:
    """56 queries: (kind, what the user types, pmail's arguments, the ILIKE baseline)."""
    t = f"m.tenant_id = '{TENANT_ID}'"
    head = (
        "SELECT m.storage_key, coalesce(m.sent_at, m.created) AS d, m.subject"
        " FROM email_messages m JOIN email_content c"
        " ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key WHERE "
    )
    tail = " ORDER BY d DESC LIMIT 50"

    def like(word: str) -> str:
        return f"(m.subject ILIKE '%{word}%' OR c.content_text ILIKE '%{word}%')"

    out: list[tuple[str, str, list[str], str]] = []
    for n in range(10):  # an order reference: about one message in a million has it
        rare = f"ref{(n * 104729) % 1048576}"
        out.append(("rare word", rare, [rare], head + f"{t} AND {like(rare)}" + tail))
    for n in range(8):
        common = words[n * 3]
        out.append(
            ("common word", common, [common], head + f"{t} AND {like(common)}" + tail)
        )
    for phrase in _remembered_phrases(words, 6):
        out.append(
            (
                "phrase",
                f'"{phrase}"',
                [f'"{phrase}"'],
                head + f"{t} AND c.content_text ILIKE '%{phrase}%'" + tail,
            )
        )
    for n in range(2):  # the worst case: two of the commonest words, rarely adjacent
        a, b = words[20 + n], words[40 + n]
        out.append(
            (
                "common phrase",
                f'"{a} {b}"',
                [f'"{a} {b}"'],
                head + f"{t} AND c.content_text ILIKE '%{a} {b}%'" + tail,
            )
        )
    for n in range(6):
        a, b = words[900 + n * 200], words[1000 + n * 200]
        out.append(
            (
                "or",
                f"{a} OR {b}",
                [f"{a} OR {b}"],
                head + f"{t} AND ({like(a)} OR {like(b)})" + tail,
            )
        )
    for n in range(4):
        a, b = words[300 + n], words[2 + n]
        out.append(
            (
                "negation",
                f"{a} -{b}",
                [f"{a} -{b}"],
                head + f"{t} AND {like(a)} AND NOT {like(b)}" + tail,
            )
        )
    for n in range(8):
        sender = f"someone{n * 613}@example{(n * 613) % 300}.com"
        kind = ("bounce", "auto_reply")[n % 2]
        out.append(
            (
                "fields",
                f"from:{sender} type:{kind}",
                ["--from", sender, "--type", kind],
                head
                + f"{t} AND m.from_email ILIKE '{sender}' AND m.message_type = '{kind}'"
                + tail,
            )
        )
    for n in range(6):
        word = words[200 + n * 50]
        out.append(
            (
                "combined",
                f"{word} type:email direction:inbound after:90d",
                [word, "--type", "email", "--direction", "inbound", "--since", "90d"],
                head + f"{t} AND {like(word)} AND m.message_type = 'email'"
                " AND m.direction = 'inbound'"
                " AND coalesce(m.sent_at, m.created) >= now() - interval '90 days'"
                + tail,
            )
        )
    # Deep pages (keyset: `--after` the last key of the page before): every message
    # newest first far down, a common word newest first, a mid-frequency word by
    # relevance deep in its ranked window. `@N` is the key of the N-th row of the same
    # search, looked up before timing (`_anchored`).
    keyset = (
        " AND (coalesce(m.sent_at, m.created), m.storage_key) < (SELECT"
        " coalesce(a.sent_at, a.created), a.storage_key FROM email_messages a"
        f" WHERE a.tenant_id = '{TENANT_ID}' AND a.storage_key = '@KEY')"
    )
    for depth in (10_000, 500_000):
        out.append(
            (
                "deep page",
                f"(list) --after the {depth:,}th",
                ["--sort", "newest", "--after", f"@{depth}"],
                head + t + keyset + tail,
            )
        )
    for n, depth in enumerate((2_000, 9_000)):
        word = words[n * 3]
        out.append(
            (
                "deep page",
                f"{word} --sort newest --after the {depth:,}th",
                [word, "--sort", "newest", "--after", f"@{depth}"],
                head + f"{t} AND {like(word)}" + keyset + tail,
            )
        )
    for n in range(2):
        word = words[200 + n * 50]
        out.append(
            (
                "deep page",
                f"{word} --after the 500th (ranked)",
                [word, "--after", "@500"],
                head + f"{t} AND {like(word)}" + keyset + tail,
            )
        )
    return out


def _split(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """A query's words (the first argument unless it is an option) and options."""
    if args[0].startswith("--"):  # options only
        return [], dict(zip(args[::2], args[1::2], strict=True))
    return args[:1], dict(zip(args[1::2], args[2::2], strict=True))


def _service_call(args: list[str]) -> dict[str, object]:
    """The keyword arguments of `search.find_messages` for pmail's `args`."""
    from pmail_cli import query as q
    from pmail_cli.services import search

    words, options = _split(args)
    names = {
        "--from": "from",
        "--type": "type",
        "--direction": "direction",
        "--since": "after",
    }
    fields = [(names[k], v, k) for k, v in options.items() if k in names]
    return {
        "filters": q.from_fields(fields).merged(q.parse_query(" ".join(words))),
        "sort": search.Sort(options.get("--sort", "relevance")),
        "after": options.get("--after"),
    }


def _anchored(dsn: str, args: list[str]) -> list[str]:
    """`args` with `--after @N` made the key of the N-th row of the same search."""
    if "--after" not in args:
        return args
    from pmail_cli.config import Settings
    from pmail_cli.db import connect
    from pmail_cli.services import search, tenants

    at = args.index("--after") + 1
    depth = int(args[at].lstrip("@"))
    call = _service_call(args) | {"after": None}
    with connect(Settings(dsn=dsn, dsn_source="bench")) as conn:
        tenant = tenants.find_tenant(conn, TENANT)
        key, seen = None, 0
        while seen < depth:  # keyset pages of at most 10,000 down to the N-th row
            step = min(search.MAX_LIMIT, depth - seen)
            page = search.find_messages(
                conn,
                tenant,
                call["filters"],  # type: ignore[arg-type]
                sort=call["sort"],  # type: ignore[arg-type]
                limit=step,
                after=key,
            )
            if not page.rows:
                break
            key, seen = page.rows[-1].storage_key, seen + len(page.rows)
    assert key is not None, args
    return [*args[:at], key, *args[at + 1 :]]


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def in_process(
    dsn: str, args: list[str], runs: int, *, trips: bool = False
) -> tuple[float, int | None, list[list[object]]]:
    """The same search without the process: the service call on an open connection
    (what the database and pmail's own code take, start-up aside): the median time;
    with `trips`, the round trips of one more call (libpq's trace of what the client
    sends: each Sync or simple Query waits for the server);
    and the page (key, rank, snippet, matches) to compare builds by."""
    from pmail_cli.config import Settings
    from pmail_cli.db import connect
    from pmail_cli.services import search, tenants

    call = _service_call(args)
    times = []
    count = None
    with connect(Settings(dsn=dsn, dsn_source="bench")) as conn:
        tenant = tenants.find_tenant(conn, TENANT)
        for _ in range(runs):
            started = time.perf_counter()
            found = search.find_messages(conn, tenant, limit=50, **call)  # type: ignore[arg-type]
            times.append(time.perf_counter() - started)
        if trips:
            count = _round_trips(
                conn,
                lambda: search.find_messages(conn, tenant, limit=50, **call),  # type: ignore[arg-type]
            )
    page: list[list[object]] = [
        [r.storage_key, r.rank, r.snippet, r.matched] for r in found.rows
    ]
    return statistics.median(times), count, page


def _round_trips(conn: psycopg.Connection, work: Callable[[], object]) -> int:
    """How many times `work` waits for the server on `conn` (libpq's trace). No
    statement is prepared meanwhile: psycopg prepares one at its sixth use, in a
    round trip of its own that a pmail command (each statement about once) never
    makes."""
    from psycopg import pq

    threshold = conn.prepare_threshold
    with tempfile.TemporaryFile() as trace:
        conn.prepare_threshold = None
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            work()
        finally:
            conn.pgconn.untrace()
            conn.prepare_threshold = threshold
        trace.seek(0)
        sent = [line.split(b"\t") for line in trace.read().splitlines()]
    return sum(
        1
        for line in sent
        if line[0] == b"F" and len(line) > 2 and line[2].startswith((b"Sync", b"Query"))
    )


def time_queries(
    dsn: str,
    words: list[str],
    runs: int,
    *,
    query_only: bool = False,
    kinds: frozenset[str] = frozenset(),
    trips: bool = False,
) -> list[dict[str, object]]:
    """Each query: median of `runs` for pmail and for the ILIKE query via psql, and
    the service call alone (in this process, on an open connection); with
    `query_only`, the service call alone. `kinds`: only these kinds (all if empty).
    `trips`: the service call's round trips too."""
    rows: list[dict[str, object]] = []
    for kind, typed, args, plain in queries(words):
        if kinds and kind not in kinds:
            continue
        args = _anchored(dsn, args)
        if "--after" in args:
            plain = plain.replace("@KEY", args[args.index("--after") + 1])
        command = [
            pmail_path(),
            "--dsn",
            dsn,
            "-q",
            "search",
            *args,
            "--tenant",
            TENANT,
            "--limit",
            "50",
            "--format",
            "csv",
        ]
        pmail = base = float("nan")
        if not query_only:
            pmail = statistics.median(timed_run(command) for _ in range(runs))
            base = statistics.median(
                timed_run([*psql_command(dsn), plain]) for _ in range(runs)
            )
        inside, count, page = in_process(dsn, args, runs, trips=trips)
        rows.append(
            {
                "kind": kind,
                "query": typed,
                "pmail_s": round(pmail, 3),
                "query_s": round(inside, 4),
                "ilike_s": round(base, 3),
                **({"round_trips": count} if trips else {}),
                "page": page,
            }
        )
        print(
            f"{kind:12s} {typed[:40]:40s} pmail {pmail:.3f} s (query {inside:.4f} s)"
            f"  ilike {base:.3f} s" + (f"  round trips {count}" if trips else ""),
            file=sys.stderr,
        )
    return rows


def serve(dsn: str) -> None:
    """`--serve`: run one service call per line of stdin (the JSON of pmail's
    arguments) on one open connection, and answer each with its seconds and round
    trips, as JSON. Started by `time_builds` with each build's `src` first on
    PYTHONPATH."""
    from pmail_cli.config import Settings
    from pmail_cli.db import connect
    from pmail_cli.services import search, tenants

    with connect(Settings(dsn=dsn, dsn_source="bench")) as conn:
        # a pmail command sends each statement about once; psycopg would prepare a
        # statement sent a sixth time, and after five more PostgreSQL may plan it
        # generically for any words (3 s for a common word at 1M: no longer the
        # search a user runs)
        conn.prepare_threshold = None
        tenant = tenants.find_tenant(conn, TENANT)
        for line in sys.stdin:
            call = _service_call(json.loads(line))
            started = time.perf_counter()
            search.find_messages(conn, tenant, limit=50, **call)  # type: ignore[arg-type]
            took = time.perf_counter() - started
            again = functools.partial(
                search.find_messages,
                conn,
                tenant,
                limit=50,
                **call,  # type: ignore[arg-type]
            )
            trips = _round_trips(conn, again)
            print(json.dumps({"s": took, "round_trips": trips}), flush=True)


def time_builds(
    dsn: str,
    words: list[str],
    runs: int,
    builds: dict[str, Path],
    kinds: frozenset[str] = frozenset(),
) -> list[dict[str, object]]:
    """Each query's service call in two or more builds (`--build NAME=SRC`: a
    checkout's `src`), one process per build on its own connection, the calls
    interleaved (one run of each build in turn, the order turning each run) so that
    the machine's load falls on all alike: the median of `runs` per build, the round
    trips of each, and the ratio of each build to the first."""
    procs = {
        name: subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", "--dsn", dsn],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(src)},
        )
        for name, src in builds.items()
    }
    names = list(builds)
    rows: list[dict[str, object]] = []
    try:
        for kind, typed, args, _ in queries(words):
            if kinds and kind not in kinds:
                continue
            args = _anchored(dsn, args)
            times: dict[str, list[float]] = {name: [] for name in names}
            trips: dict[str, int] = {}
            for run in range(runs + 1):  # the first run of each warms up
                turn = names[run % len(names) :] + names[: run % len(names)]
                for name in turn:
                    proc = procs[name]
                    assert proc.stdin is not None and proc.stdout is not None
                    proc.stdin.write(json.dumps(args) + "\n")
                    proc.stdin.flush()
                    answer = json.loads(proc.stdout.readline())
                    if run:
                        times[name].append(answer["s"])
                    trips[name] = answer["round_trips"]
            medians = {name: statistics.median(times[name]) for name in names}
            row: dict[str, object] = {"kind": kind, "query": typed}
            for name in names:
                row[f"{name}_s"] = round(medians[name], 5)
                row[f"{name}_round_trips"] = trips[name]
                row[f"{name}_vs_{names[0]}"] = round(
                    medians[name] / medians[names[0]], 3
                )
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    finally:
        for proc in procs.values():
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=60)
    return rows


def time_ingest(
    admin: str, messages: int, runs: int, name: str = "pmail_search_ingest"
) -> dict[str, object]:
    """`pmail ingest` of one corpus with full-text search on and off, alternated."""
    workdir = Path(tempfile.mkdtemp(prefix="pmail-search-bench-"))
    try:
        gen_corpus.generate(workdir / "mail", messages=messages, seed=1)
        raw = sum(p.stat().st_size for p in (workdir / "mail").rglob("*.eml"))
        seconds: dict[str, list[float]] = {"on": [], "off": []}
        stored: dict[str, int] = {}
        for _ in range(runs):
            for mode in ("on", "off"):
                dsn = fresh_database(admin, name)
                for step in (["add", "default"], ["set", "default", "--search", mode]):
                    subprocess.run(
                        [pmail_path(), "--dsn", dsn, "-q", "tenant", *step],
                        check=True,
                        capture_output=True,
                    )
                seconds[mode].append(
                    timed_run(
                        [
                            pmail_path(),
                            "--dsn",
                            dsn,
                            "-q",
                            "ingest",
                            str(workdir / "mail"),
                        ]
                    )
                )
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute("VACUUM ANALYZE")
                    row = conn.execute(
                        "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
                        " WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
                    ).fetchone()
                    stored[mode] = int(row[0]) if row else 0
        on, off = statistics.median(seconds["on"]), statistics.median(seconds["off"])
        return {
            "messages": messages,
            "raw_bytes": raw,
            "search_on_msg_s": round(messages / on),
            "search_off_msg_s": round(messages / off),
            "throughput_on_vs_off": round(off / on, 3),
            "stored_on_vs_raw": round(stored["on"] / raw, 3),
            "stored_off_vs_raw": round(stored["off"] / raw, 3),
            "search_bytes_per_message": round(
                (stored["on"] - stored["off"]) / messages
            ),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _built(args: argparse.Namespace, words: list[str]) -> str:
    """Build the database, print what it took, return its DSN."""
    dsn, facts = build(args.dsn, args.db_name, args.messages, words)
    n = args.messages
    built = {
        "messages": n,
        "fill_s": round(facts["fill_s"], 1),
        "documents_per_s": round(n / facts["documents_s"]),
        "gin_build_s": round(facts["gin_s"], 1),
        "vector_bytes_per_message": round(facts["vector_bytes"] / n),
        "gin_bytes_per_message": round(facts["gin_bytes"] / n),
        "other_index_bytes_per_message": round(facts["other_index_bytes"] / n),
    }
    print(json.dumps(built), file=sys.stderr)
    return dsn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs per query (median)")
    parser.add_argument(
        "--ingest", type=int, default=0, help="also time ingest of N messages"
    )
    parser.add_argument(
        "--dsn", default=DEFAULT_DSN, help="server + maintenance database"
    )
    parser.add_argument(
        "--db-name",
        default="pmail_search_bench",
        help="the scratch database (and NAME_ingest for --ingest)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--reuse", action="store_true", help="query the kept database; build nothing"
    )
    parser.add_argument(
        "--build-only", action="store_true", help="build (and keep) the database only"
    )
    parser.add_argument(
        "--query-only",
        action="store_true",
        help="time the service call alone (no pmail process, no ILIKE)",
    )
    parser.add_argument(
        "--kind", action="append", default=[], help="only queries of this kind"
    )
    parser.add_argument(
        "--trips",
        action="store_true",
        help="count the service call's round trips to the server (libpq trace)",
    )
    parser.add_argument(
        "--answers",
        type=Path,
        help="write each query's page (keys, ranks, snippets) to this JSON file",
    )
    parser.add_argument(
        "--build",
        action="append",
        default=[],
        metavar="NAME=SRC",
        help="time the service calls of these checkouts' src (2 or more), interleaved",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:  # one build's worker for --build (its DSN names the database)
        serve(args.dsn)
        return 0
    report: dict[str, object] = {}
    if args.ingest:
        report["ingest"] = time_ingest(
            args.dsn, args.ingest, args.runs, args.db_name + "_ingest"
        )
        print(json.dumps(report["ingest"]), file=sys.stderr)
    if args.messages:
        words = vocabulary(CORPUS)
        if args.reuse:
            dsn = make_conninfo(args.dsn, dbname=args.db_name)
        else:
            dsn = _built(args, words)
        if args.build_only:
            print(json.dumps(report, indent=2))
            return 0
        if args.build:
            builds = {
                name: Path(src) for name, src in (b.split("=", 1) for b in args.build)
            }
            report["builds"] = time_builds(
                dsn, words, args.runs, builds, frozenset(args.kind)
            )
            print(json.dumps(report, indent=2))
            return 0
        rows = time_queries(
            dsn,
            words,
            args.runs,
            query_only=args.query_only,
            kinds=frozenset(args.kind),
            trips=args.trips,
        )
        if args.answers:
            args.answers.write_text(
                json.dumps({r["query"]: r["page"] for r in rows}, indent=1)
            )
        for r in rows:
            del r["page"]
        pmail = [float(str(r["pmail_s"])) for r in rows]
        ilike = [float(str(r["ilike_s"])) for r in rows]
        inside = [float(str(r["query_s"])) for r in rows]
        report["queries"] = rows
        if args.query_only:
            report["summary"] = {
                "query_p50_s": round(statistics.median(inside), 3),
                "query_p95_s": round(_p95(inside), 3),
            }
            print(json.dumps(report, indent=2))
            return 0
        report["summary"] = {
            "pmail_p50_s": round(statistics.median(pmail), 3),
            "pmail_p95_s": round(_p95(pmail), 3),
            "query_p50_s": round(statistics.median(inside), 3),
            "query_p95_s": round(_p95(inside), 3),
            "ilike_p50_s": round(statistics.median(ilike), 3),
            "ilike_p95_s": round(_p95(ilike), 3),
            "startup_s": round(
                statistics.median(
                    timed_run([pmail_path(), "--help"]) for _ in range(args.runs)
                ),
                3,
            ),
            "pass": statistics.median(pmail) < TARGET_P50 and _p95(pmail) < TARGET_P95,
        }
        if not (args.keep or args.reuse):
            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {args.db_name} WITH (FORCE)")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
