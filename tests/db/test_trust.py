"""Isolation against someone who tries (docs/security.md): the attack class, not one
example.

A tenant's login and an untrusted role with SELECT on every table connect for real
and try to bend the policy path: temporary stand-ins (tables, views, types) for every
relation that pmail's functions, policies and views refer to — the list is read from
the catalog, so a function added later is covered without editing this file — lying
rows in them, temporary and schema-level functions and operators named like the ones
the policy calls, search_path changes, the settings, SET ROLE, RESET, DISCARD. Each
case sees its own tenant's rows (the tenant login) or none (the untrusted role).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from tests.support.tenancy import Conn, tenant_ids, tenant_tables

pytestmark = pytest.mark.db

ALL_TENANTS = "ffffffff-ffff-ffff-ffff-ffffffffffff"
# SECURITY DEFINER functions, reviewed: each has a fixed search_path with pg_temp last
# and reveals nothing beyond what its caller may know. A new one must be reviewed
# against PostgreSQL's guidance ("Writing SECURITY DEFINER Functions Safely") and
# added here.
REVIEWED_DEFINERS = {
    "pmail_role_tenant",  # a role's tenant id only
    "pmail_refuse_held_deletes",  # hold guards: see every tenant's holds, say yes/no
    "pmail_refuse_held_updates",
    "pmail_refuse_held_truncate",
    "pmail_search_moving",  # whether the search_move backfill is listed: yes/no only
    # 0028: the deletes pmail makes as a tenant, each first asking
    # pmail_check_delete_right whether the login writes for the tenant it names
    "pmail_clear_rollups",
    "pmail_clear_suppressions",
    "pmail_forget_imap_refused",
    "pmail_forget_imap_memberships",
    "pmail_delete_content",
    "pmail_delete_unreferenced_blobs",
    "pmail_drop_search_documents",
    "pmail_refresh_suppressions",  # constant SQL text; the tenant it is given checked
    "pmail_audit_next_id",  # 0029: the audit log's next id, nothing else
    # 0030, trigger functions (never called on their own): a new tenant's hold epoch,
    # a new hold's stamp and epoch, the share lock on the epochs a statement touches,
    # and the check at commit that a hold's change has its audit entry
    "pmail_add_hold_epoch",
    "pmail_stamp_hold",
    "pmail_hold_barrier",
    "pmail_hold_audited",
    # 0032: the check at commit that a tenant login's content deletion is audited
    # (reads the audit log for this transaction's `purge` entries; says yes/no)
    "pmail_purge_audited",
    # 0035: a content row whose legal_hold flag turns on moves its tenant's hold
    # epoch (a trigger function; writes that one row, takes nothing from the caller)
    "pmail_stamp_flag_hold",
    # 0036: a message a link puts under a hold moves its tenant's hold epoch (a
    # trigger function; asks pmail_is_held, writes that one epoch row)
    "pmail_stamp_link_hold",
}
TYPE_SHADOWS = ("uuid", "text", "name", "boolean", "tsquery", "regclass", "date")


def _functions(conn: Conn) -> list[tuple[str, str, str, bool, bool, list[str] | None]]:
    """(name, identity arguments, return type, security definer, bound body, config)
    of every function in pmail's schema."""
    rows = conn.execute(
        "SELECT p.proname, pg_get_function_identity_arguments(p.oid), "
        "format_type(p.prorettype, NULL), p.prosecdef, p.prosqlbody IS NOT NULL, "
        "p.proconfig FROM pg_proc AS p "
        "WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f' ORDER BY 1"
    ).fetchall()
    return [
        (str(r[0]), str(r[1]), str(r[2]), bool(r[3]), bool(r[4]), r[5])  # type: ignore[misc]
        for r in rows
    ]


