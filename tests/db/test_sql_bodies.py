"""email_content.content_html and headers (issue 25, docs/sql.md): filled for ingested
and migrated mail, per the tenant's --sql-bodies setting, by the writer and by the
resumable backfill; held mail keeps them; validate checks them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from benchmarks import gen_legacy
from psycopg.conninfo import make_conninfo

from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.mail import prepare
from pmail_cli.mail.legacy_bundle import header_pairs
from pmail_cli.mail.parse import clean_text
from pmail_cli.services import ingest, sqlbodies, tenants, validate
from pmail_cli.services.pipeline import PipelineOptions
from tests.support.tenancy import Conn, pmail

pytestmark = pytest.mark.db

RAW = (
    b"Received: from a.example (a.example [192.0.2.1])\r\n"
    b"\tby mx.acme.test; Mon, 4 Mar 2024 08:00:00 +0000\r\n"
    b"Received: from b.example by a.example; Mon, 4 Mar 2024 07:59:00 +0000\r\n"
    b"From: Bob Example <bob@example.com>\r\n"
    b"To: sdr1@acme.test\r\n"
    b"Subject: =?utf-8?q?Pr=C3=BCfung?= of the\r\n rate card\r\n"
    b"Message-ID: <sqlbodies-1@example.com>\r\n"
    b"Date: Mon, 4 Mar 2024 08:00:00 +0000\r\n"
    b"Authentication-Results: mx.acme.test; spf=pass smtp.mailfrom=example.com\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/alternative; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Hello, here is the rate card.\r\n"
    b"--b1\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"<p>Hello, here is the <b>rate=20card</b>.</p>\r\n"
    b"--b1--\r\n"
)
PLAIN = (
    b"From: carol@example.com\r\nTo: sdr1@acme.test\r\nSubject: plain\r\n"
    b"Message-ID: <sqlbodies-2@example.com>\r\n\r\nno html here\r\n"
)


@pytest.fixture
def acme(dsn: str, tmp_path: Path) -> str:
    """Tenant acme with the two messages above ingested."""
    assert pmail(dsn, "tenant", "add", "acme")[0] == 0
    assert pmail(dsn, "account", "add", "sdr1@acme.test", "-t", "acme")[0] == 0
    (tmp_path / "one.eml").write_bytes(RAW)
    (tmp_path / "two.eml").write_bytes(PLAIN)
    code, _, err = pmail(dsn, "ingest", str(tmp_path / "one.eml"), "-t", "acme")
    assert code == 0, err
    code, _, err = pmail(dsn, "ingest", str(tmp_path / "two.eml"), "-t", "acme")
    assert code == 0, err
    return dsn


def _columns(conn: Conn) -> dict[str, tuple[object, object]]:
    rows = conn.execute(
        "SELECT m.message_id, c.content_html, c.headers FROM email_content c "
        "JOIN email_messages m USING (tenant_id, storage_key)"
    ).fetchall()
    conn.commit()
    return {str(r[0]).strip("<>"): (r[1], r[2]) for r in rows}


def _key(conn: Conn, message_id: str) -> str:
    row = conn.execute(
        "SELECT storage_key FROM email_messages WHERE message_id = %s",
        (f"<{message_id}>",),
    ).fetchone()
    conn.commit()
    assert row is not None
    return str(row[0])


def test_ingested_mail_can_be_read_with_sql(acme: str, conn: Conn) -> None:
    """The seed's read by storage key gives the html body and the header fields; a
    field is found by name, repeated fields keep every value in order, encoded words
    are decoded and folded lines unfolded."""
    key = _key(conn, "sqlbodies-1@example.com")
    html, headers = conn.execute(
        "SELECT content_html, headers FROM email_content WHERE storage_key = %s", (key,)
    ).fetchone() or (None, None)
    assert isinstance(html, str) and "<b>rate card</b>" in html
    assert isinstance(headers, dict)
    assert headers["subject"] == "Prüfung of the rate card"
    assert headers["received"] == [
        "from a.example (a.example [192.0.2.1])\tby mx.acme.test; "
        "Mon, 4 Mar 2024 08:00:00 +0000",
        "from b.example by a.example; Mon, 4 Mar 2024 07:59:00 +0000",
    ]
    by_name = conn.execute(
        "SELECT headers->>'message-id', headers->>'authentication-results', "
        "jsonb_array_length(headers->'received') FROM email_content "
        "WHERE storage_key = %s",
        (key,),
    ).fetchone()
    assert by_name == (
        "<sqlbodies-1@example.com>",
        "mx.acme.test; spf=pass smtp.mailfrom=example.com",
        2,
    )
    plain = _columns(conn)["sqlbodies-2@example.com"]
    assert plain[0] is None and isinstance(plain[1], dict)
    assert plain[1]["subject"] == "plain"


def test_off_clears_on_fills_and_new_mail_follows(
    acme: str, conn: Conn, tmp_path: Path
) -> None:
    before = _columns(conn)
    code, _, err = pmail(acme, "tenant", "set", "acme", "--sql-bodies", "off")
    assert code == 0, err
    assert "sql bodies off" in err and "2 cleared" in err
    assert all(v == (None, None) for v in _columns(conn).values())
    third = PLAIN.replace(b"sqlbodies-2", b"sqlbodies-3")
    (tmp_path / "three.eml").write_bytes(third)
    assert pmail(acme, "ingest", str(tmp_path / "three.eml"), "-t", "acme")[0] == 0
    assert _columns(conn)["sqlbodies-3@example.com"] == (None, None)
    code, out, err = pmail(acme, "validate", "--tenant", "acme")
    assert code == 0, out + err
    code, _, err = pmail(acme, "tenant", "set", "acme", "--sql-bodies", "on")
    assert code == 0, err
    assert "3 filled" in err
    after = _columns(conn)
    for message_id, columns in before.items():
        assert after[message_id] == columns  # the backfill reads what ingest read
    assert after["sqlbodies-3@example.com"][1] is not None
    assert conn.execute("SELECT count(*) FROM pmail_backfills").fetchone() == (0,)
    conn.commit()
    code, _, err = pmail(acme, "tenant", "set", "acme", "--sql-bodies", "sideways")
    assert code == 2 and "error:" in err and "hint:" in err


def test_validate_finds_and_repairs_columns_out_of_line(acme: str, conn: Conn) -> None:
    key = _key(conn, "sqlbodies-1@example.com")
    conn.execute(
        "UPDATE email_content SET headers = NULL, content_html = NULL "
        "WHERE storage_key = %s",
        (key,),
    )
    conn.commit()
    code, out, _ = pmail(acme, "validate", "--tenant", "acme")
    assert code == 3 and f"{key} has no headers column" in out
    code, out, err = pmail(acme, "validate", "--tenant", "acme", "--repair")
    assert code == 0, out + err
    columns = _columns(conn)["sqlbodies-1@example.com"]
    assert isinstance(columns[1], dict) and columns[1]["subject"]
    assert "<b>rate card</b>" in str(columns[0])


def test_held_mail_keeps_its_columns(acme: str, conn: Conn) -> None:
    """Turning the columns off leaves held mail as it is (validate agrees); changing
    or clearing them on held mail is refused, as the owner too."""
    key = _key(conn, "sqlbodies-1@example.com")
    code, _, err = pmail(
        acme, "hold", "add", "-t", "acme", "--storage-key", key, "--reason", "case 9"
    )
    assert code == 0, err
    code, _, err = pmail(acme, "tenant", "set", "acme", "--sql-bodies", "off")
    assert code == 0 and "1 cleared" in err, err
    columns = _columns(conn)
    assert columns["sqlbodies-1@example.com"][1] is not None
    assert columns["sqlbodies-2@example.com"] == (None, None)
    code, out, err = pmail(acme, "validate", "--tenant", "acme")
    assert code == 0, out + err
    for change in ("headers = '{}'", "content_html = NULL", "headers = NULL"):
        with pytest.raises(psycopg.Error, match="legal hold"):
            conn.execute(
                f"UPDATE email_content SET {change} WHERE storage_key = %s", (key,)
            )
        conn.rollback()


def test_upgrade_fills_stored_mail_in_resumable_batches(acme: str, conn: Conn) -> None:
    """As after migration 0012 on a database with mail: the columns empty and the
    tenant's backfill listed. One batch commits (the upgrade killed after it), then
    `pmail init-db` goes on from the cursor and fills the rest as ingest did."""
    before = _columns(conn)
    tenant_id = conn.execute("SELECT tenant_id FROM tenants").fetchone()
    assert tenant_id is not None
    conn.execute("UPDATE email_content SET headers = NULL, content_html = NULL")
    conn.execute(
        "INSERT INTO pmail_backfills (name, after_tenant, after_key) "
        "VALUES ('sql_bodies:' || %s::text, %s, '')",
        (tenant_id[0], tenant_id[0]),
    )
    conn.commit()
    name = f"sql_bodies:{tenant_id[0]}"
    with conn.transaction():
        conn.execute("SELECT pmail_scope_all_tenants()")
        assert sqlbodies.backfill_batch(conn, name, 1) == 1
    assert conn.execute("SELECT count(headers) FROM email_content").fetchone() == (1,)
    cursor = conn.execute("SELECT after_key FROM pmail_backfills").fetchone()
    assert cursor is not None and cursor[0]
    conn.commit()
    code, _, err = pmail(acme, "init-db")
    assert code == 0, err
    assert "brought stored mail up to date (1 message read)" in err
    assert _columns(conn) == before
    assert conn.execute("SELECT count(*) FROM pmail_backfills").fetchone() == (0,)


@pytest.fixture
def legacy_db(dsn: str) -> Iterator[tuple[str, gen_legacy.Built]]:
    """A database holding only legacy tables (a few hundred rows, dirt included)."""
    name = f"pmail_test_sqlbodies_{os.getpid()}"
    admin = make_conninfo(dsn, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    target = make_conninfo(dsn, dbname=name)
    try:
        with psycopg.connect(target) as c:
            built = gen_legacy.build(c, messages=300, tenants=2, seed=11)
        yield target, built
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_migrated_rows_carry_their_own_html_and_headers(
    legacy_db: tuple[str, gen_legacy.Built],
) -> None:
    """Each legacy content row's html and headers (either legacy layout) become the
    columns; an object's fields are kept, an array of pairs keeps its repeats."""
    target, _ = legacy_db
    code, _, err = pmail(target, "migrate-legacy")
    assert code == 0, err
    with psycopg.connect(target) as c:
        c.execute("SELECT pmail_scope_all_tenants()")
        legacy = c.execute(
            "SELECT storage_key, content_html, headers::text FROM content_objects"
        ).fetchall()
        stored = {
            str(r[0]): (r[1], r[2])
            for r in c.execute(
                "SELECT storage_key, content_html, headers FROM email_content"
            )
        }
    assert legacy and len(stored) >= len(legacy)
    layouts = set()
    for key, html, headers_text in legacy:
        html_now, headers_now = stored[str(key)]
        assert html_now == (clean_text(str(html)) if html is not None else None)
        old = json.loads(headers_text) if headers_text is not None else None
        layouts.add(type(old).__name__)
        counts: dict[str, int] = {}
        for name, _ in header_pairs(old):
            counts[name.strip().lower()] = counts.get(name.strip().lower(), 0) + 1
        assert isinstance(headers_now, dict)
        assert set(headers_now) == set(counts), key
        for name, n in counts.items():
            value = headers_now[name]
            assert (
                isinstance(value, list) and len(value) == n
                if n > 1
                else (isinstance(value, str))
            ), (key, name)
    assert {"dict", "list"} <= layouts  # both legacy layouts were met


