"""Smoke tests: the Dovecot fixture gives a real, isolated IMAP server."""

from __future__ import annotations

import imaplib
import random
import re
import shutil
import ssl
import threading
import time

import pytest
from imap_tools import (
    MailBox,
    MailboxLoginError,
    MailBoxStartTls,
    MailBoxUnencrypted,
)

from tests.support.dovecot import (
    DovecotServer,
    DovecotUnavailable,
    ImapAccount,
    dovecot_fetch_bytes,
)

pytestmark = pytest.mark.imap

HEAD = b"From: a@acme.test\r\nTo: b@acme.test\r\nSubject: t\r\n\r\n"
EXACT = {
    "crlf": HEAD + b"line 1\r\nline 2\r\n",
    "8bit": HEAD + "Grüße ✓\r\n".encode() + b"latin-1 \xe9 \xff\r\n",
    "no-final-eol": HEAD + b"last line without EOL",
    "trailing-space": HEAD + b"a  \r\n\t\r\n\r\n",
    "bare-cr-inside": HEAD + b"a\rb\r\n",
}
CHANGED = {
    "lf": b"From: a@acme.test\nSubject: t\n\nline 1\nline 2\n",
    "cr": b"From: a@acme.test\rSubject: t\r\rline 1\rline 2\r",
    "mixed": b"From: a@acme.test\r\nSubject: t\n\r\nx\ry\nz\r\r\n",
    "nul": HEAD + b"before\x00after\r\n",
}


def insecure_context() -> ssl.SSLContext:
    """Return a client context that accepts the fixture's self-signed cert."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def plain_login(user: ImapAccount) -> MailBoxUnencrypted:
    """Return an imap_tools client logged in on the plain port, nothing selected."""
    box = MailBoxUnencrypted(user.host, user.port, timeout=10)
    return box.login(user.login, user.password, initial_folder=None)


def test_login_on_plain_port(imap_user: ImapAccount) -> None:
    """A new user logs in on the plain port and starts with an empty INBOX."""
    with plain_login(imap_user) as box:
        assert box.folder.status("INBOX")["MESSAGES"] == 0


def test_login_on_tls_port_without_verification(imap_user: ImapAccount) -> None:
    """The TLS port speaks IMAPS when certificate checks are off (--insecure)."""
    box = MailBox(
        imap_user.host, imap_user.tls_port, timeout=10, ssl_context=insecure_context()
    )
    with box.login(imap_user.login, imap_user.password) as box:
        assert isinstance(box.client.sock, ssl.SSLSocket)
        assert str(box.client.sock.version()).startswith("TLSv1")


def test_tls_port_verifies_against_fixture_cert(
    dovecot: DovecotServer, imap_user: ImapAccount
) -> None:
    """The self-signed cert verifies for 127.0.0.1 when trusted explicitly."""
    context = ssl.create_default_context(cafile=str(dovecot.cert_path))
    box = MailBox(imap_user.host, imap_user.tls_port, timeout=10, ssl_context=context)
    with box.login(imap_user.login, imap_user.password):
        pass


def test_default_tls_context_rejects_self_signed_cert(imap_user: ImapAccount) -> None:
    """ssl.create_default_context() refuses the fixture's self-signed cert."""
    context = ssl.create_default_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        MailBox(imap_user.host, imap_user.tls_port, timeout=10, ssl_context=context)


def test_imap_tools_without_context_does_not_verify(imap_user: ImapAccount) -> None:
    """MailBox() with no ssl_context skips verification (imaplib's default)."""
    box = MailBox(imap_user.host, imap_user.tls_port, timeout=10)
    with box.login(imap_user.login, imap_user.password):
        assert box.client.ssl_context.verify_mode == ssl.CERT_NONE


def test_tls_to_plain_port_fails_fast(imap_user: ImapAccount) -> None:
    """A TLS handshake against the plain port fails at once with an SSLError."""
    started = time.monotonic()
    with pytest.raises(ssl.SSLError, match="WRONG_VERSION_NUMBER"):
        MailBox(
            imap_user.host, imap_user.port, timeout=5, ssl_context=insecure_context()
        )
    assert time.monotonic() - started < 3


def test_starttls_on_plain_port(imap_user: ImapAccount) -> None:
    """The plain port offers STARTTLS and upgrades to TLS before login."""
    box = MailBoxStartTls(
        imap_user.host, imap_user.port, timeout=10, ssl_context=insecure_context()
    )
    with box.login(imap_user.login, imap_user.password):
        assert isinstance(box.client.sock, ssl.SSLSocket)
        assert str(box.client.sock.version()).startswith("TLSv1")


