"""pmail import-imap against a real Dovecot: exact bytes, incremental, resumable, watch."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner, Result

from pmail_cli.cli import app
from tests import mailgen
from tests.support.dovecot import DovecotServer, ImapAccount

pytestmark = [pytest.mark.imap, pytest.mark.db]
runner = CliRunner()
Conn = psycopg.Connection[tuple[object, ...]]


def _args(dsn: str, acct: ImapAccount, *extra: str) -> list[str]:
    return [
        "--dsn",
        dsn,
        "import-imap",
        "--host",
        acct.host,
        "--port",
        str(acct.port),
        "--security",
        "none",
        "--user",
        acct.login,
        *extra,
    ]


def _run(
    dsn: str,
    acct: ImapAccount,
    monkeypatch: pytest.MonkeyPatch,
    *extra: str,
    password: str | None = None,
) -> Result:
    monkeypatch.setenv("PMAIL_IMAP_PASSWORD", password or acct.password)
    return runner.invoke(app, _args(dsn, acct, *extra))


def _stored(conn: Conn) -> dict[str, bytes]:
    """sha256 hex -> raw_sha256 of every stored message."""
    rows = conn.execute(
        "SELECT encode(raw_sha256, 'hex') FROM email_content"
    ).fetchall()
    conn.commit()
    return {str(r[0]): b"" for r in rows}


def _corpus_sample(corpus: Path, n: int) -> list[bytes]:
    files = sorted(
        p for p in (corpus / "sisimai-set-of-emails" / "maildir" / "bsd").iterdir()
    )
    return [p.read_bytes() for p in files[:n]]


def test_import_stores_server_bytes_and_changes_no_flags(
    dsn: str,
    conn: Conn,
    dovecot: DovecotServer,
    imap_user: ImapAccount,
    corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every stored sha256 equals the server's BODY[] bytes; flags stay; rerun adds nothing."""
    raws = _corpus_sample(corpus, 25) + [mailgen.simple(i) for i in range(5)]
    dovecot.append_many(imap_user.login, "INBOX", raws)
    dovecot.append(imap_user.login, "INBOX", mailgen.simple(99), flags=("\\Flagged",))
    before = dovecot.flags(imap_user.login, "INBOX")
    result = _run(dsn, imap_user, monkeypatch)
    assert result.exit_code == 0, result.output
    served = dovecot.messages(imap_user.login, "INBOX")
    expected = {hashlib.sha256(raw).hexdigest() for raw in served.values()}
    assert set(_stored(conn)) == expected and len(expected) == 31
    assert dovecot.flags(imap_user.login, "INBOX") == before
    assert all("\\Seen" not in f for f in before.values())
    # the seed's columns are filled on the IMAP path too (docs/sql.md)
    filled = conn.execute(
        "SELECT count(*) FILTER (WHERE c.headers ? 'from'), "
        "count(*) FILTER (WHERE c.headers->>'subject' = m.subject) "
        "FROM email_content c JOIN email_messages m USING (tenant_id, storage_key)"
    ).fetchone()
    conn.commit()
    assert filled is not None and filled[0] == 31, filled
    assert isinstance(filled[1], int) and filled[1] >= 5, filled
    again = _run(dsn, imap_user, monkeypatch)
    assert "fetched 0 messages" in again.stderr
    dovecot.append(imap_user.login, "INBOX", mailgen.simple(100))
    third = _run(dsn, imap_user, monkeypatch)
    assert "fetched 1 message " in third.stderr and "1 stored" in third.stderr