def _referenced_relations(conn: Conn) -> list[tuple[str, str]]:
    """(schema, name) of every relation in pmail's schema or pg_catalog that a
    function, policy or view of pmail's schema names: bound references from pg_depend
    and whole words of the functions' text (PL/pgSQL is only text to the catalog)."""
    rows = conn.execute(
        """
        WITH texts AS (
            SELECT pg_get_functiondef(p.oid) AS body FROM pg_proc AS p
            WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f'
            UNION ALL
            SELECT coalesce(qual, '') || ' ' || coalesce(with_check, '') FROM pg_policies
            WHERE schemaname = 'public'
            UNION ALL
            SELECT pg_get_viewdef(c.oid) FROM pg_class AS c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'
        ),
        bound AS (
            SELECT d.refobjid FROM pg_depend AS d
            JOIN pg_proc AS p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
            WHERE p.pronamespace = 'public'::regnamespace
              AND d.refclassid = 'pg_class'::regclass
        )
        SELECT n.nspname, c.relname FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname IN ('public', 'pg_catalog') AND c.relkind IN ('r', 'v', 'm', 'p')
          AND (c.oid IN (SELECT refobjid FROM bound)
               OR EXISTS (SELECT 1 FROM texts
                          WHERE texts.body ~ ('\\m' || c.relname || '\\M')))
        ORDER BY 1, 2
        """
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def _columns(conn: Conn, schema: str, name: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute AS a "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        (f"{schema}.{name}",),
    ).fetchall()
    return [(str(r[0]), str(r[1])) for r in rows]


def _try(session: Conn, statement: str, params: tuple[str, ...] | None = None) -> bool:
    """Run one attacker statement; False (and nothing changed) when it is refused."""
    try:
        with session.transaction():
            session.execute(statement, params)
        return True
    except psycopg.Error:
        return False


class Attacker:
    """Builds stand-ins in a session, in pg_temp or in a schema of its own."""

    def __init__(self, admin: Conn, session: Conn, b: str) -> None:
        self.admin, self.session, self.b = admin, session, b
        self.made: list[str] = []

    def functions(self, schema: str) -> None:
        """A stand-in for every function of pmail's schema, and for the catalog
        functions the policy path calls, each answering 'everything'."""
        for name, args, returns, *_ in _functions(self.admin):
            if returns == "trigger":
                continue
            value = {
                "boolean": "true",
                "uuid": f"'{ALL_TENANTS}'::pg_catalog.uuid",
                "text": "'on'",
            }.get(returns, f"NULL::{returns}")
            self._make(
                f"CREATE FUNCTION {schema}.{name}({args}) RETURNS {returns} "
                f"LANGUAGE sql AS $f$ SELECT {value} $f$",
                f"function {schema}.{name}",
            )
        for made in (
            f"CREATE FUNCTION {schema}.current_setting(text, boolean) RETURNS text "
            "LANGUAGE sql AS $f$ SELECT 'on' $f$",
            f"CREATE FUNCTION {schema}.pg_has_role(name, oid, text) RETURNS boolean "
            "LANGUAGE sql AS $f$ SELECT true $f$",
            f"CREATE FUNCTION {schema}.evil_eq(uuid, uuid) RETURNS boolean "
            "LANGUAGE sql AS $f$ SELECT true $f$",
            f"CREATE OPERATOR {schema}.= (LEFTARG = uuid, RIGHTARG = uuid, "
            f"FUNCTION = {schema}.evil_eq)",
        ):
            self._make(made, made.split("(")[0])

    def relations(self, schema: str) -> None:
        """A table with the same columns for every relation the policy path names,
        holding lies: the session bound to b, a superuser, b's rows."""
        for owner, name in _referenced_relations(self.admin):
            columns = _columns(self.admin, owner, name)
            spec = ", ".join(f'"{col}" {typ}' for col, typ in columns)
            where = "TEMP TABLE" if schema == "pg_temp" else f"TABLE {schema}."
            if not self._make(f'CREATE {where}"{name}" ({spec})', f"table {name}"):
                self._make(f'CREATE {where}"{name}" ()', f"table {name} (bare)")
            names = {col for col, _ in columns}
            target = f'{schema}."{name}"'
            if {"role_name", "tenant_id"} <= names:
                _try(
                    self.session,
                    f"INSERT INTO {target} (role_name, tenant_id) "
                    "VALUES (session_user, %s)",
                    (self.b,),
                )
            elif "tenant_id" in names:
                _try(
                    self.session,
                    f"INSERT INTO {target} (tenant_id) VALUES (%s)",
                    (self.b,),
                )
            if {"rolname", "rolsuper"} <= names:
                _try(
                    self.session,
                    f"INSERT INTO {target} (rolname, rolsuper) VALUES (session_user, true)",
                )

    def types(self, schema: str) -> None:
        """Composite types named like the types the functions cast to."""
        where = "TEMP TABLE" if schema == "pg_temp" else f"TABLE {schema}."
        for name in TYPE_SHADOWS:
            self._make(f'CREATE {where}"{name}" (x int)', f"type {name}")

    def _make(self, statement: str, what: str) -> bool:
        made = _try(self.session, statement)
        if made:
            self.made.append(what)
        return made


def _widen(session: Conn, b: str) -> Iterator[str]:
    """Every way a session might widen its scope, one after another (cumulative)."""
    steps = [
        "SELECT pg_catalog.set_config('pmail.all_tenants', 'on', false)",
        f"SELECT pg_catalog.set_config('pmail.tenant_id', '{b}', false)",
        "SET search_path = pg_temp, public, pg_catalog",
        "SET search_path = evil, pg_temp, public, pg_catalog",
        "SET ROLE pmail_app",
        "SET ROLE pmail_admin",
        "SET SESSION AUTHORIZATION postgres",
        "RESET ROLE",
        "DISCARD PLANS",
        "RESET search_path",
        "SELECT pg_catalog.set_config('pmail.all_tenants', 'on', false)",
        "RESET ALL",
        "SELECT pg_catalog.set_config('pmail.all_tenants', 'on', false)",
    ]
    for step in steps:
        _try(session, step)
        yield step


def _seen(session: Conn, table: str, mine: str | None) -> tuple[int, int]:
    """How many rows of public.<table> the session sees, and how many of them are
    not its own tenant's (casts qualified: the attacker shadows the types)."""
    query = sql.SQL(
        "SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE "
        "CAST(tenant_id AS pg_catalog.text) IS DISTINCT FROM {mine}) FROM public.{t}"
    ).format(mine=sql.Literal(mine), t=sql.Identifier(table))
    with session.transaction():
        row = session.execute(query).fetchone()
    assert row is not None
    return int(str(row[0])), int(str(row[1]))


def _expected(admin: Conn, table: str, tenant: str) -> int:
    row = admin.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(
            sql.Identifier(table)
        ),
        (tenant,),
    ).fetchone()
    admin.rollback()
    return int(str(row[0])) if row else -1


