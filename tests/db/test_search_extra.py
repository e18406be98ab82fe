"""Words outside a message's text body (migration 0021, docs/search.md): the HTML
alternative's own words, an enclosed message (ranked below the original), address
parts inside the body text and calendar parts are found; every path that builds a
document builds the same one; stored mail gets them through the backfill, and
validate finds nothing stale. Known answers on a real PostgreSQL."""

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
from pmail_cli.query import parse_query
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import ingest, search, searchextra, tenants
from pmail_cli.services.pipeline import PipelineOptions
from tests.searchmail import alternative, bounce, invitation, plain

pytestmark = pytest.mark.db
runner = CliRunner()
Conn = psycopg.Connection[tuple[object, ...]]

ORIGINAL = plain("original", body="The quarterly marmalade report is ready.")
MAIL: dict[str, bytes] = {
    "alternative": alternative(
        "alternative",
        text="Our offer for you.",
        html="<p>Our offer for you. See the <b>zanzibar</b> deck.</p>",
    ),
    "same": alternative(
        "same", text="Pricing for you.", html="<p>Pricing <i>for</i> you.</p>"
    ),
    "original": ORIGINAL,
    "bounce": bounce("bounce", returned=ORIGINAL, headers=None),
    "headers": bounce(
        "headers",
        returned=None,
        headers="From: sally@acme.test\r\nTo: lead@example.test\r\n"
        "Subject: flamingo budget",
    ),
    "address": plain(
        "address", body="Write to anthony.taylor@harborlogistics.io today."
    ),
    "invitation": invitation("invitation"),
}


def _key(tenant: Tenant, name: str) -> str:
    return hashlib.sha256(tenant.tenant_id.bytes + MAIL[name]).hexdigest()[:32]


@pytest.fixture
def acme(dsn: str, tmp_path: Path) -> Iterator[tuple[Conn, Tenant]]:
    """Tenant acme with MAIL ingested."""
    with connect(Settings(dsn=dsn, dsn_source="test")) as conn:
        scope = tenants.add_tenant(conn, "acme")
        for file, raw in MAIL.items():
            (tmp_path / f"{file}.eml").write_bytes(raw)
        ingest.ingest_paths(
            conn, [str(tmp_path)], tenant=scope, options=PipelineOptions(), jobs=1
        )
        yield conn, tenants.find_tenant(conn, "acme")


def _found(conn: Conn, tenant: Tenant, query: str) -> list[str]:
    """The names of the messages found, in rank order."""
    by_key = {_key(tenant, n): n for n in MAIL}
    result = search.find_messages(conn, tenant, parse_query(query), limit=100)
    return [by_key[r.storage_key] for r in result.rows]


QUERIES: dict[str, list[str]] = {
    "zanzibar": ["alternative"],  # only in the HTML alternative
    "pricing": ["same"],  # in both alternatives
    "flamingo": ["headers"],  # only in the returned headers' Subject
    "harborlogistics": ["address"],  # a part of an address inside the body
    "taylor": ["address"],
    "anthony.taylor@harborlogistics.io": ["address"],  # the address whole, as before
    "quokka": ["invitation"],  # the calendar's SUMMARY
    "walrus": ["invitation"],  # its DESCRIPTION
    "ocelot": ["invitation"],  # its LOCATION
    "ingrid vasquez": ["invitation"],  # an attendee's name
    "penguinfoods": ["invitation"],  # a part of an attendee's address
    "marmalade": ["original", "bounce"],  # the original ranks above its bounce
}


def test_words_outside_the_text_body_are_found(acme: tuple[Conn, Tenant]) -> None:
    """Each query finds exactly its messages, the original above its bounce."""
    conn, tenant = acme
    for query, names in QUERIES.items():
        assert _found(conn, tenant, query) == names, query
    assert _found(conn, tenant, "marmalade type:bounce") == ["bounce"]
    assert _found(conn, tenant, "subject:flamingo") == []  # not the bounce's subject