def test_sent_folder_is_outbound_and_shared_message_stored_once(
    dsn: str,
    conn: Conn,
    dovecot: DovecotServer,
    imap_user: ImapAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """\\Sent mail is outbound; one message in two folders is one row with two memberships."""
    same = mailgen.simple(1, sender=imap_user.login)
    dovecot.append(imap_user.login, "Sent", same)
    dovecot.append(imap_user.login, "INBOX", same)
    dovecot.append(imap_user.login, "INBOX", mailgen.simple(2))
    result = _run(dsn, imap_user, monkeypatch, "--folder", "INBOX", "--folder", "Sent")
    assert result.exit_code == 0, result.output
    rows = conn.execute(
        "SELECT from_email, direction, email_account_id IS NOT NULL "
        "FROM email_messages ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("ann@example.org", "inbound", True),
        (imap_user.login, "outbound", True),
    ]
    members = conn.execute(
        "SELECT folder FROM imap_messages ORDER BY folder, uid"
    ).fetchall()
    assert members == [("INBOX",), ("INBOX",), ("Sent",)]


def test_uidvalidity_change_resyncs_without_storing_twice(
    dsn: str,
    conn: Conn,
    dovecot: DovecotServer,
    imap_user: ImapAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new UIDVALIDITY refetches the folder but stores nothing twice, and says so."""
    dovecot.append_many(imap_user.login, "Sent", [mailgen.simple(i) for i in range(4)])
    _run(dsn, imap_user, monkeypatch, "--folder", "Sent")
    dovecot.recreate_folder(imap_user.login, "Sent")
    result = _run(dsn, imap_user, monkeypatch, "--folder", "Sent")
    assert result.exit_code == 0, result.output
    assert "UIDVALIDITY changed" in result.stderr
    assert (
        "fetched 4 messages" in result.stderr
        and "0 stored, 4 duplicates" in result.stderr
    )
    assert conn.execute("SELECT count(*) FROM email_messages").fetchone() == (4,)
    current = dovecot.uidvalidity(imap_user.login, "Sent")
    assert conn.execute(
        "SELECT DISTINCT uidvalidity FROM imap_messages"
    ).fetchall() == [(current,)]


@pytest.mark.parametrize(
    ("case", "expected", "code"),
    [
        ("password", "error: login to", 1),
        ("refused", "error: cannot connect to IMAP server", 1),
        ("unknown-host", "error: unknown IMAP host", 1),
        ("tls-on-plain", "error: TLS handshake with", 1),
        ("folder", "error: ", 1),
        ("no-password", "error: no IMAP password", 2),
    ],
)
def test_operational_errors_are_one_error_hint_pair(
    dsn: str,
    imap_user: ImapAccount,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    expected: str,
    code: int,
) -> None:
    """Wrong password, dead server, bad host, TLS to a plain port, missing folder, no password."""
    args = _args(dsn, imap_user)
    monkeypatch.setenv("PMAIL_IMAP_PASSWORD", imap_user.password)
    if case == "password":
        monkeypatch.setenv("PMAIL_IMAP_PASSWORD", "wrong")
    elif case == "refused":
        args[args.index("--port") + 1] = "1"
    elif case == "unknown-host":
        args[args.index("--host") + 1] = "no-such-host.invalid"
    elif case == "tls-on-plain":
        args[args.index("--security") + 1] = "tls"
    elif case == "folder":
        args += ["--folder", "Nope"]
    elif case == "no-password":
        monkeypatch.delenv("PMAIL_IMAP_PASSWORD")
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert expected in result.stderr
    assert "hint: " in result.stderr
    assert "Traceback" not in result.output
    if case == "folder":
        assert "has no folder 'Nope'" in result.stderr


def test_tls_with_insecure_and_empty_mailbox(
    dsn: str,
    imap_user: ImapAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Implicit TLS works with --insecure (self-signed) and an empty mailbox is fine."""
    monkeypatch.setenv("PMAIL_IMAP_PASSWORD", imap_user.password)
    args = _args(dsn, imap_user, "--insecure")
    args[args.index("--port") + 1] = str(imap_user.tls_port)
    args[args.index("--security") + 1] = "tls"
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "fetched 0 messages from 1 folder:" in result.stderr
    strict = runner.invoke(app, [a for a in args if a != "--insecure"])
    assert strict.exit_code == 1 and "certificate" in strict.stderr


def test_unparseable_message_is_stored_and_flagged(
    dsn: str,
    conn: Conn,
    dovecot: DovecotServer,
    imap_user: ImapAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Binary garbage in a mailbox is stored raw and counted with parse problems."""
    dovecot.append(imap_user.login, "INBOX", b"\x00\x01garbage without headers\xff\r\n")
    result = _run(dsn, imap_user, monkeypatch)
    assert "1 with parse problems" in result.stderr
    assert conn.execute(
        "SELECT count(*) FROM email_messages WHERE parse_problems IS NOT NULL"
    ).fetchone() == (1,)


def test_connection_dropped_mid_import_then_rerun_is_complete(
    dsn: str,
    conn: Conn,
    dovecot: DovecotServer,
    imap_user: ImapAccount,
    tmp_path: Path,
) -> None:
    """Killing the server's session mid-fetch, then rerunning, ends with exactly every message."""
    total = 3000  # enough that the first commit lands long before the last fetch
    raws = [mailgen.simple(i, body="y" * 6000 + str(i)) for i in range(total)]
    dovecot.append_many(imap_user.login, "INBOX", raws)
    env = {
        **os.environ,
        "PMAIL_IMAP_PASSWORD": imap_user.password,
        "PMAIL_DATA_DIR": str(tmp_path / "data"),
    }
    cmd = [sys.executable, "-m", "pmail_cli", "-q", *_args(dsn, imap_user)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = conn.execute("SELECT count(*) FROM email_messages").fetchone()
        conn.commit()
        if row is not None and int(str(row[0])) > 0:
            break
        time.sleep(0.01)
    dovecot.kill_sessions()
    _, err = proc.communicate(timeout=120)
    partial = conn.execute("SELECT count(*) FROM email_messages").fetchone()
    conn.commit()
    assert partial is not None and int(str(partial[0])) < total, err
    assert proc.returncode == 1 and "connection to" in err and "lost" in err
    state = conn.execute("SELECT last_uid FROM imap_folders").fetchone()
    conn.commit()
    assert state is not None and int(str(state[0])) == int(str(partial[0]))
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    final = conn.execute(
        "SELECT count(*), count(DISTINCT raw_sha256) FROM email_content"
    ).fetchone()
    assert final == (total, total)


def test_watch_picks_up_new_mail(
    dsn: str,
    conn: Conn,
    dovecot: DovecotServer,
    imap_user: ImapAccount,
    tmp_path: Path,
) -> None:
    """With --watch, a message appended while it runs becomes a row, then SIGINT stops it."""
    env = {
        **os.environ,
        "PMAIL_IMAP_PASSWORD": imap_user.password,
        "PMAIL_DATA_DIR": str(tmp_path / "data"),
    }
    cmd = [
        sys.executable,
        "-m",
        "pmail_cli",
        "-q",
        *_args(dsn, imap_user, "--watch", "--watch-for", "60"),
    ]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    try:
        _wait_rows(conn, "SELECT count(*) FROM imap_folders", 1)
        dovecot.append(imap_user.login, "INBOX", mailgen.simple(7))
        _wait_rows(conn, "SELECT count(*) FROM email_messages", 1)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), err


def _wait_rows(conn: Conn, query: str, at_least: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = conn.execute(query).fetchone()
        conn.commit()
        if row is not None and int(str(row[0])) >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {query}")


def test_a_message_over_the_limit_is_refused_unfetched_and_met_again(
    dsn: str,
    conn: Conn,
    dovecot: DovecotServer,
    imap_user: ImapAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A message the server announces over max_message_bytes is not downloaded: an
    error names it (URL and UID), the others are stored, exit 1. It is remembered
    (imap_refused), so the checkpoint moves past it and the next run fetches nothing
    again but still names it (exit 1); once the limit allows, it alone is fetched and
    stored, and forgotten."""
    big = mailgen.simple(2, body="x" * 20_000)
    uids = dovecot.append_many(
        imap_user.login, "INBOX", [mailgen.simple(1), big, mailgen.simple(3)]
    )
    monkeypatch.setenv("PMAIL_MAX_MESSAGE_BYTES", "10000")
    first = _run(dsn, imap_user, monkeypatch)
    assert first.exit_code == 1, first.output
    assert f"INBOX;UID={uids[1]}: message of " in first.stderr
    assert "over the maximum message size (10,000 bytes)" in first.stderr
    assert "fetched 2 messages" in first.stderr and "2 stored" in first.stderr
    assert "1 over the size limit" in first.stderr
    remembered = conn.execute("SELECT uid, max_bytes FROM imap_refused").fetchall()
    assert remembered == [(uids[1], 10_000)]
    checkpoint = conn.execute("SELECT last_uid FROM imap_folders").fetchone()
    assert checkpoint == (uids[2],)
    conn.commit()

    # a message that arrives later is fetched alone: nothing above the refused one is
    # fetched again, and the refused one is named again
    later = dovecot.append_many(imap_user.login, "INBOX", [mailgen.simple(4)])
    again = _run(dsn, imap_user, monkeypatch)
    assert again.exit_code == 1 and f"UID={uids[1]}: message of " in again.stderr
    assert "fetched 1 message" in again.stderr and "1 stored" in again.stderr
    assert "0 duplicates" in again.stderr

    monkeypatch.setenv("PMAIL_MAX_MESSAGE_BYTES", "1000000")
    raised = _run(dsn, imap_user, monkeypatch)
    assert raised.exit_code == 0, raised.output
    assert "fetched 1 message" in raised.stderr and "1 stored" in raised.stderr
    assert "0 duplicates" in raised.stderr
    assert len(_stored(conn)) == 4
    assert conn.execute("SELECT count(*) FROM imap_refused").fetchone() == (0,)
    member = conn.execute(
        "SELECT count(*) FROM imap_messages WHERE uid = ANY(%s)", ([uids[1], later[0]],)
    ).fetchone()
    assert member == (2,)
    conn.commit()
    quiet = _run(dsn, imap_user, monkeypatch)
    assert quiet.exit_code == 0 and "fetched 0 messages" in quiet.stderr, quiet.stderr


def test_a_refused_message_deleted_from_the_server_is_forgotten(
    dsn: str,
    conn: Conn,
    dovecot: DovecotServer,
    imap_user: ImapAccount,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A remembered refusal whose message was expunged meanwhile is dropped by the next
    run, which then exits 0 (nothing is over the limit any more)."""
    uids = dovecot.append_many(
        imap_user.login,
        "INBOX",
        [mailgen.simple(1), mailgen.simple(2, body="x" * 20_000)],
    )
    monkeypatch.setenv("PMAIL_MAX_MESSAGE_BYTES", "10000")
    assert _run(dsn, imap_user, monkeypatch).exit_code == 1
    assert conn.execute("SELECT uid FROM imap_refused").fetchall() == [(uids[1],)]
    conn.commit()
    dovecot.expunge(imap_user.login, "INBOX", [uids[1]])
    after = _run(dsn, imap_user, monkeypatch)
    assert after.exit_code == 0, after.output
    assert conn.execute("SELECT count(*) FROM imap_refused").fetchone() == (0,)


def _pmail(dsn: str, tmp_path: Path, password: str) -> tuple[list[str], dict[str, str]]:
    """`python -m pmail_cli` and an environment with this IMAP password."""
    env = {
        **os.environ,
        "PMAIL_IMAP_PASSWORD": password,
        "PMAIL_DATA_DIR": str(tmp_path / "data"),
    }
    return [sys.executable, "-m", "pmail_cli", "-q", "--dsn", dsn], env


def test_watch_ends_on_a_refused_login_as_an_import_does(
    dsn: str, imap_user: ImapAccount, tmp_path: Path
) -> None:
    """A wrong password is not a dropped connection: `--watch` does not retry it
    (it did, every 1 to 60 s, for ever) but ends at once with the error/hint pair
    and exit code of the same import without --watch; nothing else is said."""
    pmail, env = _pmail(dsn, tmp_path, "wrong")
    args = _args(dsn, imap_user)[2:]  # without the --dsn pmail already has
    once = subprocess.run(
        [*pmail, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert once.returncode == 1, once.stderr
    assert once.stderr.startswith(f"error: login to {imap_user.login}@"), once.stderr
    assert (
        len(once.stderr.splitlines()) == 2 and "\nhint: check the user" in once.stderr
    )
    # --watch-for bounds a watch that would retry; the timeout is only a guard
    watched = subprocess.run(
        [*pmail, *args, "--watch", "--watch-for", "600"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (watched.returncode, watched.stderr) == (once.returncode, once.stderr)


def test_watch_says_a_dropped_connection_as_a_warning(
    dsn: str,
    conn: Conn,
    dovecot: DovecotServer,
    imap_user: ImapAccount,
    tmp_path: Path,
) -> None:
    """A dropped connection is retried, and said as pmail says any warning
    (`warning: …`), never as a logging line (`WARNING:pmail_cli.services…`)."""
    pmail, env = _pmail(dsn, tmp_path, imap_user.password)
    args = _args(dsn, imap_user, "--watch", "--watch-for", "600")[2:]
    proc = subprocess.Popen([*pmail, *args], env=env, stderr=subprocess.PIPE, text=True)
    try:
        _wait_rows(conn, "SELECT count(*) FROM imap_folders", 1)
        assert dovecot.kill_sessions() >= 1
        dovecot.append(imap_user.login, "INBOX", mailgen.simple(8))
        _wait_rows(conn, "SELECT count(*) FROM email_messages", 1)  # reconnected
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    warned = [line for line in err.splitlines() if "reconnecting in" in line]
    assert warned and all(
        line.startswith(f"warning: {imap_user.login}@") for line in warned
    ), err
    assert "WARNING:" not in err, err


def test_watch_goes_on_for_the_accounts_whose_login_works(
    dsn: str,
    conn: Conn,
    dovecot: DovecotServer,
    imap_user: ImapAccount,
    tmp_path: Path,
) -> None:
    """Two accounts, one with a wrong password: that one is dropped with one
    warning saying so (not retried), the other is still watched."""
    other = dovecot.add_user()
    accounts = tmp_path / "accounts.toml"
    accounts.write_text(
        "".join(
            f'[[account]]\nhost = "{a.host}"\nport = {a.port}\nsecurity = "none"\n'
            f'user = "{a.login}"\npassword_env = "{env_name}"\n\n'
            for a, env_name in ((imap_user, "GOOD_PW"), (other, "BAD_PW"))
        )
    )
    pmail, env = _pmail(dsn, tmp_path, "unused")
    env.update(GOOD_PW=imap_user.password, BAD_PW="wrong")
    proc = subprocess.Popen(
        [*pmail, "import-imap", "--accounts", str(accounts), "--all", "--watch"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_rows(conn, "SELECT count(*) FROM imap_folders", 1)
        dovecot.append(imap_user.login, "INBOX", mailgen.simple(9))
        _wait_rows(conn, "SELECT count(*) FROM email_messages", 1)
        assert proc.poll() is None  # still watching the account that works
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    said = [line for line in err.splitlines() if other.login in line]
    assert len(said) == 1, err
    assert said[0].startswith(f"warning: login to {other.login}@"), err
    assert said[0].endswith(" is no longer watched (the other accounts are)"), err
