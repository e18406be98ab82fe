"""A tenant login may not wipe, replace or move its own stored mail (migration 0033,
docs/security.md).

Two red-team passes of 2026-12-07 lost a's unheld mail, as a's own login and with no
audit entry, through the UPDATE rights pmail_app has on every column: they emptied a
message's raw form, replaced its bytes with another message's under a matching digest
(which `export` then vouched for), moved a body to a decoy storage key, replaced a
migrated message through a dictionary of their own, and re-pointed attachment rows so
that a file went unreferenced (and could be deleted) or another file was exported.
Each is refused now. Since 0037 a tenant login does not recompress at all (it could
"recompress" its mail to garbage through a dictionary of its own): recompression is
an administrator's job."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import psycopg
import pytest

from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.mail.compress import decompress
from pmail_cli.mail.prepare import blob_row
from pmail_cli.repository import writer as writer_repo
from pmail_cli.services import ingest, tenants
from pmail_cli.services.pipeline import PipelineOptions
from pmail_cli.services.tenants import scoped
from pmail_cli.services.writer import BatchWriter
from tests import mailgen
from tests.db.test_holds_barrier import _keys
from tests.db.test_tenancy import _templated
from tests.support.tenancy import Conn, pmail, tenant_ids

pytestmark = pytest.mark.db


def _stored(conn: Conn, tenant: str) -> list[tuple[object, ...]]:
    rows = conn.execute(
        "SELECT storage_key, raw_sha256, raw_form, md5(raw_data) FROM email_content "
        "WHERE tenant_id = %s ORDER BY storage_key",
        (tenant,),
    ).fetchall()
    files = conn.execute(
        "SELECT sha256, size_bytes, md5(data) FROM attachment_blobs "
        "WHERE tenant_id = %s ORDER BY sha256",
        (tenant,),
    ).fetchall()
    conn.commit()
    return [*rows, *files]


def test_a_tenant_login_cannot_wipe_replace_or_move_stored_mail(
    login_a: str, conn: Conn
) -> None:
    """The red team's statements, as a's login on a's unheld mail: each refused
    (P0H06), and every stored body and file is as it was."""
    a, _ = tenant_ids(conn)
    first, second = _keys(conn, a)[:2]
    conn.execute(
        "INSERT INTO email_messages (tenant_id, storage_key, direction, status) "
        "SELECT tenant_id, 'decoy' || storage_key, direction, status "
        "FROM email_messages WHERE storage_key = %s",
        (first,),
    )
    conn.execute(  # a dictionary to move to (its bytes are never read)
        "INSERT INTO compression_dicts (tenant_id, dict_id, zstd_dict_id, dict_data, "
        "sample_count, sample_bytes) VALUES (%s, 902, 0, '\\x0102', 1, 2)",
        (a,),
    )
    bare = conn.execute(  # a message with no attachment rows, to move one onto
        "SELECT c.storage_key FROM email_content AS c WHERE c.tenant_id = %s "
        "AND NOT EXISTS (SELECT 1 FROM attachments AS t WHERE t.tenant_id = "
        "c.tenant_id AND t.parent_storage_key = c.storage_key) LIMIT 1",
        (a,),
    ).fetchone()
    conn.commit()
    assert bare is not None
    before = _stored(conn, a)
    attacks = [
        # emptied
        "UPDATE email_content SET raw_form = 'none', raw_data = NULL, "
        "raw_sha256 = NULL, raw_splices = NULL, compression = 'none', dict_id = NULL "
        "WHERE storage_key = %(first)s",
        # another message's bytes under its digest
        "UPDATE email_content AS c SET raw_data = o.raw_data, raw_form = o.raw_form, "
        "raw_splices = o.raw_splices, compression = o.compression, "
        "dict_id = o.dict_id, raw_sha256 = o.raw_sha256 FROM email_content AS o "
        "WHERE c.storage_key = %(first)s AND o.storage_key = %(second)s",
        # another message's bytes under the old digest
        "UPDATE email_content AS c SET raw_data = o.raw_data, compression = "
        "o.compression, dict_id = o.dict_id, raw_form = o.raw_form, "
        "raw_splices = o.raw_splices FROM email_content AS o "
        "WHERE c.storage_key = %(first)s AND o.storage_key = %(second)s",
        # moved to a decoy message
        "UPDATE email_content SET storage_key = 'decoy' || storage_key "
        "WHERE storage_key = %(first)s",
        # a stored attachment file rewritten, or its compression changed
        "UPDATE attachment_blobs SET data = '\\x00', compression = 'none'",
        "UPDATE attachment_blobs SET sha256 = sha256(sha256)",
        "UPDATE attachment_blobs SET compression = CASE compression WHEN 'none' "
        "THEN 'zstd' ELSE 'none' END",
        # an attachment row re-pointed to another file (so the file it named goes
        # unreferenced), or moved to another message
        "UPDATE attachments SET sha256 = sha256(sha256)",
        "UPDATE attachments SET size_bytes = size_bytes + 1",
        "UPDATE attachments SET parent_storage_key = %(bare)s",
        "UPDATE attachments SET filename = 'invoice-final.exe', mime_type = "
        "'text/plain'",
        # a file added to a message stored in an earlier transaction
        "INSERT INTO attachments (tenant_id, parent_storage_key, part_index, "
        "filename, mime_type, size_bytes, sha256) SELECT tenant_id, %(first)s, 99, "
        "'real.pdf', 'application/pdf', size_bytes, sha256 FROM attachments LIMIT 1",
        # the splice record of a message, or its compression without its bytes
        "UPDATE email_content SET raw_splices = '[]' WHERE raw_splices IS NOT NULL",
        "UPDATE email_content SET raw_form = 'whole', raw_splices = NULL "
        "WHERE raw_form = 'spliced'",
        "UPDATE email_content SET compression = 'none', dict_id = NULL "
        "WHERE compression <> 'none'",
        # a move to another dictionary without new bytes (a later recompression
        # would read them with the wrong dictionary)
        "UPDATE email_content SET compression = 'zstd-dict', dict_id = 902 "
        "WHERE storage_key = %(first)s",
        # "recompressed" through a dictionary of the login's own to bytes that give
        # nothing back (0033 let this shape through: it is pmail's recompression's)
        "UPDATE email_content SET raw_data = '\\x28b52ffd2000010000', "
        "compression = 'zstd-dict', dict_id = 902 WHERE storage_key = %(first)s",
    ]
    with psycopg.connect(login_a) as session:
        for attack in attacks:
            with pytest.raises(psycopg.Error) as refused, session.transaction():
                changed = session.execute(
                    attack, {"first": first, "second": second, "bare": bare[0]}
                )
                assert changed.rowcount > 0, attack  # (never reached)
            assert refused.value.sqlstate == "P0H06", (attack, refused.value)
            assert "by a tenant login" in str(refused.value)
    assert _stored(conn, a) == before


def test_a_migrated_message_is_not_rewritten_through_a_planted_dictionary(
    login_a: str, conn: Conn
) -> None:
    """A legacy row has no digest: the login inserted a dictionary of its own and
    moved the row to it with bytes of its choosing, and `validate --deep` and
    `export` took the forgery. Refused now, as is any change of a legacy row's
    stored form."""
    a, _ = tenant_ids(conn)
    key = _keys(conn, a)[0]
    conn.execute(  # a's message made a migrated one (as `migrate-legacy` stores it)
        "UPDATE email_content SET raw_form = 'legacy', raw_sha256 = NULL, "
        "raw_splices = NULL WHERE storage_key = %s",
        (key,),
    )
    conn.commit()
    before = _stored(conn, a)
    with psycopg.connect(login_a) as session:
        session.execute(
            "INSERT INTO compression_dicts (tenant_id, dict_id, zstd_dict_id, "
            "dict_data, sample_count, sample_bytes) VALUES (%s, 901, 0, '\\x0102', "
            "1, 2)",
            (a,),
        )
        for attack, why in (
            (
                "UPDATE email_content SET raw_data = '\\x28b52ffd', "
                "compression = 'zstd-dict', dict_id = 901 WHERE storage_key = %s",
                "no digest",
            ),
            (
                "UPDATE email_content SET compression = 'zstd-dict', dict_id = 901 "
                "WHERE storage_key = %s",
                "no digest",
            ),
            # the third pass: given a digest and a form of the login's choosing
            # first, the row was no longer legacy, and a "recompression" to
            # matching bytes passed validate --deep and export
            (
                "UPDATE email_content SET raw_form = 'whole', raw_sha256 = "
                "sha256('forged') WHERE storage_key = %s",
                "another digest",
            ),
            (
                "UPDATE email_content SET raw_form = 'whole' WHERE storage_key = %s",
                "another form",
            ),
        ):
            with pytest.raises(psycopg.Error) as refused, session.transaction():
                session.execute(attack, (key,))
            assert refused.value.sqlstate == "P0H06", (attack, refused.value)
            assert why in str(refused.value)
    assert _stored(conn, a) == before


def test_recompression_is_an_administrators_job(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """A tenant login's ingest (with a file) still works, and its automatic training
    makes a dictionary for new mail but leaves the rows stored before it; its `dict
    train --recompress` is refused before anything is trained (error and hint, no row
    moved). The owner's recompression then moves every row, and `validate --deep`
    finds every message whole. (Until 0037 the login recompressed, which let it
    recompress its mail to garbage through a dictionary of its own.)"""
    a, _ = tenant_ids(conn)
    files = "SELECT count(*) FROM attachments WHERE tenant_id = %s"
    before = conn.execute(files, (a,)).fetchone()
    conn.commit()
    for part in range(2):  # the second ingest crosses the training threshold
        folder = tmp_path / f"part{part}"
        folder.mkdir()
        for n in range(60):  # enough mail to train a dictionary on
            (folder / f"{n}.eml").write_bytes(_templated(part * 100 + n))
        if part == 0:  # and one with a file: a login's ingest writes its row
            (folder / "file.eml").write_bytes(
                mailgen.with_attachment(3000, mailgen.pdf_bytes(3))
            )
        with connect(Settings(dsn=login_a, dsn_source="test")) as session:
            scope = tenants.use_tenant(session, "a")
            ingest.ingest_paths(
                session,
                [str(folder)],
                tenant=scope,
                options=PipelineOptions(auto_train_at=100),
                jobs=1,
            )
    after = conn.execute(files, (a,)).fetchone()
    conn.commit()
    assert before is not None and after is not None
    assert int(str(after[0])) == int(str(before[0])) + 1
    forms = (
        "SELECT count(*) FILTER (WHERE dict_id IS NULL), count(*) FILTER (WHERE "
        "dict_id = (SELECT max(dict_id) FROM compression_dicts WHERE tenant_id = "
        "%(a)s)), count(*), (SELECT count(*) FROM compression_dicts WHERE tenant_id "
        "= %(a)s) FROM email_content WHERE tenant_id = %(a)s AND raw_data IS NOT NULL"
    )
    plain, _, stored, dictionaries = _row(conn, forms, {"a": a})
    assert dictionaries == 1 and plain == stored and stored >= 121
    code, _, err = pmail(login_a, "dict", "train", "-t", "a", "--recompress")
    assert code != 0 and "error: a tenant's login does not rewrite stored mail" in err
    assert "hint: run `pmail dict train --recompress` as the owner" in err, err
    assert "Traceback" not in err
    assert _row(conn, forms, {"a": a}) == (plain, 0, stored, 1)  # nothing trained
    code, _, err = pmail(two_tenants, "dict", "train", "-t", "a", "--recompress")
    assert code == 0, err
    # (trained on the same messages as the login's: the same dictionary, kept)
    assert _row(conn, forms, {"a": a}) == (0, stored, stored, 1)
    code, _, err = pmail(login_a, "validate", "-t", "a", "--deep")
    assert code == 0, err


def _row(conn: Conn, query: str, params: dict[str, str]) -> tuple[int, ...]:
    row = conn.execute(query, params).fetchone()
    conn.commit()
    assert row is not None
    return tuple(int(str(v)) for v in row)


def _planted(conn: Conn, tenant: str, key: str) -> tuple[int, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM email_content WHERE tenant_id = %(t)s "
        "AND storage_key = %(k)s), (SELECT count(*) FROM attachments "
        "WHERE tenant_id = %(t)s AND parent_storage_key = %(k)s AND part_index = 99)",
        {"t": tenant, "k": key},
    ).fetchone()
    conn.commit()
    assert row is not None
    return int(str(row[0])), int(str(row[1]))


def test_a_message_cannot_be_made_new_again_to_plant_rows(
    login_a: str, conn: Conn
) -> None:
    """Rows are added to a message only by the transaction that stores it, which the
    guards knew by `email_messages.created = now()`. The login could set `created`
    itself: then it planted a forged file on a stored message, and a body on the
    tombstone an audited purge left (found 2026-12-07). A login may no longer change
    a message's `created` or `storage_key` (its `tenant_id` row-level security keeps),
    and may not add a content row to a message stored earlier either."""
    a, _ = tenant_ids(conn)
    stored, purged = _keys(conn, a)[:2]
    conn.execute(  # a's purge of `purged`, as `pmail purge` leaves it
        "UPDATE email_messages SET purged_at = now() WHERE storage_key = %s", (purged,)
    )
    conn.execute("DELETE FROM attachments WHERE parent_storage_key = %s", (purged,))
    conn.execute("DELETE FROM email_content WHERE storage_key = %s", (purged,))
    conn.commit()
    body = (
        "INSERT INTO email_content (tenant_id, storage_key, raw_form, raw_data, "
        "raw_sha256, compression, raw_size_bytes, compressed_size_bytes) VALUES "
        "(%(a)s, %(key)s, 'whole', '\\x00', sha256('\\x00'), 'none', 1, 1)"
    )
    file = (
        "INSERT INTO attachments (tenant_id, parent_storage_key, part_index, "
        "filename, mime_type, size_bytes, sha256) SELECT tenant_id, %(key)s, 99, "
        "'real.pdf', 'application/pdf', size_bytes, sha256 FROM attachments LIMIT 1"
    )
    made_new = "UPDATE email_messages SET created = now() WHERE storage_key = %(key)s"
    with psycopg.connect(login_a) as session:
        for steps, key in (
            ([made_new, file], stored),
            ([made_new, body], purged),
            ([body], purged),
            (
                [
                    "UPDATE email_messages SET storage_key = 'x' || storage_key "
                    "WHERE storage_key = %(key)s"
                ],
                stored,
            ),
        ):
            with pytest.raises(psycopg.Error) as refused, session.transaction():
                for step in steps:
                    session.execute(step, {"a": a, "key": key})
            assert refused.value.sqlstate == "P0H06", (steps, refused.value)
            assert "by a tenant login" in str(refused.value)
    assert _planted(conn, a, stored) == (1, 0)
    assert _planted(conn, a, purged) == (0, 0)


def test_a_message_stored_by_another_transaction_cannot_vouch_for_a_plant(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """The red-team pass against the first version of 0034 (2026-12-07): the guards
    knew the storing transaction by `created = now()`, and a login may choose
    `created` on insert. Session 2 stored a message with session 1's `now()` and
    committed; the message was held; session 1 then planted a body and a forged file
    on it. Now the storing transaction is known by its id (`stored_xid`), which a
    login may neither choose nor change, and a purged message stays purged."""
    a, _ = tenant_ids(conn)
    plant = (
        "INSERT INTO email_content (tenant_id, storage_key, raw_form, raw_data, "
        "raw_sha256, compression, raw_size_bytes, compressed_size_bytes) VALUES "
        "(%(a)s, %(key)s, 'whole', '\\x00', sha256('\\x00'), 'none', 1, 1)"
    )
    store = (
        "INSERT INTO email_messages (tenant_id, storage_key, direction, status, "
        "created) VALUES (%(a)s, %(key)s, 'inbound', 'received', %(at)s)"
    )
    with psycopg.connect(login_a) as first, psycopg.connect(login_a) as second:
        for key, held in (("aa" * 16, True), ("bb" * 16, False)):
            at = first.execute("SELECT now()").fetchone()
            assert at is not None
            with second.transaction():
                second.execute(store, {"a": a, "key": key, "at": at[0]})
            if held:
                code, _, err = pmail(
                    two_tenants, "hold", "add", "-t", "a", "--storage-key", key,
                    "--reason", "red team",
                )  # fmt: skip
                assert code == 0, err
            with pytest.raises(psycopg.Error) as refused:
                first.execute(plant, {"a": a, "key": key})
            first.rollback()
            assert refused.value.sqlstate == ("P0H01" if held else "P0H06"), refused
        # nor may a login name the other transaction's id on its message
        xid = first.execute("SELECT pg_current_xact_id()").fetchone()
        assert xid is not None
        with pytest.raises(psycopg.Error) as refused, second.transaction():
            second.execute(
                "INSERT INTO email_messages (tenant_id, storage_key, direction, "
                "status, stored_xid) VALUES (%s, repeat('c', 32), 'inbound', "
                "'received', %s)",
                (a, xid[0]),
            )
        assert refused.value.sqlstate == "P0H06", refused
        first.rollback()
    assert _planted(conn, a, "aa" * 16) == (0, 0)
    assert _planted(conn, a, "bb" * 16) == (0, 0)
    # a purged message stays purged (it looked unpurged, its content "missing")
    key = _keys(conn, a)[0]
    conn.execute(
        "UPDATE email_messages SET purged_at = now() WHERE storage_key = %s", (key,)
    )
    conn.commit()
    with psycopg.connect(login_a) as session:
        with pytest.raises(psycopg.Error) as refused, session.transaction():
            session.execute(
                "UPDATE email_messages SET purged_at = NULL WHERE storage_key = %s",
                (key,),
            )
        assert refused.value.sqlstate == "P0H06", refused
        # pmail's own purge of an unpurged message still goes through
        with session.transaction():
            session.execute(
                "UPDATE email_messages SET purged_at = now() WHERE storage_key = %s",
                (_keys(conn, a)[1],),
            )


def test_a_file_planted_ahead_of_mail_is_written_again(
    login_a: str,
    two_tenants: str,
    conn: Conn,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The second red-team pass: as a's login, an `attachment_blobs` row with a real
    file's sha256 and size but other bytes, before any mail carries that file. The
    writer reused any file the tenant had (ON CONFLICT DO NOTHING), so every later
    message lost it, the owner's ingests too. Now the writer checks a file once before
    it reuses it: the owner's ingest writes the right bytes again, and a login's
    ingest (which may not rewrite a file) stops with an error naming it."""
    a, _ = tenant_ids(conn)
    files = {n: mailgen.pdf_bytes(700 + n) for n in (1, 2)}
    plant = (
        "INSERT INTO attachment_blobs (tenant_id, sha256, size_bytes, "
        "compressed_size_bytes, compression, data) VALUES (%s, sha256(%s), %s, 4, "
        "'none', '\\x00000000')"
    )
    with psycopg.connect(login_a) as session:
        for data in files.values():
            session.execute(plant, (a, data, len(data)))
        session.commit()
    for n, data in files.items():
        folder = tmp_path / f"mail{n}"
        folder.mkdir()
        (folder / "m.eml").write_bytes(mailgen.with_attachment(7000 + n, data))
    code, _, err = pmail(login_a, "ingest", str(tmp_path / "mail2"), "-t", "a")
    assert (
        code != 0
        and f"error: the stored file {hashlib.sha256(files[2]).hexdigest()}" in err
    )
    assert "hint: ingest this mail once as the owner" in err and "Traceback" not in err
    for n in (1, 2):
        caplog.clear()
        code, _, err = pmail(
            two_tenants, "ingest", str(tmp_path / f"mail{n}"), "-t", "a"
        )
        assert code == 0, err
        # (in-process, pmail's warnings reach pytest's log capture, not stderr)
        assert "did not hold that file's bytes; writing them again" in caplog.text
    code, _, err = pmail(two_tenants, "validate", "-t", "a", "--deep")
    assert code == 0, err
    out = tmp_path / "out"
    code, _, err = pmail(two_tenants, "export", "-t", "a", "--out", str(out))
    assert code == 0, err
    exported = {p.read_bytes() for p in out.rglob("*") if p.is_file()}
    for n, data in files.items():  # byte for byte, the file in it
        assert mailgen.with_attachment(7000 + n, data) in exported


