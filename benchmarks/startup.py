"""Start-up benchmark: how long the everyday short `pmail` calls take, whole process.

Each command is run as a user runs it (a new process, wall clock, output discarded),
`--runs` times, every pmail given with `--pmail` in turn inside each round, so that two
installations (say, two venvs with different dependency versions) are compared under
the same load. Reported: the median and the fastest run per command and pmail, and the
ratio of each pmail's median to the first one's. A `python -c pass` row gives the
interpreter's own start for scale.

The commands: `pmail --help`; `pmail classify FILE` (no database); `pmail tenant
list` and a re-ingest of one stored message (`pmail ingest FILE`, a duplicate), both on
a scratch database created on the server `--dsn` names.

    python benchmarks/startup.py --runs 15
    python benchmarks/startup.py --pmail .venv/bin/pmail --pmail /tmp/other/bin/pmail
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import psycopg

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.reports import DEFAULT_DSN, fresh_database, pmail_path, timed_run

TARGET_SECONDS = 0.3  # issue 16: `pmail --help` and `pmail classify one.eml`
ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "sample"


def sample_message() -> Path:
    """A Postfix bounce of the project's sample mail (classify reads it all)."""
    message = SAMPLE / "sisimai-set-of-emails" / "lhost-postfix-01.eml"
    if not message.is_file():
        raise SystemExit(f"error: {message} is missing")
    return message


def commands(dsn: str, message: Path) -> dict[str, list[str]]:
    """Command name -> arguments after the executable."""
    db = ["--dsn", dsn, "-q"]
    return {
        "--help": ["--help"],
        "classify FILE": ["classify", str(message)],
        "tenant list": [*db, "tenant", "list"],
        "ingest FILE (duplicate)": [*db, "ingest", str(message), "--tenant", "bench"],
    }


def drop_database(admin: str, name: str) -> None:
    """Drop the scratch database."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(
    pmails: list[str], dsn: str, message: Path, runs: int
) -> list[dict[str, Any]]:
    """Every command with every pmail, interleaved round by round (`dsn`: a
    database holding pmail's schema)."""
    first = pmails[0]
    timed_run([first, "--dsn", dsn, "-q", "tenant", "add", "bench"])
    timed_run([first, "--dsn", dsn, "-q", "ingest", str(message), "--tenant", "bench"])
    cases: list[tuple[str, str | None, list[str]]] = [
        ("python -c pass", None, [sys.executable, "-c", "pass"])
    ]
    for name, args in commands(dsn, message).items():
        cases += [(name, pmail, [pmail, *args]) for pmail in pmails]
    times: dict[int, list[float]] = {i: [] for i in range(len(cases))}
    for _, _, argv in cases:
        timed_run(argv)  # warm the page cache and .pyc files
    for round_ in range(runs):
        for i, (_, _, argv) in enumerate(cases):
            times[i].append(timed_run(argv))
        print(f"round {round_ + 1}/{runs}", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    base: dict[str, float] = {}
    for i, (name, pmail, _) in enumerate(cases):
        median = statistics.median(times[i])
        if pmail == first:
            base[name] = median
        rows.append(
            {
                "command": name,
                "pmail": pmail,
                "median_s": round(median, 3),
                "min_s": round(min(times[i]), 3),
                "vs_first": round(median / base[name], 2) if name in base else None,
                "target_s": TARGET_SECONDS
                if name in ("--help", "classify FILE")
                else None,
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """The rows as a plain table."""
    print(f"{'command':26s} {'median s':>9s} {'min s':>7s} {'vs 1st':>7s}  pmail")
    for row in rows:
        ratio = f"{row['vs_first']:.2f}x" if row["vs_first"] is not None else ""
        verdict = ""
        if row["target_s"] is not None:
            verdict = "PASS" if row["median_s"] < row["target_s"] else "FAIL"
            verdict = f"  (< {row['target_s']} s: {verdict})"
        print(
            f"{row['command']:26s} {row['median_s']:9.3f} {row['min_s']:7.3f} "
            f"{ratio:>7s}  {row['pmail'] or ''}{verdict}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pmail",
        action="append",
        help="a pmail executable (several allowed; default: the one beside python)",
    )
    parser.add_argument("--runs", type=int, default=15, help="rounds (medians)")
    parser.add_argument(
        "--dsn",
        default=os.environ.get("PMAIL_BENCH_DSN", DEFAULT_DSN),
        help="server to create the scratch database on (PMAIL_BENCH_DSN)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    pmails = args.pmail or [pmail_path()]
    message = sample_message()
    print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
    name = f"pmail_startup_{os.getpid()}"
    dsn = fresh_database(args.dsn, name)  # with the first pmail beside this python
    try:
        rows = measure(pmails, dsn, message, args.runs)
    finally:
        drop_database(args.dsn, name)
    print(f"load average at end: {os.getloadavg()}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
