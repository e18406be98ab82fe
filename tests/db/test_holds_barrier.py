"""Legal holds against the red-team pass of 2026-12-07 (migration 0030,
docs/security.md "Legal holds"): a writer whose snapshot is older than a hold, a
DELETE by lead, a scope switched in the middle of a statement, content and
attachments planted on held mail, and hold records changed without the audit log.
Each test is an attack that worked before 0030."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors

from tests import mailgen
from tests.db.test_holds import LEAD
from tests.support.tenancy import Conn, pmail, tenant_ids

pytestmark = pytest.mark.db


def _keys(conn: Conn, tenant: str, where: str = "true") -> list[str]:
    rows = conn.execute(
        f"SELECT storage_key FROM email_messages WHERE tenant_id = %s AND {where} "
        "ORDER BY storage_key",
        (tenant,),
    ).fetchall()
    conn.commit()
    return [str(r[0]) for r in rows]


def _content_rows(conn: Conn, tenant: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM email_content WHERE tenant_id = %s", (tenant,)
    ).fetchone()
    conn.commit()
    assert row is not None
    return int(str(row[0]))


def _hold(dsn: str, *args: str) -> None:
    code, _, err = pmail(dsn, "hold", "add", "-t", "a", "--reason", "case 7", *args)
    assert code == 0, err


def test_a_writer_older_than_a_hold_cannot_destroy_what_it_covers(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """Tenant a's own login opens a REPEATABLE READ transaction and looks at the
    holds (none); an administrator then holds one of a's messages; the login marks it
    purged, or deletes its content (pmail_delete_content). Before, its snapshot never
    saw the hold and the content was gone, with a purge time older than the hold.
    Now each statement fails to serialize and the content stays."""
    seen = _older_writer_attacks(
        login_a,
        conn,
        "SELECT count(*) FROM legal_holds",
        lambda key: _hold(two_tenants, "--storage-key", key),
    )
    assert all(row is not None for row in seen)


def _older_writer_attacks(
    login_a: str, conn: Conn, look: str, make_held: Callable[[str], None]
) -> list[tuple[object, ...] | None]:
    """a's login opens a REPEATABLE READ transaction and reads (`look`, given the
    message's key if it takes one); `make_held` then holds one of a's messages; the
    login marks it purged, or deletes its content: each statement must fail to
    serialize, and the content stays. Returns what each `look` read."""
    a, _ = tenant_ids(conn)
    keys = _keys(conn, a)
    before = _content_rows(conn, a)
    attacks = [
        ("UPDATE email_messages SET purged_at = now() WHERE storage_key = %s", ()),
        ("SELECT pmail_delete_content(%s::uuid, ARRAY[%s])", (a,)),
    ]
    seen = []
    with psycopg.connect(login_a) as writer:
        for key, (statement, first) in zip(keys, attacks, strict=False):
            writer.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            seen.append(writer.execute(look, (key,) if "%s" in look else ()).fetchone())
            make_held(key)  # after the snapshot
            with pytest.raises(errors.SerializationFailure):
                writer.execute(statement, (*first, key))
            writer.rollback()
    assert _content_rows(conn, a) == before
    return seen


def test_a_writer_older_than_a_flag_hold_cannot_destroy_what_it_covers(
    login_a: str, conn: Conn
) -> None:
    """As above, with the hold made by the content's `legal_hold` flag (a trusted
    session's SQL) instead of `pmail hold add`. Before 0035 the flag moved no hold
    epoch: the login's older snapshot saw the flag off, and it marked the held message
    purged after the flag had committed."""

    def flag(key: str) -> None:
        conn.execute(
            "UPDATE email_content SET legal_hold = true WHERE storage_key = %s", (key,)
        )
        conn.commit()

    seen = _older_writer_attacks(
        login_a,
        conn,
        "SELECT legal_hold FROM email_content WHERE storage_key = %s",
        flag,
    )
    assert all(row == (False,) for row in seen)


def test_a_writer_older_than_held_content_restored_cannot_change_it(
    login_a: str, conn: Conn
) -> None:
    """The flag turned on by an INSERT: a trusted session restores a purged
    message's content as held (`legal_hold = true` on insert). A red-team pass
    against the first version of 0035, which watched updates only: the login's
    REPEATABLE READ transaction, older than the insert, changed the held message."""
    a, _ = tenant_ids(conn)
    key = _keys(conn, a)[0]
    conn.execute(  # the content, kept aside as a restore would have it
        "CREATE TEMP TABLE saved AS SELECT * FROM email_content WHERE storage_key = %s",
        (key,),
    )
    conn.execute("DELETE FROM email_content WHERE storage_key = %s", (key,))
    conn.commit()
    with psycopg.connect(login_a) as writer:
        writer.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        seen = writer.execute(
            "SELECT count(*) FROM email_content WHERE storage_key = %s", (key,)
        ).fetchone()
        conn.execute("UPDATE saved SET legal_hold = true")  # after the snapshot:
        conn.execute("INSERT INTO email_content SELECT * FROM saved")  # restored, held
        conn.commit()
        with pytest.raises(errors.SerializationFailure):
            writer.execute(
                "UPDATE email_messages SET subject = 'tampered' WHERE storage_key = %s",
                (key,),
            )
        writer.rollback()
    assert seen == (0,)
    row = conn.execute(
        "SELECT subject IS DISTINCT FROM 'tampered' FROM email_messages "
        "WHERE storage_key = %s",
        (key,),
    ).fetchone()
    conn.execute("DROP TABLE saved")
    conn.commit()
    assert row == (True,)


def test_a_writer_older_than_a_link_to_held_mail_cannot_destroy_it(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """A lead hold is in place; one of a's messages is not linked to that lead yet.
    The login opens a REPEATABLE READ transaction and looks at the message (unheld in
    its snapshot); then the message is linked to the held lead, as pmail's linking
    fills a lead in, and held from then on. Before 0036 the link moved no hold epoch,
    and the login deleted the content of the now held message."""
    a, _ = tenant_ids(conn)
    conn.execute("INSERT INTO leads (tenant_id, lead_id) VALUES (%s, %s)", (a, LEAD))
    conn.commit()
    _hold(two_tenants, "--lead", LEAD)
    key = _keys(conn, a, "lead_id IS NULL")[0]
    before = _content_rows(conn, a)
    with psycopg.connect(login_a) as writer:
        writer.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        seen = writer.execute(
            "SELECT lead_id FROM email_messages WHERE storage_key = %s", (key,)
        ).fetchone()
        conn.execute(  # after the snapshot
            "UPDATE email_messages SET lead_id = %s WHERE storage_key = %s",
            (LEAD, key),
        )
        conn.commit()
        with pytest.raises(errors.SerializationFailure):
            writer.execute("SELECT pmail_delete_content(%s::uuid, ARRAY[%s])", (a, key))
        writer.rollback()
    assert seen == (None,)
    assert _content_rows(conn, a) == before


def test_a_link_racing_a_hold_in_flight_still_moves_the_epoch(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """A second red-team pass against 0036: a lead hold is being added (its
    transaction open, the epoch row locked); the link of a message to that lead waits
    for it, but had already looked for holds and seen none, so it moved nothing; a
    login's REPEATABLE READ transaction begun after the hold committed and before the
    link did then deleted the content the two had made held. Now the link waits for
    the epoch before it looks."""
    a, _ = tenant_ids(conn)
    conn.execute("INSERT INTO leads (tenant_id, lead_id) VALUES (%s, %s)", (a, LEAD))
    conn.commit()
    key = _keys(conn, a, "lead_id IS NULL")[0]
    before = _content_rows(conn, a)
    with (
        psycopg.connect(two_tenants) as holder,
        psycopg.connect(two_tenants) as linker,
        psycopg.connect(login_a) as writer,
    ):
        hold = holder.execute(
            "INSERT INTO legal_holds (tenant_id, scope, value, reason, created_by) "
            "VALUES (%s, 'lead', %s, 'race', 'test') RETURNING hold_id",
            (a, LEAD),
        ).fetchone()
        assert hold is not None
        holder.execute(  # its audit entry, as `pmail hold add` writes it (0030)
            "INSERT INTO admin_audit_log (os_user, tenant_id, action, params, result) "
            "VALUES ('t', %s, 'hold add', '{}', jsonb_build_object('hold_id', %s))",
            (a, hold[0]),
        )
        linked = threading.Thread(
            target=lambda: linker.execute(
                "UPDATE email_messages SET lead_id = %s WHERE storage_key = %s",
                (LEAD, key),
            )
        )
        linked.start()
        time.sleep(0.5)  # the link waits for the hold's transaction
        holder.commit()
        linked.join(timeout=60)
        writer.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        writer.execute("SELECT 1")  # its snapshot: the hold, not the link
        linker.commit()
        with pytest.raises(errors.SerializationFailure):
            writer.execute("SELECT pmail_delete_content(%s::uuid, ARRAY[%s])", (a, key))
        writer.rollback()
    assert _content_rows(conn, a) == before


def _add_hold_in_background(dsn: str, key: str) -> tuple[threading.Thread, list[Any]]:
    done: list[Any] = []
    adder = threading.Thread(
        target=lambda: done.append(
            pmail(dsn, "hold", "add", "-t", "a", "--storage-key", key,
                  "--reason", "case 8", "--format", "json")
        )
    )  # fmt: skip
    adder.start()
    return adder, done


def _hold_is_waiting(conn: Conn) -> bool:
    for _ in range(200):  # until the hold's session is seen waiting on a lock
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND query ILIKE %s",
            ("%legal_holds%",),
        ).fetchone()
        conn.commit()
        if row == (1,):  # (this database only: other test runs may share the server)
            return True
        time.sleep(0.05)
    return False


def test_a_hold_waits_for_a_writer_in_flight_and_covers_what_is_left(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """READ COMMITTED: the login changes a's message (not held yet) and keeps its
    transaction open; `pmail hold add` for that message waits for it (a lock on a's
    hold epoch, seen in pg_stat_activity). The login, seeing a hold coming (any role
    may read pg_locks), purges the message's content and commits: that change comes
    before the hold, and the record says so. Before, the hold was dated before the
    wait, so the content looked destroyed under a hold."""
    a, _ = tenant_ids(conn)
    key = _keys(conn, a)[0]
    with psycopg.connect(login_a) as writer:
        writer.execute(
            "UPDATE email_messages SET status = status WHERE storage_key = %s", (key,)
        )
        adder, done = _add_hold_in_background(two_tenants, key)
        assert _hold_is_waiting(conn) and not done, "the hold did not wait"
        writer.execute(
            "UPDATE email_messages SET purged_at = now() WHERE storage_key = %s", (key,)
        )
        writer.execute("SELECT pmail_delete_content(%s::uuid, ARRAY[%s])", (a, key))
        writer.execute(  # its audit entry, as `pmail purge` writes it (0032)
            "INSERT INTO admin_audit_log (os_user, tenant_id, action, params, result) "
            "VALUES ('t', %s, 'purge', '{}', jsonb_build_object('keys', ARRAY[%s]))",
            (a, key),
        )
        gone = writer.execute("SELECT clock_timestamp()").fetchone()  # then commit
        writer.commit()
        adder.join(timeout=60)
    assert done and done[0][0] == 0, done
    (hold,) = json.loads(done[0][1])
    assert gone is not None and isinstance(gone[0], datetime)
    assert datetime.fromisoformat(hold["created"]) > gone[0], (hold, gone)
    assert hold["messages"] == 1  # the message row, counted once the hold held


def test_a_writer_that_keeps_its_transaction_open_cannot_hold_off_a_hold(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """A tenant login keeps a transaction open after a write, for ever: `pmail hold
    add` stops after its lock timeout with an error naming that session's pid (and a
    hint to end it), instead of waiting for ever; with the session ended, the hold
    goes in."""
    a, _ = tenant_ids(conn)
    key = _keys(conn, a)[0]
    writer = psycopg.connect(login_a)
    try:
        writer.execute(
            "UPDATE email_messages SET status = status WHERE storage_key = %s", (key,)
        )
        pid = writer.info.backend_pid
        code, _, err = pmail(
            two_tenants, "hold", "add", "-t", "a", "--storage-key", key,
            "--reason", "case 9",
        )  # fmt: skip
        assert code == 1 and f"pid {pid}" in err and "pg_terminate_backend" in err, err
    finally:
        writer.close()
    code, _, err = pmail(
        two_tenants,
        "hold",
        "add",
        "-t",
        "a",
        "--storage-key",
        key,
        "--reason",
        "case 9",
    )
    assert code == 0, err


def test_a_delete_by_lead_of_mail_a_lead_hold_covers_is_refused(
    two_tenants: str, conn: Conn
) -> None:
    """A lead hold on a's outbound mail; the owner deletes those messages by lead.
    Before, the guard read the lead from the rows the statement had deleted (NULL),
    and every message, its content and attachments went. Now it is refused; b's
    mail with the same lead (not held) can be deleted."""
    a, b = tenant_ids(conn)
    for tenant in (a, b):
        conn.execute(
            "INSERT INTO leads (tenant_id, lead_id) VALUES (%s, %s)", (tenant, LEAD)
        )
        conn.execute(
            "UPDATE email_messages SET lead_id = %s WHERE tenant_id = %s "
            "AND direction = 'outbound'",
            (LEAD, tenant),
        )
    conn.commit()
    _hold(two_tenants, "--lead", LEAD)
    held = _keys(conn, a, f"lead_id = '{LEAD}'")
    assert held
    with pytest.raises(psycopg.Error, match="under legal hold"), conn.transaction():
        conn.execute(
            "DELETE FROM email_messages WHERE lead_id = %s AND tenant_id = %s",
            (LEAD, a),
        )
    conn.rollback()
    assert _keys(conn, a, f"lead_id = '{LEAD}'") == held
    with conn.transaction():  # (the owner here is a superuser: no row security)
        conn.execute(
            "DELETE FROM email_messages WHERE lead_id = %s AND tenant_id = %s",
            (LEAD, b),
        )
    conn.commit()
    assert _keys(conn, b, f"lead_id = '{LEAD}'") == []


def test_a_scope_switched_mid_statement_does_not_blind_the_fact_guard(
    admin_login: str, two_tenants: str, conn: Conn
) -> None:
    """A pmail_admin login scoped to a changes a held bounce's delivery facts and,
    in the same statement, switches its scope to b (`RETURNING set_config`). Before,
    the guard then looked for b's holds and let it through; now it is refused."""
    a, b = tenant_ids(conn)
    _hold(two_tenants)
    with psycopg.connect(admin_login) as admin:
        for statement in (
            "UPDATE delivery_facts SET diagnostic_code = 'forged' "
            "RETURNING set_config('pmail.tenant_id', %s, true)",
            "DELETE FROM delivery_facts "
            "RETURNING set_config('pmail.tenant_id', %s, true)",
        ):
            admin.execute("SELECT pmail_scope_tenant(%s::uuid)", (a,))
            with pytest.raises(psycopg.Error, match="under legal hold"):
                admin.execute(statement, (b,))
            admin.rollback()
    facts = conn.execute(
        "SELECT count(*) FROM delivery_facts WHERE tenant_id = %s "
        "AND diagnostic_code IS DISTINCT FROM 'forged'",
        (a,),
    ).fetchone()
    assert facts is not None and int(str(facts[0])) > 0