def test_a_dictionary_zstd_refuses_does_not_stop_ingest(
    login_a: str,
    two_tenants: str,
    conn: Conn,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The second red-team pass: as a's login, a `compression_dicts` row zstd cannot
    load, newer than any other; every ingest of tenant a, the owner's too, then
    crashed with a traceback. Now pmail warns and compresses without a dictionary."""
    a, _ = tenant_ids(conn)
    with psycopg.connect(login_a) as session:
        session.execute(
            "INSERT INTO compression_dicts (tenant_id, dict_id, zstd_dict_id, "
            "dict_data, sample_count, sample_bytes) VALUES (%s, 9001, 1, "
            "decode('37a430ec01000000' || repeat('ff', 2000), 'hex'), 1, 1)",
            (a,),
        )
        session.commit()
    for who, dsn in (("login", login_a), ("owner", two_tenants)):
        folder = tmp_path / who
        folder.mkdir()
        (folder / "m.eml").write_bytes(_templated(900 if who == "login" else 901))
        caplog.clear()
        code, _, err = pmail(dsn, "ingest", str(folder), "-t", "a")
        assert code == 0 and "Traceback" not in err, err
        assert "dictionary 9001 of tenant a is not one zstd can use" in caplog.text
    code, _, err = pmail(two_tenants, "validate", "-t", "a", "--deep")
    assert code == 0, err


def _file_ok(conn: Conn, tenant: str, data: bytes) -> bool:
    row = conn.execute(
        "SELECT compression, data FROM attachment_blobs WHERE tenant_id = %s "
        "AND sha256 = sha256(%s)",
        (tenant, data),
    ).fetchone()
    conn.commit()
    assert row is not None and isinstance(row[1], bytes)
    return decompress(row[1], str(row[0])) == data


def _one_session_waits(conn: Conn) -> bool:
    """Whether, within 10 s, one session of this database waits on a lock (the
    command under attack, held up by the login's open transaction)."""
    for _ in range(200):
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        ).fetchone()
        conn.commit()
        if row == (1,):
            return True
        time.sleep(0.05)
    return False


def test_a_file_planted_while_the_writer_stores_it_is_written_again(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """The login inserts the planted row while the owner's ingest of the real file is
    in flight: the writer did not have the file when it looked, so it inserted it once
    the login had committed, and the insert (ON CONFLICT DO NOTHING) kept the
    planted row. The writer now checks every staged file its insert did not store."""
    a, _ = tenant_ids(conn)
    data = mailgen.pdf_bytes(801)
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "m.eml").write_bytes(mailgen.with_attachment(8001, data))
    done: list[tuple[int, str, str]] = []
    with psycopg.connect(login_a) as session:
        session.execute(
            "INSERT INTO attachment_blobs (tenant_id, sha256, size_bytes, "
            "compressed_size_bytes, compression, data) VALUES (%s, sha256(%s), %s, 4, "
            "'none', '\\x00000000')",
            (a, data, len(data)),
        )  # not committed yet
        ingest = threading.Thread(
            target=lambda: done.append(
                pmail(two_tenants, "ingest", str(folder), "-t", "a")
            )
        )
        ingest.start()
        # (the writer waits on a rollup row the login's insert updated)
        waiting = _one_session_waits(conn)
        session.commit()
        ingest.join(timeout=120)
    assert waiting, ("the writer did not wait for the login's transaction", done)
    assert done and done[0][0] == 0, done
    assert _file_ok(conn, a, data)
    code, _, err = pmail(two_tenants, "validate", "-t", "a", "--deep")
    assert code == 0, err


def test_a_file_deleted_and_planted_again_is_checked_again(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """A writer checks a stored file once and then trusts that row; a long-lived
    writer (a queue worker) must not trust a row stored again later, as a planted row
    would be after a purge freed the file. The check is kept per row version."""
    a, _ = tenant_ids(conn)
    data = mailgen.pdf_bytes(802)
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "m.eml").write_bytes(mailgen.with_attachment(8002, data))
    code, _, err = pmail(two_tenants, "ingest", str(folder), "-t", "a")
    assert code == 0, err
    blob = blob_row(hashlib.sha256(data).digest(), data)
    with connect(Settings(dsn=two_tenants, dsn_source="test")) as owner:
        tenant = tenants.use_tenant(owner, "a")
        writer = BatchWriter(owner)
        with scoped(owner, tenant):
            versions = writer_repo.existing_blobs(
                owner, tenant_id=tenant.tenant_id, hashes=[blob.sha256]
            )
            writer._check_reused(tenant, blob, versions[blob.sha256])  # checked
        conn.execute(  # the file freed (its message gone) and planted again
            "DELETE FROM email_messages WHERE storage_key IN (SELECT "
            "parent_storage_key FROM attachments WHERE sha256 = %s)",
            (blob.sha256,),
        )
        conn.execute("DELETE FROM attachment_blobs WHERE sha256 = %s", (blob.sha256,))
        conn.commit()
        with psycopg.connect(login_a) as session:
            session.execute(
                "INSERT INTO attachment_blobs (tenant_id, sha256, size_bytes, "
                "compressed_size_bytes, compression, data) VALUES (%s, %s, %s, 4, "
                "'none', '\\x00000000')",
                (a, blob.sha256, len(data)),
            )
        assert not _file_ok(conn, a, data)
        with scoped(owner, tenant):
            versions = writer_repo.existing_blobs(
                owner, tenant_id=tenant.tenant_id, hashes=[blob.sha256]
            )
            writer._check_reused(tenant, blob, versions[blob.sha256])
    assert _file_ok(conn, a, data)


def test_a_file_the_writer_reuses_stays_as_checked_until_it_commits(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """The third red-team pass: the writer checked a stored file, then the login
    deleted the row (pmail_delete_unreferenced_blobs) or changed it, and planted
    another before the batch inserted its attachment rows, which then pointed at the
    planted row (or failed their foreign key, with a traceback). The writer's look-up
    now share-locks the rows it will reuse until the batch commits: the login waits
    (here, past its lock timeout)."""
    a, _ = tenant_ids(conn)
    data = mailgen.pdf_bytes(803)
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "m.eml").write_bytes(mailgen.with_attachment(8003, data))
    code, _, err = pmail(two_tenants, "ingest", str(folder), "-t", "a")
    assert code == 0, err
    sha = hashlib.sha256(data).digest()
    conn.execute(  # the file freed: unreferenced, deletable
        "DELETE FROM email_messages WHERE storage_key IN (SELECT "
        "parent_storage_key FROM attachments WHERE sha256 = %s)",
        (sha,),
    )
    conn.commit()
    with connect(Settings(dsn=two_tenants, dsn_source="test")) as owner:
        tenant = tenants.use_tenant(owner, "a")
        with scoped(owner, tenant):  # a batch, between its look-up and its commit
            assert sha in writer_repo.existing_blobs(
                owner, tenant_id=tenant.tenant_id, hashes=[sha]
            )
            with psycopg.connect(login_a) as session:
                session.execute("SET lock_timeout = '300ms'")
                session.commit()  # (for the session, not one transaction)
                for attack in (
                    "SELECT pmail_delete_unreferenced_blobs(%s::uuid, ARRAY[%s])",
                    "UPDATE attachment_blobs SET compressed_size_bytes = 5 "
                    "WHERE tenant_id = %s AND sha256 = %s",
                ):
                    with pytest.raises(psycopg.errors.LockNotAvailable):
                        session.execute(attack, (a, sha))
                    session.rollback()
    assert _file_ok(conn, a, data)


def test_a_login_cannot_store_mail_under_a_legacy_key(login_a: str, conn: Conn) -> None:
    """The fourth red-team pass: a legacy storage key is not a digest of the message
    (`email_<Message-ID>_<epoch ms>`), so the login stored a message under one, with a
    forged body as a legacy row (no digest to check); `migrate-legacy` then skipped
    the real message as already stored, and `--verify`, `validate --deep` and
    `export` passed the forgery. A login now stores only under pmail's digest keys,
    and nothing as migrated mail."""
    a, _ = tenant_ids(conn)
    message = (
        "INSERT INTO email_messages (tenant_id, storage_key, direction, status, "
        "source) VALUES (%s, %s, 'inbound', 'received', %s)"
    )
    with psycopg.connect(login_a) as session:
        for key, source in (
            ("email_<offer-1@acme.test>_1709550000000", "legacy:x"),
            ("email_<offer-1@acme.test>_1709550000000", "-"),
            ("0123456789abcdef0123456789abcdef", "legacy:content_inbox_message_refs"),
        ):
            with pytest.raises(psycopg.Error) as refused, session.transaction():
                session.execute(message, (a, key, source))
            assert refused.value.sqlstate == "P0H06", (key, refused.value)
        with pytest.raises(psycopg.Error) as refused, session.transaction():
            session.execute(message, (a, "0123456789abcdef0123456789abcdef", "-"))
            session.execute(
                "INSERT INTO email_content (tenant_id, storage_key, raw_form, raw_data, "
                "compression, raw_size_bytes, compressed_size_bytes) VALUES (%s, "
                "'0123456789abcdef0123456789abcdef', 'legacy', '\\x7b7d', 'none', 2, 2)",
                (a,),
            )
        assert refused.value.sqlstate == "P0H06", refused.value


def test_a_race_a_login_wins_ends_in_a_clear_error(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """The fourth red-team pass: the login inserted the dictionary id `dict train`
    was about to take, holding it uncommitted until the owner's insert waited on it;
    the owner's command then died with a traceback (UniqueViolation). A race a
    concurrent session wins now ends in an `error:`/`hint:` pair."""
    folder = tmp_path / "mail"
    folder.mkdir()
    for n in range(60):  # enough to train on
        (folder / f"{n}.eml").write_bytes(_templated(5000 + n))
    code, _, err = pmail(two_tenants, "ingest", str(folder), "-t", "a")
    assert code == 0, err
    a, _ = tenant_ids(conn)
    done: list[tuple[int, str, str]] = []
    with psycopg.connect(login_a) as session:
        session.execute(
            "INSERT INTO compression_dicts (tenant_id, dict_id, zstd_dict_id, "
            "dict_data, sample_count, sample_bytes) SELECT %s, coalesce(max(dict_id), "
            "0) + 1, 1, '\\x00', 1, 1 FROM compression_dicts WHERE tenant_id = %s",
            (a, a),
        )  # not committed yet
        train = threading.Thread(
            target=lambda: done.append(pmail(two_tenants, "dict", "train", "-t", "a"))
        )
        train.start()
        waiting = _one_session_waits(conn)
        session.commit()
        train.join(timeout=120)
    assert waiting and done, done
    code, _, err = done[0]
    assert code == 1 and "error: PostgreSQL refused a change" in err, err
    assert (
        "hint: another session changed the same rows" in err and "Traceback" not in err
    )