def test_a_message_whose_preparation_broke_still_has_headers(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in classification keeps the message (the fallback); its SQL columns are
    still filled, so validate stays clean on a tenant with --sql-bodies on."""

    def broken(*_args: object) -> None:
        raise RuntimeError("a classifier bug")

    monkeypatch.setattr(prepare, "_classify", broken)
    (tmp_path / "one.eml").write_bytes(RAW)
    (tmp_path / "nul.eml").write_bytes(b"\x00\x00")
    with connect(Settings(dsn=dsn, dsn_source="test")) as db:
        tenant = tenants.use_tenant(db, None)
        ingest.ingest_paths(
            db, [str(tmp_path)], tenant=tenant, options=PipelineOptions(), jobs=1
        )
        rows: list[tuple[list[str], dict[str, str], str | None]] = db.execute(
            "SELECT m.parse_problems, c.headers, c.content_html"
            " FROM email_messages m JOIN email_content c USING (storage_key)"
            " ORDER BY m.raw_size_bytes"
        ).fetchall()  # type: ignore[assignment]
        assert [r[0][0].startswith("not parsed, internal error") for r in rows] == [
            True,
            True,
        ]
        assert rows[0][1] == {}
        assert rows[1][1]["message-id"] == "<sqlbodies-1@example.com>"
        html = rows[1][2] or ""
        assert "rate=20card" not in html and "rate card" in html
        report = validate.validate(db, tenant, deep=False, jobs=1)
        assert report.problems == 0, [o for o in report.outcomes if o.count]
