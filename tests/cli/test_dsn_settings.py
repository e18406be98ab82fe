"""DSN settings libpq refuses before it tries a server: a service no service file
defines, a service file that is not there, an option value it cannot take. Each is
one error/hint pair naming the setting and where it came from (it was `cannot
connect to PostgreSQL ()` with the hint "check ... the server's log"), and never
shows the DSN's password."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner

from pmail_cli.cli import app

runner = CliRunner()
COMMANDS = (["tenant", "list"], ["init-db", "--create"])
SECRET = "s3cret-pw"


def _pair(args: list[str], env: dict[str, str] | None = None) -> list[str]:
    """The two lines a failing run said, after checking it failed with exit 1."""
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: "), result.stderr
    assert lines[1].startswith("hint: "), result.stderr
    assert "server's log" not in result.stderr and "()" not in result.stderr
    return lines


def _service_file(tmp_path: Path, dsn: str) -> Path:
    """A service file whose one service, `pmail`, reaches the test database."""
    params = {k: v for k, v in conninfo_to_dict(dsn).items() if v}
    body = "".join(f"{k}={v}\n" for k, v in params.items())
    path = tmp_path / "pg_service.conf"
    path.write_text(f"[pmail]\n{body}")
    return path


@pytest.mark.db
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_service_no_file_defines(
    dsn: str, tmp_path: Path, command: list[str]
) -> None:
    """service=nosuch names the service and where to define it; the service the
    file does define connects to the real server (the check is not in the way)."""
    env = {"PGSERVICEFILE": str(_service_file(tmp_path, dsn))}
    named = runner.invoke(app, ["--dsn", "service=pmail", "tenant", "list"], env=env)
    assert named.exit_code == 0, named.output
    lines = _pair(
        ["--dsn", f"service=nosuch dbname=x password={SECRET}", *command], env
    )
    assert lines == [
        "error: no connection service 'nosuch': the DSN (--dsn) names it, but no "
        "service file defines it",
        "hint: add a [nosuch] section to ~/.pg_service.conf (or to the file "
        "PGSERVICEFILE names, or pg_service.conf in PGSYSCONFDIR), or fix service= "
        "in the DSN",
    ]
    assert SECRET not in "".join(lines)


def test_a_service_named_by_pgservice(tmp_path: Path) -> None:
    """A service from PGSERVICE (the DSN names none) is said to come from there."""
    (tmp_path / "empty.conf").write_text("")
    lines = _pair(
        ["--dsn", "host=127.0.0.1 dbname=x", "tenant", "list"],
        {"PGSERVICE": "nosuch", "PGSERVICEFILE": str(tmp_path / "empty.conf")},
    )
    assert lines[0].endswith(
        "PGSERVICE in the environment names it, but no service file defines it"
    )
    assert lines[1].endswith("or fix PGSERVICE")


def test_a_service_file_that_is_not_there(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.conf"
    lines = _pair(
        ["--dsn", "service=pmail", "tenant", "list"], {"PGSERVICEFILE": str(missing)}
    )
    assert lines == [
        f"error: the connection service file {missing} does not exist",
        "hint: point PGSERVICEFILE at the file that defines the DSN's service, or "
        "unset it (libpq then reads ~/.pg_service.conf)",
    ]


@pytest.mark.parametrize(
    ("bad", "option", "reason"),
    [
        (f"host=127.0.0.1 port=abc password={SECRET}", "port", '"abc"'),
        (f"host=127.0.0.1 port=99999 password={SECRET}", "port", '"99999"'),
        (f"postgresql://mail:{SECRET}@127.0.0.1:abc/pmail", "port", '"abc"'),
        (f"host=127.0.0.1 sslmode=bogus password={SECRET}", "sslmode", '"bogus"'),
        (f"host=127.0.0.1 keepalives=x password={SECRET}", "keepalives", '"x"'),
        # the refused value is the password itself: libpq quotes it, pmail does not
        (f"host=127.0.0.1 password={SECRET} sslmode={SECRET}", "sslmode", '"***"'),
    ],
)
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_option_value_libpq_refuses(
    bad: str, option: str, reason: str, command: list[str]
) -> None:
    """`port=abc`, `sslmode=bogus`: the hint names the DSN's option (not the
    server's log, which never heard of it), and the password is never shown."""
    if command[0] == "init-db":
        bad += "" if "://" in bad else " dbname=x"
    error, hint = _pair(["--dsn", bad, *command])
    assert error.startswith("error: invalid DSN (--dsn): invalid ") and reason in error
    assert hint.startswith(f"hint: fix {option}= in the DSN; ")
    assert SECRET not in error + hint


def test_an_option_value_from_the_environment() -> None:
    """PGSSLMODE=bogus: the DSN sets no sslmode, so the hint points at the variable."""
    lines = _pair(
        ["--dsn", "host=127.0.0.1 dbname=x", "tenant", "list"], {"PGSSLMODE": "bogus"}
    )
    assert lines == [
        "error: invalid sslmode from PGSSLMODE in the environment (the DSN does not "
        'set it): invalid sslmode value: "bogus"',
        "hint: fix it there, or set sslmode= in the DSN; it takes disable, allow, "
        "prefer, require, verify-ca or verify-full",
    ]


def test_the_password_from_pgpassword_is_never_shown() -> None:
    """The password libpq takes from PGPASSWORD is scrubbed as the DSN's is: a value
    libpq refuses that is (or holds) it, here PGSSLMODE, is shown as `***`."""
    env = {"PGPASSWORD": SECRET, "PGSSLMODE": SECRET}
    error, hint = _pair(["--dsn", "host=127.0.0.1 dbname=x", "tenant", "list"], env)
    assert error.endswith('invalid sslmode value: "***"'), error
    assert SECRET not in error + hint