def test_wrong_password_is_rejected_without_lasting_penalty(
    imap_user: ImapAccount,
) -> None:
    """A wrong password raises MailboxLoginError and the next login is not delayed."""
    box = MailBoxUnencrypted(imap_user.host, imap_user.port, timeout=10)
    try:
        with pytest.raises(MailboxLoginError, match="AUTHENTICATIONFAILED"):
            box.login(imap_user.login, "not-the-password")
    finally:
        box.client.shutdown()
    started = time.monotonic()
    plain_login(imap_user).logout()
    assert time.monotonic() - started < 1.5


def test_capabilities(imap_user: ImapAccount) -> None:
    """IDLE is offered before login; CONDSTORE, SPECIAL-USE and UIDPLUS after."""
    box = MailBoxUnencrypted(imap_user.host, imap_user.port, timeout=10)
    assert {"IDLE", "STARTTLS", "LITERAL+"} <= set(box.client.capabilities)
    box.login(imap_user.login, imap_user.password, initial_folder=None)
    with box:
        _, data = box.client.capability()
        after_login = set(data[0].decode().upper().split())
    assert {"IDLE", "CONDSTORE", "QRESYNC", "SPECIAL-USE", "UIDPLUS"} <= after_login


def test_special_use_folders(imap_user: ImapAccount) -> None:
    """Sent, Drafts, Trash and Junk are listed with their special-use flags."""
    with plain_login(imap_user) as box:
        flags = {info.name: set(info.flags) for info in box.folder.list()}
    assert "\\Sent" in flags["Sent"]
    assert "\\Drafts" in flags["Drafts"]
    assert "\\Trash" in flags["Trash"]
    assert "\\Junk" in flags["Junk"]


@pytest.mark.parametrize("name", sorted(EXACT))
def test_append_round_trip_is_exact(
    dovecot: DovecotServer, imap_user: ImapAccount, name: str
) -> None:
    """CRLF, 8-bit and unterminated messages come back from BODY[] byte for byte."""
    raw = EXACT[name]
    uid = dovecot.append(imap_user.login, "INBOX", raw)
    assert dovecot.fetch_raw(imap_user.login, "INBOX", uid) == raw


@pytest.mark.parametrize("name", sorted(CHANGED))
def test_append_round_trip_follows_model(
    dovecot: DovecotServer, imap_user: ImapAccount, name: str
) -> None:
    """LF, CR, mixed and NUL messages come back as dovecot_fetch_bytes() predicts."""
    raw = CHANGED[name]
    uid = dovecot.append(imap_user.login, "INBOX", raw)
    served = dovecot.fetch_raw(imap_user.login, "INBOX", uid)
    assert served == dovecot_fetch_bytes(raw)
    assert served != raw


def test_fetch_bytes_model_on_random_messages(
    dovecot: DovecotServer, imap_user: ImapAccount
) -> None:
    """Random CR/LF/NUL-heavy messages up to 200 kB match the documented model."""
    rng = random.Random(20240611)
    raws = [
        HEAD + bytes(rng.choice(b"ab\r\n\r\n\x00\xff") for _ in range(size))
        for size in (1, 17, 4096, 200_000)
    ]
    uids = dovecot.append_many(imap_user.login, "INBOX", raws)
    served = dovecot.messages(imap_user.login, "INBOX")
    assert [served[uid] for uid in uids] == [dovecot_fetch_bytes(r) for r in raws]


