"""The schema as the catalog sees it, the seed queries, and the migration runner."""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from pmail_cli import migrations
from pmail_cli.errors import MigrationError

pytestmark = pytest.mark.db

Conn = psycopg.Connection[tuple[object, ...]]
CONTENT_TABLES = (
    "email_messages",
    "email_content",
    "attachments",
    "attachment_blobs",
    "compression_dicts",
    "email_accounts",
    "campaigns",
    "leads",
    "imap_folders",
    "imap_messages",
)

SEED_QUERY_1 = """
SELECT m.subject, c.content_text, a.filename
FROM email_messages m
JOIN email_content c ON m.storage_key = c.storage_key
LEFT JOIN attachments a ON c.storage_key = a.parent_storage_key
WHERE m.tenant_id = %s;
"""
SEED_QUERY_2 = """
SELECT m.direction, m.status, COUNT(*) AS email_count, AVG(c.raw_size_bytes) AS avg_size,
       COUNT(a.*) AS total_attachments
FROM email_messages m JOIN email_content c ON m.storage_key = c.storage_key
LEFT JOIN attachments a ON c.storage_key = a.parent_storage_key
WHERE m.tenant_id = %s GROUP BY m.direction, m.status;
"""


def test_every_key_between_content_tables_includes_tenant_id(conn: Conn) -> None:
    """Each primary key, unique constraint and foreign key of the tenant tables has tenant_id."""
    rows = conn.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, c.contype,
               array_agg(a.attname ORDER BY a.attname)
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
        WHERE c.contype IN ('p', 'u', 'f') AND c.conrelid::regclass::text = ANY(%s)
        GROUP BY 1, 2, 3
        """,
        (list(CONTENT_TABLES),),
    ).fetchall()
    assert len(rows) >= len(CONTENT_TABLES) + 6
    missing = [(t, n) for t, n, _, cols in rows if "tenant_id" not in cols]  # type: ignore[operator]
    assert missing == []


def test_row_level_security_is_forced_on_every_tenant_table(conn: Conn) -> None:
    """Every table with a tenant_id column (read from the catalog, so a new table
    cannot be forgotten) has RLS enabled and forced, and pmail_app may read it; the
    role-to-tenant map and the hold epochs are for pmail's own functions only
    (docs/security.md)."""
    rows = conn.execute(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
        "has_table_privilege('pmail_app', c.oid, 'SELECT') "
        "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' "
        "AND a.attname = 'tenant_id' AND NOT a.attisdropped"
    ).fetchall()
    tables = {str(r[0]): r[1:] for r in rows}
    assert set(CONTENT_TABLES) | {"tenants", "legal_holds"} <= set(tables)
    # pmail's own: the role-to-tenant map and the hold epochs (0030), which only
    # its functions touch
    for admin_only in ("pmail_tenant_roles", "pmail_hold_epochs"):
        assert tables.pop(admin_only) == (False, False, False), admin_only
    assert {t: v for t, v in tables.items() if v != (True, True, True)} == {}


def test_seed_queries_run_unchanged(conn: Conn) -> None:
    """The two queries of the original design run against the schema."""
    tenant = uuid.uuid4()
    conn.execute("INSERT INTO tenants (tenant_id, name) VALUES (%s, 'seed')", (tenant,))
    conn.execute(
        "INSERT INTO email_messages (tenant_id, storage_key, direction, status, subject) "
        "VALUES (%s, 'k1', 'inbound', 'received', 'hi')",
        (tenant,),
    )
    conn.execute(
        "INSERT INTO email_content (tenant_id, storage_key, content_text, raw_size_bytes, "
        "compressed_size_bytes, raw_form, compression) VALUES (%s, 'k1', 'body', 10, 0, 'none', 'none')",
        (tenant,),
    )
    assert conn.execute(SEED_QUERY_1, (tenant,)).fetchall() == [("hi", "body", None)]
    rows = conn.execute(SEED_QUERY_2, (tenant,)).fetchall()
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [("inbound", "received", 1, 0)]


def test_init_db_twice_changes_nothing(conn: Conn) -> None:
    """Applying migrations on an up-to-date database applies none."""
    conn.commit()
    assert migrations.pending(conn) == []
    assert migrations.apply_pending(conn) == []
    count = conn.execute("SELECT count(*) FROM pmail_schema_migrations").fetchone()
    assert count == (len(migrations.discover()),)


def test_a_waiting_init_db_names_the_session_holding_the_migration_lock(
    dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Another session holds the migration lock (a migration running, or any role
    that takes the advisory lock): init-db says which (pid, role, application)
    instead of hanging silently, then finishes once the lock is let go."""
    key = migrations.ADVISORY_LOCK_KEY
    with psycopg.connect(dsn, autocommit=True, application_name="the-blocker") as held:
        held.execute("SELECT pg_advisory_lock(%s)", (key,))
        finished = threading.Event()

        def init_db() -> None:
            with psycopg.connect(dsn) as conn:
                migrations.apply_pending(conn)
            finished.set()

        runner = threading.Thread(target=init_db)
        runner.start()
        waiting = """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
                      AND NOT granted AND objid::bigint = %s & 4294967295"""
        for _ in range(200):
            if held.execute(waiting, (key,)).fetchone() == (1,):
                break
            time.sleep(0.05)
        assert not finished.is_set()
        held.execute("SELECT pg_advisory_unlock(%s)", (key,))
        runner.join(60)
        assert finished.is_set()
        pid = held.info.backend_pid
    warned = [
        r.getMessage() for r in caplog.records if "migration lock" in r.getMessage()
    ]
    assert len(warned) == 1, warned
    assert f"pid {pid}, role " in warned[0]
    assert "'the-blocker'" in warned[0]
    assert f"SELECT pg_terminate_backend({pid})" in warned[0]