def test_the_enclosed_message_ranks_below_the_original(
    acme: tuple[Conn, Tenant],
) -> None:
    """The bounce is newer and holds the word as often, but at the lowest weight."""
    conn, tenant = acme
    result = search.find_messages(conn, tenant, parse_query("marmalade"), limit=10)
    ranks = {r.storage_key: r.rank or 0.0 for r in result.rows}
    assert ranks[_key(tenant, "original")] > ranks[_key(tenant, "bounce")] > 0


def test_the_same_alternatives_add_nothing(acme: tuple[Conn, Tenant]) -> None:
    """Mail whose two alternatives say the same, and plain mail without addresses in
    its text, stores no extra text."""
    conn, tenant = acme
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        found = conn.execute(
            "SELECT storage_key, (search_extra, search_enclosed)::text "
            "FROM email_content"
        ).fetchall()
    rows = {str(key): str(texts) for key, texts in found}
    assert rows[_key(tenant, "same")] == "(,)"
    assert rows[_key(tenant, "original")] == "(,)"
    assert rows[_key(tenant, "alternative")] == '("See the zanzibar deck",)'


def _documents(conn: Conn) -> dict[str, str]:
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        rows = conn.execute(
            "SELECT storage_key, document::text FROM search_documents"
        ).fetchall()
    return {str(k): str(d) for k, d in rows}


def _validate_clean(dsn: str) -> None:
    out = runner.invoke(app, ["--dsn", dsn, "validate"])
    assert out.exit_code == 0, out.stdout + out.stderr


def test_every_rebuild_builds_the_writers_document(
    acme: tuple[Conn, Tenant], dsn: str
) -> None:
    """`tenant set --search off/on`, `--search-language` there and back, validate
    --repair and the SQL rebuild give the documents the writer gave; validate finds
    nothing stale."""
    conn, _ = acme
    written = _documents(conn)
    assert len(written) == len(MAIL)
    _validate_clean(dsn)
    for args in (["--search", "off"], ["--search", "on"]):
        out = runner.invoke(app, ["--dsn", dsn, "tenant", "set", "acme", *args])
        assert out.exit_code == 0, out.stderr
    assert _documents(conn) == written
    for language in ("english", "simple"):
        tenants.set_search_language(conn, tenants.find_tenant(conn, "acme"), language)
    assert _documents(conn) == written
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        conn.execute("DELETE FROM search_documents")
    out = runner.invoke(app, ["--dsn", dsn, "validate", "--repair"])
    assert out.exit_code in (0, 3), out.stderr
    assert _documents(conn) == written
    _validate_clean(dsn)


def test_stored_mail_gets_the_extra_text_through_the_backfill(
    acme: tuple[Conn, Tenant], dsn: str
) -> None:
    """As on a database upgraded to 0021: no extra text, documents without it, the
    backfill listed. One batch runs (a killed upgrade), `pmail init-db` finishes it
    from its cursor; the documents are then the writer's and validate is clean."""
    conn, tenant = acme
    written = _documents(conn)
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        conn.execute(
            "UPDATE email_content SET search_extra = NULL, search_enclosed = NULL"
        )
        conn.execute("UPDATE search_documents SET document = to_tsvector('old')")
        # held mail gets its texts too (a search cache, as its document)
        conn.execute("UPDATE email_content SET legal_hold = true")
        conn.execute(
            "INSERT INTO pmail_backfills (name) VALUES ('search_extra:stored')"
        )
    assert _found(conn, tenant, "zanzibar") == []
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        assert searchextra.backfill_batch(conn, "search_extra:stored", 3) == 3
    with conn.transaction():
        cursor = conn.execute(
            "SELECT after_key FROM pmail_backfills WHERE name = 'search_extra:stored'"
        ).fetchone()
    assert cursor is not None and cursor[0] is not None
    out = runner.invoke(app, ["--dsn", dsn, "init-db"])
    assert out.exit_code == 0, out.stderr
    with conn.transaction():
        left = conn.execute("SELECT count(*) FROM pmail_backfills").fetchone()
    assert left == (0,)
    assert _documents(conn) == written
    for query, names in QUERIES.items():
        assert _found(conn, tenant, query) == names, query
    _validate_clean(dsn)
    # the hold still guards the rest of the row
    with pytest.raises(psycopg.Error, match="under legal hold"), conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        conn.execute("UPDATE email_content SET content_text = 'changed'")