def _attack(admin: Conn, dsn: str, b: str, *, may_create_schema: bool) -> Conn:
    """A session of dsn with every stand-in made, in pg_temp and (when the server
    lets it create schemas) in a schema of its own named evil."""
    session = psycopg.connect(dsn, autocommit=False)
    attacker = Attacker(admin, session, b)
    attacker.functions("pg_temp")
    attacker.relations("pg_temp")
    if may_create_schema:
        assert _try(session, "CREATE SCHEMA evil")
        attacker.functions("evil")
        attacker.relations("evil")
        attacker.types("evil")
    attacker.types("pg_temp")
    made = set(attacker.made)
    # the stand-ins the known attacks used were really made
    assert {"table pmail_tenant_roles", "table pg_roles", "table legal_holds"} <= made
    assert "function pg_temp.pmail_session_scope" in made
    assert {"type uuid", "type text"} <= made
    return session


@pytest.fixture
def lax_server(conn: Conn, login_a: str, plain_reader: str) -> Iterator[None]:
    """A server where anyone may create schemas in the database (the attackers try
    that too); taken back afterwards."""
    db = conn.execute("SELECT current_database()").fetchone()
    assert db is not None
    conn.execute(
        sql.SQL("GRANT CREATE ON DATABASE {} TO PUBLIC").format(
            sql.Identifier(str(db[0]))
        )
    )
    conn.commit()
    yield
    conn.execute(
        sql.SQL("REVOKE CREATE ON DATABASE {} FROM PUBLIC").format(
            sql.Identifier(str(db[0]))
        )
    )
    conn.commit()


@pytest.mark.parametrize(
    "lax", [False, True], ids=["default-server", "may-create-schemas"]
)
def test_a_tenant_login_cannot_bend_the_policy_path(
    login_a: str, conn: Conn, request: pytest.FixtureRequest, lax: bool
) -> None:
    """Stand-ins for everything the policy path names, then every widening step:
    the login of a sees exactly a's rows in every table and view, after each step."""
    if lax:
        request.getfixturevalue("lax_server")
    a, b = tenant_ids(conn)
    tables = tenant_tables(conn)
    expected = {t: _expected(conn, t, a) for t in tables}
    assert expected["email_messages"] > 0 and expected["attachments"] > 0
    with _attack(conn, login_a, b, may_create_schema=lax) as session:
        for step in _widen(session, b):
            for table in tables:
                seen = _seen(session, table, a)
                assert seen == (expected[table], 0), (step, table, seen)
            with session.transaction():
                scope = session.execute(
                    "SELECT public.pmail_session_scope()"
                ).fetchone()
            assert scope is not None and str(scope[0]) == a, step


