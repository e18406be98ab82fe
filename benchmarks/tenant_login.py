"""Row-level security's cost: the same reads as a tenant's own login and as the owner.

For each `--pmail` installation (say, before and after a schema change) a scratch
database gets that installation's schema, `--messages` generated rows
(`benchmarks/reports.build`, 20 tenants) and a login bound to one tenant (`pmail tenant
login`). Then, round by round with every installation in turn: the seed's status query
(psql) and `pmail report status`, `pmail list --count`, each as the tenant login (under
row-level security) and as the owner (a superuser here: no row-level security), whole
process, wall clock. Reported: medians, and each installation's ratio to the first.

    python benchmarks/tenant_login.py --messages 100000 --runs 5 \\
        --pmail /work/base/.venv/bin/pmail --pmail .venv/bin/pmail
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.reports import (
    DEFAULT_DSN,
    PLAIN,
    TENANT,
    TENANT_ID,
    build,
    pmail_path,
    psql_command,
    timed_run,
)


def prepare(admin: str, pmail: str, index: int, messages: int) -> tuple[str, str, str]:
    """A database for `pmail`; its owner's DSN, a tenant login's DSN, the role."""
    name = f"pmail_rls_{os.getpid()}_{index}"
    dsn = build(admin, name, messages, pmail)
    role = f"pmail_rls_{os.getpid()}_{index}_{uuid.uuid4().hex[:6]}"
    subprocess.run(
        [pmail, "--dsn", dsn, "-q", "tenant", "login", TENANT, "--role", role],
        check=True,
        capture_output=True,
    )
    password = uuid.uuid4().hex
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {role} PASSWORD '{password}'")
    return dsn, make_conninfo(dsn, user=role, password=password), role


def cases(pmail: str, owner: str, login: str) -> dict[str, list[str]]:
    """Command name -> argv, as the login and as the owner."""
    out: dict[str, list[str]] = {}
    for who, dsn in (("login", login), ("owner", owner)):
        # psql takes the login's password from PGPASSWORD (_timed sets it)
        out[f"seed status query ({who})"] = [
            *psql_command(dsn),
            PLAIN["status"].format(t=TENANT_ID, days=30),
        ]
        out[f"pmail report status ({who})"] = [
            pmail, "--dsn", dsn, "-q", "report", "status", "--tenant", TENANT,
            "--days", "30", "--format", "csv",
        ]  # fmt: skip
        out[f"pmail list --count ({who})"] = [
            pmail, "--dsn", dsn, "-q", "list", "--tenant", TENANT, "--count",
        ]  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pmail", action="append", help="a pmail (several allowed)")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dsn", default=os.environ.get("PMAIL_BENCH_DSN", DEFAULT_DSN))
    args = parser.parse_args(argv)
    pmails = args.pmail or [pmail_path()]
    built = [prepare(args.dsn, p, i, args.messages) for i, p in enumerate(pmails)]
    try:
        runs: dict[tuple[str, int], list[float]] = {}
        plans = [
            cases(p, owner, login)
            for p, (owner, login, _) in zip(pmails, built, strict=True)
        ]
        for round_ in range(args.runs):
            for i, plan in enumerate(plans):
                for name, command in plan.items():
                    runs.setdefault((name, i), []).append(_timed(command, built[i][1]))
            print(f"round {round_ + 1}/{args.runs}", file=sys.stderr)
        print(
            f"{'command':34s} "
            + " ".join(f"{'pmail ' + str(i + 1):>10s}" for i in range(len(pmails)))
            + "  ratio"
        )
        for name in plans[0]:
            medians = [statistics.median(runs[(name, i)]) for i in range(len(pmails))]
            ratio = " ".join(f"{m / medians[0]:.2f}x" for m in medians[1:])
            print(
                f"{name:34s} " + " ".join(f"{m:10.3f}" for m in medians) + f"  {ratio}"
            )
        for i, p in enumerate(pmails):
            print(f"pmail {i + 1}: {p}")
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            for owner, _, role in built:
                dbname = str(psycopg.conninfo.conninfo_to_dict(owner)["dbname"])
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
                conn.execute(f"DROP ROLE IF EXISTS {role}")
    return 0


def _timed(command: list[str], login: str) -> float:
    """timed_run, with the tenant login's password for psql when it connects as it."""
    if command[0] == "psql" and "-U" in command:
        user = command[command.index("-U") + 1]
        password = psycopg.conninfo.conninfo_to_dict(login).get("password")
        if user == psycopg.conninfo.conninfo_to_dict(login).get("user") and password:
            os.environ["PGPASSWORD"] = str(password)
        else:
            os.environ.pop("PGPASSWORD", None)
    return timed_run(command)


if __name__ == "__main__":
    sys.exit(main())
