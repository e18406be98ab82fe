"""The suppression list: known answers for each kind of evidence, repeated soft
bounces, a later normal reply, and another tenant that is never seen
(docs/classification.md, "Suppressions")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.repository import writer as writer_repo
from pmail_cli.services import ingest, tenants
from pmail_cli.services.pipeline import PipelineOptions
from tests import mailgen
from tests.support.locks import wait_for_a_waiter
from tests.support.tenancy import Conn, pmail, tenant_ids

pytestmark = pytest.mark.db

LEAD = "lead@example.com"
SOFT_TEXT = "mailbox full"


def _ingest(dsn: str, folder: Path, raws: list[bytes], tenant: str = "default") -> None:
    """Store raws for the tenant (created on first use), one file each."""
    folder.mkdir(parents=True)
    for i, raw in enumerate(raws):
        (folder / f"{i}.eml").write_bytes(raw)
    with connect(Settings(dsn=dsn, dsn_source="test")) as conn:
        if tenant != "default":
            tenants.add_tenant(conn, tenant)
        scope = tenants.use_tenant(conn, tenant)
        tenants.add_account(conn, scope, email="sdr1@acme.test")
        ingest.ingest_paths(
            conn, [str(folder)], tenant=scope, options=PipelineOptions(), jobs=1
        )


def _rows(dsn: str, *args: str) -> list[dict[str, object]]:
    code, out, err = pmail(dsn, "suppressions", "-f", "json", *args)
    assert code == 0, err
    rows = json.loads(out)
    assert isinstance(rows, list)
    return rows


def _brief(dsn: str, *args: str) -> set[tuple[object, ...]]:
    """(address, reason, detail, evidence) of every suppression."""
    return {
        (r["address"], r["reason"], r["detail"], r["evidence"])
        for r in _rows(dsn, *args)
    }


def _limit(dsn: str, limit: str) -> None:
    """Create the default tenant and set its soft-bounce limit."""
    assert pmail(dsn, "tenant", "add", "default")[0] == 0
    code, _, err = pmail(dsn, "tenant", "set", "default", "--soft-bounce-limit", limit)
    assert code == 0, err


def _key(conn: Conn, message_id: str) -> str:
    row = conn.execute(
        "SELECT storage_key FROM email_messages WHERE message_id = %s", (message_id,)
    ).fetchone()
    conn.commit()
    assert row is not None
    return str(row[0])


def _agrees(dsn: str) -> None:
    """What the triggers kept equals a rebuild (validate's check is clean)."""
    code, out, err = pmail(dsn, "validate", "-f", "json")
    assert code == 0, err
    found = {o["name"]: o["count"] for o in json.loads(out)}
    assert found["suppressions_disagree"] == 0


def _soft(n: int, day: int, *, recipient: str = LEAD, text: str = SOFT_TEXT) -> bytes:
    """A soft bounce (4.2.2, mailbox full) of outbound n, dated March `day` 2024."""
    return mailgen.dsn(
        n,
        mailgen.outbound(n, to=recipient),
        status="4.2.2",
        code=452,
        recipient=recipient,
        text=text,
        date=f"{day:02d} Mar 2024 10:05:00 +0000",
    )


def _reply(n: int, day: int, body: str = "Sounds good, let's talk.") -> bytes:
    """A plain answer from the lead, dated March `day` 2024."""
    return mailgen.simple(
        n,
        sender=LEAD,
        to="sdr1@acme.test",
        subject="Re: Quick question",
        message_id=f"<reply-{n}@example.com>",
        extra=f"In-Reply-To: <out-{n}@acme.test>",
        body=body,
        date=f"{day:02d} Mar 2024 12:00:00 +0000",
    )


def test_each_kind_of_evidence(
    dsn: str, conn: Conn, tmp_path: Path, corpus: Path
) -> None:
    """Real hard bounces and complaints, an opt-out report, and replies asking to be
    removed (by mailbox, subject and words) each give their row; a blocked sender,
    a delay and an ordinary reply give none."""
    cws = corpus / "cws-mail-bounce-handler"
    real = [
        (cws / "bounce_511_002.eml").read_bytes(),  # userunknown, hard
        (cws / "fbl_004.eml").read_bytes(),  # ARF abuse complaint
        (cws / "fbl_002.eml").read_bytes(),  # ARF opt-out report
        (corpus / "flufl-bounce" / "dsn_05.txt").read_bytes(),  # a delay
    ]
    out = [mailgen.outbound(n, to=f"lead{n}@example.com") for n in (1, 2, 3)]
    asked = [
        mailgen.simple(
            11,
            sender="lead1@example.com",
            to="unsub-4f2a@acme.test",
            subject="unsubscribe",
            body="",
        ),
        mailgen.simple(
            12, sender="lead2@example.com", subject="AW: Abmelden", body="Danke."
        ),
        mailgen.simple(
            13,
            sender="lead3@example.com",
            to="sdr1@acme.test",
            subject="Re: Quick question 3",
            extra="In-Reply-To: <out-3@acme.test>",
            body="Please take me off your list.\n\n> Would a call make sense?",
        ),
        mailgen.reply(4, "<out-1@acme.test>"),
        mailgen.dsn(
            5,
            out[1],
            status="5.7.1",
            recipient="lead2@example.com",
            text="Client host rejected: blocked using zen.spamhaus.org",
        ),
    ]
    _ingest(dsn, tmp_path / "a", [*real, *out, *asked])
    assert _brief(dsn) == {
        ("anitaculiyas@hotmail.com", "hard_bounce", "userunknown", 1),
        ("giribhantana@yahoo.com", "complaint", "abuse", 1),
        ("user@example.com", "unsubscribe", "opt-out", 1),
        ("lead1@example.com", "unsubscribe", "mailbox", 1),
        ("lead2@example.com", "unsubscribe", "subject", 1),
        ("lead3@example.com", "unsubscribe", "body: take me off", 1),
    }
    rows = {r["address"]: r for r in _rows(dsn)}
    key = _key(conn, "<msg-13@example.org>")
    assert (
        rows["lead3@example.com"]["first_key"],
        rows["lead3@example.com"]["last_key"],
    ) == (key, key)
    # the reply linked to its outbound parent: the campaign and lead come with it
    assert rows["lead3@example.com"]["campaign_id"] == mailgen.CAMPAIGN
    assert rows["lead3@example.com"]["lead_id"] == mailgen.LEAD
    assert rows["lead1@example.com"]["campaign_id"] is None  # no parent named
    _agrees(dsn)


def test_repeated_real_soft_bounces(dsn: str, tmp_path: Path, corpus: Path) -> None:
    """Two real Yahoo mailbox-full bounces to one address, the same day: not enough
    for the default (5 in 30 days), enough once the tenant's limit is 2 in 1 day."""
    flufl = corpus / "flufl-bounce"
    raws = [(flufl / f"yahoo_0{n}.txt").read_bytes() for n in (2, 4)]
    _ingest(dsn, tmp_path / "a", raws)
    assert _brief(dsn) == set()
    code, _, err = pmail(
        dsn,
        "tenant",
        "set",
        "default",
        "--soft-bounce-limit",
        "2",
        "--soft-bounce-days",
        "1",
    )
    assert code == 0 and "after 2 soft bounces within 1 days" in err, err
    assert _brief(dsn) == {
        ("agarciamartiartu@yahoo.es", "soft_bounce", "mailboxfull", 2)
    }
    _agrees(dsn)


@pytest.mark.parametrize(
    ("limit", "days", "suppressed"),
    [
        (4, 30, False),  # below the limit: three bounces
        (3, 30, True),  # at the limit: three within 20 days
        (3, 15, False),  # outside the window: the three span 20 days
        (2, 10, True),  # two of them within 10 days
        (1, 1, True),  # one is enough
    ],
)
def test_soft_bounces_below_at_and_outside_the_limit(
    dsn: str, conn: Conn, tmp_path: Path, limit: int, days: int, suppressed: bool
) -> None:
    """Soft bounces on March 1, 11 and 21 suppress exactly when `limit` of them fall
    within `days` days; the row names the first and the latest bounce."""
    code, _, err = pmail(dsn, "tenant", "add", "acme")
    assert code == 0, err
    code, _, err = pmail(
        dsn,
        "tenant",
        "set",
        "acme",
        "--soft-bounce-limit",
        str(limit),
        "--soft-bounce-days",
        str(days),
    )
    assert code == 0, err
    sent = [mailgen.outbound(n) for n in (1, 2, 3)]
    bounces = [_soft(1, 1), _soft(2, 11), _soft(3, 21)]
    _ingest(dsn, tmp_path / "a", [*sent, *bounces], "acme")
    rows = _rows(dsn, "-t", "acme")
    if not suppressed:
        assert rows == []
        return
    assert [(r["address"], r["reason"], r["detail"], r["evidence"]) for r in rows] == [
        (LEAD, "soft_bounce", "mailboxfull", 3)
    ]
    assert rows[0]["first_key"] == _key(conn, "<dsn-1@mx.example.com>")
    assert rows[0]["last_key"] == _key(conn, "<dsn-3@mx.example.com>")
    assert rows[0]["first_at"] == "2024-03-01T10:05:00+00:00"
    assert rows[0]["campaign_id"] == mailgen.CAMPAIGN
    _agrees(dsn)


def test_sender_side_soft_bounces_never_suppress(dsn: str, tmp_path: Path) -> None:
    """Bounces that blame the sender (blocklisted IP) say nothing about the lead."""
    _limit(dsn, "1")
    blocked = "Client host rejected: blocked using zen.spamhaus.org"
    _ingest(dsn, tmp_path / "a", [_soft(n, n, text=blocked) for n in (1, 2, 3)])
    assert _brief(dsn) == set()


def test_a_later_normal_reply_clears_soft_suppression(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """A normal reply after soft bounces lifts the soft suppression (hard bounces and
    unsubscribes of the same tenant stay); soft bounces after the reply count anew."""
    _limit(dsn, "2")
    other = "gone@example.com"
    hard = mailgen.dsn(9, mailgen.outbound(9, to=other), recipient=other)
    _ingest(dsn, tmp_path / "a", [_soft(1, 1), _soft(2, 2), hard])
    assert _brief(dsn) == {
        (LEAD, "soft_bounce", "mailboxfull", 2),
        (other, "hard_bounce", "userunknown", 1),
    }
    _ingest(dsn, tmp_path / "b", [mailgen.outbound(3), _reply(3, 3)])
    assert _brief(dsn) == {(other, "hard_bounce", "userunknown", 1)}
    _agrees(dsn)
    # a reply dated before the bounces clears nothing (here: the earlier one counts)
    _ingest(dsn, tmp_path / "c", [_soft(4, 4), _soft(5, 5), _reply(6, 1)])
    rows = {(r["address"], r["reason"]): r for r in _rows(dsn)}
    assert rows[(LEAD, "soft_bounce")]["evidence"] == 2
    assert rows[(LEAD, "soft_bounce")]["first_key"] == _key(
        conn, "<dsn-4@mx.example.com>"
    )
    # an unsubscribe is never cleared by a later reply; the soft bounces are
    _ingest(
        dsn,
        tmp_path / "d",
        [_reply(7, 6, "Please remove me from your list."), _reply(8, 7)],
    )
    assert _brief(dsn) == {
        (other, "hard_bounce", "userunknown", 1),
        (LEAD, "unsubscribe", "body: remove me from", 1),
    }
    _agrees(dsn)


def test_a_late_parent_brings_its_campaign(dsn: str, tmp_path: Path) -> None:
    """A bounce stored before its outbound message gets the campaign when the
    outbound message arrives (the link updates the row in that batch)."""
    out = mailgen.outbound(1)
    _ingest(dsn, tmp_path / "a", [mailgen.dsn(1, out)])
    assert [r["campaign_id"] for r in _rows(dsn)] == [None]
    _ingest(dsn, tmp_path / "b", [out])
    assert [r["campaign_id"] for r in _rows(dsn)] == [mailgen.CAMPAIGN]
    _agrees(dsn)


def test_since_and_formats(dsn: str, tmp_path: Path) -> None:
    """--since keeps rows whose latest evidence is on or after the day; csv has the
    same columns as json, header first."""
    _limit(dsn, "1")
    _ingest(
        dsn,
        tmp_path / "a",
        [
            _soft(1, 1, recipient="a@example.com"),
            _soft(2, 20, recipient="b@example.com"),
        ],
    )
    assert [r["address"] for r in _rows(dsn)] == ["b@example.com", "a@example.com"]
    assert [r["address"] for r in _rows(dsn, "--since", "2024-03-10")] == [
        "b@example.com"
    ]
    # the day itself counts (b's evidence is at 10:05 that day); the next does not
    assert [r["address"] for r in _rows(dsn, "--since", "2024-03-20")] == [
        "b@example.com"
    ]
    assert _rows(dsn, "--since", "2024-03-21") == []
    code, out, err = pmail(dsn, "suppressions", "--format", "csv")
    assert code == 0, err
    assert out.splitlines()[0] == (
        "address,reason,detail,evidence,first_at,first_key,last_at,last_key,"
        "campaign_id,lead_id"
    )
    code, _, err = pmail(dsn, "tenant", "set", "default", "--soft-bounce-days", "0")
    assert code == 2 and err.startswith("error: --soft-bounce-days 0 is out of range")
    assert "Traceback" not in err


def test_damage_is_found_and_rebuilt(dsn: str, conn: Conn, tmp_path: Path) -> None:
    """validate finds a suppression list that drifted from its evidence; analytics
    rebuild puts it back to what the triggers kept."""
    _ingest(dsn, tmp_path / "a", [mailgen.dsn(1, mailgen.outbound(1))])
    before = _rows(dsn)
    assert len(before) == 1
    conn.execute("SELECT pmail_scope_all_tenants()")
    conn.execute("UPDATE suppressions SET evidence = 7")
    conn.execute(
        "INSERT INTO suppressions SELECT tenant_id, 'x@y.test', reason, "
        "detail, evidence, first_key, first_at, last_key, last_at, "
        "campaign_id, lead_id FROM suppressions"
    )
    conn.commit()
    code, out, _ = pmail(dsn, "validate", "-f", "json")
    assert code == 3
    found = {o["name"]: o["count"] for o in json.loads(out)}
    assert found["suppressions_disagree"] == 2
    code, _, err = pmail(dsn, "analytics", "rebuild")
    assert code == 0 and "1 suppression" in err and "1 suppressions" not in err, err
    assert _rows(dsn) == before
    _agrees(dsn)


def test_another_tenant_is_never_seen(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """Tenants a and b both have a hard bounce for the same lead: each list holds its
    own; a's login sees a's rows only, whatever it sets, and stores a's evidence."""
    a, b = tenant_ids(conn)
    mine = _rows(two_tenants, "-t", "a")
    theirs = _rows(two_tenants, "-t", "b")
    assert [(r["address"], r["reason"]) for r in mine] == [(LEAD, "hard_bounce")]
    assert [(r["address"], r["reason"]) for r in theirs] == [(LEAD, "hard_bounce")]
    assert {r["first_key"] for r in mine}.isdisjoint({r["first_key"] for r in theirs})

    assert _rows(login_a, "-t", "a") == mine
    code, _, err = pmail(login_a, "suppressions", "-t", "b")
    assert code == 1 and "tenant 'b' does not exist" in err
    with psycopg.connect(login_a) as session:
        for widen in (
            "SELECT set_config('pmail.all_tenants', 'on', false)",
            f"SELECT set_config('pmail.tenant_id', '{b}', false)",
        ):
            session.execute(widen)
            for view in (
                "suppressions",
                "suppressions_expected",
                "suppression_evidence",
            ):
                seen = session.execute(
                    f"SELECT DISTINCT tenant_id::text FROM {view}"
                ).fetchall()
                assert seen == [(a,)], (widen, view)
        session.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            session.execute(
                "INSERT INTO suppressions VALUES (%s, 'x@y', 'complaint', NULL, 1, "
                "'k', now(), 'k', now(), NULL, NULL)",
                (b,),
            )
        session.rollback()
        # nor can it clear or rewrite b's list: by the refresh function named with
        # b's id (it may run, but sees and writes a's rows only), DELETE or UPDATE
        for attack in (
            ("SELECT pmail_refresh_suppressions(%s::uuid, ARRAY[%s])", (b, LEAD)),
            ("DELETE FROM suppressions WHERE tenant_id = %s::uuid", (b,)),
            ("UPDATE suppressions SET evidence = 99 WHERE tenant_id = %s::uuid", (b,)),
        ):
            try:
                session.execute(*attack)
                session.commit()
            except psycopg.errors.InsufficientPrivilege:
                session.rollback()
    assert _rows(two_tenants, "-t", "b") == theirs
    # a's login ingests an unsubscribe request: its trigger writes a's row only
    folder = tmp_path / "by-login"
    folder.mkdir()
    (folder / "0.eml").write_bytes(
        mailgen.simple(
            21,
            sender="new@example.com",
            to="sdr1@acme.test",
            subject="unsubscribe",
            message_id=f"<{uuid.uuid4()}@example.com>",
        )
    )
    code, _, err = pmail(login_a, "ingest", str(folder), "-t", "a")
    assert code == 0, err
    assert ("new@example.com", "unsubscribe") in {
        (r["address"], r["reason"]) for r in _rows(two_tenants, "-t", "a")
    }
    assert _rows(two_tenants, "-t", "b") == theirs
    _agrees(two_tenants)


def test_mail_stored_before_unsubscribes_were_read_gets_them_through_the_backfill(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """As after migration 0019 on a database whose replies were stored before 0016:
    their `unsubscribe` is NULL and the list lacks them. One batch runs (an upgrade
    killed after it), `pmail init-db` finishes from the cursor, and the list is what
    ingesting them now gives; an ordinary reply and another tenant's request stored
    after the backfill began are left as the writer made them."""
    asking = [
        mailgen.simple(
            20 + n,
            sender=f"lead{n}@example.com",
            to="sdr1@acme.test",
            subject=f"Re: Quick question {n}",
            body="Please remove me from your list.\n\n> Would a call make sense?",
        )
        for n in range(5)
    ]
    _ingest(dsn, tmp_path / "a", [*asking, _reply(1, 3)])
    expected = _brief(dsn)
    assert len(expected) == 5
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        conn.execute("UPDATE email_messages SET unsubscribe = NULL")
    assert _brief(dsn) == set()
    # the migration's statement, on this database as it now is
    migration = Path("sql/migrations/0019_unsubscribe_backfill.sql").read_text()
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        conn.execute(migration.replace("%", "%%"))
    # another tenant's request stored after the backfill began: read by the writer
    _ingest(dsn, tmp_path / "b", [asking[0]], tenant="beta")
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        conn.execute(
            "UPDATE email_messages SET unsubscribe = NULL WHERE tenant_id = "
            "(SELECT tenant_id FROM tenants WHERE name = 'beta')"
        )
    from pmail_cli.services import suppressions

    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        first = suppressions.unsubscribe_backfill_batch(conn, "unsubscribe:stored", 2)
        cursor = conn.execute(
            "SELECT after_key FROM pmail_backfills WHERE name = 'unsubscribe:stored'"
        ).fetchone()
    assert first == 2 and cursor is not None and cursor[0] is not None
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        read = conn.execute(
            "SELECT m.message_id FROM email_messages m JOIN tenants t USING (tenant_id) "
            "WHERE t.name = 'default' AND m.direction = 'inbound' "
            "ORDER BY m.tenant_id, m.storage_key LIMIT 2"
        ).fetchall()
    # the two read so far, less the ordinary reply if it was one of them
    assert len(_brief(dsn)) == sum(r[0] != "<reply-1@example.com>" for r in read)
    code, _, err = pmail(dsn, "init-db")
    assert code == 0, err
    with conn.transaction():
        left = conn.execute("SELECT count(*) FROM pmail_backfills").fetchone()
        conn.execute("SELECT pmail_scope_all_tenants()")
        beta = conn.execute(
            "SELECT count(*) FROM email_messages m "
            "JOIN tenants t USING (tenant_id) WHERE t.name = 'beta' "
            "AND m.unsubscribe IS NOT NULL"
        ).fetchone()
    assert left == (0,)
    assert beta == (0,)  # stored after the backfill began: not its to read
    assert _brief(dsn) == expected
    _agrees(dsn)


def _arf(n: int, *, rcpt: str, feedback_type: str = "abuse") -> bytes:
    """An ARF report (RFC 5965), from whoever sent it, naming `rcpt`."""
    lines = [
        "From: Feedback Loop <fbl@isp.example.net>",
        "To: sdr1@acme.test",
        "Subject: FW: Quick question",
        "Date: Tue, 05 Mar 2024 11:00:00 +0000",
        f"Message-ID: <arf-{n}@isp.example.net>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=feedback-report; boundary="ARF"',
        "",
        "--ARF",
        "Content-Type: text/plain",
        "",
        "This is an email abuse report.",
        "",
        "--ARF",
        "Content-Type: message/feedback-report",
        "",
        f"Feedback-Type: {feedback_type}",
        "User-Agent: isp-fbl/1.0",
        "Version: 1",
        f"Original-Rcpt-To: {rcpt}",
        "",
        "--ARF",
        "Content-Type: message/rfc822",
        "",
    ]
    original = mailgen.outbound(n, to=rcpt)
    return "\r\n".join(lines).encode() + b"\r\n" + original + b"\r\n--ARF--\r\n"


def test_csv_for_a_spreadsheet_never_holds_a_formula_from_mail(
    dsn: str, tmp_path: Path
) -> None:
    """Addresses and details that a bounce, a feedback report or a reply makes begin
    like a formula: csv gives each with a leading apostrophe (a spreadsheet shows it
    as text), JSON gives them as they came."""
    hostile = [
        mailgen.dsn(1, mailgen.outbound(1), recipient="=cmd|calc!a0@evil.test"),
        _arf(2, rcpt="+1+1@evil.test", feedback_type="=HYPERLINK(x)"),
        mailgen.simple(3, sender="-2+3@evil.test", to="sdr1@acme.test", subject="stop"),
        mailgen.simple(4, sender="@x@evil.test", to="sdr1@acme.test", subject="stop"),
    ]
    _ingest(dsn, tmp_path / "a", hostile)
    assert _brief(dsn) == {
        ("=cmd|calc!a0@evil.test", "hard_bounce", "userunknown", 1),
        ("+1+1@evil.test", "complaint", "=hyperlink(x)", 1),
        ("-2+3@evil.test", "unsubscribe", "subject", 1),
    }
    code, out, err = pmail(dsn, "suppressions", "--format", "csv")
    assert code == 0, err
    cells = {(line.split(",")[0], line.split(",")[2]) for line in out.splitlines()[1:]}
    assert cells == {
        ("'=cmd|calc!a0@evil.test", "userunknown"),
        ("'+1+1@evil.test", "'=hyperlink(x)"),
        ("'-2+3@evil.test", "subject"),
    }
    _agrees(dsn)


def test_hostile_evidence_is_stored_bounded_and_flagged(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """A bounce naming 10,000 recipients, addresses with control characters, a
    1 MB unsubscribing From: and a 3,000-character failed recipient are stored (one
    batch, nothing refused); the list holds at most the first 100 recipients of a
    notice, the over-long addresses are left out and said in the parse problems, and
    the controls of an address reach csv as control pictures."""
    many = mailgen.dsn(1, mailgen.outbound(1))
    blocks = "".join(
        f"Final-Recipient: rfc822; r{i}@example.com\r\nAction: failed\r\n"
        "Status: 5.1.1\r\n\r\n"
        for i in range(10_000)
    )
    many = many.replace(b"Final-Recipient:", blocks.encode() + b"Final-Recipient:", 1)
    huge = "a" * 1_000_000 + "@example.com"
    long_rcpt = "b" * 3_000 + "@example.com"
    hostile = [
        many,
        mailgen.simple(2, sender=huge, to="sdr1@acme.test", subject="unsubscribe"),
        mailgen.dsn(3, mailgen.outbound(3), recipient=long_rcpt),
        mailgen.dsn(4, mailgen.outbound(4), recipient="ctl\x00\x1b[31m@evil.test"),
        mailgen.simple(
            5, sender="nul\x00\x07me@evil.test", to="sdr1@acme.test", subject="stop"
        ),
    ]
    _ingest(dsn, tmp_path / "a", hostile)
    rows = _rows(dsn)
    by_key: dict[object, int] = {}
    for r in rows:
        by_key[r["last_key"]] = by_key.get(r["last_key"], 0) + 1
    # the first 100 of the 10,000, and one row each for the two with controls
    assert sorted(by_key.values()) == [1, 1, 100]
    assert all(len(str(r["address"])) <= 254 for r in rows)
    assert not any("\x00" in str(r["address"]) for r in rows)
    code, out, err = pmail(dsn, "suppressions", "--format", "csv")
    assert code == 0, err
    assert not set(out) & {chr(c) for c in range(32) if c != 10}
    assert "nul\u2407me@evil.test" in out  # BEL as its control picture
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        stored = {
            str(mid): problems
            for mid, problems in conn.execute(
                "SELECT message_id, parse_problems FROM email_messages "
                "WHERE direction = 'inbound'"
            ).fetchall()
        }
    assert len(stored) == 5
    assert stored["<msg-2@example.org>"] == [
        "address longer than 254 characters left out: 1 of From"
    ]
    assert stored["<dsn-3@mx.example.com>"] == [
        "address longer than 254 characters left out: 1 failed recipient"
    ]
    _agrees(dsn)


def test_a_tenant_login_cannot_plant_evidence_or_set_limits_elsewhere(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """a's login cannot change any tenant's soft-bounce limits, nor move or write
    evidence (a message, a failed recipient) into b to suppress b's lead; what it
    does to its own list is found by validate and undone by analytics rebuild."""
    a, b = tenant_ids(conn)
    theirs = _rows(two_tenants, "-t", "b")
    mine = _rows(two_tenants, "-t", "a")
    limits = conn.execute(
        "SELECT tenant_id::text, soft_bounce_limit, soft_bounce_days FROM tenants "
        "ORDER BY 1"
    ).fetchall()
    conn.commit()
    code, _, err = pmail(login_a, "tenant", "set", "b", "--soft-bounce-limit", "1")
    assert code == 1 and err.startswith("error: tenant 'b' does not exist"), err
    code, _, err = pmail(login_a, "tenant", "set", "a", "--soft-bounce-days", "1")
    assert code == 1 and err.startswith("error: permission denied"), err
    assert "Traceback" not in err
    with psycopg.connect(login_a, autocommit=True) as session:
        for attack in (
            "UPDATE tenants SET soft_bounce_limit = 1 WHERE tenant_id = %(b)s",
            "UPDATE tenants SET soft_bounce_days = 36600 WHERE tenant_id = %(a)s",
            "UPDATE email_messages SET tenant_id = %(b)s",
            "UPDATE delivery_facts SET tenant_id = %(b)s",
            "INSERT INTO delivery_facts (tenant_id, storage_key, recipient_index, "
            "reason, hard, recipient) SELECT %(b)s, storage_key, 99, 'userunknown', "
            "true, 'victim@example.com' FROM email_messages LIMIT 1",
            "INSERT INTO email_messages (tenant_id, storage_key, direction, status, "
            # (a key of pmail's own shape: any other a login may not store at all)
            "message_type, from_email, unsubscribe) VALUES (%(b)s, repeat('ab', 16), "
            "'inbound', 'received', 'email', 'victim@example.com', 'subject')",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                session.execute(attack, {"a": a, "b": b})
        # its own list: a's login may write it (as it may the rollups), though not
        # DELETE from it (0028) ...
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            session.execute("DELETE FROM suppressions")
        session.execute("UPDATE suppressions SET evidence = evidence + 99")
    assert _rows(two_tenants, "-t", "b") == theirs
    assert (
        conn.execute(
            "SELECT tenant_id::text, soft_bounce_limit, soft_bounce_days FROM tenants "
            "ORDER BY 1"
        ).fetchall()
        == limits
    )
    conn.commit()
    # ... but validate finds the damage and a rebuild undoes it
    code, out, _ = pmail(two_tenants, "validate", "-f", "json")
    found = {o["name"]: o["sample"] for o in json.loads(out)}
    assert code == 3 and found["suppressions_disagree"] == [
        f"a: suppressions {r['address']} {r['reason']}" for r in mine
    ]
    assert pmail(two_tenants, "analytics", "rebuild", "-t", "a")[0] == 0
    assert _rows(two_tenants, "-t", "a") == mine
    _agrees(two_tenants)


def test_purged_mail_stays_evidence_and_holds_change_nothing(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """Purge deletes the content of expired mail and keeps its message row and
    facts: the hard bounce and the unsubscribe request it held stay on the list, as
    does the held one, and the list still agrees with its evidence."""
    _ingest(
        dsn,
        tmp_path / "a",
        [
            mailgen.dsn(1, mailgen.outbound(1)),
            _reply(2, 2, "Please remove me from your list."),
            mailgen.dsn(
                3,
                mailgen.outbound(3, to="kept@example.com"),
                recipient="kept@example.com",
            ),
        ],
    )
    before = _rows(dsn)
    assert {(r["address"], r["reason"]) for r in before} == {
        (LEAD, "hard_bounce"),
        (LEAD, "unsubscribe"),
        ("kept@example.com", "hard_bounce"),
    }
    assert pmail(dsn, "tenant", "set", "default", "--retention-days", "1")[0] == 0
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        conn.execute("UPDATE email_messages SET created = created - interval '9 days'")
    held = _key(conn, "<dsn-3@mx.example.com>")
    code, _, err = pmail(
        dsn, "hold", "add", "-t", "default", "--storage-key", held, "--reason", "case"
    )
    assert code == 0, err
    code, _, err = pmail(dsn, "purge", "-t", "default")
    assert code == 0 and "1 kept by legal holds" in err, err
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        purged = conn.execute(
            "SELECT count(*) FROM email_messages WHERE purged_at IS NOT NULL"
        ).fetchone()
    assert purged == (2,)  # the bounce and the request; the held bounce is kept
    assert _rows(dsn) == before
    _agrees(dsn)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--since", "2024-13-01"), "error: Invalid value for '--since'"),
        (("--since", "yesterday"), "error: Invalid value for '--since'"),
        (("--since", "2024-03-01'; DROP TABLE x;--"), "error: Invalid value"),
        (("--format", "xml"), "error: Invalid value for '--format'"),
        (("--format", "csv;"), "error: Invalid value for '--format'"),
    ],
)
def test_bad_since_and_format_are_one_error_and_hint(
    dsn: str, args: tuple[str, ...], says: str
) -> None:
    """A bad --since or --format: one error: line and one hint: line, exit 2."""
    code, out, err = pmail(dsn, "suppressions", *args)
    lines = err.splitlines()
    assert (code, out) == (2, "")
    assert len(lines) == 2 and lines[0].startswith(says), err
    assert lines[1].startswith("hint: ")


def test_a_complaint_stays_and_an_auto_reply_lifts_nothing(
    dsn: str, tmp_path: Path
) -> None:
    """After soft bounces and a complaint from one lead: an out-of-office answer is
    no normal reply (the soft row stays), a normal reply lifts the soft row only
    (the complaint stays); not-spam and auth-failure reports are no evidence."""
    _limit(dsn, "2")
    _ingest(
        dsn,
        tmp_path / "a",
        [
            _soft(1, 1),
            _soft(2, 2),
            _arf(3, rcpt=LEAD),
            _arf(4, rcpt="fine@example.com", feedback_type="not-spam"),
            _arf(5, rcpt="dmarc@example.com", feedback_type="auth-failure"),
        ],
    )
    soft = (LEAD, "soft_bounce", "mailboxfull", 2)
    complaint = (LEAD, "complaint", "abuse", 1)
    assert _brief(dsn) == {soft, complaint}
    ooo = mailgen.auto_reply(6, "<out-2@acme.test>").replace(
        b"Tue, 05 Mar 2024 10:00:00", b"Sun, 10 Mar 2024 10:00:00"
    )
    _ingest(dsn, tmp_path / "b", [ooo])
    assert _brief(dsn) == {soft, complaint}
    _ingest(dsn, tmp_path / "c", [_reply(7, 11)])
    assert _brief(dsn) == {complaint}
    _agrees(dsn)


def test_the_list_changes_in_the_writing_transaction(dsn: str, conn: Conn) -> None:
    """A row of evidence written in a transaction puts its suppression there,
    seen before the commit; a rollback takes both away."""
    assert pmail(dsn, "tenant", "add", "default")[0] == 0
    conn.execute("SELECT pmail_scope_all_tenants()")
    conn.execute(
        "INSERT INTO email_messages (tenant_id, storage_key, direction, status, "
        "message_type, from_email, unsubscribe) SELECT tenant_id, 'k1', 'inbound', "
        "'received', 'email', 'Asker@Example.com', 'subject' FROM tenants"
    )
    assert conn.execute("SELECT address, reason FROM suppressions").fetchall() == [
        ("asker@example.com", "unsubscribe")
    ]
    conn.rollback()
    conn.execute("SELECT pmail_scope_all_tenants()")
    assert conn.execute("SELECT count(*) FROM suppressions").fetchone() == (0,)
    conn.rollback()


def test_the_unsubscribe_backfill_reads_held_mail(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """A stored reply asking to be removed, under a legal hold when the backfill of
    migration 0019 runs: `pmail init-db` fills in its reason (the hold lets it be
    filled, never changed) and the request reaches the list."""
    _ingest(dsn, tmp_path / "a", [_reply(1, 3, "Please remove me from your list.")])
    expected = _brief(dsn)
    assert expected == {(LEAD, "unsubscribe", "body: remove me from", 1)}
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        conn.execute("UPDATE email_messages SET unsubscribe = NULL")
        migration = Path("sql/migrations/0019_unsubscribe_backfill.sql").read_text()
        conn.execute(migration.replace("%", "%%"))
    code, _, err = pmail(dsn, "hold", "add", "-t", "default", "--reason", "case 9")
    assert code == 0, err
    assert _brief(dsn) == set()
    code, _, err = pmail(dsn, "init-db")
    assert code == 0, err
    assert _brief(dsn) == expected
    _agrees(dsn)


@pytest.mark.parametrize(
    "command",
    [
        ("tenant", "set", "default", "--soft-bounce-limit", "4"),
        ("analytics", "rebuild", "-t", "default"),
        ("init-db",),  # the unsubscribe backfill of a stored request
    ],
)
def test_recomputing_the_whole_list_waits_for_a_batch_in_flight(
    dsn: str, conn: Conn, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """A batch of the tenant is being written (it holds the tenant's write lock and
    has refreshed a suppressed address) when new limits, a rebuild or the unsubscribe
    backfill rewrite that address's rows: they wait for it, then write the list as
    the evidence says (before, the one that committed last hit a duplicate key)."""
    backfill = command == ("init-db",)
    asked = [_reply(2, 3, "Please remove me from your list.")] if backfill else []
    _ingest(dsn, tmp_path / "a", [mailgen.dsn(1, mailgen.outbound(1)), *asked])
    row = conn.execute("SELECT tenant_id FROM tenants").fetchone()
    if backfill:
        conn.execute("SELECT pmail_scope_all_tenants()")
        conn.execute("UPDATE email_messages SET unsubscribe = NULL")
        migration = Path("sql/migrations/0019_unsubscribe_backfill.sql").read_text()
        conn.execute(migration.replace("%", "%%"))
    conn.commit()
    assert row is not None
    batch = psycopg.connect(dsn)
    batch.execute("SELECT pmail_scope_all_tenants()")
    writer_repo.lock_tenant_writes(batch, tenant_id=uuid.UUID(str(row[0])))
    batch.execute(
        "INSERT INTO email_messages (tenant_id, storage_key, direction, status, "
        "message_type, from_email, unsubscribe) VALUES (%s, 'in-flight', "
        "'inbound', 'received', 'email', %s, 'subject')",
        (row[0], LEAD),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "pmail_cli", *command],
        env={**os.environ, "PMAIL_DSN": dsn},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_a_waiter(conn, f"{command}")
        batch.commit()
        _, err = proc.communicate(timeout=120)
    finally:
        batch.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert _brief(dsn) == {
        (LEAD, "hard_bounce", "userunknown", 1),
        (LEAD, "unsubscribe", "subject", 2 if backfill else 1),
    }
    # (validate also names the in-flight row's missing content: not this test's)
    _, out, _ = pmail(dsn, "validate", "-f", "json")
    found = {o["name"]: o["count"] for o in json.loads(out)}
    assert found["suppressions_disagree"] == 0


def test_each_tenant_counts_soft_bounces_by_its_own_limits(
    dsn: str, tmp_path: Path
) -> None:
    """Tenants a and b hold the same two soft bounces; a's limit is 2, b keeps the
    default 5: only a's list has the lead. Changing a's limits recomputes a's list
    and leaves b's alone."""
    for name in ("a", "b"):
        assert pmail(dsn, "tenant", "add", name)[0] == 0
    assert pmail(dsn, "tenant", "set", "a", "--soft-bounce-limit", "2")[0] == 0
    for name in ("a", "b"):
        _ingest(dsn, tmp_path / name, [_soft(1, 1), _soft(2, 2)], tenant=name)
    assert _brief(dsn, "-t", "a") == {(LEAD, "soft_bounce", "mailboxfull", 2)}
    assert _brief(dsn, "-t", "b") == set()
    assert pmail(dsn, "tenant", "set", "b", "--soft-bounce-limit", "2")[0] == 0
    assert _brief(dsn, "-t", "b") == {(LEAD, "soft_bounce", "mailboxfull", 2)}
    assert pmail(dsn, "tenant", "set", "a", "--soft-bounce-limit", "3")[0] == 0
    assert _brief(dsn, "-t", "a") == set()
    assert _brief(dsn, "-t", "b") == {(LEAD, "soft_bounce", "mailboxfull", 2)}
    _agrees(dsn)


def test_linking_after_a_legacy_migration_waits_for_a_batch_in_flight(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """migrate-legacy links the children stored before their parents once, at the
    end; a link rewrites the suppression rows of its address, as an ingest batch of
    the same tenant may be doing at that moment. The linking waits for the tenant's
    write lock (without it, the later commit hit a duplicate key)."""
    import threading

    from pmail_cli.services import migrate

    _ingest(dsn, tmp_path / "a", [mailgen.dsn(1, mailgen.outbound(1))])
    with connect(Settings(dsn=dsn, dsn_source="test")) as c:
        tenant = tenants.find_tenant(c, "default")
    batch = psycopg.connect(dsn)
    batch.execute("SELECT pmail_scope_all_tenants()")
    writer_repo.lock_tenant_writes(batch, tenant_id=tenant.tenant_id)
    linked: list[int] = []

    def link() -> None:
        with connect(Settings(dsn=dsn, dsn_source="test")) as c:
            linked.append(migrate._link_waiting(c, {tenant.tenant_id: tenant}))

    thread = threading.Thread(target=link)
    thread.start()
    try:
        wait_for_a_waiter(conn, "the linking")
        assert thread.is_alive()
    finally:
        batch.commit()
        batch.close()
        thread.join(timeout=60)
    assert linked == [0]
