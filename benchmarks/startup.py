"""Start-up benchmark: how long the everyday short `pmail` calls take, whole process.

Each command is run as a user runs it (a new process, wall clock, output discarded),
`--runs` times, every pmail given with `--pmail` in turn inside each round, so that two
installations (say, two venvs with different dependency versions) are compared under
the same load. Reported: the median and the fastest run per command and pmail, and the
ratio of each pmail's median to the first one's. A `python -c pass` row gives the
interpreter's own start for scale, and a `psycopg+typer+SELECT 1` row (import
both, connect, one query: what a database command pays before pmail's own code)
gives the floor under the database commands.

The everyday reads run a second way too, through the resident server (`pmail
resident start`, issue 27): rows `list [resident]` and so on, the first pmail's
server started in a scratch socket directory before the rounds and stopped after,
interleaved with the direct runs (which are given an empty socket directory, so
they never find a server); their ratio is to the direct run of the same command.
Their CPU column is the client's only (the command runs in the server's child).
`--no-resident` leaves them out.

The commands: `pmail --help`; `pmail classify FILE` (no database); `pmail tenant
list` and a re-ingest of one stored message (`pmail ingest FILE`, a duplicate); and
the everyday reads of issue 27 — `pmail list`, `pmail search WORD`, `pmail show KEY`
and `pmail report volume` — on a scratch database created on the server `--dsn`
names, holding the sample message and `--messages` generated ones (benchmarks/
gen_corpus.py, ingested by the first pmail). Each run's CPU time (user + system, of
the child) is reported beside the wall time: it moves less when other work shares
the machine. Every child runs with its compiled modules (.pyc) kept in a scratch
directory (PYTHONPYCACHEPREFIX; PYTHONDONTWRITEBYTECODE dropped), written by the
warm-up run: an installed pmail has them (pip writes them), while a source checkout
under PYTHONDONTWRITEBYTECODE=1 would compile pmail's ~20 modules in every run
(0.04 s of CPU a run on the test machine) and time that instead.

    python benchmarks/startup.py --runs 15
    python benchmarks/startup.py --database pmail_search_bench --tenant bench  # 1M, reused
    python benchmarks/startup.py --runs 15 --messages 10000 --pmail .venv/bin/pmail
    python benchmarks/startup.py --messages 10000 --pmail /tmp/main/.venv/bin/pmail --pmail .venv/bin/pmail
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import gen_corpus
from benchmarks.reports import DEFAULT_DSN, fresh_database, pmail_path, timed_run
from psycopg.conninfo import make_conninfo

TARGET_SECONDS = 0.3  # issue 16: `pmail --help` and `pmail classify one.eml`
READ_TARGET_SECONDS = 0.15  # issue 27: list, search, show, reports (whole process)
READS = ("list", "search WORD", "show KEY", "report volume")
TENANT = "bench"
# What every database command pays before pmail's own code: the interpreter, its two
# big dependencies' imports, a connection and one query (this python's versions).
FLOOR = "psycopg+typer+SELECT 1"
FLOOR_CODE = (
    "import sys, psycopg, typer\n"
    "with psycopg.connect(sys.argv[1]) as conn:\n"
    "    conn.execute('SELECT 1').fetchone()\n"
)
ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "sample"


def sample_message() -> Path:
    """A Postfix bounce of the project's sample mail (classify reads it all)."""
    message = SAMPLE / "sisimai-set-of-emails" / "lhost-postfix-01.eml"
    if not message.is_file():
        raise SystemExit(f"error: {message} is missing")
    return message


