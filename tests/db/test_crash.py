"""A dead worker or a killed process leaves whole batches only; a rerun finishes the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import psycopg
import pytest

from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.errors import IngestError
from pmail_cli.mail.prepare import PrepareContext, PreparedMessage, prepare_batch
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import tenants
from pmail_cli.services.pipeline import PipelineOptions, run_pipeline
from pmail_cli.sources import WorkItem
from pmail_cli.sources.files import read_paths
from tests import mailgen

pytestmark = pytest.mark.db

Conn = psycopg.Connection[tuple[object, ...]]


def crash_on_marker(
    items: Sequence[WorkItem], ctx: PrepareContext
) -> list[PreparedMessage]:
    """A prepare function whose worker dies on a marked message (runs in a worker)."""
    if any(b"X-Crash-Worker: yes" in (item.raw or b"") for item in items):
        os._exit(13)
    return prepare_batch(items, ctx)


def test_worker_crash_fails_cleanly(dsn: str, conn: Conn, tmp_path: Path) -> None:
    """A worker that dies mid-batch raises IngestError and leaves only whole batches."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(40):
        extra = "X-Crash-Worker: yes" if i == 25 else ""
        (folder / f"{i:03d}.eml").write_bytes(mailgen.simple(i, extra=extra))
    with connect(Settings(dsn=dsn, dsn_source="test")) as c:
        scope = tenants.use_tenant(c, None)
        with pytest.raises(IngestError, match="worker process died"):
            _run(c, scope, folder)
    stored = conn.execute("SELECT count(*) FROM email_messages").fetchone()
    assert stored is not None and int(str(stored[0])) % 10 == 0
    assert int(str(stored[0])) <= 20
    orphans = conn.execute(
        "SELECT count(*) FROM email_messages m WHERE NOT EXISTS (SELECT 1 FROM email_content c "
        "WHERE c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key)"
    ).fetchone()
    assert orphans == (0,)


def _run(conn: Conn, scope: Tenant, folder: Path) -> None:
    items = (e for e in read_paths([str(folder)]) if isinstance(e, WorkItem))
    run_pipeline(
        conn,
        items,
        tenant=scope,
        options=PipelineOptions(batch_messages=10),
        jobs=2,
        prepare=crash_on_marker,
    )


def test_killed_ingest_then_rerun_stores_exactly_everything(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """SIGKILL during `pmail ingest`, then the same command again: every message once;
    the killed run's fork server and workers do not outlive it."""
    folder = tmp_path / "in"
    folder.mkdir()
    total = 1500
    for i in range(total):
        (folder / f"{i:05d}.eml").write_bytes(
            mailgen.simple(i, body="x" * 3000 + str(i))
        )
    cmd = [
        sys.executable,
        "-m",
        "pmail_cli",
        "--dsn",
        dsn,
        "-q",
        "ingest",
        str(folder),
        "--batch-size",
        "25",
        "--jobs",
        "2",
    ]
    env = {**os.environ, "PMAIL_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = conn.execute("SELECT count(*) FROM email_messages").fetchone()
        conn.commit()
        if row is not None and int(str(row[0])) >= 100:
            break
        time.sleep(0.02)
    helpers = psutil.Process(proc.pid).children(recursive=True)
    assert helpers, "the ingest ran without worker processes"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    _, alive = psutil.wait_procs(helpers, timeout=10)
    assert alive == [], [p.cmdline() for p in alive]
    partial = conn.execute("SELECT count(*) FROM email_messages").fetchone()
    conn.commit()
    assert partial is not None and 0 < int(str(partial[0])) < total
    assert int(str(partial[0])) % 25 == 0
    rerun = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert b"duplicates skipped" in rerun.stderr
    final = conn.execute(
        "SELECT count(*), count(DISTINCT raw_sha256) FROM email_content"
    ).fetchone()
    assert final == (total, total)


def test_killed_ingest_leaves_no_files_processes_or_warnings(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """SIGKILL of `pmail ingest --jobs 2` mid-run: its helper processes end, no
    temporary directory is left in its TMPDIR, and nothing (the multiprocessing
    resource tracker's "leaked semaphore" warning) is written after it died."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(1500):
        (folder / f"{i:05d}.eml").write_bytes(mailgen.simple(i, body="y" * 3000))
    temp = tmp_path / "tmp"
    temp.mkdir()
    log = tmp_path / "stderr.txt"
    env = {**os.environ, "PMAIL_DATA_DIR": str(tmp_path / "data"), "TMPDIR": str(temp)}
    cmd = [sys.executable, "-m", "pmail_cli", "--dsn", dsn, "-q", "ingest"]
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [*cmd, str(folder), "--batch-size", "25", "--jobs", "2"],
            env=env,
            stderr=err,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = conn.execute("SELECT count(*) FROM email_messages").fetchone()
        conn.commit()
        if row is not None and int(str(row[0])) >= 50:
            break
        time.sleep(0.02)
    helpers = psutil.Process(proc.pid).children(recursive=True)
    assert proc.poll() is None, "the ingest ended before it was killed"
    assert helpers, "the ingest ran without worker processes"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    _, alive = psutil.wait_procs(helpers, timeout=30)
    assert alive == [], [p.cmdline() for p in alive]
    assert list(temp.iterdir()) == []  # e.g. a multiprocessing pymp-* directory
    assert log.read_text() == ""  # e.g. "There appear to be 5 leaked semaphore ..."
