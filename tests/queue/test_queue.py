"""The queue against a real Redis and a real PostgreSQL: enqueue -> worker -> rows."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import psycopg
import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app
from pmail_cli.mail.prepare import storage_key_for
from pmail_cli.sources.spool import tenant_folder
from tests import mailgen
from tests.conftest import QueueEnv
from tests.support.dovecot import DovecotServer, ImapAccount

pytestmark = pytest.mark.db
runner = CliRunner()
Conn = psycopg.Connection[tuple[object, ...]]
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def _pmail(dsn: str, *args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--dsn", dsn, *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def _spawn(dsn: str, *args: str) -> subprocess.Popen[bytes]:
    """pmail as a real process (signals, kill -9)."""
    return subprocess.Popen(
        [sys.executable, "-m", "pmail_cli", "--dsn", dsn, "-q", *args],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _write(folder: Path, raws: list[bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(raws):
        (folder / f"{i:05d}.eml").write_bytes(raw)
    return folder


def _tenants(dsn: str, *names: str) -> None:
    for name in names:
        assert _pmail(dsn, "tenant", "add", name)[0] == 0


def _hashes(conn: Conn, tenant: str) -> list[str]:
    """sha256 of every stored raw message of a tenant, sorted."""
    rows = conn.execute(
        "SELECT encode(c.raw_sha256, 'hex') FROM email_content c JOIN tenants t "
        "USING (tenant_id) WHERE t.name = %s ORDER BY 1",
        (tenant,),
    ).fetchall()
    conn.commit()
    return [str(r[0]) for r in rows]


def _count(conn: Conn, sql: str, *params: object) -> int:
    row = conn.execute(sql, params).fetchone()
    conn.commit()
    assert row is not None and isinstance(row[0], int)
    return row[0]


def test_queue_stores_what_ingest_stores(
    queue_env: QueueEnv, dsn: str, conn: Conn
) -> None:
    """enqueue -> worker gives the same rows as `pmail ingest` of the same files
    (compared column by column, keys aside), and the job log has every job."""
    _tenants(dsn, "q", "i")
    code, _, err = _pmail(dsn, "enqueue", str(SAMPLE), "-t", "q")
    assert code == 0 and "enqueued 16 messages" in err, err
    code, out, err = _pmail(dsn, "queue", "status", "--format", "json")
    assert code == 0 and '"waiting": 16' in out.replace("  ", " "), out
    code, _, err = _pmail(dsn, "worker", "--burst")
    assert code == 0 and "stored 16 messages" in err, err
    assert _pmail(dsn, "ingest", str(SAMPLE), "-t", "i")[0] == 0
    assert _hashes(conn, "q") == _hashes(conn, "i") and len(_hashes(conn, "q")) == 16
    columns = (
        "m.message_id, m.direction, m.message_type, m.status, m.subject, m.from_email, "
        "m.to_email, m.attachment_count, m.parse_problems, m.raw_size_bytes, "
        "c.content_text, c.content_html, c.headers::text, c.raw_size_bytes, "
        "c.raw_form, encode(c.raw_sha256, 'hex')"
    )
    rows = {
        name: sorted(
            map(
                repr,
                conn.execute(
                    f"SELECT {columns} FROM email_messages m JOIN email_content c "
                    "USING (tenant_id, storage_key) JOIN tenants t USING (tenant_id) "
                    "WHERE t.name = %s",
                    (name,),
                ).fetchall(),
            )
        )
        for name in ("q", "i")
    }
    assert rows["q"] == rows["i"]
    # the seed's columns are filled on the queue's path too (docs/sql.md)
    assert (
        _count(
            conn,
            "SELECT count(*) FROM email_content c JOIN tenants t USING (tenant_id) "
            "WHERE t.name = 'q' AND jsonb_typeof(c.headers) = 'object' AND c.headers <> '{}'",
        )
        == 16
    )
    assert _count(conn, "SELECT count(*) FROM job_log WHERE outcome = 'stored'") == 16
    code, out, _ = _pmail(dsn, "report", "queue", "-t", "q", "--format", "csv")
    assert code == 0 and out.splitlines()[1].split(",")[1:3] == ["16", "16"]


def test_high_priority_is_served_first(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """With 400 bulk jobs waiting, 5 high ones enqueued after them are stored in the
    first batch."""
    _tenants(dsn, "acme")
    bulk = _write(tmp_path / "bulk", [mailgen.simple(n) for n in range(400)])
    high = _write(tmp_path / "high", [mailgen.simple(n) for n in range(1000, 1005)])
    assert _pmail(dsn, "enqueue", str(bulk), "-t", "acme", "-p", "bulk")[0] == 0
    assert _pmail(dsn, "enqueue", str(high), "-t", "acme", "-p", "high")[0] == 0
    assert _pmail(dsn, "worker", "--burst")[0] == 0
    rows = conn.execute(
        "SELECT priority, max(finished), min(finished), count(*) FROM job_log GROUP BY 1"
    ).fetchall()
    by = {str(r[0]): r for r in rows}
    assert by["high"][3] == 5 and by["bulk"][3] == 400
    assert by["high"][1] <= by["bulk"][2]  # type: ignore[operator]
    assert by["bulk"][1] > by["high"][1]  # type: ignore[operator]


def _flaky_trigger(conn: Conn, subject: str, failures: int | None) -> None:
    """Inserts of a message with this subject fail `failures` times (None: always)."""
    conn.execute("CREATE SEQUENCE flaky_seq")
    limit = "true" if failures is None else f"nextval('flaky_seq') <= {failures}"
    conn.execute(
        f"""CREATE FUNCTION flaky() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.subject = '{subject}' AND {limit} THEN
                RAISE EXCEPTION 'injected failure for %', NEW.subject;
            END IF;
            RETURN NEW;
        END $$"""
    )
    conn.execute(
        "CREATE TRIGGER flaky BEFORE INSERT ON email_messages "
        "FOR EACH ROW EXECUTE FUNCTION flaky()"
    )
    conn.commit()


def test_a_failing_batch_is_retried_and_stored_once(
    queue_env: QueueEnv,
    dsn: str,
    conn: Conn,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A message whose insert fails twice: its batch rolls back, it comes back after
    a backoff in a batch of its own, is stored once; the others once too."""
    _tenants(dsn, "acme")
    _flaky_trigger(conn, "flaky one", failures=2)
    raws = [mailgen.simple(n) for n in range(20)] + [
        mailgen.simple(99, subject="flaky one")
    ]
    assert (
        _pmail(dsn, "enqueue", str(_write(tmp_path / "in", raws)), "-t", "acme")[0] == 0
    )
    code, _, err = _pmail(dsn, "worker", "--burst")
    assert code == 0, err
    assert "stored 21 messages" in err and "0 jobs to the dead letters" in err, err
    # each failure is one warning (`warning: …` on a command's stderr; here, in
    # this process, pytest's log capture has it), its count agreeing with its noun
    retried = [m for m in caplog.messages if "will be retried" in m]
    assert len(retried) == 2, caplog.messages
    assert retried[-1].endswith("; 1 job will be retried"), retried
    assert not any("job(s)" in m for m in retried), retried
    assert _count(conn, "SELECT count(*) FROM email_messages") == 21
    attempts = conn.execute(
        "SELECT attempts FROM job_log WHERE source LIKE '%%00020.eml'"
    ).fetchone()
    assert attempts == (3,)
    assert _count(conn, "SELECT count(*) FROM job_log") == 21


