"""Purges are audited (migration 0032, docs/security.md).

Before 0032 a tenant login could delete the content of its own unheld mail through
pmail_delete_content in SQL, and the audit log never heard of it. Now each content row
that function deletes, whoever calls it, must be named in a `purge` entry of the same
transaction: `pmail purge` writes one; a bare deletion fails at commit and the content
stays."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.db.test_holds_barrier import _content_rows, _keys
from tests.support.tenancy import Conn, pmail, tenant_ids

pytestmark = pytest.mark.db

APPEND = (
    "INSERT INTO admin_audit_log (os_user, tenant_id, action, params, result) "
    "VALUES ('mallory', %s, 'purge', '{}', %s)"
)


def _delete(
    session: psycopg.Connection[tuple[object, ...]], tenant: str, key: str
) -> int:
    row = session.execute(
        "SELECT count(*) FROM pmail_delete_content(%s::uuid, ARRAY[%s])", (tenant, key)
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_a_tenant_logins_unaudited_deletion_is_refused_at_commit(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """The login deletes one message's content in SQL: without an entry, or with
    one that names another message, the commit fails (P0H04) and the content
    stays; with an entry naming it, the deletion commits and the entry, under the
    login's own database role, is in the log."""
    a, _ = tenant_ids(conn)
    first, second = _keys(conn, a)[:2]
    before = _content_rows(conn, a)
    with psycopg.connect(login_a) as session:
        for entry in (None, {"keys": [second]}, {"messages": 1}):
            assert _delete(session, a, first) == 1  # the deletion itself goes through
            if entry is not None:
                session.execute(APPEND, (a, Jsonb(entry)))
            with pytest.raises(psycopg.Error) as refused:
                session.commit()
            assert refused.value.sqlstate == "P0H04"
            assert "without its audit entry" in str(refused.value)
            assert _content_rows(conn, a) == before
        assert _delete(session, a, first) == 1
        session.execute(APPEND, (a, Jsonb({"keys": [first]})))
        session.commit()
        role = session.info.user
    assert _content_rows(conn, a) == before - 1
    # the owner calling the function in SQL meets the same rule
    assert _delete(conn, a, second) == 1
    with pytest.raises(psycopg.Error) as refused:
        conn.commit()
    assert refused.value.sqlstate == "P0H04"
    assert _content_rows(conn, a) == before - 1
    code, out, err = pmail(
        two_tenants, "audit", "--action", "purge", "--format", "json"
    )
    assert code == 0, err
    (logged,) = json.loads(out)
    assert logged["db_role"] == role and logged["result"] == {"keys": [first]}


def test_pmail_purge_as_a_tenant_login_passes_the_check(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """`pmail purge -t a` run by a's own login deletes the expired content and
    its entry names every message it deleted: the check at commit lets it through."""
    a, _ = tenant_ids(conn)
    assert pmail(two_tenants, "tenant", "set", "a", "--retention-days", "30")[0] == 0
    conn.execute(
        "UPDATE email_messages SET created = created - interval '40 days' "
        "WHERE tenant_id = %s",
        (a,),
    )
    conn.commit()
    keys = _keys(conn, a)
    code, _, err = pmail(login_a, "purge", "-t", "a")
    assert code == 0 and f"purged {len(keys)} messages" in err, err
    assert _content_rows(conn, a) == 0
    code, out, err = pmail(
        two_tenants, "audit", "--action", "purge", "--format", "json"
    )
    assert code == 0, err
    (logged,) = json.loads(out)
    assert sorted(logged["result"]["keys"]) == keys


def test_a_compression_dictionary_cannot_be_rewritten(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """The red-team pass after 0032: one UPDATE of a's dictionary bytes by a's own
    login made every body compressed with it unreadable (export: "Dictionary
    mismatch"), unheld mail included, with no entry anywhere. A dictionary's bytes,
    ids and tenant are now fixed for every role, the owner too."""
    a, _ = tenant_ids(conn)
    conn.execute(
        "INSERT INTO compression_dicts (tenant_id, dict_id, zstd_dict_id, dict_data, "
        "sample_count, sample_bytes) VALUES (%s, 77, 12345, '\\x0102', 1, 2)",
        (a,),
    )
    conn.commit()
    rewrites = (
        "UPDATE compression_dicts SET dict_data = '\\x0000' WHERE dict_id = 77",
        "UPDATE compression_dicts SET zstd_dict_id = 1 WHERE dict_id = 77",
        "UPDATE compression_dicts SET dict_id = 78 WHERE dict_id = 77",
    )
    for dsn in (login_a, two_tenants):  # a's login, the owner
        with psycopg.connect(dsn) as session:
            for statement in rewrites:
                with pytest.raises(psycopg.Error) as refused:
                    session.execute(statement)
                assert refused.value.sqlstate == "P0H05", statement
                session.rollback()
    row = conn.execute(
        "SELECT dict_data, zstd_dict_id FROM compression_dicts WHERE dict_id = 77"
    ).fetchone()
    assert row == (b"\x01\x02", 12345)
    # what does not touch the bytes still goes (the owner's bookkeeping)
    conn.execute("UPDATE compression_dicts SET sample_count = 2 WHERE dict_id = 77")
    conn.commit()