@pytest.mark.parametrize(
    "lax", [False, True], ids=["default-server", "may-create-schemas"]
)
def test_an_untrusted_role_sees_nothing_whatever_it_does(
    plain_reader: str, conn: Conn, request: pytest.FixtureRequest, lax: bool
) -> None:
    """A role with SELECT on every table, bound to no tenant and not trusted (an
    analyst's or a dashboard's), sees no tenant's row after any step."""
    if lax:
        request.getfixturevalue("lax_server")
    _, b = tenant_ids(conn)
    tables = tenant_tables(conn)
    assert _expected(conn, "email_messages", b) > 0
    with _attack(conn, plain_reader, b, may_create_schema=lax) as session:
        for step in _widen(session, b):
            for table in [*tables, "tenants"]:
                assert _seen(session, table, None) == (0, 0), (step, table)
            with session.transaction():
                scope = session.execute(
                    "SELECT public.pmail_session_scope()"
                ).fetchone()
            assert scope == (None,), step


def test_every_function_binds_its_names(conn: Conn) -> None:
    """Each function of pmail's schema has a SQL-standard body (bound when created)
    or a fixed search_path with pg_temp last; each SECURITY DEFINER one is reviewed
    and pinned too."""
    functions = _functions(conn)
    assert len(functions) > 20
    for name, args, _, definer, bound, config in functions:
        path = next(
            (c.split("=", 1)[1] for c in config or [] if c.startswith("search_path=")),
            None,
        )
        pinned = path is not None and re.fullmatch(
            r"(public|\"?[\w]+\"?), pg_catalog, pg_temp|pg_catalog, pg_temp", path
        )
        assert bound or pinned, f"{name}({args}) resolves names at run time: {path}"
        if definer:
            assert name in REVIEWED_DEFINERS, (
                f"{name} is SECURITY DEFINER: review it and add it to REVIEWED_DEFINERS"
            )
            assert pinned, f"{name} is SECURITY DEFINER without a fixed search_path"


def test_tenant_tables_scope_once_per_statement(conn: Conn) -> None:
    """Every table keyed by tenant_id has row-level security enabled and forced, and
    its policies compare with the session's scope (computed once per statement)."""
    for table in tenant_tables(conn):
        kind = conn.execute(
            "SELECT relkind, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE oid = %s::regclass",
            (f"public.{table}",),
        ).fetchone()
        assert kind is not None
        if kind[0] == "v":
            continue
        assert kind[1] and kind[2], table
        quals = conn.execute(
            "SELECT coalesce(qual, with_check) FROM pg_policies "
            "WHERE schemaname = 'public' AND tablename = %s",
            (table,),
        ).fetchall()
        assert quals, table
        for (qual,) in quals:
            assert "pmail_session_scope()" in str(qual) or table == "tenants", (
                table,
                qual,
            )
        # 0031: tenant logins' policy is an equality an index scan applies itself
        # (tests/db/test_trust_explain.py says why)
        bound = conn.execute(
            "SELECT permissive, roles::text[], qual FROM pg_policies "
            "WHERE schemaname = 'public' AND tablename = %s "
            "AND policyname = 'tenant_bound'",
            (table,),
        ).fetchall()
        assert bound == [
            (
                "RESTRICTIVE",
                ["pmail_app", "pmail_reader"],
                "(tenant_id = ( SELECT pmail_session_scope() AS pmail_session_scope))",
            )
        ], (table, bound)


def test_nobody_else_creates_in_pmails_schema(
    conn: Conn, login_a: str, plain_reader: str
) -> None:
    """Objects in pmail's schema are trusted because only its owner makes them."""
    for dsn in (login_a, plain_reader):
        with psycopg.connect(dsn) as session:
            row = session.execute(
                "SELECT has_schema_privilege('public', 'CREATE')"
            ).fetchone()
            assert row == (False,)
            assert not _try(session, "CREATE TABLE public.pmail_tenant_roles_x (x int)")
