"""Tenant isolation that holds against the tenant's own session (docs/security.md).

A tenant login (a role in pmail_app, bound to tenant A by `pmail tenant login`)
connects for real and tries everything: the seed queries with B's id, every table
with pmail.all_tenants and B's id set, every report, show and export, writing B's
rows. None of it reaches B.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import reports, show
from tests import mailgen
from tests.support.tenancy import pmail as _pmail
from tests.support.tenancy import tenant_ids as _ids
from tests.support.tenancy import tenant_tables as _tenant_tables

pytestmark = pytest.mark.db
Conn = psycopg.Connection[tuple[object, ...]]
REPORTS = [
    "volume",
    "storage",
    "status",
    "attachments",
    "campaigns",
    "mailboxes",
    "bounces",
]
SEED_QUERIES = [
    """SELECT m.subject, c.content_text, a.filename
       FROM email_messages m
       JOIN email_content c ON m.storage_key = c.storage_key
       LEFT JOIN attachments a ON c.storage_key = a.parent_storage_key
       WHERE m.tenant_id = %s""",
    """SELECT m.direction, m.status, COUNT(*) AS email_count,
              AVG(c.raw_size_bytes) AS avg_size, COUNT(a.*) AS total_attachments
       FROM email_messages m JOIN email_content c ON m.storage_key = c.storage_key
       LEFT JOIN attachments a ON c.storage_key = a.parent_storage_key
       WHERE m.tenant_id = %s GROUP BY m.direction, m.status""",
]


def test_a_tenant_login_never_reaches_another_tenant(login_a: str, conn: Conn) -> None:
    """Seed queries, every table and view, settings widened: only a's rows."""
    a, b = _ids(conn)
    tables = _tenant_tables(conn)
    assert {"email_messages", "email_content", "attachments", "legal_holds"} <= set(
        tables
    )
    with psycopg.connect(login_a) as tenant:
        for query in SEED_QUERIES:
            assert tenant.execute(query, (b,)).fetchall() == []
            assert tenant.execute(query, (a,)).fetchall() != []
        for widen in (
            "SELECT set_config('pmail.all_tenants', 'on', false)",
            f"SELECT set_config('pmail.tenant_id', '{b}', false)",
            "SET ROLE pmail_app",
        ):
            tenant.execute(widen)
            for table in tables:
                seen = tenant.execute(
                    f"SELECT DISTINCT tenant_id::text FROM {table}"
                ).fetchall()
                assert {r[0] for r in seen} <= {a}, (widen, table, seen)
            assert tenant.execute("SELECT name FROM tenants").fetchall() == [("a",)]
            for query in SEED_QUERIES:
                assert tenant.execute(query, (b,)).fetchall() == []
        tenant.rollback()

        # writing b's rows is refused; b's rows cannot even be found to change
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tenant.execute(
                "INSERT INTO leads (tenant_id, email) VALUES (%s, 'x@y')", (b,)
            )
        tenant.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tenant.execute("INSERT INTO tenants (name) VALUES ('c')")
        tenant.rollback()
        moved = tenant.execute(
            "UPDATE email_messages SET subject = 'x' WHERE tenant_id = %s", (b,)
        )
        assert moved.rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tenant.execute("UPDATE email_messages SET tenant_id = %s", (b,))
        tenant.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tenant.execute("SELECT * FROM pmail_tenant_roles")
        tenant.rollback()
        # writing its own tenant's rows works
        tenant.execute("INSERT INTO leads (tenant_id, email) VALUES (%s, 'x@y')", (a,))
        tenant.commit()
    subjects = conn.execute(
        "SELECT count(*) FROM email_messages WHERE subject = 'x'"
    ).fetchone()
    assert subjects == (0,)


