"""Classification stored on ingest, and replies/bounces linked to their outbound parents."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.services import ingest, tenants
from pmail_cli.services.pipeline import PipelineOptions
from tests import mailgen

pytestmark = pytest.mark.db
Conn = psycopg.Connection[tuple[object, ...]]


def _ingest(dsn: str, tmp_path: Path, name: str, raws: list[bytes]) -> int:
    folder = tmp_path / name
    folder.mkdir()
    for i, raw in enumerate(raws):
        (folder / f"{i}.eml").write_bytes(raw)
    with connect(Settings(dsn=dsn, dsn_source="test")) as conn:
        scope = tenants.use_tenant(conn, None)
        tenants.add_account(conn, scope, email="sdr1@acme.test")
        result = ingest.ingest_paths(
            conn, [str(folder)], tenant=scope, options=PipelineOptions(), jobs=1
        )
    return result.pipeline.linked


def _row(conn: Conn, message_id: str) -> tuple[object, ...]:
    row = conn.execute(
        "SELECT m.direction, m.message_type, m.status, p.message_id, m.campaign_id::text, "
        "m.lead_id::text FROM email_messages m LEFT JOIN email_messages p "
        "ON p.tenant_id = m.tenant_id AND p.storage_key = m.parent_storage_key "
        "WHERE m.message_id = %s",
        (message_id,),
    ).fetchone()
    conn.commit()
    assert row is not None
    return row


def test_reply_links_to_outbound_and_carries_campaign(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """A reply gets the outbound parent's campaign and lead, and the parent becomes replied."""
    out = mailgen.outbound(1)
    assert (
        _ingest(dsn, tmp_path, "a", [out, mailgen.reply(1, "<out-1@acme.test>")]) == 1
    )
    assert _row(conn, "<out-1@acme.test>")[:3] == ("outbound", "email", "replied")
    assert _row(conn, "<reply-1@example.com>") == (
        "inbound",
        "email",
        "received",
        "<out-1@acme.test>",
        mailgen.CAMPAIGN,
        mailgen.LEAD,
    )


def test_bounce_links_through_returned_original(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """A DSN links through the message returned inside it and stores per-recipient facts."""
    out = mailgen.outbound(2)
    _ingest(dsn, tmp_path, "a", [out])
    _ingest(dsn, tmp_path, "b", [mailgen.dsn(2, out)])
    assert _row(conn, "<out-2@acme.test>")[2] == "bounced"
    assert _row(conn, "<dsn-2@mx.example.com>")[1:4] == (
        "bounce",
        "received",
        "<out-2@acme.test>",
    )
    facts = conn.execute(
        "SELECT recipient, action, status, reply_code, reason, hard FROM delivery_facts"
    ).fetchall()
    assert facts == [("lead@example.com", "failed", "5.1.1", 550, "userunknown", True)]


def test_reply_before_parent_links_when_parent_arrives(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """Mail that arrives before its parent is linked once the parent is ingested."""
    _ingest(dsn, tmp_path, "a", [mailgen.reply(3, "<out-3@acme.test>")])
    assert _row(conn, "<reply-3@example.com>")[3] is None
    assert _ingest(dsn, tmp_path, "b", [mailgen.outbound(3)]) == 1
    assert _row(conn, "<reply-3@example.com>")[3:] == (
        "<out-3@acme.test>",
        mailgen.CAMPAIGN,
        mailgen.LEAD,
    )
    assert _row(conn, "<out-3@acme.test>")[2] == "replied"


def test_auto_reply_does_not_overwrite_replied(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """An out-of-office after a real reply leaves the outbound row 'replied'."""
    _ingest(
        dsn, tmp_path, "a", [mailgen.outbound(4), mailgen.reply(4, "<out-4@acme.test>")]
    )
    _ingest(dsn, tmp_path, "b", [mailgen.auto_reply(4, "<out-4@acme.test>")])
    assert _row(conn, "<ooo-4@example.com>")[1] == "auto_reply"
    assert _row(conn, "<out-4@acme.test>")[2] == "replied"
    until = conn.execute(
        "SELECT auto_reply_until FROM email_messages WHERE message_type = 'auto_reply'"
    ).fetchone()
    assert until is not None and str(until[0]) == "2024-03-12"


def test_corpus_sample_is_classified_on_ingest(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """The bundled real sample gets bounce, complaint and auto-reply types when ingested."""
    sample = Path(__file__).resolve().parents[1] / "data" / "sample"
    with connect(Settings(dsn=dsn, dsn_source="test")) as c:
        scope = tenants.use_tenant(c, None)
        ingest.ingest_paths(
            c, [str(sample)], tenant=scope, options=PipelineOptions(), jobs=1
        )
    kinds = {
        str(r[0])
        for r in conn.execute("SELECT DISTINCT message_type FROM email_messages")
    }
    assert kinds == {"bounce", "complaint", "auto_reply", "email", "read_receipt"}