def commands(
    dsn: str,
    message: Path,
    key: str = "",
    word: str = "pricing",
    tenant_name: str = TENANT,
    writes: bool = True,
) -> dict[str, list[str]]:
    """Command name -> arguments after the executable (`key`: a stored message's;
    `writes` False leaves out the one command that stores something)."""
    db = ["--dsn", dsn, "-q"]
    tenant = ["--tenant", tenant_name]
    found = {
        "--help": ["--help"],
        "classify FILE": ["classify", str(message)],
        "tenant list": [*db, "tenant", "list"],
        "ingest FILE (duplicate)": [*db, "ingest", str(message), *tenant],
        "list": [*db, "list", *tenant],
        "search WORD": [*db, "search", word, *tenant],
        "show KEY": [*db, "show", key, *tenant],
        "report volume": [*db, "report", "volume", *tenant],
    }
    if not writes:
        del found["ingest FILE (duplicate)"]
    return found


def target_of(command: str) -> float | None:
    """The issue's whole-process target for a command, if it sets one."""
    if command in ("--help", "classify FILE"):
        return TARGET_SECONDS
    return READ_TARGET_SECONDS if command in READS else None


def child_env(pycache: Path) -> dict[str, str]:
    """This environment with compiled modules written to and read from `pycache`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def timed_cpu(
    command: list[str], env: dict[str, str] | None = None
) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one run, output discarded; it must
    succeed (as timed_run)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    assert child.stderr is not None
    error = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.stderr.close()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(
            f"{' '.join(command[:8])} failed (exit {child.returncode}): "
            f"{error.decode(errors='replace')[-500:]}"
        )
    return seconds, usage.ru_utime + usage.ru_stime


def timed_run_env(command: list[str], env: dict[str, str]) -> None:
    """Run a command with `env`; it must succeed."""
    done = subprocess.run(command, capture_output=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-500:]}")


def stored_key(pmail: str, dsn: str, tenant: str = TENANT) -> str:
    """The key of the newest stored message (what `pmail show` is given)."""
    done = subprocess.run(
        [
            pmail,
            "--dsn",
            dsn,
            "-q",
            "list",
            "--tenant",
            tenant,
            "-n",
            "1",
            "-f",
            "json",
        ],
        capture_output=True,
        check=True,
    )
    return str(json.loads(done.stdout)[0]["key"])[:12]


def drop_database(admin: str, name: str) -> None:
    """Drop the scratch database."""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


RESIDENT = " [resident]"  # the row of a command run through the resident server


def with_socket_dir(env: dict[str, str] | None, where: Path) -> dict[str, str]:
    """`env` (default: this one) with the resident server's directory `where`."""
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    return {
        **(env if env is not None else os.environ),
        "PMAIL_RESIDENT_DIR": str(where),
    }