def test_pmail_commands_as_a_tenant_login(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """Every report, show and export as tenant a's login: a's figures exactly as the
    administrator sees them; b does not exist for it; cross-tenant work is refused."""
    _, b = _ids(conn)
    for report in REPORTS:
        args = ["report", report, "--since", "2020-01-01", "--format", "json"]
        code, mine, err = _pmail(login_a, *args, "-t", "a")
        assert code == 0, (report, err)
        code, admins, err = _pmail(two_tenants, *args, "-t", "a")
        assert code == 0 and json.loads(mine) == json.loads(admins), report
        code, _, err = _pmail(login_a, *args, "-t", "b")
        assert code == 1 and "tenant 'b' does not exist" in err, (report, err)

    b_key = conn.execute(
        "SELECT storage_key FROM email_messages WHERE tenant_id = %s LIMIT 1", (b,)
    ).fetchone()
    assert b_key is not None
    for find in (["list"], ["search", "question OR sounds"], ["search", "type:bounce"]):
        code, mine, err = _pmail(login_a, *find, "-t", "a", "-f", "json")
        assert code == 0, (find, err)
        code, admins, _ = _pmail(two_tenants, *find, "-t", "a", "-f", "json")
        assert json.loads(mine) == json.loads(admins) != [], find
        assert str(b_key[0]) not in mine
        code, _, err = _pmail(login_a, *find, "-t", "b")
        assert code == 1 and "tenant 'b' does not exist" in err, (find, err)
    code, _, err = _pmail(login_a, "list", "-t", "a", "--after", str(b_key[0]))
    assert code == 1 and "no message with storage key" in err
    code, _, err = _pmail(login_a, "show", "-t", "a", str(b_key[0]))
    assert code == 1 and "no message with storage key" in err
    code, _, err = _pmail(
        login_a,
        "export",
        "-t",
        "a",
        "--storage-key",
        str(b_key[0]),
        "--out",
        str(tmp_path / "x"),
    )
    assert code != 0 and "no message with storage key" in err
    code, _, err = _pmail(login_a, "export", "-t", "a", "--out", str(tmp_path / "mine"))
    assert code == 0, err
    assert len(list((tmp_path / "mine").iterdir())) == 6

    code, _, err = _pmail(login_a, "validate")
    assert code == 1 and "may not work across tenants" in err and "hint: " in err
    code, _, err = _pmail(login_a, "validate", "-t", "a", "--deep")
    assert code == 0, err
    code, _, err = _pmail(login_a, "purge")
    assert code == 1 and "may not work across tenants" in err

    # services handed b's id directly (as a bug or an injection would) are refused
    forged = Tenant(uuid.UUID(b), "b", datetime.now(UTC))
    with connect(Settings(dsn=login_a, dsn_source="test")) as tenant:
        with pytest.raises(
            psycopg.errors.InsufficientPrivilege, match="bound to another"
        ):
            reports.volume(
                tenant,
                reports.Window(forged, date(2020, 1, 1), date(2030, 1, 1), "UTC"),
            )
        tenant.rollback()
        with pytest.raises(
            psycopg.errors.InsufficientPrivilege, match="bound to another"
        ):
            show.show_message(tenant, forged, str(b_key[0]))


def test_tenant_login_refuses_trusted_and_taken_roles(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """A superuser or another tenant's role is never made a tenant login."""
    code, _, err = _pmail(two_tenants, "tenant", "login", "b", "--role", "postgres")
    assert code == 2 and "trusted beyond one tenant" in err
    role = conn.execute("SELECT role_name FROM pmail_tenant_roles").fetchone()
    assert role is not None
    code, _, err = _pmail(two_tenants, "tenant", "login", "b", "--role", str(role[0]))
    assert code == 2 and "bound to another tenant" in err
    code, _, err = _pmail(two_tenants, "tenant", "login", "b", "--role", "bad name;")
    assert code == 2 and "not a plain role name" in err
    code, out, _ = _pmail(two_tenants, "tenant", "logins", "--format", "json")
    assert json.loads(out) and json.loads(out)[0]["tenant"] == "a"


def test_tenant_login_never_hands_a_tenant_to_a_group_or_a_writer(
    two_tenants: str, conn: Conn
) -> None:
    """pmail's own group roles and PostgreSQL's predefined roles are never bound:
    `tenant login a --role pmail_reader` made every read-only login of every tenant a
    member of pmail_app (a writer), `--role pmail_analyst` gave the cross-tenant
    analysts write rights over every tenant, `--role pg_read_all_data` a's rows to
    all that role's members. And `--read-only` on an existing writing login left it
    in pmail_app, still writing, while the audit log said read-only: now it is taken
    out of pmail_app, and a read-only login made a writer is taken out of
    pmail_reader, so the login is what the command and its entry say."""
    for group in (
        "pmail_app",
        "pmail_reader",
        "pmail_analyst",
        "pmail_admin",
        "pg_read_all_data",
        "pg_monitor",
    ):
        code, _, err = _pmail(two_tenants, "tenant", "login", "a", "--role", group)
        assert code == 2 and "cannot be a tenant login" in err, (group, err)
    # (pmail's groups and the predefined roles by name: the tenant logins of another
    # test run on this server, pmail_t<pid>_..., are members of pmail_app by right)
    members = conn.execute(
        "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
        "JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = 'pmail_app' "
        "AND (u.rolname IN ('pmail_reader', 'pmail_analyst', 'pmail_admin') "
        "OR u.rolname LIKE 'pg\\_%%')"
    ).fetchone()
    assert members == (0,)
    assert conn.execute(
        "SELECT count(*) FROM pmail_tenant_roles WHERE role_name LIKE 'pmail\\_%%' "
        "OR role_name LIKE 'pg\\_%%'"
    ).fetchone() == (0,)

    role = f"pmail_w{uuid.uuid4().hex[:12]}"
    assert _pmail(two_tenants, "tenant", "login", "a", "--role", role)[0] == 0
    a, _ = _ids(conn)
    conn.execute(f"ALTER ROLE {role} PASSWORD 'pw'")
    conn.commit()
    login = make_conninfo(two_tenants, user=role, password="pw")
    try:
        code, _, err = _pmail(
            two_tenants, "tenant", "login", "a", "--role", role, "--read-only"
        )
        assert code == 0, err
        with psycopg.connect(login) as session:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                session.execute(
                    "INSERT INTO leads (tenant_id, email) VALUES (%s, 'x@y')", (a,)
                )
            session.rollback()
            assert session.execute("SELECT name FROM tenants").fetchall() == [("a",)]
        code, _, err = _pmail(two_tenants, "tenant", "login", "a", "--role", role)
        assert code == 0, err
        groups = conn.execute(
            "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r "
            "ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member "
            "WHERE u.rolname = %s",
            (role,),
        ).fetchall()
        assert groups == [("pmail_app",)]
    finally:
        conn.rollback()
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
            (role,),
        )
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")
        conn.commit()


def test_a_dropped_login_s_binding_does_not_pass_to_a_new_role_of_its_name(
    two_tenants: str, conn: Conn
) -> None:
    """Bindings were kept by role name. Once a's login role was dropped (DROP ROLE
    leaves pmail_tenant_roles as it is), the next role of that name on the server —
    another pmail database's `tenant login` of a tenant with the same name, made in
    pmail_app — logged in here as a's login. Now a binding names the role it was made
    for (its oid): a new role of the name is nobody's login until bound again."""
    role = f"pmail_d{uuid.uuid4().hex[:12]}"
    assert _pmail(two_tenants, "tenant", "login", "a", "--role", role)[0] == 0
    conn.execute(f"DROP OWNED BY {role}")
    conn.execute(f"DROP ROLE {role}")
    conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw' IN ROLE pmail_app")
    conn.commit()
    login = make_conninfo(two_tenants, user=role, password="pw")
    try:
        with psycopg.connect(login) as session:
            for table in _tenant_tables(conn):
                seen = session.execute(f"SELECT count(*) FROM {table}").fetchone()
                assert seen == (0,), table
            session.rollback()
            with pytest.raises(psycopg.Error, match="neither bound to a tenant"):
                session.execute("SELECT pmail_scope_tenant(%s)", (_ids(conn)[0],))
        # bound again on purpose (here to b: the old binding to a is replaced)
        code, _, err = _pmail(two_tenants, "tenant", "login", "b", "--role", role)
        assert code == 0, err
        b = _ids(conn)[1]
        with psycopg.connect(login) as session:
            tenants_seen = session.execute(
                "SELECT DISTINCT tenant_id::text FROM email_messages"
            ).fetchall()
            assert tenants_seen == [(b,)]
    finally:
        conn.rollback()
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
            (role,),
        )
        conn.execute(f"DROP OWNED BY {role}")
        conn.execute(f"DROP ROLE {role}")
        conn.commit()


