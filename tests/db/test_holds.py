"""A legal hold makes mail immutable (docs/security.md): no role changes, removes or
truncates a held message's content, raw bytes, files or the ids that decide which
hold covers it; what pmail itself moves on held mail (status, links, search
documents, sizes) keeps moving; releasing the hold is the only way out.

The column sweep reads the tables and the guard's arguments from the catalog, so a
column added later is attacked (and protected) without editing this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests import mailgen
from tests.support.tenancy import Conn, login_refusal, pmail, tenant_ids

pytestmark = pytest.mark.db

HELD_TABLES = ("email_messages", "email_content", "attachments", "attachment_blobs")
LEAD = "5f0e2a3c-0000-4000-8000-00000000000a"
CAMPAIGN = "5f0e2a3c-0000-4000-8000-00000000000c"
# columns whose every change a constraint of the table itself refuses (a CHECK tying
# them to another column, a key that foreign keys point at): the sweep cannot reach
# them alone, the combined attacks below do
PINNED_BY_CONSTRAINTS = {
    ("email_messages", "tenant_id"),
    ("email_messages", "storage_key"),
    ("email_messages", "direction"),
    ("email_messages", "message_type"),  # a closed vocabulary: attacked below
    ("email_messages", "auto_reply_until"),  # only on auto-replies
    ("email_content", "tenant_id"),
    ("email_content", "storage_key"),
    ("email_content", "raw_form"),
    ("email_content", "raw_data"),
    ("email_content", "raw_splices"),
    ("email_content", "compression"),
    ("email_content", "dict_id"),
    ("email_content", "raw_sha256"),
    ("attachments", "tenant_id"),
    ("attachments", "parent_storage_key"),
    ("attachments", "sha256"),
    ("attachment_blobs", "tenant_id"),
    ("attachment_blobs", "sha256"),
    ("attachment_blobs", "compression"),
}


def _changes(column: str, typ: str) -> list[str]:
    """Expressions that give the column a different value, in order of preference."""
    col = f'"{column}"'
    by_type = {
        "text": f"coalesce({col}, '') || 'x'",
        "character varying(500)": f"coalesce({col}, '') || 'x'",
        "bytea": f"coalesce({col}, '\\x'::bytea) || '\\x00'::bytea",
        "integer": f"coalesce({col}, 0) + 1",
        "bigint": f"coalesce({col}, 0) + 1",
        "boolean": f"NOT coalesce({col}, false)",
        "timestamp with time zone": f"coalesce({col}, now()) + interval '1 day'",
        "text[]": f"coalesce({col}, '{{}}') || 'x'::text",
        "jsonb": f"coalesce({col}, '{{}}'::jsonb) || '{{\"x\": 1}}'",
        "uuid": "gen_random_uuid()",
    }
    first = by_type.get(typ)
    return [first, "NULL"] if first else ["NULL"]


def _movable(conn: Conn, table: str) -> set[str]:
    """The columns the guard on `table` lets move (its arguments), the ids, the
    parent links and the unsubscribe reason that may only be filled in and the flag that may only be set
    (their own tests below), and the SQL columns that may only be filled in
    (tests/db/test_sql_bodies.py)."""
    row = conn.execute(
        "SELECT encode(tgargs, 'escape') FROM pg_trigger "
        "WHERE tgrelid = %s::regclass AND tgname = 'pmail_refuse_held_updates'",
        (table,),
    ).fetchone()
    assert row is not None, f"{table} has no hold guard for UPDATE"
    args = {a for a in str(row[0]).split("\\000") if a}
    fill_only = {
        "lead_id",
        "campaign_id",
        "email_account_id",
        "content_html",
        "headers",
        "unsubscribe",
        "parent_storage_key",  # the links: filled once (and the status only climbs,
        "parent_message_id",  # test_a_held_status_only_climbs_and_held_links_…)
    }
    return args | fill_only | {"legal_hold"}


def _columns(conn: Conn, table: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum",
        (table,),
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def _rows_of(table: str) -> sql.Composable:
    """The rows of one tenant in `table` (blobs: those its attachments use)."""
    if table == "attachment_blobs":
        return sql.SQL(
            "tenant_id = %(t)s AND sha256 IN (SELECT sha256 FROM attachments)"
        )
    return sql.SQL("tenant_id = %(t)s")


def _update(conn: Conn, table: str, column: str, change: str, tenant: str) -> str:
    """Run one UPDATE in a savepoint that is rolled back: 'ok', 'held' or the error.
    Only rows that the change changes are named."""
    statement = sql.SQL(
        "UPDATE {} SET {c} = {} WHERE {} AND {c} IS DISTINCT FROM {}"
    ).format(
        sql.Identifier(table),
        sql.SQL(change),
        _rows_of(table),
        sql.SQL(change),
        c=sql.Identifier(column),
    )
    try:
        with conn.transaction(force_rollback=True):
            changed = conn.execute(statement, {"t": tenant}).rowcount
            return "ok" if changed else "nothing"
    except psycopg.Error as exc:
        return "held" if exc.sqlstate == "P0H01" else f"{exc.sqlstate}: {exc}"


@pytest.fixture
def held(two_tenants: str, conn: Conn) -> Iterator[str]:
    """Tenant a's mail on a tenant-wide hold; its outbound mail carries a lead and a
    campaign. Tenant b (the same mail) holds nothing."""
    for tenant in tenant_ids(conn):
        conn.execute(
            "INSERT INTO leads (tenant_id, lead_id) VALUES (%s, %s)", (tenant, LEAD)
        )
        conn.execute(
            "INSERT INTO campaigns (tenant_id, campaign_id) VALUES (%s, %s)",
            (tenant, CAMPAIGN),
        )
        conn.execute(
            "UPDATE email_messages SET lead_id = %s, campaign_id = %s "
            "WHERE tenant_id = %s",
            (LEAD, CAMPAIGN, tenant),
        )
    conn.commit()
    code, _, err = pmail(two_tenants, "hold", "add", "-t", "a", "--reason", "case 1")
    assert code == 0, err
    yield two_tenants


def test_no_column_of_held_mail_changes(held: str, conn: Conn) -> None:
    """Every column of every content table that the guard does not name: changing it
    works on b's mail (not held) and is refused on a's, as the owner."""
    a, b = tenant_ids(conn)
    conn.commit()
    attacked, pinned = [], set()
    for table in HELD_TABLES:
        movable = _movable(conn, table)
        for column, typ in _columns(conn, table):
            if column in movable:
                continue
            outcome = "?"
            for change in _changes(column, typ):
                outcome = _update(conn, table, column, change, b)
                if outcome == "ok":
                    assert _update(conn, table, column, change, a) == "held", (
                        table,
                        column,
                        change,
                    )
                    attacked.append((table, column))
                    break
            if outcome != "ok":
                pinned.add((table, column))
    assert pinned <= PINNED_BY_CONSTRAINTS, pinned - PINNED_BY_CONSTRAINTS
    assert {("email_content", "content_text"), ("attachment_blobs", "data")} <= set(
        attacked
    )


def test_a_held_flag_is_set_never_cleared(held: str, conn: Conn) -> None:
    """email_content.legal_hold (the original design's per-message hold) can be set
    on mail nothing holds yet; once set it cannot be cleared."""
    _, b = tenant_ids(conn)
    conn.execute(
        "UPDATE email_content SET legal_hold = true WHERE tenant_id = %s", (b,)
    )
    conn.commit()
    with pytest.raises(psycopg.Error, match="under legal hold"):
        conn.execute(
            "UPDATE email_content SET legal_hold = false WHERE tenant_id = %s", (b,)
        )
    conn.rollback()


def test_hold_ids_are_filled_never_changed(held: str, conn: Conn) -> None:
    """lead_id, campaign_id and email_account_id of held mail may be filled in (pmail
    links a reply to its campaign and account) but never changed or cleared."""
    a, _ = tenant_ids(conn)
    other = "5f0e2a3c-0000-4000-8000-0000000000ff"
    conn.execute("INSERT INTO leads (tenant_id, lead_id) VALUES (%s, %s)", (a, other))
    conn.commit()
    for change in ("lead_id = NULL", f"lead_id = '{other}'", "campaign_id = NULL"):
        with (
            pytest.raises(psycopg.Error, match="under legal hold"),
            conn.transaction(),
        ):
            conn.execute(
                f"UPDATE email_messages SET {change} WHERE tenant_id = %s", (a,)
            )
    # a message without a campaign, then held again: its campaign may be filled in
    assert pmail(held, "hold", "release", "1")[0] == 0
    conn.execute(
        "UPDATE email_messages SET campaign_id = NULL WHERE tenant_id = %s "
        "AND subject = 'Quick question 1'",
        (a,),
    )
    conn.commit()
    assert pmail(held, "hold", "add", "-t", "a", "--reason", "case 2")[0] == 0
    filled = conn.execute(
        "UPDATE email_messages SET campaign_id = %s "
        "WHERE tenant_id = %s AND campaign_id IS NULL",
        (CAMPAIGN, a),
    )
    assert filled.rowcount == 1
    conn.rollback()


def test_a_held_unsubscribe_is_filled_never_changed(held: str, conn: Conn) -> None:
    """email_messages.unsubscribe of held mail may be filled in (the unsubscribe
    backfill reads a stored reply) but never changed or cleared, so held evidence of
    a removal request stays on the suppression list."""
    a, _ = tenant_ids(conn)
    where = "tenant_id = %s AND direction = 'inbound' AND message_type = 'email'"
    filled = conn.execute(
        f"UPDATE email_messages SET unsubscribe = 'subject' WHERE {where}", (a,)
    )
    assert filled.rowcount == 1
    conn.commit()
    for change in ("unsubscribe = NULL", "unsubscribe = 'mailbox'"):
        with (
            pytest.raises(psycopg.Error, match="under legal hold"),
            conn.transaction(),
        ):
            conn.execute(f"UPDATE email_messages SET {change} WHERE {where}", (a,))


@pytest.mark.parametrize("who", ["owner", "tenant login"])
def test_a_held_status_only_climbs_and_held_links_are_only_filled(
    held: str, conn: Conn, login_a: str, who: str
) -> None:
    """pmail moves an outbound message's status only up its ladder (sent <
    auto_replied < replied < bounced < complained) and fills a reply's parent link
    once. The guard let every session set a held message's status and links to
    anything: a's own login turned its held bounced message back into `sent` and
    unlinked the held bounce and reply from it, erasing what happened to the mail
    (validate checks neither). Now both are refused, as the owner and as the login;
    the moves pmail makes still work."""
    a, b = tenant_ids(conn)
    conn.commit()
    session = conn if who == "owner" else psycopg.connect(login_a)
    outbound = "tenant_id = %s AND direction = 'outbound' AND status <> 'sent'"
    linked = "tenant_id = %s AND parent_storage_key IS NOT NULL"
    attacks = [
        f"UPDATE email_messages SET status = 'sent' WHERE {outbound}",
        f"UPDATE email_messages SET status = 'auto_replied' WHERE {outbound}",
        "UPDATE email_messages SET parent_storage_key = NULL, "
        f"parent_message_id = NULL WHERE {linked}",
        f"UPDATE email_messages SET parent_message_id = NULL WHERE {linked}",
        "UPDATE email_messages AS m SET parent_storage_key = o.storage_key, "
        "parent_message_id = o.message_id FROM email_messages AS o "
        "WHERE m.tenant_id = %s AND m.parent_storage_key IS NOT NULL "
        "AND o.tenant_id = m.tenant_id AND o.direction = 'outbound' "
        "AND o.storage_key <> m.parent_storage_key",
    ]
    try:
        for attack in attacks:
            with session.transaction(force_rollback=True):  # works on b's mail
                if who == "owner":
                    assert session.execute(attack, (b,)).rowcount > 0, attack
            with (
                pytest.raises(psycopg.Error, match="under legal hold"),
                session.transaction(),
            ):
                assert session.execute(attack, (a,)).rowcount > 0, attack
        # up the ladder, as pmail moves it: still allowed
        with session.transaction(force_rollback=True):
            climbed = session.execute(
                "UPDATE email_messages SET status = 'complained' "
                "WHERE tenant_id = %s AND direction = 'outbound'",
                (a,),
            )
            assert climbed.rowcount > 0
    finally:
        if session is not conn:
            session.close()


@pytest.mark.parametrize("who", ["owner", "tenant login"])
def test_the_attacks_of_the_issue_fail(
    held: str, conn: Conn, login_a: str, who: str
) -> None:
    """Destroying the raw bytes, moving a message out of a lead or campaign hold,
    deleting, and emptying a table: refused as the owner and as a's own login (which
    since 0028 may not DELETE at all, and deletes content only through
    pmail_delete_content, which the hold refuses too)."""
    a, _ = tenant_ids(conn)
    conn.commit()
    with psycopg.connect(held if who == "owner" else login_a) as session:
        for attack in (
            "UPDATE email_content SET raw_data = NULL, raw_form = 'none', "
            "raw_splices = NULL, compression = 'none', dict_id = NULL",
            "UPDATE email_content SET content_text = 'nothing to see'",
            "UPDATE email_messages SET lead_id = NULL",
            "UPDATE email_messages SET campaign_id = NULL",
            "UPDATE email_messages SET message_type = 'bounce', direction = 'inbound'",
            "UPDATE attachments SET filename = 'x.pdf'",
            "DELETE FROM attachments",
            "DELETE FROM email_content",
            "DELETE FROM email_messages",
        ):
            refused = (
                login_refusal(attack, held=True)
                if who == "tenant login"
                else ("under legal hold", "P0H01")
            )
            assert refused is not None
            with (
                pytest.raises(psycopg.Error, match=refused[0]) as info,
                session.transaction(),
            ):
                session.execute(f"{attack} WHERE tenant_id = %s", (a,))
            assert info.value.sqlstate == refused[1], attack
        # the way pmail itself deletes content as a tenant (purge): the hold refuses it
        with (
            pytest.raises(psycopg.Error, match="under legal hold") as info,
            session.transaction(),
        ):
            session.execute(
                "SELECT count(*) FROM pmail_delete_content(%(a)s, ARRAY("
                "SELECT storage_key FROM email_content WHERE tenant_id = %(a)s))",
                {"a": a},
            )
        assert info.value.sqlstate == "P0H01"
    # TRUNCATE (which fires no row trigger) is refused whole, also with CASCADE
    for table in (
        "attachments",
        "email_content, attachments, search_documents",  # those referencing it too
        "attachment_blobs CASCADE",
        "email_messages CASCADE",
        "tenants CASCADE",
    ):
        with pytest.raises(psycopg.Error, match="legal hold"), conn.transaction():
            conn.execute(f"TRUNCATE {table}")
    assert conn.execute("SELECT count(*) FROM email_content").fetchone() == (12,)


def test_hold_records_are_released_never_changed(held: str, conn: Conn) -> None:
    """A hold's scope, value or reason never change; it is never deleted or
    truncated; it is released once."""
    for attack in (
        "UPDATE legal_holds SET scope = 'message', value = 'nothing'",
        "UPDATE legal_holds SET tenant_id = (SELECT tenant_id FROM tenants "
        "WHERE name = 'b')",
        "UPDATE legal_holds SET reason = 'never mind'",
        "DELETE FROM legal_holds",
        "TRUNCATE legal_holds",
        "TRUNCATE legal_holds CASCADE",
    ):
        with (
            pytest.raises(psycopg.Error, match="legal holds are released"),
            conn.transaction(),
        ):
            conn.execute(attack)
    code, _, err = pmail(held, "hold", "release", "1")
    assert code == 0, err
    with (
        pytest.raises(psycopg.Error, match="legal holds are released"),
        conn.transaction(),
    ):
        conn.execute("UPDATE legal_holds SET released = now(), released_by = 'x'")
    # released: the same change goes through now
    a, _ = tenant_ids(conn)
    conn.execute(
        "UPDATE email_content SET content_text = 'x' WHERE tenant_id = %s", (a,)
    )
    conn.rollback()


def test_pmail_keeps_moving_held_mail(held: str, conn: Conn, tmp_path: Path) -> None:
    """A late bounce moves a held outbound message's status and links, search
    documents are dropped and built, validate --repair fixes sizes, a dictionary
    retrain leaves held bytes as they are: all on held mail."""
    a, _ = tenant_ids(conn)
    conn.commit()
    late = tmp_path / "late"
    late.mkdir()
    (late / "bounce.eml").write_bytes(mailgen.dsn(3, mailgen.outbound(3)))
    for n in range(60):  # enough mail to train a dictionary on
        (late / f"{n}.eml").write_bytes(mailgen.simple(1000 + n))
    code, _, err = pmail(held, "ingest", str(late), "-t", "a")
    assert code == 0, err
    status = conn.execute(
        "SELECT status FROM email_messages WHERE tenant_id = %s AND subject = %s",
        (a, "Quick question 3"),
    ).fetchone()
    assert status == ("bounced",)
    for setting in ("off", "on"):
        code, _, err = pmail(held, "tenant", "set", "a", "--search", setting)
        assert code == 0, err
    conn.execute(
        "UPDATE email_content SET compressed_size_bytes = compressed_size_bytes + 1 "
        "WHERE tenant_id = %s",
        (a,),
    )
    conn.commit()
    code, _, err = pmail(held, "validate", "-t", "a", "--repair")
    assert code == 0, err
    before = conn.execute(
        "SELECT md5(string_agg(raw_data::text, '' ORDER BY storage_key)) "
        "FROM email_content WHERE tenant_id = %s",
        (a,),
    ).fetchone()
    code, _, err = pmail(held, "dict", "train", "-t", "a", "--recompress")
    assert code == 0, err
    after = conn.execute(
        "SELECT md5(string_agg(raw_data::text, '' ORDER BY storage_key)) "
        "FROM email_content WHERE tenant_id = %s",
        (a,),
    ).fetchone()
    assert before == after
