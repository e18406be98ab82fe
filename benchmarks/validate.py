"""validate and purge benchmark: `pmail validate` (quick and --deep) and `pmail purge`.

One scratch database is filled once with the seeded cold-email corpus (`pmail ingest`,
not timed). Then, R times each, alternating:

* `pmail validate` (every quick check) and `pmail validate --deep` (every message and
  file rebuilt and hashed, in worker processes), wall clock including start-up;
* the baseline for --deep: `pmail export --out DIR`, the serial path that also rebuilds
  and verifies every message (what proving integrity took before validate existed).

Then half the messages are made older than the tenant's retention and the database is
copied (CREATE DATABASE ... TEMPLATE): `pmail purge` runs on one copy, and the plain way
(one DELETE of the same content rows and one DELETE of the files left unreferenced, in
one transaction, no tombstones, no holds) on the other.

    python benchmarks/validate.py --messages 100000 --runs 3

Target (issue 13): --deep >= 5,000 messages/s on two cores.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest import (
    DEFAULT_DSN,
    TENANT,
    Pmail,
    load_corpus,
    prepare_database,
    scratch_database,
)

DEEP_TARGET = 5000.0  # messages/s
DEEP_RE = re.compile(
    r"rebuilt ([\d,]+) messages and ([\d,]+) files, ([\d.,]+) MB in ([\d.]+) s"
)
PLAIN_PURGE = """
WITH gone AS (
    DELETE FROM email_content AS c USING email_messages AS m
    WHERE m.tenant_id = c.tenant_id AND m.storage_key = c.storage_key
      AND m.created < now() - interval '365 days'
    RETURNING c.tenant_id
)
SELECT count(*) FROM gone;
DELETE FROM attachment_blobs AS b
WHERE NOT EXISTS (SELECT 1 FROM attachments AS a
                  WHERE a.tenant_id = b.tenant_id AND a.sha256 = b.sha256);
"""


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "pmail-bench"
    )
    parser.add_argument(
        "--json", action="store_true", help="One JSON object on stdout."
    )
    parser.add_argument(
        "--purge-only", action="store_true", help="Skip the validate runs."
    )
    return parser.parse_args()


def _timed(
    pmail: Pmail, dsn: str, *args: str, ok: tuple[int, ...] = (0,)
) -> tuple[float, str]:
    result = pmail.run(dsn, *args)
    if result.returncode not in ok:
        raise SystemExit(
            f"pmail {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
        )
    return result.seconds, result.stderr


def main() -> None:
    args = parse_args()
    pmail = Pmail(Path(sys.executable).with_name("pmail"), args.workdir)
    corpus = load_corpus(args.workdir, messages=args.messages, seed=args.seed)
    out: dict[str, object] = {"messages": args.messages, "runs": args.runs}
    with scratch_database(args.dsn) as dsn:
        prepare_database(pmail, dsn, corpus, rows=True)
        seconds, _ = _timed(pmail, dsn, "ingest", str(corpus.directory), "-t", TENANT)
        _log(f"ingested {args.messages:,} messages in {seconds:.0f} s (not timed)")
        quick, deep, export = [], [], []
        deep_stats: list[tuple[int, int, float, float]] = []
        for run in range(0 if args.purge_only else args.runs):
            quick.append(_timed(pmail, dsn, "validate")[0])
            seconds, err = _timed(pmail, dsn, "validate", "--deep")
            deep.append(seconds)
            found = DEEP_RE.search(err)
            assert found, err
            n, files, mb, inner = found.groups()
            deep_stats.append(
                (
                    int(n.replace(",", "")),
                    int(files.replace(",", "")),
                    float(mb.replace(",", "")),
                    float(inner),
                )
            )
            target = args.workdir / f"export-{run}"
            shutil.rmtree(target, ignore_errors=True)
            export.append(
                _timed(pmail, dsn, "export", "-t", TENANT, "--out", str(target))[0]
            )
            shutil.rmtree(target, ignore_errors=True)
            _log(
                f"run {run + 1}: validate {quick[-1]:.2f} s, --deep {deep[-1]:.2f} s, "
                f"export {export[-1]:.2f} s"
            )
        if args.purge_only:
            out.update(_purge(pmail, args.dsn, dsn))
            print(json.dumps(out, indent=2))
            return
        n, files, mb, _ = deep_stats[0]
        med_deep = statistics.median(deep)
        out["validate_quick_s"] = statistics.median(quick)
        out["validate_deep_s"] = med_deep
        out["export_baseline_s"] = statistics.median(export)
        out["deep_messages_per_s"] = n / med_deep
        out["deep_mb_per_s"] = mb / med_deep
        out["deep_files"] = files
        out["quick_messages_per_s"] = n / statistics.median(quick)
        out["deep_vs_export"] = statistics.median(export) / med_deep
        out["deep_pass"] = n / med_deep >= DEEP_TARGET
        out.update(_purge(pmail, args.dsn, dsn))
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for key, value in out.items():
            print(
                f"{key:24} {value:,.2f}"
                if isinstance(value, float)
                else f"{key:24} {value}"
            )


def _purge(pmail: Pmail, admin_dsn: str, dsn: str) -> dict[str, object]:
    """Age half the mail, copy the database, purge one copy each way."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE email_messages SET created = created - interval '400 days' "
            "WHERE get_byte(decode(storage_key, 'hex'), 0) % 2 = 0"
        )
        conn.execute("VACUUM ANALYZE")
    pmail.check(dsn, "tenant", "set", TENANT, "--retention-days", "365")
    source = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    copy = f"{source}_plain"
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(copy))
        )
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(copy), sql.Identifier(str(source))
            )
        )
    try:
        seconds, err = _timed(pmail, dsn, "purge")
        purged = re.search(r"purged ([\d,]+) messages, freed ([\d.,]+) MB", err)
        assert purged, err
        started = time.perf_counter()
        with psycopg.connect(make_conninfo(dsn, dbname=copy)) as conn:
            conn.execute(PLAIN_PURGE)
            conn.commit()
        plain = time.perf_counter() - started
        validate_after, _ = _timed(pmail, dsn, "validate")
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(copy)
                )
            )
    count = int(purged.group(1).replace(",", ""))
    _log(f"purge {count:,} messages: pmail {seconds:.2f} s, plain DELETE {plain:.2f} s")
    return {
        "purged_messages": count,
        "purge_freed_mb": float(purged.group(2).replace(",", "")),
        "purge_s": seconds,
        "purge_messages_per_s": count / seconds,
        "plain_delete_s": plain,
        "purge_vs_plain": plain / seconds,
        "validate_after_purge_s": validate_after,
    }


if __name__ == "__main__":
    main()