def test_default_login_name_taken_on_another_database_is_not_reused(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """Two pmail databases on one server, each with a tenant of the same name: the
    second `tenant login NAME` (no --role) refuses the default role that the first
    database made, because roles are server-wide and its password would read both
    tenants. Naming it with --role binds it on purpose."""
    run = f"x{uuid.uuid4().hex[:10]}"
    other_db = f"pmail_test_other_{run}"
    admin = psycopg.connect(dsn, autocommit=True)
    admin.execute(f'CREATE DATABASE "{other_db}"')
    other = psycopg.conninfo.make_conninfo(dsn, dbname=other_db)
    role = f"pmail_{run}"
    try:
        for target in (dsn, other):
            assert _pmail(target, "init-db")[0] == 0
            assert _pmail(target, "tenant", "add", run)[0] == 0
        code, _, err = _pmail(other, "tenant", "login", run)
        assert code == 0 and f"created login role {role}" in err, err
        code, _, err = _pmail(dsn, "tenant", "login", run)
        assert code == 2, err
        assert f"role {role} already exists on this server" in err
        assert f"--role {role}" in err
        bound = conn.execute("SELECT count(*) FROM pmail_tenant_roles").fetchone()
        assert bound == (0,)
        # the same call again in the first database is harmless (already bound there)
        assert _pmail(other, "tenant", "login", run)[0] == 0
        # named on purpose, it is bound
        code, _, err = _pmail(dsn, "tenant", "login", run, "--role", role)
        assert code == 0, err
        names = conn.execute("SELECT role_name FROM pmail_tenant_roles").fetchall()
        assert names == [(role,)]
    finally:
        conn.rollback()
        admin.execute(f'DROP DATABASE IF EXISTS "{other_db}" WITH (FORCE)')
        conn.execute(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"')
        conn.execute(f'DROP OWNED BY "{role}"')
        conn.commit()
        admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.close()


def test_remembered_imap_refusals_stay_with_their_tenant(
    login_a: str, conn: Conn
) -> None:
    """imap_refused (messages over the size limit, retried each run): a's login reads
    only a's, cannot write one for b, and cannot change or delete b's, whatever it
    sets."""
    a, b = _ids(conn)
    conn.execute("SELECT pmail_scope_all_tenants()")
    for tid in (a, b):
        conn.execute(
            "INSERT INTO imap_folders (tenant_id, email_account_id, folder, uidvalidity,"
            " direction) SELECT tenant_id, email_account_id, 'INBOX', 7, 'auto' "
            "FROM email_accounts WHERE tenant_id = %s",
            (tid,),
        )
        conn.execute(
            "INSERT INTO imap_refused (tenant_id, email_account_id, folder, uidvalidity,"
            " uid, size_bytes, max_bytes) SELECT tenant_id, email_account_id, 'INBOX', 7,"
            " 42, 200000, 100000 FROM email_accounts WHERE tenant_id = %s",
            (tid,),
        )
    conn.commit()
    b_account = conn.execute(
        "SELECT email_account_id FROM email_accounts WHERE tenant_id = %s", (b,)
    ).fetchone()
    assert b_account is not None
    with psycopg.connect(login_a, autocommit=True) as tenant:
        tenant.execute("SELECT set_config('pmail.all_tenants', 'on', false)")
        tenant.execute(f"SELECT set_config('pmail.tenant_id', '{b}', false)")
        seen = tenant.execute("SELECT tenant_id::text FROM imap_refused").fetchall()
        assert seen == [(a,)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tenant.execute(
                "INSERT INTO imap_refused (tenant_id, email_account_id, folder, "
                "uidvalidity, uid, size_bytes, max_bytes) "
                "VALUES (%s, %s, 'INBOX', 7, 43, 1, 1)",
                (b, b_account[0]),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # no DELETE: 0028
            tenant.execute("DELETE FROM imap_refused WHERE tenant_id = %s", (b,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tenant.execute(
                "SELECT pmail_forget_imap_refused(%s, %s, 'INBOX', 1, '{}')",
                (b, b_account[0]),
            )
        moved = tenant.execute(
            "UPDATE imap_refused SET size_bytes = 1 WHERE tenant_id = %s", (b,)
        )
        assert moved.rowcount == 0
    left = conn.execute(
        "SELECT size_bytes FROM imap_refused WHERE tenant_id = %s", (b,)
    ).fetchall()
    assert left == [(200000,)]


def test_search_documents_stay_with_their_tenant(login_a: str, conn: Conn) -> None:
    """search_documents (the full-text documents, migration 0020): a's login, its
    settings widened, reads and searches only a's, cannot write one for b, and cannot
    change or delete b's."""
    a, b = _ids(conn)
    conn.execute("SELECT pmail_scope_all_tenants()")
    counts: dict[object, object] = {
        tid: n
        for tid, n in conn.execute(
            "SELECT tenant_id::text, count(*) FROM search_documents GROUP BY 1"
        ).fetchall()
    }
    assert counts.get(a) and counts.get(b), counts
    b_key = conn.execute(
        "SELECT storage_key FROM search_documents WHERE tenant_id = %s LIMIT 1", (b,)
    ).fetchone()
    assert b_key is not None
    conn.commit()
    with psycopg.connect(login_a, autocommit=True) as tenant:
        tenant.execute("SELECT set_config('pmail.all_tenants', 'on', false)")
        tenant.execute(f"SELECT set_config('pmail.tenant_id', '{b}', false)")
        seen = tenant.execute(
            "SELECT DISTINCT tenant_id::text FROM search_documents"
        ).fetchall()
        assert seen == [(a,)]
        found = tenant.execute(
            "SELECT count(*) FROM search_documents WHERE tenant_id = %s"
            " AND document @@ to_tsquery('simple', 'pricing | invoice | hello')",
            (b,),
        ).fetchone()
        assert found == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tenant.execute(
                "INSERT INTO search_documents (tenant_id, storage_key, date,"
                " message_type, direction, document)"
                " VALUES (%s, %s, now(), 'email', 'inbound', 'x'::tsvector)",
                (b, f"{b_key[0]}-new"),
            )
        moved = tenant.execute(
            "UPDATE search_documents SET document = 'x'::tsvector WHERE tenant_id = %s",
            (b,),
        )
        assert moved.rowcount == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # no DELETE: 0028
            tenant.execute("DELETE FROM search_documents WHERE tenant_id = %s", (b,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            tenant.execute("SELECT pmail_drop_search_documents(%s)", (b,))
    left = conn.execute(
        "SELECT count(*) FROM search_documents WHERE tenant_id = %s"
        " AND document <> 'x'::tsvector",
        (b,),
    ).fetchone()
    assert left == (counts[b],)


# Every way a tenant's session might hold tenant b's write lock (the lock each batch of
# b's writer, purge, rebuild and backfill takes first): pmail's own advisory key
# (before migration 0027 any role could take it, no grant needed), and the lock
# row's table, which holds the lock since, found and claimed directly.
HOLD_B_WRITES = [
    "SELECT pg_advisory_lock(hashtextextended('pmail-ingest:' || %(b)s::text, 0))",
    "SELECT pg_advisory_xact_lock(hashtextextended('pmail-ingest:' || %(b)s::text, 0))",
    "SELECT 1 FROM tenant_write_locks WHERE tenant_id = %(b)s FOR UPDATE",
    "SELECT 1 FROM tenant_write_locks FOR UPDATE",
    "INSERT INTO tenant_write_locks (tenant_id) VALUES (%(b)s) ON CONFLICT (tenant_id) "
    "DO UPDATE SET tenant_id = excluded.tenant_id WHERE false",
    "INSERT INTO tenant_write_locks (tenant_id) VALUES (%(b)s) ON CONFLICT (tenant_id) "
    "DO UPDATE SET tenant_id = excluded.tenant_id",
    "LOCK TABLE tenant_write_locks IN ACCESS EXCLUSIVE MODE",
]


@pytest.fixture
def reader_a(two_tenants: str, conn: Conn) -> Iterator[str]:
    """A DSN of tenant a's read-only login (`pmail tenant login a --read-only`)."""
    reader = f"pmail_r{uuid.uuid4().hex[:12]}"
    code, _, err = _pmail(
        two_tenants, "tenant", "login", "a", "--role", reader, "--read-only"
    )
    assert code == 0, err
    conn.execute(f"ALTER ROLE {reader} PASSWORD 'reader-pw'")
    conn.commit()
    yield make_conninfo(two_tenants, user=reader, password="reader-pw")
    conn.rollback()
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
        (reader,),
    )
    conn.execute(f"DROP OWNED BY {reader}")
    conn.execute(f"DROP ROLE {reader}")
    conn.commit()


def test_no_login_can_stall_another_tenants_writers(
    login_a: str,
    reader_a: str,
    two_tenants: str,
    conn: Conn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """a's read-only login (SELECT only) and its writing login each take every lock
    of b's writer they can reach and keep their transaction open; b's ingest still
    goes through at once. Before 0027 the lock was an advisory lock on a key anyone
    could compute (and read in pg_locks), so either login stalled b's workers for as
    long as it liked."""
    _, b = _ids(conn)
    # waiting for a lock is an error after this long instead of a hang
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=5s")
    for n, dsn in enumerate((reader_a, login_a)):
        with psycopg.connect(dsn) as attacker:
            attacker.execute("BEGIN")
            for attempt in HOLD_B_WRITES:
                try:
                    with attacker.transaction():  # a savepoint: kept if it worked
                        attacker.execute(attempt, {"b": b})
                except psycopg.Error:
                    pass
            message = tmp_path / f"{n}.eml"
            message.write_bytes(mailgen.simple(900 + n, subject=f"while locked {n}"))
            code, _, err = _pmail(two_tenants, "ingest", str(message), "-t", "b")
            assert code == 0, (dsn, err)
            attacker.rollback()
    stored = conn.execute(
        "SELECT count(*) FROM email_messages WHERE tenant_id = %s "
        "AND subject LIKE 'while locked %%'",
        (b,),
    ).fetchone()
    assert stored == (2,)


# ROW SHARE (what SELECT ... FOR UPDATE takes) is not among them: it conflicts only
# with EXCLUSIVE and ACCESS EXCLUSIVE, and PostgreSQL 18 lets a role lock in it with
# less than table-wide rights.
TABLE_LOCK_MODES = [
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
]


def test_no_tenant_login_can_lock_a_table(
    login_a: str,
    two_tenants: str,
    conn: Conn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """a's writing login tries LOCK TABLE on every table pmail keeps tenants' rows
    in, in every mode that would stop another tenant's reads or writes: each is
    refused (before 0028 pmail_app held table-wide UPDATE and DELETE, which allow
    them, and ACCESS EXCLUSIVE on email_messages stopped every tenant). The modes it
    may take (ACCESS SHARE, ROW SHARE, ROW EXCLUSIVE) it holds on every table with its
    transaction open while b ingests, reports, rebuilds and validates."""
    _, b = _ids(conn)
    tables = [
        str(r[0])
        for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY (%s) AND relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace ORDER BY 1",
            (_tenant_tables(conn),),
        )
    ]
    assert {"email_messages", "email_content", "attachments", "suppressions"} <= set(
        tables
    )
    monkeypatch.setenv("PGOPTIONS", "-c lock_timeout=5s")
    with psycopg.connect(login_a) as attacker:
        for table in tables:
            for mode in TABLE_LOCK_MODES:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    attacker.execute(f"LOCK TABLE {table} IN {mode} MODE")
                attacker.rollback()
        attacker.execute("BEGIN")
        for table in tables:
            for mode in ("ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE"):
                try:
                    with attacker.transaction():
                        attacker.execute(f"LOCK TABLE {table} IN {mode} MODE")
                except psycopg.errors.InsufficientPrivilege:
                    pass  # a read-only table: SELECT only
        held = attacker.execute(
            "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() "
            "AND locktype = 'relation' AND mode = 'RowExclusiveLock'"
        ).fetchone()
        assert held is not None and int(str(held[0])) >= 10
        message = tmp_path / "locked.eml"
        message.write_bytes(mailgen.simple(950, subject="while a holds its locks"))
        code, _, err = _pmail(two_tenants, "ingest", str(message), "-t", "b")
        assert code == 0, err
        for args in (
            ["report", "volume", "--since", "2020-01-01", "-t", "b"],
            ["analytics", "rebuild", "-t", "b"],
            ["suppressions", "-t", "b"],
            ["validate", "-t", "b"],
        ):
            code, _, err = _pmail(two_tenants, *args)
            assert code == 0, (args, err)
        attacker.rollback()
    stored = conn.execute(
        "SELECT count(*) FROM email_messages WHERE tenant_id = %s "
        "AND subject = 'while a holds its locks'",
        (b,),
    ).fetchone()
    assert stored == (1,)


def test_a_tenant_login_deletes_only_through_pmail_for_its_own_tenant(
    login_a: str, reader_a: str, plain_reader: str, conn: Conn
) -> None:
    """A tenant login has no DELETE any more: it deletes what pmail deletes for it
    through the functions of 0028, which refuse another tenant, every tenant, and a
    read-only login; an unbound role may not call them at all."""
    a, b = _ids(conn)
    b_keys = [
        str(r[0])
        for r in conn.execute(
            "SELECT storage_key FROM email_content WHERE tenant_id = %s", (b,)
        ).fetchall()
    ]
    assert b_keys
    b_rows = conn.execute(
        "SELECT (SELECT count(*) FROM message_rollups WHERE tenant_id = %(b)s), "
        "(SELECT count(*) FROM email_content WHERE tenant_id = %(b)s)",
        {"b": b},
    ).fetchone()
    assert b_rows is not None and b_rows[0] != 0
    attempts: list[tuple[str, dict[str, object]]] = [
        ("SELECT pmail_clear_rollups(%(b)s)", {"b": b}),
        ("SELECT pmail_clear_rollups(NULL)", {}),
        ("SELECT pmail_clear_suppressions(NULL)", {}),
        (
            "SELECT * FROM pmail_delete_content(%(b)s, %(keys)s)",
            {"b": b, "keys": b_keys},
        ),
        ("SELECT * FROM pmail_delete_unreferenced_blobs(NULL, NULL)", {}),
        ("SELECT pmail_check_delete_right(%(b)s)", {"b": b}),
        ("DELETE FROM message_rollups", {}),
        ("DELETE FROM email_content", {}),
    ]
    for dsn in (login_a, reader_a, plain_reader):  # plain_reader: bound to nothing
        with psycopg.connect(dsn) as attacker:
            for statement, params in attempts:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    attacker.execute(statement, params)
                attacker.rollback()
            attacker.execute("SELECT set_config('pmail.all_tenants', 'on', false)")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                attacker.execute("SELECT pmail_clear_rollups(NULL)")
            attacker.rollback()
    with (
        psycopg.connect(reader_a) as reader_conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        reader_conn.execute("SELECT pmail_clear_rollups(%s)", (a,))
    # its own tenant, as pmail does it: allowed
    with psycopg.connect(login_a) as own:
        own.execute("SELECT pmail_clear_rollups(%s)", (a,))
        own.rollback()
    after = conn.execute(
        "SELECT (SELECT count(*) FROM message_rollups WHERE tenant_id = %(b)s), "
        "(SELECT count(*) FROM email_content WHERE tenant_id = %(b)s)",
        {"b": b},
    ).fetchone()
    assert after == b_rows


def test_tenant_logins_may_update_every_column_they_write(conn: Conn) -> None:
    """pmail_app updates by column (0028), so a column added later without calling
    pmail_grant_app_role() again would be one pmail cannot write as a tenant: every
    column of every table pmail_app inserts into is updatable by it, and no such
    table grants it table-wide UPDATE or DELETE."""
    rows = conn.execute(
        "SELECT c.relname, a.attname, "
        "has_column_privilege('pmail_app', c.oid, a.attnum, 'UPDATE'), "
        "has_table_privilege('pmail_app', c.oid, 'UPDATE'), "
        "has_table_privilege('pmail_app', c.oid, 'DELETE') "
        "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
        "AND a.attnum > 0 AND NOT a.attisdropped "
        "AND has_table_privilege('pmail_app', c.oid, 'INSERT') "
        "AND c.relname <> 'tenant_write_locks'"
    ).fetchall()
    assert len({r[0] for r in rows}) >= 15
    assert [r[:2] for r in rows if not r[2]] == []
    assert [r[0] for r in rows if r[3] or r[4]] == []