def test_changed_migration_is_refused(conn: Conn) -> None:
    """A recorded checksum that no longer matches its file names the file."""
    conn.execute("UPDATE pmail_schema_migrations SET checksum = 'x' WHERE version = 1")
    conn.commit()
    with pytest.raises(MigrationError, match=r"0001_initial_schema\.sql"):
        migrations.pending(conn)


def test_gap_and_duplicate_versions_are_refused(tmp_path: Path) -> None:
    """Discovery refuses a gap and a duplicate version, naming the file."""
    source = migrations.discover()[0].path
    shutil.copy(source, tmp_path / "0001_a.sql")
    shutil.copy(source, tmp_path / "0003_c.sql")
    with pytest.raises(MigrationError, match=r"0003_c\.sql"):
        migrations.discover(tmp_path)
    shutil.copy(source, tmp_path / "0001_b.sql")
    with pytest.raises(MigrationError, match="duplicate"):
        migrations.discover(tmp_path)


def test_init_db_create_makes_the_database_and_says_how_when_missing(
    dsn: str, conn: psycopg.Connection[tuple[object, ...]]
) -> None:
    """Without --create a missing database is one error/hint pair naming --create;
    with it the database and its schema are made; again, nothing changes; a user
    without CREATEDB gets a clear refusal."""
    from psycopg.conninfo import make_conninfo
    from typer.testing import CliRunner

    from pmail_cli.cli import app

    runner = CliRunner()
    name = f"pmail_test_create_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    role = f"pmail_nocreate_{uuid.uuid4().hex[:8]}"
    target = make_conninfo(dsn, dbname=name)
    conn.autocommit = True
    try:
        out = runner.invoke(app, ["init-db", "--dsn", target])
        assert out.exit_code == 1
        assert f"no database '{name}'" in out.stderr and "--create" in out.stderr
        out = runner.invoke(app, ["init-db", "--dsn", target, "--create"])
        assert out.exit_code == 0, out.stderr
        assert f"created database {name}" in out.stderr
        with psycopg.connect(target) as created:
            assert created.execute(
                "SELECT to_regclass('email_messages')"
            ).fetchone() == ("email_messages",)
        out = runner.invoke(app, ["init-db", "--create", "--dsn", target])
        assert out.exit_code == 0 and f"found database {name}" in out.stderr
        assert "applied 0 migrations; schema is unchanged" in out.stderr

        conn.execute(f"CREATE ROLE {role} LOGIN NOCREATEDB PASSWORD 'x'")
        other = make_conninfo(dsn, dbname=name + "_other", user=role, password="x")
        out = runner.invoke(app, ["init-db", "--dsn", other, "--create"])
        assert out.exit_code == 1 and "may not create database" in out.stderr
        assert "hint: " in out.stderr and "Traceback" not in out.stderr
    finally:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {role}")