def measure(
    pmails: list[str],
    dsn: str,
    message: Path,
    runs: int,
    corpus: Path | None = None,
    word: str = "pricing",
    env: dict[str, str] | None = None,
    resident: dict[str, str] | None = None,
    reuse_tenant: str | None = None,
) -> list[dict[str, Any]]:
    """Every command with every pmail, interleaved round by round (`dsn`: a
    database holding pmail's schema; `corpus`: a directory of messages to store
    too; `resident`: the environment of the first pmail's running resident server,
    whose reads get rows of their own; `reuse_tenant`: a tenant of `dsn` that holds
    mail already: nothing is stored and the writing command is left out)."""
    first = pmails[0]
    tenant = reuse_tenant or TENANT
    if reuse_tenant is None:
        timed_run([first, "--dsn", dsn, "-q", "tenant", "add", TENANT])
        inputs = [str(message), *([str(corpus)] if corpus else [])]
        timed_run([first, "--dsn", dsn, "-q", "ingest", *inputs, "--tenant", TENANT])
    key = stored_key(first, dsn, tenant)
    cases: list[tuple[str, str | None, list[str], dict[str, str] | None]] = [
        ("python -c pass", None, [sys.executable, "-c", "pass"], env),
        (FLOOR, None, [sys.executable, "-c", FLOOR_CODE, dsn], env),
    ]
    listed = commands(dsn, message, key, word, tenant, writes=reuse_tenant is None)
    for name, args in listed.items():
        cases += [(name, pmail, [pmail, *args], env) for pmail in pmails]
        if resident is not None and name in READS:
            cases.append((name + RESIDENT, first, [first, *args], resident))
    times: dict[int, list[float]] = {i: [] for i in range(len(cases))}
    cpu: dict[int, list[float]] = {i: [] for i in range(len(cases))}
    for _, _, argv, case_env in cases:
        timed_cpu(argv, case_env)  # warm the page cache and write the .pyc files
    for round_ in range(runs):
        for i, (_, _, argv, case_env) in enumerate(cases):
            wall, used = timed_cpu(argv, case_env)
            times[i].append(wall)
            cpu[i].append(used)
        print(f"round {round_ + 1}/{runs}", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    base: dict[str, float] = {}
    for i, (name, pmail, _, _) in enumerate(cases):
        median = statistics.median(times[i])
        if pmail == first and not name.endswith(RESIDENT):
            base[name] = median
        direct = name.removesuffix(RESIDENT)
        rows.append(
            {
                "command": name,
                "pmail": pmail,
                "median_s": round(median, 3),
                "min_s": round(min(times[i]), 3),
                "cpu_median_s": round(statistics.median(cpu[i]), 3),
                "vs_first": round(median / base[direct], 2) if direct in base else None,
                "target_s": target_of(direct),
            }
        )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """The rows as a plain table."""
    print(
        f"{'command':26s} {'median s':>9s} {'min s':>7s} {'cpu s':>7s} "
        f"{'vs 1st':>7s}  pmail"
    )
    for row in rows:
        ratio = f"{row['vs_first']:.2f}x" if row["vs_first"] is not None else ""
        verdict = ""
        if row["target_s"] is not None:
            verdict = "PASS" if row["median_s"] < row["target_s"] else "FAIL"
            verdict = f"  (< {row['target_s']} s: {verdict})"
        print(
            f"{row['command']:26s} {row['median_s']:9.3f} {row['min_s']:7.3f} "
            f"{row['cpu_median_s']:7.3f} {ratio:>7s}  {row['pmail'] or ''}{verdict}"
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
    parser.add_argument(
        "--messages",
        type=int,
        default=2000,
        help="generated messages stored besides the sample one (0: none)",
    )
    parser.add_argument(
        "--word", default="pricing", help="what `search WORD` looks for"
    )
    parser.add_argument(
        "--no-resident",
        dest="resident",
        action="store_false",
        help="leave out the runs through the resident server",
    )
    parser.add_argument(
        "--database",
        help="time the reads on this existing database of the --dsn server instead "
        "of a scratch one (e.g. benchmarks/search.py's million messages); nothing "
        "is stored, --messages is ignored",
    )
    parser.add_argument(
        "--tenant", default=TENANT, help="with --database: the tenant to read"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.messages < 0:
        parser.error("--messages must be 0 or more")
    pmails = args.pmail or [pmail_path()]
    message = sample_message()
    print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
    name = f"pmail_startup_{os.getpid()}"
    if args.database:
        dsn = make_conninfo(args.dsn, dbname=args.database)
    else:  # a scratch database, with the first pmail beside this python
        dsn = fresh_database(args.dsn, name)
    try:
        with tempfile.TemporaryDirectory(prefix="pmail-startup-") as scratch:
            corpus = None
            if args.messages and not args.database:
                corpus = Path(scratch) / "corpus"
                gen_corpus.generate(corpus, messages=args.messages)
            env = with_socket_dir(
                child_env(Path(scratch) / "pycache"), Path(scratch) / "none"
            )
            served = None
            if args.resident:
                served = with_socket_dir(env, Path(scratch) / "resident")
                timed_run_env([pmails[0], "resident", "start"], served)
            try:
                rows = measure(
                    pmails,
                    dsn,
                    message,
                    args.runs,
                    corpus,
                    args.word,
                    env,
                    served,
                    reuse_tenant=args.tenant if args.database else None,
                )
            finally:
                if served is not None:
                    timed_run_env([pmails[0], "resident", "stop"], served)
    finally:
        if not args.database:
            drop_database(args.dsn, name)
    print(f"load average at end: {os.getloadavg()}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
