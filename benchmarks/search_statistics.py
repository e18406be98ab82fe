"""Search with and without the planner statistics migrations 0039 and 0041 turned off.

Those migrations stop ANALYZE keeping statistics of the columns and index expressions
that hold tenants' values (addresses, subjects, texts, ...), so that a tenant login's
EXPLAIN cannot read them (docs/security.md). Search's filters on addresses, types and
mime types are planned from estimates, so this measures what it costs: on the
database `benchmarks/search.py --build-only` made (a million messages by default), it
alternates the two states — as the migrations leave it ("off"), and with those
columns' statistics back ("on": target -1 again and ANALYZE) — and times search.py's
queries (`--reuse --query-only`, the service call alone) in each; medians per kind
and overall. It leaves the database as the migrations do.

    python benchmarks/search.py --messages 1000000 --build-only --db-name pmail_statsbench
    python benchmarks/search_statistics.py --db-name pmail_statsbench --rounds 2
"""

from __future__ import annotations

import argparse
import collections
import re
import statistics
import subprocess
import sys
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

DEFAULT_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
SEARCH = Path(__file__).resolve().with_name("search.py")
LINE = re.compile(r"^(\S.*?)\s{2,}(\S.*?)\s+pmail \S+ s \(query ([0-9.]+) s\)")
# the columns and index expressions the migrations turned off (target 0 in the schema)
TURNED_OFF = """
SELECT c.relkind, c.relname, a.attname, a.attnum
FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0
  AND NOT a.attisdropped AND a.attstattarget = 0
"""


def toggle(dsn: str, turned_off: list[tuple[str, str, str, int]], on: bool) -> None:
    """Statistics back (on) or as the migrations leave them; then ANALYZE."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for kind, rel, col, num in turned_off:
            if kind == "i":
                target = 100 if on else 0  # an index column takes no -1
                conn.execute(
                    f'ALTER INDEX "{rel}" ALTER COLUMN {num} SET STATISTICS {target}'
                )
            else:
                target = -1 if on else 0
                conn.execute(
                    f'ALTER TABLE "{rel}" ALTER COLUMN "{col}" SET STATISTICS {target}'
                )
        if not on:  # what 0039/0041 delete as a superuser
            conn.execute(
                "DELETE FROM pg_statistic WHERE (starelid, staattnum) IN (SELECT "
                "a.attrelid, a.attnum FROM pg_attribute AS a JOIN pg_class AS c ON "
                "c.oid = a.attrelid WHERE c.relnamespace = 'public'::regnamespace "
                "AND a.attnum > 0 AND a.attstattarget = 0)"
            )
        conn.execute("ANALYZE")


def timed(db: str, dsn: str, runs: int) -> dict[tuple[str, str], float]:
    """search.py's query-only times of every query (seconds, its median of runs)."""
    done = subprocess.run(
        [
            sys.executable,
            str(SEARCH),
            "--reuse",
            "--query-only",
            "--runs",
            str(runs),
            "--db-name",
            db,
            "--dsn",
            dsn,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = {}
    for line in (done.stdout + done.stderr).splitlines():
        m = LINE.match(line)
        if m:
            found[(m.group(1).strip(), m.group(2).strip())] = float(m.group(3))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--db-name", default="pmail_search_bench")
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs")
    parser.add_argument("--runs", type=int, default=5, help="runs per query")
    args = parser.parse_args(argv)
    db = make_conninfo(args.dsn, dbname=args.db_name)
    with psycopg.connect(db) as conn:
        turned_off = [
            (str(k), str(r), str(c), int(n)) for k, r, c, n in conn.execute(TURNED_OFF)
        ]
    times: dict[bool, list[dict[tuple[str, str], float]]] = {False: [], True: []}
    try:
        for _ in range(args.rounds):
            for on in (False, True):
                toggle(db, turned_off, on)
                times[on].append(timed(args.db_name, args.dsn, args.runs))
    finally:
        toggle(db, turned_off, False)
    queries = sorted(set(times[False][0]) & set(times[True][0]))
    kinds: dict[str, dict[bool, list[float]]] = collections.defaultdict(
        lambda: {False: [], True: []}
    )
    ratios = []
    for q in queries:
        med = {on: statistics.median(r[q] for r in times[on]) for on in (False, True)}
        for on in (False, True):
            kinds[q[0]][on].append(med[on])
        ratios.append(med[False] / med[True])
    print(
        f"{len(queries)} queries, {args.rounds} rounds of each state, {args.runs} runs"
    )
    print(f"{'kind':<24}{'without (s)':>12}{'with (s)':>12}")
    for kind, both in kinds.items():
        print(
            f"{kind:<24}{statistics.median(both[False]):>12.4f}"
            f"{statistics.median(both[True]):>12.4f}"
        )
    every = {
        on: sorted(v for k in kinds.values() for v in k[on]) for on in (False, True)
    }
    for on in (False, True):
        xs = every[on]
        print(
            f"{'with' if on else 'without'} statistics: p50 {xs[len(xs) // 2]:.4f} s, "
            f"p95 {xs[int(0.95 * (len(xs) - 1))]:.4f} s"
        )
    print(f"median per-query ratio without/with: {statistics.median(ratios):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