def test_a_slow_batch_is_not_taken_back_by_its_own_worker(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """Jobs in the worker's hand (read, or in a batch being written) for longer than
    claim_after are not claimed again by the same worker: each is delivered once."""
    queue_env.configure(claim_after=1, linger_ms=20)
    _tenants(dsn, "acme")
    conn.execute(
        """CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.subject = 'slow one' THEN PERFORM pg_sleep(3); END IF;
            RETURN NEW;
        END $$"""
    )
    conn.execute(
        "CREATE TRIGGER slow BEFORE INSERT ON email_messages "
        "FOR EACH ROW EXECUTE FUNCTION slow()"
    )
    conn.commit()
    raws = [mailgen.simple(99, subject="slow one")] + [
        mailgen.simple(n) for n in range(30)
    ]
    assert (
        _pmail(dsn, "enqueue", str(_write(tmp_path / "in", raws)), "-t", "acme")[0] == 0
    )
    code, _, err = _pmail(dsn, "worker", "--burst")
    assert code == 0, err
    assert "stored 31 messages" in err and "0 duplicates" in err, err
    assert _count(conn, "SELECT count(*) FROM job_log") == 31
    assert _count(conn, "SELECT count(*) FROM job_log WHERE attempts <> 1") == 0


def test_a_poison_job_goes_to_the_dead_letters_and_is_redriven(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """A message that always fails ends in the dead letters with its error after
    max_deliveries, alone: its batch-mates are stored. Once fixed, re-driven, stored."""
    queue_env.configure(claim_after=2, linger_ms=20, max_deliveries=3)
    _tenants(dsn, "acme")
    _flaky_trigger(conn, "poison", failures=None)
    raws = [mailgen.simple(n) for n in range(10)] + [
        mailgen.simple(77, subject="poison")
    ]
    assert (
        _pmail(dsn, "enqueue", str(_write(tmp_path / "in", raws)), "-t", "acme")[0] == 0
    )
    code, _, err = _pmail(dsn, "worker", "--burst")
    assert code == 0 and "1 job to the dead letters" in err, err
    assert _count(conn, "SELECT count(*) FROM email_messages") == 10
    code, out, _ = _pmail(dsn, "queue", "dead", "list", "--format", "json")
    assert "injected failure for poison" in out and '"deliveries": 3' in out, out
    assert _count(conn, "SELECT count(*) FROM job_log WHERE outcome = 'dead'") == 1
    conn.execute("DROP TRIGGER flaky ON email_messages")
    conn.commit()
    assert _pmail(dsn, "queue", "dead", "retry")[2].startswith("put 1 job back")
    assert _pmail(dsn, "worker", "--burst")[0] == 0
    assert _count(conn, "SELECT count(*) FROM email_messages") == 11
    assert "0 dead letters" in _pmail(dsn, "queue", "status")[2]


def test_kill_9_mid_batch_then_another_worker_stores_each_once(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """A worker killed while it works leaves its jobs pending; another claims them
    after claim_after: every message stored exactly once (count and sha256)."""
    _tenants(dsn, "acme")
    raws = [mailgen.simple(n, body="x" * 2000 + str(n)) for n in range(1500)]
    assert (
        _pmail(dsn, "enqueue", str(_write(tmp_path / "in", raws)), "-t", "acme")[0] == 0
    )
    first = _spawn(dsn, "worker", "--jobs", "1")
    try:
        deadline = time.monotonic() + 60
        while _count(conn, "SELECT count(*) FROM email_messages") == 0:
            assert time.monotonic() < deadline, "the worker stored nothing"
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate()
    stored = _count(conn, "SELECT count(*) FROM email_messages")
    assert 0 < stored < 1500, stored
    code, _, err = _pmail(dsn, "worker", "--burst", "--claim-after", "1")
    assert code == 0, err
    assert _count(conn, "SELECT count(*) FROM email_messages") == 1500
    assert _hashes(conn, "acme") == sorted(hashlib.sha256(r).hexdigest() for r in raws)
    assert _count(conn, "SELECT count(DISTINCT job_id) FROM job_log") == 1500
    streams_left = [
        k for k in queue_env.client.scan_iter(match=f"{queue_env.prefix}:jobs:*")
    ]
    assert all(queue_env.client.xlen(k) == 0 for k in streams_left)


def test_kill_9_of_a_worker_with_concurrency_leaves_nothing_running(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """`pmail worker --concurrency 2` killed with SIGKILL: its worker processes
    finish the batch in hand and end (none keeps consuming the queue), and nothing is
    written after it died (no "leaked semaphore" warning, no traceback)."""
    _tenants(dsn, "acme")
    raws = [mailgen.simple(n, body="x" * 2000 + str(n)) for n in range(1500)]
    assert (
        _pmail(dsn, "enqueue", str(_write(tmp_path / "in", raws)), "-t", "acme")[0] == 0
    )
    log = tmp_path / "stderr.txt"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pmail_cli",
                "--dsn",
                dsn,
                "-q",
                "worker",
                "--concurrency",
                "2",
                "--jobs",
                "1",
            ],
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        deadline = time.monotonic() + 60
        while _count(conn, "SELECT count(*) FROM email_messages") == 0:
            assert time.monotonic() < deadline, "the workers stored nothing"
            time.sleep(0.05)
        children = psutil.Process(proc.pid).children(recursive=True)
        assert proc.poll() is None and children
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    _, alive = psutil.wait_procs(children, timeout=60)
    assert alive == [], [p.cmdline() for p in alive]
    assert log.read_text() == ""


def test_sigterm_finishes_the_batch_in_hand(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """SIGTERM: the worker commits what it holds, acknowledges it, exits 0; nothing
    is left pending and the rest waits in the queue."""
    _tenants(dsn, "acme")
    raws = [mailgen.simple(n, body="y" * 3000 + str(n)) for n in range(2000)]
    assert (
        _pmail(dsn, "enqueue", str(_write(tmp_path / "in", raws)), "-t", "acme")[0] == 0
    )
    worker = _spawn(dsn, "worker", "--jobs", "1")
    deadline = time.monotonic() + 60
    while _count(conn, "SELECT count(*) FROM email_messages") == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    stored = _count(conn, "SELECT count(*) FROM email_messages")
    assert stored == _count(conn, "SELECT count(*) FROM job_log")
    pending = queue_env.client.xpending(f"{queue_env.prefix}:jobs:normal", "workers")
    assert pending["pending"] == 0
    assert queue_env.client.xlen(f"{queue_env.prefix}:jobs:normal") == 2000 - stored
    assert _pmail(dsn, "worker", "--burst")[0] == 0
    assert _count(conn, "SELECT count(*) FROM email_messages") == 2000


def test_back_pressure_blocks_and_resumes(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """Over max_queue_bytes, enqueue waits (and says so) until a worker makes room."""
    queue_env.configure(claim_after=2, linger_ms=20, max_queue_bytes=300_000)
    _tenants(dsn, "acme")
    raws = [mailgen.simple(n, body="z" * 5000 + str(n)) for n in range(300)]
    producer = _spawn(dsn, "enqueue", str(_write(tmp_path / "in", raws)), "-t", "acme")
    time.sleep(3)
    assert producer.poll() is None, "enqueue should be waiting for room"
    assert queue_env.client.xlen(f"{queue_env.prefix}:jobs:normal") < 300
    consumer = _spawn(dsn, "worker", "--jobs", "1")
    try:
        _, err = producer.communicate(timeout=120)
        assert producer.returncode == 0, err
        assert b"waiting for workers" in err
    finally:
        consumer.send_signal(signal.SIGTERM)
        consumer.communicate(timeout=60)
    assert _pmail(dsn, "worker", "--burst")[0] == 0
    assert _count(conn, "SELECT count(*) FROM email_messages") == 300


def test_two_tenants_jobs_never_mix(queue_env: QueueEnv, dsn: str, conn: Conn) -> None:
    """Jobs of two tenants, interleaved on one stream: each message lands in the
    tenant it was enqueued for, keyed for that tenant."""
    _tenants(dsn, "a", "b")
    sent: dict[str, list[bytes]] = {"a": [], "b": []}
    for n in range(30):
        tenant = "ab"[n % 2]
        raw = mailgen.simple(n)
        sent[tenant].append(raw)
        assert _pmail(dsn, "enqueue", "-", "-t", tenant, stdin=raw)[0] == 0
    assert _pmail(dsn, "worker", "--burst")[0] == 0
    for tenant, raws in sent.items():
        tid = conn.execute(
            "SELECT tenant_id::text FROM tenants WHERE name = %s", (tenant,)
        ).fetchone()
        assert tid is not None
        keys = {
            str(r[0])
            for r in conn.execute(
                "SELECT storage_key FROM email_messages WHERE tenant_id = %s", (tid[0],)
            )
        }
        assert keys == {storage_key_for(str(tid[0]), raw) for raw in raws}


def test_big_messages_go_through_the_spool(
    queue_env: QueueEnv, dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """A message over max_job_bytes is spooled, not put into Redis; stored exactly;
    its spool file removed after the commit."""
    queue_env.configure(claim_after=2, linger_ms=20, max_job_bytes=100_000)
    _tenants(dsn, "acme")
    big = mailgen.with_attachment(1, mailgen.pdf_bytes(3, 400_000))
    code, _, err = _pmail(dsn, "enqueue", "-", "-t", "acme", stdin=big)
    assert code == 0 and "1 through the spool" in err, err
    spool = queue_env.config.parent / "spool"
    assert [p.name for p in spool.iterdir()] == [tenant_folder("acme")]
    spool = spool / tenant_folder("acme")  # acme's files: no job of another reads them
    assert len(list(spool.iterdir())) == 1
    assert _pmail(dsn, "worker", "--burst")[0] == 0
    assert _hashes(conn, "acme") == [hashlib.sha256(big).hexdigest()]
    assert list(spool.iterdir()) == []


def test_queue_errors_are_one_error_hint_pair(
    dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No queue configured, a dead Redis: an error/hint pair, exit 75 (EX_TEMPFAIL:
    a mail server defers the message), no traceback."""
    monkeypatch.delenv("PMAIL_QUEUE_URL", raising=False)
    code, _, err = _pmail(dsn, "worker", "--burst")
    assert (
        code == 75
        and "error: no queue is configured" in err
        and "PMAIL_QUEUE_URL" in err
    )
    monkeypatch.setenv("PMAIL_QUEUE_URL", "redis://:secret@127.0.0.1:1/0")
    code, _, err = _pmail(dsn, "queue", "status")
    assert code == 75 and "error: cannot reach the queue" in err and "hint: " in err
    assert "secret" not in err and "Traceback" not in err


@pytest.mark.imap
def test_imap_sync_and_analytics_jobs_run_through_the_worker(
    queue_env: QueueEnv,
    dsn: str,
    conn: Conn,
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_user: ImapAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An import-imap job names an account of the worker's accounts file and syncs
    it (password from the worker's environment, never from the queue), an
    analytics job rebuilds the rollups; both are logged."""
    raws = [mailgen.simple(n) for n in range(5)]
    dovecot.append_many(imap_user.login, "INBOX", raws)
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        "[[account]]\n"
        f'host = "{imap_user.host}"\nport = {imap_user.port}\nsecurity = "none"\n'
        f'user = "{imap_user.login}"\npassword_env = "PMAIL_TEST_IMAP_PW"\n'
        'tenant = "acme"\nfolders = ["INBOX"]\n'
    )
    _tenants(dsn, "acme")
    code, _, err = _pmail(
        dsn,
        "enqueue",
        "--imap-account",
        imap_user.login,
        "--accounts",
        str(accounts),
        "-t",
        "acme",
    )
    assert code == 0 and "1 IMAP sync job" in err, err
    assert _pmail(dsn, "enqueue", "--analytics", "-t", "acme")[0] == 0
    entries: Any = queue_env.client.xrange(f"{queue_env.prefix}:jobs:normal")
    carried = b"".join(bytes(v) for _, fields in entries for v in fields.values())
    assert imap_user.password.encode() not in carried
    assert imap_user.host.encode() not in carried  # the worker's file says where
    monkeypatch.setenv("PMAIL_TEST_IMAP_PW", imap_user.password)
    code, _, err = _pmail(dsn, "worker", "--burst", "--accounts", str(accounts))
    assert code == 0 and "2 other jobs" in err, err
    assert _hashes(conn, "acme") == sorted(hashlib.sha256(r).hexdigest() for r in raws)
    done = conn.execute(
        "SELECT job_type, outcome FROM job_log ORDER BY job_type"
    ).fetchall()
    assert done == [("analytics", "done"), ("import-imap", "done")]