def test_imap_tools_raw_fetch_matches_and_size_agrees(
    dovecot: DovecotServer, imap_user: ImapAccount
) -> None:
    """BODY.PEEK[] via imap_tools' imaplib client is what RFC822.SIZE counts."""
    uid = dovecot.append(imap_user.login, "INBOX", CHANGED["lf"])
    with plain_login(imap_user) as box:
        box.folder.set("INBOX", readonly=True)
        typ, data = box.client.uid("FETCH", str(uid), "(RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK"
    head, body = data[0]
    size = re.search(rb"RFC822\.SIZE (\d+)", head)
    assert size is not None and int(size.group(1)) == len(body)
    assert body == dovecot.fetch_raw(imap_user.login, "INBOX", uid)


def test_readonly_fetch_keeps_flags(
    dovecot: DovecotServer, imap_user: ImapAccount
) -> None:
    """Fetching in a read-only (EXAMINE) folder never changes flags, even BODY[]."""
    dovecot.append(imap_user.login, "INBOX", EXACT["crlf"])
    dovecot.append(imap_user.login, "INBOX", EXACT["8bit"], ("\\Flagged", "$Lead"))
    before = dovecot.flags(imap_user.login, "INBOX")
    with plain_login(imap_user) as box:
        box.folder.set("INBOX", readonly=True)
        assert len(list(box.fetch(mark_seen=True, bulk=True))) == 2
    assert dovecot.flags(imap_user.login, "INBOX") == before
    assert before == {1: (), 2: ("$Lead", "\\Flagged")}


def test_status_reports_highestmodseq(
    dovecot: DovecotServer, imap_user: ImapAccount
) -> None:
    """STATUS gives UIDVALIDITY, UIDNEXT and a HIGHESTMODSEQ that grows."""
    first = dovecot.status(imap_user.login, "Sent")
    dovecot.append(imap_user.login, "Sent", EXACT["crlf"], ("\\Seen",))
    second = dovecot.status(imap_user.login, "Sent")
    assert second["UIDNEXT"] == first["UIDNEXT"] + 1
    assert second["HIGHESTMODSEQ"] > first["HIGHESTMODSEQ"]
    assert second["UIDVALIDITY"] == first["UIDVALIDITY"]


def test_set_uidvalidity_keeps_messages(
    dovecot: DovecotServer, imap_user: ImapAccount
) -> None:
    """set_uidvalidity() changes UIDVALIDITY and leaves UIDs and bytes alone."""
    uid = dovecot.append(imap_user.login, "INBOX", EXACT["crlf"])
    old = dovecot.uidvalidity(imap_user.login, "INBOX")
    new = dovecot.set_uidvalidity(imap_user.login, "INBOX")
    assert new != old
    assert dovecot.uidvalidity(imap_user.login, "INBOX") == new
    assert dovecot.messages(imap_user.login, "INBOX") == {uid: EXACT["crlf"]}


def test_recreate_folder_renumbers(
    dovecot: DovecotServer, imap_user: ImapAccount
) -> None:
    """recreate_folder() renumbers from UID 1 under a new UIDVALIDITY, same mail."""
    user = imap_user.login
    dovecot.create_folder(user, "Leads.2024")
    dovecot.append(user, "Leads.2024", EXACT["crlf"])
    dovecot.expunge(user, "Leads.2024", [1])
    dovecot.append(user, "Leads.2024", EXACT["8bit"], ("\\Answered",))
    assert set(dovecot.messages(user, "Leads.2024")) == {2}
    old = dovecot.uidvalidity(user, "Leads.2024")
    assert dovecot.recreate_folder(user, "Leads.2024") != old
    assert dovecot.messages(user, "Leads.2024") == {1: EXACT["8bit"]}
    assert dovecot.flags(user, "Leads.2024") == {1: ("\\Answered",)}


def test_kick_drops_a_live_connection(
    dovecot: DovecotServer, imap_user: ImapAccount
) -> None:
    """kick() ends a selected session: its next command raises IMAP4.abort."""
    box = plain_login(imap_user)
    try:
        box.folder.set("INBOX", readonly=True)
        assert imap_user.login in dovecot.connected_users()
        dovecot.kick(imap_user.login)
        with pytest.raises(imaplib.IMAP4.abort):
            box.client.noop()
    finally:
        box.client.shutdown()
    assert imap_user.login not in dovecot.connected_users()


def test_kill_sessions_cuts_connections_without_bye(
    dovecot: DovecotServer, imap_user: ImapAccount
) -> None:
    """kill_sessions() SIGKILLs session processes; the client just sees EOF."""
    box = plain_login(imap_user)
    try:
        assert dovecot.kill_sessions() >= 1
        with pytest.raises(imaplib.IMAP4.abort, match="EOF"):
            box.client.noop()
    finally:
        box.client.shutdown()


def test_idle_reports_new_mail(dovecot: DovecotServer, imap_user: ImapAccount) -> None:
    """A client in IDLE hears EXISTS when the helper appends a message."""
    with plain_login(imap_user) as box:
        box.folder.set("INBOX")
        deliver = threading.Timer(
            0.2, dovecot.append, args=(imap_user.login, "INBOX", EXACT["crlf"])
        )
        deliver.start()
        try:
            responses = box.idle.wait(timeout=5)
        finally:
            deliver.join()
    assert b"* 1 EXISTS" in responses


def test_restart_keeps_port_users_and_mail(
    dovecot: DovecotServer, imap_user: ImapAccount
) -> None:
    """restart() drops sessions but keeps ports, logins and stored mail."""
    uid = dovecot.append(imap_user.login, "INBOX", CHANGED["lf"])
    before = dovecot.fetch_raw(imap_user.login, "INBOX", uid)
    port, tls_port = dovecot.port, dovecot.tls_port
    dovecot.restart()
    assert (dovecot.port, dovecot.tls_port) == (port, tls_port)
    assert dovecot.fetch_raw(imap_user.login, "INBOX", uid) == before


def test_users_are_isolated(dovecot: DovecotServer, imap_user: ImapAccount) -> None:
    """A fresh imap_user sees none of the mail appended for other users."""
    other = dovecot.add_user()
    dovecot.append(other.login, "INBOX", EXACT["crlf"])
    assert dovecot.messages(imap_user.login, "INBOX") == {}
    assert other.login != imap_user.login


def test_missing_dovecot_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the dovecot binary, start() fails and says what to apt-get install."""
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(DovecotUnavailable, match="apt-get install -y dovecot-imapd"):
        DovecotServer().start()
