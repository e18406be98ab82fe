"""Help that says what happens: --tenant where its absence means every tenant, the
worker's two process counts, one name for how files are read, a query that starts
with '-', and a hint for each way a connection fails."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app
from pmail_cli.db import connect_hint
from tests import mailgen
from tests.conftest import QueueEnv

runner = CliRunner()
EVERY_TENANT = [
    ["validate"],
    ["purge"],
    ["hold", "list"],
    ["hold", "release"],
    ["report", "queue"],
]


def _help(*path: str) -> str:
    result = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return " ".join(result.stdout.split())


@pytest.mark.parametrize("path", EVERY_TENANT, ids=" ".join)
def test_commands_on_every_tenant_say_so_for_tenant(path: list[str]) -> None:
    """Without --tenant these act on every tenant: their help says that, not
    "default: 'default'" (for purge that misstated what is deleted)."""
    text = _help(*path)
    assert "default: 'default'" not in text
    assert "-t, --tenant <str> Only this tenant (default: every tenant;" in text


def test_worker_concurrency_and_jobs_say_different_things() -> None:
    """--concurrency counts queue consumers, --jobs each one's prepare processes."""
    text = _help("worker")
    assert "Worker processes." not in text
    assert "Queue consumers: worker processes that each read jobs" in text
    assert "Prepare processes of each consumer" in text


@pytest.mark.parametrize("command", ["ingest", "classify", "enqueue"])
def test_reading_files_has_one_name(command: str) -> None:
    """ingest, classify and enqueue all say --as; --format-in is not shown."""
    text = _help(command)
    assert "--as <str> Read every input as 'mbox' or 'eml'" in text
    assert "--format-in" not in text


def test_the_old_name_and_the_new_one_must_agree(tmp_path: Path) -> None:
    """`enqueue --as mbox --format-in eml` is refused before anything connects."""
    one = tmp_path / "one.eml"
    one.write_bytes(mailgen.simple(1))
    result = runner.invoke(
        app, ["enqueue", str(one), "--as", "mbox", "--format-in", "eml"]
    )
    assert result.exit_code == 2
    assert "error: --as and --format-in name the same thing and disagree" in (
        result.stderr
    )


@pytest.mark.db
@pytest.mark.parametrize("spelling", ["--as", "--format-in"])
def test_enqueue_reads_as_the_one_name_or_the_old_one_says(
    spelling: str, tmp_path: Path, queue_env: QueueEnv
) -> None:
    """An extension-less file read as an mbox is two jobs, with either name."""
    box = tmp_path / "two"
    box.write_bytes(
        b"".join(
            b"From a@b Tue Mar  5 10:00:00 2024\n" + mailgen.simple(n) for n in (1, 2)
        )
    )
    result = runner.invoke(app, ["enqueue", str(box), spelling, "mbox"])
    assert result.exit_code == 0, result.stderr
    assert "enqueued 2 messages" in result.stderr


@pytest.fixture
def searchable(dsn: str, tmp_path: Path) -> str:
    """The default tenant with two messages about pricing, one with a discount."""
    folder = tmp_path / "mail"
    folder.mkdir()
    for n, subject in ((1, "pricing with a discount"), (2, "pricing for the plan")):
        (folder / f"{n}.eml").write_bytes(
            mailgen.simple(n, subject=subject, body=f"{subject}\n")
        )
    assert runner.invoke(app, ["--dsn", dsn, "ingest", str(folder)]).exit_code == 0
    return dsn


def _subjects(dsn: str, *args: str) -> list[str]:
    result = runner.invoke(app, ["--dsn", dsn, "search", "-f", "csv", *args])
    assert result.exit_code == 0, result.stderr
    return sorted(r["subject"] for r in csv.DictReader(io.StringIO(result.stdout)))


@pytest.mark.db
def test_a_query_word_may_start_with_a_dash(searchable: str) -> None:
    """`search -discount` and `search pricing -discount` are queries (negation),
    not options; after `--` too; the options around them still work."""
    plan = ["pricing for the plan"]
    assert _subjects(searchable, "-discount") == plan
    assert _subjects(searchable, "pricing", "-discount") == plan
    assert _subjects(searchable, "pricing", "-discount", "-n", "5") == plan
    assert _subjects(searchable, "--", "-discount") == plan
    assert _subjects(searchable, "pricing -discount") == plan
    assert len(_subjects(searchable, "pricing")) == 2
    typo = runner.invoke(app, ["--dsn", searchable, "search", "--limt", "5"])
    assert typo.exit_code == 2 and "No such option: --limt" in typo.stderr


def _connect(dsn: str) -> str:
    result = runner.invoke(app, ["--dsn", dsn, "tenant", "list"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot connect to PostgreSQL")
    assert "Traceback" not in result.output
    return result.stderr.split("hint: ", 1)[1]


@pytest.mark.db
def test_each_connection_failure_has_its_own_hint(dsn: str) -> None:
    """A missing role, a missing database and no server each get their own hint;
    only the last asks whether the server is running."""
    role = _connect(f"{dsn} user=pmail_no_such_role_{id(dsn)}")
    assert "has no role 'pmail_no_such_role_" in role
    assert "is the server running" not in role
    database = _connect(f"{dsn} dbname=pmail_no_such_db_{id(dsn)}")
    assert "has no database 'pmail_no_such_db_" in database
    assert "pmail init-db --create" in database
    down = _connect("host=127.0.0.1 port=1 connect_timeout=1")
    assert down.startswith("is the server running?")


def test_a_host_name_that_does_not_resolve_is_not_a_server_down() -> None:
    """A mistyped host name (as --dsn and as a URI) is said to be one, never "is
    the server running? Nothing answers on that host and port"; the password in
    the DSN is not repeated."""
    for dsn in (
        "host=no-such-host.invalid password=s3cretpw connect_timeout=5",
        "postgresql://mail:s3cretpw@no-such-host.invalid/pmail?connect_timeout=5",
    ):
        result = runner.invoke(app, ["--dsn", dsn, "tenant", "list"])
        assert result.exit_code == 1
        assert result.stderr.count("error: ") == 1, result.stderr
        hint = _connect(dsn)
        assert hint.startswith("no host of that name could be found"), hint
        assert "s3cretpw" not in result.output


def test_password_failures_have_their_own_hint() -> None:
    """libpq's words for a wrong or a missing password (the test server trusts every
    local connection, so these are the messages as libpq writes them)."""
    wrong = connect_hint(
        'connection to server at "db" (10.0.0.5), port 5432 failed: FATAL:  password '
        'authentication failed for user "mail"'
    )
    assert "the password is wrong" in wrong and "is the server running" not in wrong
    missing = connect_hint(
        'connection to server at "db", port 5432 failed: fe_sendauth: no password '
        "supplied"
    )
    assert "wants a password" in missing
    hba = connect_hint(
        'FATAL:  no pg_hba.conf entry for host "10.0.0.9", user "mail", database '
        '"pmail", no encryption'
    )
    assert "pg_hba.conf" in hba
