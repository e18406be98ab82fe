"""Retention and legal holds: purge deletes what expired, never what is held."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app
from tests import mailgen
from tests.support.locks import wait_for_a_waiter

pytestmark = pytest.mark.db
runner = CliRunner()
Conn = psycopg.Connection[tuple[object, ...]]
LEAD2 = "22222222-2222-4222-8222-222222222222"


def _pmail(dsn: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--dsn", dsn, *args])
    return result.exit_code, result.stdout, result.stderr


def _ingest(dsn: str, folder: Path, raws: list[bytes], tenant: str = "acme") -> None:
    folder.mkdir(parents=True)
    for i, raw in enumerate(raws):
        (folder / f"{i:04d}.eml").write_bytes(raw)
    code, _, err = _pmail(dsn, "ingest", str(folder), "--tenant", tenant)
    assert code == 0, err


def _age(conn: Conn, where: str, days: int) -> None:
    """Make messages look as if they arrived `days` ago."""
    conn.execute(
        f"UPDATE email_messages SET created = now() - make_interval(days => {days}) "
        f"WHERE {where}"
    )
    conn.commit()


def _counts(conn: Conn) -> dict[str, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM email_messages), "
        "(SELECT count(*) FROM email_messages WHERE purged_at IS NOT NULL), "
        "(SELECT count(*) FROM email_content), (SELECT count(*) FROM attachments), "
        "(SELECT count(*) FROM attachment_blobs)"
    ).fetchone()
    assert row is not None
    return dict(
        zip(["messages", "purged", "content", "attachments", "files"], row, strict=True)  # type: ignore[arg-type]
    )


@pytest.fixture
def acme(dsn: str, tmp_path: Path, conn: Conn) -> str:
    """Tenant acme keeping mail 365 days: a shared deck in two old messages and one
    new; an old message with a file of its own; old outbound mail to two leads."""
    assert _pmail(dsn, "tenant", "add", "acme")[0] == 0
    assert _pmail(dsn, "tenant", "set", "acme", "--retention-days", "365")[0] == 0
    deck, own = mailgen.pdf_bytes(1), mailgen.pdf_bytes(2)
    _ingest(
        dsn,
        tmp_path / "in",
        [
            mailgen.with_attachment(1, deck),
            mailgen.with_attachment(2, deck),
            mailgen.with_attachment(3, deck),
            mailgen.with_attachment(4, own, filename="own.pdf"),
            *(mailgen.outbound(n) for n in range(10, 16)),
        ],
    )
    _age(conn, "subject <> 'our deck 3'", 400)
    conn.execute(
        "INSERT INTO leads (tenant_id, lead_id) SELECT tenant_id, %s FROM tenants",
        (LEAD2,),
    )
    conn.execute(
        "UPDATE email_messages SET lead_id = %s WHERE subject IN "
        "('Quick question 14', 'Quick question 15')",
        (LEAD2,),
    )
    conn.commit()
    return dsn


def test_purge_deletes_expired_keeps_held_tombstones_and_shared_files(
    acme: str, conn: Conn
) -> None:
    """Expired rows go (content, attachment rows, files no one else uses), held rows
    stay, every message keeps its row; validate is clean after."""
    before = _counts(conn)
    assert before == {
        "messages": 10,
        "purged": 0,
        "content": 10,
        "attachments": 4,
        "files": 2,
    }
    code, _, err = _pmail(
        acme, "hold", "add", "-t", "acme", "--lead", LEAD2, "--reason", "case 7"
    )
    assert code == 0 and "covers 2 messages now" in err, err
    code, out, err = _pmail(acme, "purge", "--dry-run", "--format", "json")
    assert code == 0, err
    assert '"messages": 7' in out and '"held": 2' in out
    assert _counts(conn) == before  # a dry run changes nothing

    code, out, err = _pmail(acme, "purge", "--tenant", "acme")
    assert code == 0, err
    assert "purged 7 messages" in err and "2 kept by legal holds" in err
    after = _counts(conn)
    # the deck stays (message 3 is new); own.pdf goes with message 4
    assert after == {
        "messages": 10,
        "purged": 7,
        "content": 3,
        "attachments": 1,
        "files": 1,
    }
    held = conn.execute(
        "SELECT count(*) FROM email_content c JOIN email_messages m "
        "USING (tenant_id, storage_key) WHERE m.lead_id = %s",
        (LEAD2,),
    ).fetchone()
    assert held == (2,)
    code, _, err = _pmail(acme, "validate")
    assert code == 0, err
    code, out, _ = _pmail(
        acme,
        "report",
        "volume",
        "-t",
        "acme",
        "--since",
        "2020-01-01",
        "--format",
        "json",
    )
    assert code == 0 and sum(d["total_emails"] for d in json.loads(out)) == 10
    key = conn.execute(
        "SELECT storage_key FROM email_messages WHERE purged_at IS NOT NULL LIMIT 1"
    ).fetchone()
    assert key is not None
    code, out, _ = _pmail(acme, "show", "-t", "acme", str(key[0]))
    assert code == 0 and "purged on " in out
    code, _, err = _pmail(acme, "show", "-t", "acme", "--raw", str(key[0]))
    assert code == 1 and "was purged on" in err

    # a second purge finds nothing more; releasing the hold lets the rest go
    assert "purged 0 messages" in _pmail(acme, "purge")[2]
    assert _pmail(acme, "hold", "release", "1")[0] == 0
    assert "purged 2 messages" in _pmail(acme, "purge")[2]
    code, out, _ = _pmail(acme, "hold", "list", "--all", "--format", "json")
    assert '"released_by"' in out and '"reason": "case 7"' in out


def test_no_sql_delete_gets_past_a_hold(acme: str, conn: Conn) -> None:
    """A held message's rows cannot be deleted by any path, and holds themselves
    are released, never deleted."""
    code, _, err = _pmail(acme, "hold", "add", "-t", "acme", "--reason", "litigation")
    assert code == 0 and "covers 10 messages now" in err
    for statement in (
        "DELETE FROM email_messages",
        "DELETE FROM email_content",
        "DELETE FROM attachments",
        "UPDATE email_content SET legal_hold = legal_hold",  # allowed: not a delete
    ):
        try:
            conn.execute(statement)
        except psycopg.Error as exc:
            assert "under legal hold" in str(exc)
            assert not statement.startswith("UPDATE")
        else:
            assert statement.startswith("UPDATE"), statement
        conn.rollback()
    with pytest.raises(psycopg.Error, match="released, not deleted"):
        conn.execute("DELETE FROM legal_holds")
    conn.rollback()
    code, _out, err = _pmail(acme, "purge")
    assert code == 0 and "purged 0 messages" in err and "10 kept" not in err
    # a message's own legal_hold flag (the original design's column) holds it too
    assert _pmail(acme, "hold", "release", "1")[0] == 0
    conn.execute("UPDATE email_content SET legal_hold = true")
    conn.commit()
    with pytest.raises(psycopg.Error, match="under legal hold"):
        conn.execute("DELETE FROM email_messages")
    conn.rollback()
    assert "purged 0 messages" in _pmail(acme, "purge")[2]


def test_hold_arguments_are_checked(acme: str) -> None:
    """One target at most, real uuids, a reason, an existing message."""
    code, _, err = _pmail(
        acme, "hold", "add", "-t", "acme", "--lead", "x", "--reason", "r"
    )
    assert code == 2 and "is not a uuid" in err
    code, _, err = _pmail(
        acme,
        "hold",
        "add",
        "-t",
        "acme",
        "--lead",
        LEAD2,
        "--campaign",
        LEAD2,
        "--reason",
        "r",
    )
    assert code == 2 and "at most one" in err
    code, _, err = _pmail(
        acme,
        "hold",
        "add",
        "-t",
        "acme",
        "--storage-key",
        "ffffffffffff",
        "--reason",
        "r",
    )
    assert code == 1 and "no message with storage key" in err
    code, _, err = _pmail(acme, "hold", "add", "-t", "acme", "--reason", " ")
    assert code == 2 and "needs a --reason" in err
    code, _, err = _pmail(acme, "hold", "release", "99")
    assert code == 1 and "no active hold 99" in err
    code, _out, err = _pmail(
        acme,
        "hold",
        "add",
        "-t",
        "acme",
        "--account",
        "nobody@acme.test",
        "--reason",
        "r",
    )
    assert code == 1 and "has no account" in err


def test_a_killed_purge_resumes_consistent(
    acme: str, conn: Conn, tmp_path: Path
) -> None:
    """kill -9 while a purge batch is in flight: the committed batches stay, the rest
    rolls back, the rerun finishes, validate is clean."""
    _ingest(acme, tmp_path / "many", [mailgen.simple(n) for n in range(100, 2600)])
    _age(conn, "subject LIKE 'hello %'", 500)
    # hold the last message's row: the purge blocks in the batch that reaches it,
    # after its earlier batches committed
    last = conn.execute(
        "SELECT storage_key FROM email_messages WHERE subject LIKE 'hello %' "
        "ORDER BY storage_key DESC LIMIT 1"
    ).fetchone()
    assert last is not None
    blocker = psycopg.connect(acme)
    blocker.execute(
        "SELECT 1 FROM email_messages WHERE storage_key = %s FOR UPDATE", (last[0],)
    )
    env = {**os.environ, "PMAIL_DSN": acme}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pmail_cli", "purge", "-t", "acme"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_a_waiter(conn, "the purge")
        mid = _counts(conn)
        assert mid["purged"] == 2000, mid  # two whole batches, nothing of the third
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        blocker.close()
    assert _pmail(acme, "validate")[0] == 0
    code, _, err = _pmail(acme, "purge", "-t", "acme")
    assert code == 0, err
    final = _counts(conn)
    assert final["purged"] == 2500 + 9 and final["content"] == 1, final
    assert _pmail(acme, "validate", "--deep")[0] == 0


def test_one_tenants_locked_writes_do_not_keep_the_others_mail(
    two_tenants: str, login_a: str, conn: Conn
) -> None:
    """a's login takes a's write lock (it may: it writes a's mail) and keeps its
    transaction open. A purge of every tenant waited at a forever, and b's expired
    mail, after a in name order, was never purged. Now it waits --lock-wait for a,
    skips it, purges b, and exits 1 naming a and the session; a is purged once that
    session has ended."""
    _age(conn, "true", 4000)
    with psycopg.connect(login_a) as session:
        session.execute(
            "INSERT INTO tenant_write_locks (tenant_id) "
            "VALUES ((SELECT pmail_session_scope())) "
            "ON CONFLICT (tenant_id) DO UPDATE SET tenant_id = excluded.tenant_id"
        )
        pid = session.info.backend_pid
        code, out, err = _pmail(two_tenants, "purge", "--lock-wait", "1")
        assert code == 1, (out, err)
        assert "error: the purge skipped tenant 'a'" in err and f"pid {pid}" in err
        assert "pmail purge --tenant a" in err
        left = {
            str(name): int(str(n))
            for name, n in conn.execute(
                "SELECT t.name, count(*) FILTER (WHERE m.purged_at IS NULL) "
                "FROM email_messages AS m JOIN tenants AS t USING (tenant_id) "
                "GROUP BY t.name"
            ).fetchall()
        }
        conn.commit()
        assert left["b"] == 0 and left["a"] > 0, left
        session.rollback()
    code, _, err = _pmail(two_tenants, "purge", "--tenant", "a")
    assert code == 0, err
    row = conn.execute(
        "SELECT count(*) FROM email_messages WHERE purged_at IS NULL"
    ).fetchone()
    assert row == (0,)
