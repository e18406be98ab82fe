"""`pmail list` / `pmail search` on a real PostgreSQL: every filter and query form gives
exactly the expected keys (known answers), ranking, pagination, languages, a 5 MB body,
another tenant's mail never seen."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app
from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.errors import NotFound, UsageError
from pmail_cli.query import Filters, from_fields, parse_query
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import ingest, search, tenants
from pmail_cli.services.pipeline import PipelineOptions
from tests import mailgen

pytestmark = pytest.mark.db
runner = CliRunner()
Conn = psycopg.Connection[tuple[object, ...]]


def _mail(
    name: str,
    *,
    day: int,
    sender: str = "lead@example.com",
    to: str = "sdr1@acme.test",
    subject: str = "hello",
    body: str = "Hi there.",
    extra: str = "",
) -> bytes:
    head = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {day:02d} Oct 2026 10:00:00 +0000",
        f"Message-ID: <{name}@test>",
        *([extra] if extra else []),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


# name → message; days decide the newest-first order (day 20 is the newest)
MAIL: dict[str, bytes] = {
    "pricing": _mail(
        "pricing", day=1, body="Could you send me your pricing and the rate card?"
    ),
    "subject-pricing": _mail(
        "subject-pricing", day=2, subject="Pricing question", body="See subject."
    ),
    "ratecard": _mail("ratecard", day=3, body="The card rate is fine, thanks."),
    "invoice": _mail(
        "invoice",
        day=4,
        sender="bob@example.com",
        subject="Invoice 2026-114",
        body="Invoice attached as discussed. No pricing changes.",
    ),
    "japanese": _mail(
        "japanese", day=5, body="お世話になっております。請求書を送付いたします。"
    ),
    "russian": _mail(
        "russian", day=6, sender="ivan@example.ru", body="Добрый день! Высылаю счёт."
    ),
    "outbound": mailgen.outbound(7),  # sdr1 → lead@example.com, campaign + lead
    "deck": mailgen.with_attachment(8, mailgen.pdf_bytes(8), filename="Pricing.pdf"),
}
MAIL["bounce"] = mailgen.dsn(9, MAIL["outbound"])  # hard, userunknown
MAIL["full"] = mailgen.dsn(
    10,
    mailgen.outbound(11, to="carol@example.net"),
    status="4.2.2",
    code=452,
    recipient="carol@example.net",
    text="mailbox full",
)
MAIL["reply"] = mailgen.reply(12, "<out-7@acme.test>")


def _key(tenant: Tenant, name: str) -> str:
    return hashlib.sha256(tenant.tenant_id.bytes + MAIL[name]).hexdigest()[:32]


@pytest.fixture
def acme(dsn: str, tmp_path: Path) -> Iterator[tuple[psycopg.Connection, Tenant]]:
    """Tenant acme with MAIL; tenant other with the same mail (other keys)."""
    with connect(Settings(dsn=dsn, dsn_source="test")) as conn:
        for name in ("acme", "other"):
            scope = tenants.add_tenant(conn, name)
            tenants.add_account(conn, scope, email="sdr1@acme.test")
            folder = tmp_path / name
            folder.mkdir()
            for file, raw in MAIL.items():
                (folder / f"{file}.eml").write_bytes(raw)
            ingest.ingest_paths(
                conn, [str(folder)], tenant=scope, options=PipelineOptions(), jobs=1
            )
        yield conn, tenants.find_tenant(conn, "acme")


def _names(
    acme: tuple[psycopg.Connection, Tenant],
    filters: Filters,
    sort: search.Sort = search.Sort.relevance,
) -> list[str]:
    conn, tenant = acme
    by_key = {_key(tenant, n): n for n in MAIL}
    result = search.find_messages(conn, tenant, filters, sort=sort, limit=100)
    assert not result.more
    return [by_key[r.storage_key] for r in result.rows]


def _found(acme: tuple[psycopg.Connection, Tenant], query: str) -> set[str]:
    return set(_names(acme, parse_query(query)))


def test_list_is_newest_first_and_filters_give_known_answers(
    acme: tuple[psycopg.Connection, Tenant],
) -> None:
    """Each filter alone returns exactly the expected messages."""
    every = _names(acme, Filters())
    assert len(every) == len(MAIL)
    assert every.index("russian") < every.index("japanese") < every.index("pricing")
    expect = {
        "type:bounce": {"bounce", "full"},
        "type:bounce class:hard": {"bounce"},
        "class:soft": {"full"},
        "reason:mailboxfull": {"full"},
        "rcpt:carol@example.net": {"full"},
        "direction:outbound": {"outbound", "deck"},
        "status:bounced": {"outbound"},
        "from:bob@example.com": {"invoice"},
        "from:example.ru": {"russian"},
        "from:mailer-daemon": {"bounce", "full"},
        "to:lead@example.com": {"outbound"},
        f"campaign:{mailgen.CAMPAIGN}": {"outbound", "bounce", "reply"},
        f"lead:{mailgen.LEAD}": {"outbound", "bounce", "reply"},
        "account:sdr1@acme.test": {"outbound", "deck", "bounce", "reply"},
        "has:attachment": {"deck"},
        "mime:pdf": {"deck"},
        "mime:application/*": {"deck"},
        "after:2026-10-05 before:2026-10-06": {"japanese", "russian"},
        "before:2026-09-30": {"outbound", "deck", "bounce", "full", "reply"},
    }
    for query, names in expect.items():
        assert _found(acme, query) == names, query


def test_thread_is_the_message_and_everything_linked(
    acme: tuple[psycopg.Connection, Tenant],
) -> None:
    """thread: from the reply, the bounce or the original gives the same three."""
    _, tenant = acme
    for start in ("reply", "bounce", "outbound"):
        key = _key(tenant, start)[:10]
        assert _found(acme, f"thread:{key}") == {"outbound", "bounce", "reply"}


FULL_TEXT_FORMS = {
    "pricing": {"pricing", "subject-pricing", "invoice", "deck"},
    '"rate card"': {"pricing"},
    "rate card": {"pricing", "ratecard"},
    'invoice OR "rate card"': {"pricing", "invoice"},
    "pricing -invoice": {"pricing", "subject-pricing", "deck"},
    "subject:pricing": {"subject-pricing"},
    "filename:pricing": {"deck"},
    "pricing from:bob@example.com": {"invoice"},
    "pricing has:attachment": {"deck"},
    "請求書": {"japanese"},
    "送付": {"japanese"},
    "счёт": {"russian"},
    "mailbox full type:bounce": {"full"},
}


def test_full_text_query_forms(acme: tuple[psycopg.Connection, Tenant]) -> None:
    """Words, phrases, OR, negation, subject:, filename:, fields combined."""
    for query, names in FULL_TEXT_FORMS.items():
        assert _found(acme, query) == names, query


def test_ranking_puts_the_subject_match_first(
    acme: tuple[psycopg.Connection, Tenant],
) -> None:
    """A word in the subject outranks the same word in a body; newest-first sort
    ignores rank."""
    ranked = _names(acme, parse_query("pricing"))
    assert ranked[0] == "subject-pricing"
    newest = _names(acme, parse_query("pricing"), sort=search.Sort.newest)
    assert newest == ["invoice", "subject-pricing", "pricing", "deck"]  # deck: 2024


@pytest.mark.parametrize("query", ["", "pricing OR hello OR hi OR rate"])
def test_pages_return_every_row_once(
    acme: tuple[psycopg.Connection, Tenant], query: str
) -> None:
    """Keyset pages of 2 (newest first, and ranked) cover the one-page answer."""
    conn, tenant = acme
    filters = parse_query(query)
    whole = search.find_messages(conn, tenant, filters, limit=100).rows
    assert len(whole) >= 4
    seen: list[str] = []
    after: str | None = None
    while True:
        page = search.find_messages(conn, tenant, filters, limit=2, after=after)
        seen += [r.storage_key for r in page.rows]
        if not page.more:
            break
        after = page.rows[-1].storage_key
    assert seen == [r.storage_key for r in whole]
    assert search.count_messages(conn, tenant, filters) == len(whole)


def test_a_5_mb_body_is_indexed_and_found(dsn: str, tmp_path: Path) -> None:
    """A 5 MB text body stores and indexes without error; its first words are found,
    words past the indexed head are not (docs/search.md)."""
    words = " ".join(f"w{i}" for i in range(700_000))
    assert len(words) > 5_000_000
    raw = _mail("big", day=1, body="zanzibar " + words + " tailword")
    (tmp_path / "big.eml").write_bytes(raw)
    with connect(Settings(dsn=dsn, dsn_source="test")) as conn:
        scope = tenants.add_tenant(conn, "big")
        ingest.ingest_paths(
            conn, [str(tmp_path)], tenant=scope, options=PipelineOptions(), jobs=1
        )
        found = search.find_messages(conn, scope, parse_query("zanzibar w1000"))
        assert len(found.rows) == 1
        assert "zanzibar" in (found.rows[0].snippet or "")
        assert search.count_messages(conn, scope, parse_query("tailword")) == 0


def test_another_tenants_rows_never_appear(
    acme: tuple[psycopg.Connection, Tenant],
) -> None:
    """The same mail in tenant other: acme's searches return acme's keys only."""
    conn, tenant = acme
    other = tenants.find_tenant(conn, "other")
    mine = {_key(tenant, n) for n in MAIL}
    theirs = {_key(other, n) for n in MAIL}
    for query in ("", "pricing", "type:bounce", "from:example.com"):
        keys = {
            r.storage_key
            for r in search.find_messages(conn, tenant, parse_query(query)).rows
        }
        assert keys and keys <= mine and not keys & theirs, query
    with pytest.raises(NotFound):
        search.find_messages(
            conn, tenant, Filters(), after=_key(other, "pricing"), limit=5
        )


def test_search_off_and_on_again(acme: tuple[psycopg.Connection, Tenant]) -> None:
    """Off drops the documents and refuses word queries (fields still work); on
    builds them again for stored mail, with the same answers."""
    conn, tenant = acme
    before = _found(acme, "pricing")
    tenant = tenants.set_search(conn, tenant, "off")
    assert not tenant.search_index
    with pytest.raises(UsageError, match="no full-text index"):
        search.find_messages(conn, tenant, parse_query("pricing"))
    assert search.count_messages(conn, tenant, parse_query("type:bounce")) == 2
    tenant = tenants.set_search(conn, tenant, "on")
    assert _found((conn, tenant), "pricing") == before


def test_options_and_query_fields_are_the_same_filters() -> None:
    """--from/--type/--since as options equal from:/type:/after: in the query."""
    now = datetime(2026, 11, 28, tzinfo=UTC)
    options = from_fields(
        [
            ("from", "Bob@Example.com", "--from"),
            ("type", "bounce", "--type"),
            ("after", "30d", "--since"),
        ],
        now=now,
    )
    fields = parse_query("from:bob@example.com type:bounce after:30d", now=now)
    assert options == fields
    with pytest.raises(UsageError, match="given twice"):
        options.merged(parse_query("after:2026-01-01", now=now))


def test_cli_list_search_count_and_errors(
    acme: tuple[psycopg.Connection, Tenant], dsn: str
) -> None:
    """The commands as a user runs them: csv with whole keys, --count, a snippet with
    marked words, clear errors for a bad date and an unknown key."""
    _, tenant = acme
    base = ["--dsn", dsn]
    out = runner.invoke(
        app, [*base, "list", "-t", "acme", "--type", "bounce", "-f", "csv"]
    )
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "key,date,direction,type,status,from,to,subject"
    assert {line.split(",")[0] for line in lines[1:]} == {
        _key(tenant, "bounce"),
        _key(tenant, "full"),
    }
    out = runner.invoke(app, [*base, "search", "rate card", "-t", "acme", "--count"])
    assert out.exit_code == 0 and out.stdout.strip() == "2"
    out = runner.invoke(
        app, [*base, "search", '"rate card"', "-t", "acme", "-f", "json"]
    )
    assert out.exit_code == 0 and "**rate** **card**" in out.stdout
    out = runner.invoke(app, [*base, "list", "-t", "acme", "--since", "last week"])
    assert out.exit_code == 2 and "error: 'last week' is not a date" in out.stderr
    out = runner.invoke(app, [*base, "list", "-t", "acme", "--after", "ffffffffff"])
    assert out.exit_code == 1 and "no message with storage key" in out.stderr
    out = runner.invoke(app, [*base, "list", "-t", "acme", "--class", "medium"])
    assert out.exit_code == 2 and "hint:" in out.stderr


def test_stored_mail_gets_documents_in_resumable_batches(
    acme: tuple[psycopg.Connection, Tenant], dsn: str, conn: Conn
) -> None:
    """As after migration 0009 on a database with mail: documents missing and the
    backfill listed. One batch runs (as if the upgrade were killed after it), then
    `pmail init-db` finishes the job from the cursor; search finds old mail again."""
    conn.execute("DELETE FROM search_documents")
    conn.execute("INSERT INTO pmail_backfills (name) VALUES ('search_documents')")
    conn.commit()
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        first = conn.execute("SELECT pmail_backfill_search_documents(3)").fetchone()
    assert first == (3,)
    cursor = conn.execute("SELECT after_key FROM pmail_backfills").fetchone()
    assert cursor is not None and cursor[0] is not None
    built = conn.execute("SELECT count(*) FROM search_documents").fetchone()
    assert built == (3,)
    out = runner.invoke(app, ["--dsn", dsn, "init-db"])
    assert out.exit_code == 0, out.stderr
    assert f"brought stored mail up to date ({2 * len(MAIL) - 3:,} messages read)" in (
        out.stderr
    )
    left = conn.execute(
        "SELECT count(*) FILTER (WHERE d.storage_key IS NULL), count(*)"
        " FROM email_content AS c LEFT JOIN search_documents AS d"
        " ON d.tenant_id = c.tenant_id AND d.storage_key = c.storage_key"
    ).fetchone()
    assert left is not None and left[0] == 0 and left[1] == 2 * len(MAIL)
    assert conn.execute("SELECT count(*) FROM pmail_backfills").fetchone() == (0,)
    assert _found(acme, "pricing") == {"pricing", "subject-pricing", "invoice", "deck"}


def test_documents_moved_out_of_email_content_in_resumable_batches(
    acme: tuple[psycopg.Connection, Tenant], dsn: str, conn: Conn
) -> None:
    """As before migration 0020 on a database with mail: the documents in
    email_content.search_vector (with its GIN index), search_documents empty, the move
    listed. Search finds the same, ranked the same, before the move, after one batch
    (a killed upgrade: half moved), and after `pmail init-db` finished it; then every
    document is in search_documents with its message's facts, none is left in
    email_content, and email_content's index is gone."""
    ranked = _names(acme, parse_query("pricing"))
    conn.execute(
        "UPDATE email_content AS c SET search_vector = d.document"
        " FROM search_documents AS d"
        " WHERE d.tenant_id = c.tenant_id AND d.storage_key = c.storage_key"
    )
    conn.execute("DELETE FROM search_documents")
    conn.execute(
        "CREATE INDEX idx_email_content_search ON email_content USING gin (search_vector)"
    )
    conn.execute("INSERT INTO pmail_backfills (name) VALUES ('search_move')")
    conn.commit()

    def same_answers() -> None:
        for query, names in FULL_TEXT_FORMS.items():
            assert _found(acme, query) == names, query
        assert _names(acme, parse_query("pricing")) == ranked

    same_answers()
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        first = conn.execute("SELECT pmail_backfill_search_move(3)").fetchone()
    assert first == (3,)
    half = conn.execute(
        "SELECT count(*), (SELECT count(search_vector) FROM email_content)"
        " FROM search_documents"
    ).fetchone()
    assert half == (3, 2 * len(MAIL) - 3)
    same_answers()
    conn.commit()  # no transaction of the test's holds email_content while it ends
    out = runner.invoke(app, ["--dsn", dsn, "init-db"])
    assert out.exit_code == 0, out.stderr
    left = conn.execute(
        "SELECT count(*) FILTER (WHERE d.storage_key IS NULL"
        "   OR d.date <> coalesce(m.sent_at, m.created)"
        "   OR d.message_type <> m.message_type OR d.direction <> m.direction),"
        " count(c.search_vector), count(*)"
        " FROM email_content AS c"
        " JOIN email_messages AS m"
        "   ON m.tenant_id = c.tenant_id AND m.storage_key = c.storage_key"
        " LEFT JOIN search_documents AS d"
        "   ON d.tenant_id = c.tenant_id AND d.storage_key = c.storage_key"
    ).fetchone()
    assert left == (0, 0, 2 * len(MAIL))
    assert conn.execute("SELECT count(*) FROM pmail_backfills").fetchone() == (0,)
    index = conn.execute("SELECT to_regclass('idx_email_content_search')").fetchone()
    assert index == (None,)
    same_answers()