def test_a_tenant_login_cannot_plant_content_or_files_on_held_mail(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """One of a's messages lost its content before a tenant-wide hold (a purge). Its
    login then inserts made-up content for it (which validate and export would have
    vouched for), adds a file to a held message, or moves a file onto one: each is
    refused. The writer still stores new mail under the hold (its own
    transaction's messages)."""
    a, _ = tenant_ids(conn)
    tombstone = _keys(conn, a)[0]
    with conn.transaction():
        conn.execute("SELECT pmail_scope_tenant(%s::uuid)", (a,))
        conn.execute(
            "DELETE FROM email_content WHERE tenant_id = %s AND storage_key = %s",
            (a, tombstone),
        )
    conn.commit()
    _hold(two_tenants)
    with psycopg.connect(login_a) as login:
        attacks = [
            (
                "INSERT INTO email_content (tenant_id, storage_key, content_text, "
                "raw_size_bytes, compressed_size_bytes, raw_form, compression) "
                "VALUES (%s, %s, 'I agree to pay', 14, 14, 'none', 'none')",
                (a, tombstone),
            ),
            (
                "INSERT INTO attachments (tenant_id, parent_storage_key, part_index, "
                "filename, size_bytes, sha256) SELECT tenant_id, c.storage_key, 7, "
                "'confession.txt', b.size_bytes, b.sha256 FROM email_content AS c, "
                "LATERAL (SELECT size_bytes, sha256 FROM attachment_blobs LIMIT 1) AS b "
                "WHERE c.storage_key <> %s AND c.tenant_id = %s LIMIT 1",
                (tombstone, a),
            ),
        ]
        for statement, params in attacks:
            with pytest.raises(psycopg.Error, match="under legal hold"):
                login.execute(statement, params)
            login.rollback()
    assert _content_rows(conn, a) == len(_keys(conn, a)) - 1
    inbox = tmp_path / "new.eml"
    inbox.write_bytes(mailgen.simple(77, subject="new mail under the hold"))
    code, _, err = pmail(two_tenants, "ingest", "-t", "a", str(inbox))
    assert code == 0 and "ingested 1 message" in err, err


def test_hold_records_change_only_with_their_audit_entry(
    two_tenants: str, conn: Conn
) -> None:
    """An administrator in SQL: a hold inserted already released, or backdated; a
    release with no audit entry, or dated in the past. Before, each went through
    unaudited. Now the first is refused, the date is the transaction's, and a
    change without its audit entry fails at commit; with the entry it goes."""
    a, _ = tenant_ids(conn)
    with pytest.raises(psycopg.Error, match="created active"), conn.transaction():
        conn.execute("SELECT pmail_scope_tenant(%s::uuid)", (a,))
        conn.execute(
            "INSERT INTO legal_holds (tenant_id, scope, reason, created_by, released, "
            "released_by) VALUES (%s, 'tenant', 'x', 'x', now(), 'x')",
            (a,),
        )
    conn.rollback()
    conn.execute("SELECT pmail_scope_tenant(%s::uuid)", (a,))
    conn.execute(
        "INSERT INTO legal_holds (tenant_id, scope, reason, created_by, created) "
        "VALUES (%s, 'tenant', 'quiet', 'x', '2020-01-01')",
        (a,),
    )
    with pytest.raises(psycopg.Error, match="without its audit entry"):
        conn.commit()
    _hold(two_tenants)  # through pmail: audited
    conn.execute("SELECT pmail_scope_tenant(%s::uuid)", (a,))
    row = conn.execute(
        "SELECT hold_id, created > now() - interval '1 hour' FROM legal_holds"
    ).fetchone()
    assert row is not None and row[1] is True
    hold_id = row[0]
    conn.execute(
        "UPDATE legal_holds SET released = '2001-01-01', released_by = 'legal' "
        "WHERE hold_id = %s",
        (hold_id,),
    )
    with pytest.raises(psycopg.Error, match="without its audit entry"):
        conn.commit()
    conn.execute("SELECT pmail_scope_tenant(%s::uuid)", (a,))
    conn.execute(
        "UPDATE legal_holds SET released = '2001-01-01', released_by = 'legal' "
        "WHERE hold_id = %s",
        (hold_id,),
    )
    conn.execute(
        "INSERT INTO admin_audit_log (tenant_id, action, params) "
        "VALUES (%s, 'hold release', jsonb_build_object('hold_id', %s::bigint))",
        (a, hold_id),
    )
    conn.commit()
    conn.execute("SELECT pmail_scope_tenant(%s::uuid)", (a,))
    released = conn.execute(
        "SELECT released > now() - interval '1 hour' FROM legal_holds "
        "WHERE hold_id = %s",
        (hold_id,),
    ).fetchone()
    conn.commit()
    assert released == (True,)  # the transaction's time, not 2001


def test_a_tenant_login_cannot_move_a_file_onto_held_mail(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """One of a's messages with a file is held; the login moves another message's
    file onto it, alone or in one statement with the held message's own file left
    as it was (which once vouched for the moved one): both refused (since 0033 by
    the rule that no tenant login moves an attachment row, held or not)."""
    extra = tmp_path / "extra.eml"
    extra.write_bytes(mailgen.with_attachment(21, mailgen.pdf_bytes(21)))
    assert pmail(two_tenants, "ingest", "-t", "a", str(extra))[0] == 0
    a, _ = tenant_ids(conn)
    rows = conn.execute(
        "SELECT parent_storage_key FROM attachments WHERE tenant_id = %s "
        "ORDER BY created, parent_storage_key",
        (a,),
    ).fetchall()
    conn.commit()
    held, other = (str(r[0]) for r in rows)
    _hold(two_tenants, "--storage-key", held)
    with psycopg.connect(login_a) as login:
        for statement in (
            "UPDATE attachments SET parent_storage_key = %(held)s, part_index = 7 "
            "WHERE parent_storage_key = %(other)s",
            "UPDATE attachments SET parent_storage_key = %(held)s, part_index = "
            "CASE parent_storage_key WHEN %(other)s THEN 7 ELSE part_index END "
            "WHERE parent_storage_key IN (%(other)s, %(held)s)",
        ):
            # since 0033 no tenant login moves an attachment row at all (P0H06),
            # before the hold guard of 0030 (P0H01) is asked
            with pytest.raises(psycopg.Error, match="by a tenant login") as refused:
                login.execute(statement, {"held": held, "other": other})
            assert refused.value.sqlstate == "P0H06"
            login.rollback()
    moved = conn.execute(
        "SELECT count(*) FROM attachments WHERE tenant_id = %s "
        "AND parent_storage_key = %s",
        (a, held),
    ).fetchone()
    assert moved == (1,)
