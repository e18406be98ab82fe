"""Two tenants holding the same kind of mail, and logins that try to reach across."""

from __future__ import annotations

import psycopg
from typer.testing import CliRunner

from pmail_cli.cli import app
from tests import mailgen

Conn = psycopg.Connection[tuple[object, ...]]
runner = CliRunner()


def pmail(dsn: str, *args: str) -> tuple[int, str, str]:
    """Run pmail against dsn; exit code, stdout, stderr."""
    result = runner.invoke(app, ["--dsn", dsn, *args])
    return result.exit_code, result.stdout, result.stderr


def tenant_mail() -> list[bytes]:
    """Three outbound messages, one with a PDF, a reply and a bounce."""
    deck = mailgen.pdf_bytes(5)
    sent = [mailgen.outbound(n) for n in range(1, 4)]
    return [
        *sent,
        mailgen.with_attachment(7, deck),
        mailgen.reply(1, "<out-1@acme.test>"),
        mailgen.dsn(2, sent[1]),
    ]


def tenant_ids(conn: Conn) -> tuple[str, str]:
    """The ids of tenants a and b."""
    rows = {
        str(name): str(tid)
        for name, tid in conn.execute("SELECT name, tenant_id::text FROM tenants")
    }
    return rows["a"], rows["b"]


def tenant_tables(conn: Conn) -> list[str]:
    """Every table and view of pmail's schema with a tenant_id column (except the
    role-to-tenant map and the hold epochs, which tenant logins may not read at
    all)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v') "
        "AND a.attname = 'tenant_id' AND NOT a.attisdropped "
        "AND c.relname NOT IN ('pmail_tenant_roles', 'pmail_hold_epochs') ORDER BY 1"
    ).fetchall()
    return [str(r[0]) for r in rows]


def login_refusal(statement: str, held: bool) -> tuple[str, str] | None:
    """How a tenant login's statement on its own rows is refused: a DELETE always
    (no DELETE grant since 0028: it could LOCK TABLE), a rewrite of stored bytes
    always (0033), anything else by the hold guard when the mail is held; None when
    it should work. (message, SQLSTATE)"""
    if statement.lstrip().upper().startswith("DELETE"):
        return ("permission denied", "42501")
    if _rewrites_stored_bytes(statement):  # refused held or not (0033)
        return ("by a tenant login", "P0H06")
    return ("under legal hold", "P0H01") if held else None


def _rewrites_stored_bytes(statement: str) -> bool:
    """An UPDATE that changes a stored message's form, an attachment row or a
    stored file's bytes, which no tenant login may run since migration 0033."""
    words = " ".join(statement.split())
    if words.startswith("UPDATE email_content SET"):
        return "raw_form =" in words
    if words.startswith("UPDATE attachments SET"):
        return True
    if words.startswith("UPDATE attachment_blobs SET"):
        set_list = words.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
        return any(
            f"{c} =" in set_list for c in ("data", "sha256", "size_bytes", "tenant_id")
        )
    return False
