"""With no DSN anywhere, pmail starts its own PostgreSQL and works on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