def test_init_db_create_finds_the_database_a_service_file_names(
    dsn: str,
    conn: psycopg.Connection[tuple[object, ...]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--dsn service=NAME`: the database is named in the service file, not in the
    DSN. init-db --create used to say the DSN names no database; it now creates the
    one the service file names and its schema."""
    from psycopg.conninfo import conninfo_to_dict
    from typer.testing import CliRunner

    from pmail_cli.cli import app

    name = f"pmail_test_service_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    params = {k: v for k, v in conninfo_to_dict(dsn).items() if k != "dbname"}
    lines = [f"{k}={v}" for k, v in params.items()]
    (tmp_path / "pg_service.conf").write_text(
        "[pmailtest]\n" + "\n".join([*lines, f"dbname={name}"]) + "\n"
    )
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "pg_service.conf"))
    conn.autocommit = True
    try:
        out = CliRunner().invoke(
            app, ["init-db", "--dsn", "service=pmailtest", "--create"]
        )
        assert out.exit_code == 0, out.stderr
        assert f"created database {name}" in out.stderr
        with psycopg.connect("service=pmailtest") as created:
            assert created.info.dbname == name
            assert created.execute(
                "SELECT to_regclass('email_messages')"
            ).fetchone() == ("email_messages",)
    finally:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_init_db_names_statistics_a_superuser_must_still_clear(
    dsn: str, conn: Conn, caplog: pytest.LogCaptureFixture
) -> None:
    """Migration 0039 stops ANALYZE keeping statistics of the columns that hold
    tenants' values; a role that is not a superuser cannot delete those kept before,
    so init-db warns, naming them and the statement, until a superuser has run it.
    Here a kept row is made as a non-superuser migration would leave it."""
    from typer.testing import CliRunner

    from pmail_cli.cli import app

    conn.execute("INSERT INTO tenants (name) VALUES ('stats')")
    conn.execute(
        "INSERT INTO leads (tenant_id, email, name) SELECT t.tenant_id, "
        "'lead' || i % 3 || '@globex.test', 'Lead ' || i % 3 "
        "FROM tenants AS t, generate_series(1, 300) AS i WHERE t.name = 'stats'"
    )
    conn.execute("ALTER TABLE leads ALTER COLUMN email SET STATISTICS 100")
    conn.execute("ANALYZE leads")
    conn.execute("ALTER TABLE leads ALTER COLUMN email SET STATISTICS 0")
    conn.commit()
    runner = CliRunner()
    with caplog.at_level("WARNING"):
        result = runner.invoke(app, ["--dsn", dsn, "init-db"])
    assert result.exit_code == 0, result.stderr
    warned = [r.getMessage() for r in caplog.records if "statistics" in r.getMessage()]
    assert len(warned) == 1 and "leads.email" in warned[0], warned
    assert "leads.name" not in warned[0]  # its statistics were never kept
    statement = warned[0].split("A superuser removes them with: ", 1)[1]
    conn.execute(statement)
    conn.commit()
    caplog.clear()
    with caplog.at_level("WARNING"):
        result = runner.invoke(app, ["--dsn", dsn, "init-db"])
    assert result.exit_code == 0, result.stderr
    assert not [r for r in caplog.records if "statistics" in r.getMessage()]
    stats = conn.execute(
        "SELECT count(*) FROM pg_stats WHERE tablename = 'leads' AND attname = 'email'"
    ).fetchone()
    assert stats == (0,)
