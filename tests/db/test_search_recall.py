"""Recall of `pmail search` (docs/search.md): the names and addresses of From, To and
Cc are found by a plain word, stored mail gets them through the backfill, and a
tenant's search language stems its documents and queries without touching another
tenant's. Known answers on a real PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app
from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.errors import UsageError
from pmail_cli.query import parse_query
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import ingest, search, tenants
from pmail_cli.services.pipeline import PipelineOptions

pytestmark = pytest.mark.db
runner = CliRunner()
Conn = psycopg.Connection[tuple[object, ...]]


def _mail(name: str, *, head: list[str], body: str) -> bytes:
    lines = [
        *head,
        "Subject: a note",
        "Date: 01 Oct 2026 10:00:00 +0000",
        f"Message-ID: <{name}@test>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


MAIL: dict[str, bytes] = {
    # names and addresses only in the header fields, never in the body
    "names": _mail(
        "names",
        head=[
            'From: "Wilhelmina Quartz" <wq@zetaworks.test>',
            'To: "Ottoline Brandt" <ob@acme.test>, plain@acme.test',
            "Cc: Cornelius Vane <cv@acme.test>",
        ],
        body="Thanks for the call.",
    ),
    "globex": _mail(
        "globex",
        head=["From: bob.stone@mail.globex.com", "To: sdr1@acme.test"],
        body="Following up.",
    ),
    "mailbox": _mail(
        "mailbox",
        head=["From: lead@example.com", "To: sdr1@acme.test"],
        body="My mailbox is full, and the rate card is attached.",
    ),
    "mailboxes": _mail(
        "mailboxes",
        head=["From: lead2@example.com", "To: sdr1@acme.test"],
        body="Both mailboxes were moved.",
    ),
}


def _key(tenant: Tenant, name: str) -> str:
    return hashlib.sha256(tenant.tenant_id.bytes + MAIL[name]).hexdigest()[:32]


@pytest.fixture
def two(dsn: str, tmp_path: Path) -> Iterator[tuple[Conn, Tenant, Tenant]]:
    """Tenants acme and other, the same mail in each."""
    with connect(Settings(dsn=dsn, dsn_source="test")) as conn:
        for name in ("acme", "other"):
            scope = tenants.add_tenant(conn, name)
            folder = tmp_path / name
            folder.mkdir()
            for file, raw in MAIL.items():
                (folder / f"{file}.eml").write_bytes(raw)
            ingest.ingest_paths(
                conn, [str(folder)], tenant=scope, options=PipelineOptions(), jobs=1
            )
        yield (
            conn,
            tenants.find_tenant(conn, "acme"),
            tenants.find_tenant(conn, "other"),
        )


def _found(conn: Conn, tenant: Tenant, query: str) -> set[str]:
    by_key = {_key(tenant, n): n for n in MAIL}
    result = search.find_messages(conn, tenant, parse_query(query), limit=100)
    return {by_key[r.storage_key] for r in result.rows}


NAME_QUERIES = {
    "wilhelmina": {"names"},  # the sender's display name
    "ottoline brandt": {"names"},  # a To display name
    "cornelius": {"names"},  # a Cc display name (no quotes)
    "zetaworks": {"names"},  # a domain word
    "globex": {"globex"},  # a domain word of a subdomain
    "stone": {"globex"},  # a part of a local part
    "bob.stone@mail.globex.com": {"globex"},  # the whole address as a word
    "plain": {"names"},  # the local part of a To address
}


def test_names_and_addresses_are_found_by_plain_words(
    two: tuple[Conn, Tenant, Tenant],
) -> None:
    """Words only in display names and addresses are found without from:/to:."""
    conn, acme, _ = two
    for query, names in NAME_QUERIES.items():
        assert _found(conn, acme, query) == names, query


def test_stored_mail_gets_names_through_the_backfill(
    two: tuple[Conn, Tenant, Tenant], dsn: str
) -> None:
    """As after the migration on a database with mail: documents without names, the
    rebuild listed. One batch runs (a killed upgrade), `pmail init-db` finishes it
    from the cursor, and the names are found."""
    conn, acme, _ = two
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        conn.execute(
            "UPDATE search_documents AS d SET document = pmail_search_vector("
            "m.subject, NULL, NULL, c.content_text) FROM email_messages AS m "
            "JOIN email_content AS c ON c.tenant_id = m.tenant_id "
            "AND c.storage_key = m.storage_key "
            "WHERE m.tenant_id = d.tenant_id AND m.storage_key = d.storage_key"
        )
        conn.execute("INSERT INTO pmail_backfills (name) VALUES ('search_rebuild')")
    assert _found(conn, acme, "globex") == set()
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        first = conn.execute(
            "SELECT pmail_backfill_search_rebuild('search_rebuild', 3)"
        ).fetchone()
        cursor = conn.execute(
            "SELECT after_key FROM pmail_backfills WHERE name = 'search_rebuild'"
        ).fetchone()
    assert first == (3,) and cursor is not None and cursor[0] is not None
    out = runner.invoke(app, ["--dsn", dsn, "init-db"])
    assert out.exit_code == 0, out.stderr
    with conn.transaction():
        left = conn.execute("SELECT count(*) FROM pmail_backfills").fetchone()
    assert left == (0,)
    for query, names in NAME_QUERIES.items():
        assert _found(conn, acme, query) == names, query


def test_english_stems_and_simple_does_not(two: tuple[Conn, Tenant, Tenant]) -> None:
    """With english, `mailboxes` finds `mailbox` (and the other way round); with the
    default simple only the word as written. The other tenant keeps simple."""
    conn, acme, other = two
    assert acme.search_language == "simple"
    assert _found(conn, acme, "mailboxes") == {"mailboxes"}
    acme, looked_at = tenants.set_search_language(conn, acme, "english")
    assert acme.search_language == "english" and looked_at == len(MAIL)
    assert _found(conn, acme, "mailboxes") == {"mailbox", "mailboxes"}
    assert _found(conn, acme, "mailbox") == {"mailbox", "mailboxes"}
    assert _found(conn, acme, "globex") == {"globex"}  # names in english too
    # the other tenant: its setting, its documents, its answers unchanged
    other = tenants.find_tenant(conn, "other")
    assert other.search_language == "simple"
    assert _found(conn, other, "mailboxes") == {"mailboxes"}
    assert _found(conn, other, "mailbox") == {"mailbox"}
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        lexemes = conn.execute(
            "SELECT d.document::text FROM search_documents AS d "
            "WHERE d.tenant_id = %s AND d.storage_key = %s",
            (other.tenant_id, _key(other, "mailboxes")),
        ).fetchone()
    assert lexemes is not None and "'mailboxes'" in str(lexemes[0])
    # back to simple: the documents are rebuilt again
    acme, _ = tenants.set_search_language(conn, acme, "simple")
    assert _found(conn, acme, "mailboxes") == {"mailboxes"}


def test_phrases_under_english(two: tuple[Conn, Tenant, Tenant]) -> None:
    """A phrase still needs its words adjacent and in order, stemmed or not."""
    conn, acme, _ = two
    acme, _ = tenants.set_search_language(conn, acme, "english")
    assert _found(conn, acme, '"rate card"') == {"mailbox"}
    assert _found(conn, acme, '"rate cards"') == {"mailbox"}
    assert _found(conn, acme, '"card rate"') == set()
    assert _found(conn, acme, '"mailboxes is full"') == {"mailbox"}
    assert _found(conn, acme, '"mailbox attached"') == set()


def test_new_mail_uses_the_tenants_language(
    two: tuple[Conn, Tenant, Tenant], tmp_path: Path
) -> None:
    """Mail ingested after the change is indexed in the tenant's language."""
    conn, acme, _ = two
    acme, _ = tenants.set_search_language(conn, acme, "english")
    folder = tmp_path / "later"
    folder.mkdir()
    raw = _mail("later", head=["From: x@example.com"], body="Two inboxes here.")
    (folder / "later.eml").write_bytes(raw)
    ingest.ingest_paths(
        conn, [str(folder)], tenant=acme, options=PipelineOptions(), jobs=1
    )
    key = hashlib.sha256(acme.tenant_id.bytes + raw).hexdigest()[:32]
    rows = search.find_messages(conn, acme, parse_query("inbox"), limit=10).rows
    assert [r.storage_key for r in rows] == [key]


def test_unknown_language_is_refused_with_the_allowed_ones(
    two: tuple[Conn, Tenant, Tenant], dsn: str
) -> None:
    """A closed vocabulary: the server's configurations, listed in the hint."""
    conn, acme, _ = two
    with pytest.raises(UsageError) as refused:
        tenants.set_search_language(conn, acme, "klingon")
    assert refused.value.hint is not None and "english" in refused.value.hint
    assert tenants.find_tenant(conn, "acme").search_language == "simple"
    base = ["--dsn", dsn]
    out = runner.invoke(app, [*base, "tenant", "set", "acme", "--search-language", "x"])
    assert out.exit_code == 2 and "error:" in out.stderr
    assert "hint:" in out.stderr and "simple" in out.stderr
    out = runner.invoke(
        app, [*base, "tenant", "set", "acme", "--search-language", "English"]
    )
    assert out.exit_code == 0, out.stderr
    assert "full-text search on (english)" in out.stderr
    assert f"rebuilt: {len(MAIL)} messages" in out.stderr
    out = runner.invoke(app, [*base, "search", "mailboxes", "-t", "acme", "-f", "json"])
    assert out.exit_code == 0 and "**mailbox**" in out.stdout  # the snippet too
