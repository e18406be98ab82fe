"""Ingest against a real PostgreSQL: storage, dedup, splicing, flags, round trip."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg
import pytest

from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.services import export, ingest, tenants
from pmail_cli.services.pipeline import PipelineOptions
from tests import mailgen

pytestmark = pytest.mark.db

Conn = psycopg.Connection[tuple[object, ...]]


def _settings(dsn: str) -> Settings:
    return Settings(dsn=dsn, dsn_source="test")


def _ingest(
    dsn: str,
    paths: list[Path],
    *,
    tenant: str | None = None,
    jobs: int = 1,
    direction: str = "auto",
) -> ingest.IngestResult:
    with connect(_settings(dsn)) as conn:
        scope = tenants.use_tenant(conn, tenant)
        return ingest.ingest_paths(
            conn,
            [str(p) for p in paths],
            tenant=scope,
            options=PipelineOptions(direction=direction, batch_messages=7),
            jobs=jobs,
        )


def _write(folder: Path, messages: list[bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, raw in enumerate(messages):
        path = folder / f"{i:04d}.eml"
        path.write_bytes(raw)
        paths.append(path)
    return paths


def _export_hashes(dsn: str, out: Path, tenant: str | None = None) -> set[str]:
    with connect(_settings(dsn)) as conn:
        scope = tenants.use_tenant(conn, tenant)
        export.export_messages(
            conn, scope, out_dir=out, mbox=None, since=None, keys=None
        )
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}


def test_reingest_is_a_counted_no_op(dsn: str, conn: Conn, tmp_path: Path) -> None:
    """Ingesting the same files twice stores each message once and counts duplicates."""
    paths = _write(tmp_path / "in", [mailgen.simple(i) for i in range(20)])
    first = _ingest(dsn, [tmp_path / "in"])
    second = _ingest(dsn, [tmp_path / "in"])
    assert (first.pipeline.added, first.pipeline.duplicates) == (20, 0)
    assert (second.pipeline.added, second.pipeline.duplicates) == (0, 20)
    assert conn.execute("SELECT count(*) FROM email_messages").fetchone() == (20,)
    assert conn.execute("SELECT count(*) FROM email_content").fetchone() == (20,)
    assert len(paths) == 20


def test_attachment_stored_once_and_raw_rebuilt(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """One attachment in many messages is one blob, and every raw message comes back exact."""
    deck = mailgen.pdf_bytes(1)
    raws = [mailgen.with_attachment(i, deck) for i in range(12)]
    _write(tmp_path / "in", raws)
    _ingest(dsn, [tmp_path / "in"])
    assert conn.execute("SELECT count(*) FROM attachment_blobs").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM attachments").fetchone() == (12,)
    forms = conn.execute("SELECT DISTINCT raw_form FROM email_content").fetchall()
    assert forms == [("spliced",)]
    stored = conn.execute(
        "SELECT max(octet_length(raw_data)) FROM email_content"
    ).fetchone()
    assert stored is not None and int(str(stored[0])) < len(deck) // 4
    assert _export_hashes(dsn, tmp_path / "out") == {
        hashlib.sha256(r).hexdigest() for r in raws
    }


def test_irregular_base64_keeps_raw_whole(dsn: str, conn: Conn, tmp_path: Path) -> None:
    """An attachment whose encoding cannot be reproduced leaves that raw message whole."""
    raw = mailgen.with_attachment(1, mailgen.pdf_bytes(2), line_length=76)
    cut = raw.index(b"Content-Transfer-Encoding: base64") + 400
    broken = raw[:cut] + b"\r\n" + raw[cut:]  # one short line in the base64 body
    _write(tmp_path / "in", [broken])
    _ingest(dsn, [tmp_path / "in"])
    assert conn.execute("SELECT raw_form FROM email_content").fetchone() == ("whole",)
    assert _export_hashes(dsn, tmp_path / "out") == {hashlib.sha256(broken).hexdigest()}


def test_parallel_path_stores_what_serial_path_stores(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """--jobs 2 and --jobs 1 give the same rows and bytes for the same input."""
    deck = mailgen.pdf_bytes(3)
    raws = [mailgen.simple(i) for i in range(30)] + [
        mailgen.with_attachment(i, deck) for i in range(10)
    ]
    _write(tmp_path / "in", raws)
    conn.execute("INSERT INTO tenants (name) VALUES ('serial'), ('parallel')")
    conn.commit()
    _ingest(dsn, [tmp_path / "in"], tenant="serial", jobs=1)
    _ingest(dsn, [tmp_path / "in"], tenant="parallel", jobs=2)
    query = """
        SELECT m.message_id, m.subject, m.direction, m.parse_problems, c.raw_sha256,
               c.raw_form, c.content_text, md5(c.raw_data), c.raw_splices
        FROM email_messages m JOIN email_content c USING (tenant_id, storage_key)
        JOIN tenants t USING (tenant_id) WHERE t.name = %s ORDER BY c.raw_sha256"""
    serial = conn.execute(query, ("serial",)).fetchall()
    parallel = conn.execute(query, ("parallel",)).fetchall()
    assert len(serial) == 40
    assert serial == parallel


def test_line_endings_and_8bit_round_trip(dsn: str, tmp_path: Path) -> None:
    """CRLF, LF, CR-only, 8-bit and NUL-bearing messages export byte-identical."""
    raws = [
        mailgen.simple(1, eol=b"\r\n"),
        mailgen.simple(2, eol=b"\n"),
        mailgen.simple(3, eol=b"\r"),
        mailgen.simple(4, body="Gr\u00fc\u00dfe aus K\u00f6ln").replace(
            b"charset=utf-8", b"charset=x-unknown"
        ),
        mailgen.simple(5)
        .replace(b"Hi Bob", b"Hi \x00Bob")
        .replace(b"hello 5", b"hel\x00lo \xff5"),
        b"\x00\x01\x02garbage\xff\xfe" * 100,
    ]
    _write(tmp_path / "in", raws)
    result = _ingest(dsn, [tmp_path / "in"])
    assert result.pipeline.added == 6
    assert _export_hashes(dsn, tmp_path / "out") == {
        hashlib.sha256(r).hexdigest() for r in raws
    }


def test_broken_mail_is_stored_and_flagged(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """Garbage, a header-only blob and a message without Message-ID are kept with problems."""
    raws = [
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
        b"Subject: only a header line",
        mailgen.simple(9, message_id=""),
        b"From: x@example.org\r\nSubject: " + b"A" * 200_000 + b"\r\n\r\nbody\r\n",
        _nested(400),
    ]
    _write(tmp_path / "in", raws)
    result = _ingest(dsn, [tmp_path / "in"])
    assert result.pipeline.added == 5
    rows = conn.execute("SELECT parse_problems FROM email_messages").fetchall()
    problems = [p for (ps,) in rows for p in ps or []]  # type: ignore[attr-defined]
    assert "no Message-ID" in problems
    assert any("nested deeper" in p for p in problems)
    assert result.pipeline.flagged == 5  # none of them has a Message-ID


def _nested(depth: int) -> bytes:
    head = b""
    for i in range(depth):
        head += (
            f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
        )
    return (
        b"From: deep@example.org\r\nMessage-ID: <deep@x>\r\n"
        + head
        + b"Content-Type: text/plain\r\n\r\nbottom\r\n"
    )


def test_duplicate_message_ids_are_distinct_rows(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """Two different messages sharing a Message-ID are both stored."""
    raws = [
        mailgen.simple(1, message_id="<same@x>"),
        mailgen.simple(2, message_id="<same@x>"),
    ]
    _write(tmp_path / "in", raws)
    assert _ingest(dsn, [tmp_path / "in"]).pipeline.added == 2
    assert conn.execute(
        "SELECT count(*) FROM email_messages WHERE message_id = '<same@x>'"
    ).fetchone() == (2,)


def test_direction_auto_uses_tenant_accounts(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """Mail from one of the tenant's accounts is outbound, the rest inbound."""
    with connect(_settings(dsn)) as c:
        scope = tenants.use_tenant(c, None)
        tenants.add_account(c, scope, email="SDR1@acme.test")
    _write(
        tmp_path / "in", [mailgen.simple(1, sender="sdr1@acme.test"), mailgen.simple(2)]
    )
    _ingest(dsn, [tmp_path / "in"])
    rows = conn.execute(
        "SELECT from_email, direction, status FROM email_messages ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("ann@example.org", "inbound", "received"),
        ("sdr1@acme.test", "outbound", "sent"),
    ]


def test_unreadable_file_does_not_stop_the_rest(dsn: str, tmp_path: Path) -> None:
    """A broken symlink in a directory is reported while every other file is stored."""
    _write(tmp_path / "in", [mailgen.simple(i) for i in range(3)])
    (tmp_path / "in" / "dangling.eml").symlink_to(tmp_path / "nowhere.eml")
    result = _ingest(dsn, [tmp_path / "in"])
    assert result.pipeline.added == 3
    assert [f.origin for f in result.failures] == [
        str(tmp_path / "in" / "dangling.eml")
    ]
