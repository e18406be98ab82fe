"""Tenant names: no control or format characters (service and database), older bad
names reported by validate and fixed by a rename, and default login roles that two
tenants never share."""

from __future__ import annotations

import json
import os
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pmail_cli.repository.tenants import Tenant
from pmail_cli.services.tenants import login_role_name
from pmail_cli.sqlfiles import sql_root
from tests import mailgen
from tests.db.conftest import _drop_role
from tests.support.tenancy import Conn, pmail

pytestmark = pytest.mark.db

BAD_NAMES = [
    "two\nlines",
    "tab\there",
    "esc\x1b[31mred",
    "del\x7f",
    "c1\x9bcontrol",
    "zero\u200bwidth",
    "bidi\u202eevil",
    "soft\u00adhyphen",
    "bom\ufeff",
    "line\u2028separator",
    "tag\U000e0041",
]
REFUSED = {"Cc", "Cf", "Zl", "Zp"}


def _names(conn: Conn) -> list[str]:
    conn.rollback()
    conn.execute("SELECT set_config('pmail.all_tenants', 'on', false)")
    return [str(r[0]) for r in conn.execute("SELECT name FROM tenants")]


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n) for n in BAD_NAMES])
def test_tenant_add_refuses_control_and_format_characters(
    dsn: str, conn: Conn, name: str
) -> None:
    """`tenant add` refuses the name (exit 2, the character named) and stores nothing."""
    code, _, err = pmail(dsn, "tenant", "add", name)
    assert code == 2, err
    assert err.startswith("error: a tenant name may not hold control or invisible")
    assert "U+" in err and "hint: " in err
    assert name not in _names(conn)
    code, _, err = pmail(dsn, "tenant", "add", "plain name, ünïcode ok")
    assert code == 0, err


def test_the_database_refuses_them_to_any_writer(conn: Conn) -> None:
    """An INSERT or an UPDATE in SQL cannot store such a name either."""
    conn.execute("SELECT set_config('pmail.all_tenants', 'on', false)")
    for name in BAD_NAMES:
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO tenants (name) VALUES (%s)", (name,))
        conn.rollback()
        conn.execute("SELECT set_config('pmail.all_tenants', 'on', false)")
    conn.execute("INSERT INTO tenants (name) VALUES ('fine')")
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE tenants SET name = 'not' || chr(10) || 'fine'")


def test_sql_and_python_refuse_the_same_code_points(conn: Conn) -> None:
    """pmail_plain_name refuses exactly the code points of Cc, Cf, Zl and Zp (as
    Python's unicodedata, which the service uses, sees them), over all of Unicode."""
    row = conn.execute(
        "SELECT array_agg(c ORDER BY c) FROM generate_series(1, 1114111) AS c "
        "WHERE c NOT BETWEEN 55296 AND 57343 AND NOT pmail_plain_name(chr(c))"
    ).fetchone()
    assert row is not None
    assert isinstance(row[0], list)
    in_sql = set(row[0])
    in_python = {
        c
        for c in range(1, 0x110000)
        if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) in REFUSED
    }
    # a newer Python's Unicode with new format characters fails here: add a migration
    assert in_sql == in_python, (
        unicodedata.unidata_version,
        sorted(in_sql ^ in_python)[:20],
    )


def _store_an_old_bad_name(conn: Conn) -> str:
    """A tenant named with a newline, as a database from before the CHECK holds it;
    then the migration runs again (it must pass over such rows)."""
    conn.execute("SELECT set_config('pmail.all_tenants', 'on', false)")
    conn.execute("ALTER TABLE tenants DROP CONSTRAINT tenants_name_plain")
    row = conn.execute(
        "INSERT INTO tenants (name) VALUES (%s) RETURNING tenant_id::text",
        ("old\nname",),
    ).fetchone()
    assert row is not None
    conn.commit()
    (migration,) = sorted((sql_root() / "migrations").glob("*_tenant_names.sql"))
    with psycopg.connect(conn.info.dsn, autocommit=True) as again:
        again.execute(migration.read_text(encoding="utf-8").encode())
    return str(row[0])


def test_an_older_bad_name_is_reported_and_renamed(dsn: str, conn: Conn) -> None:
    """The migration keeps a name stored before it; validate reports it by id (exit 3);
    other changes are refused until `tenant set ID --rename NEW`; then validate is
    clean and the rename is in the audit log."""
    tenant_id = _store_an_old_bad_name(conn)
    code, out, _ = pmail(dsn, "validate", "--format", "json")
    assert code == 3
    found = {c["name"]: c for c in json.loads(out)}["tenant_names"]
    assert found["status"] == "problem" and found["count"] == 1
    assert f"pmail tenant set {tenant_id} --rename" in found["sample"][0]
    code, _, err = pmail(dsn, "tenant", "set", tenant_id, "--retention-days", "9")
    assert code == 2 and f"tenant set {tenant_id} --rename" in err, err
    code, _, err = pmail(dsn, "tenant", "set", tenant_id, "--rename", "bad\nagain")
    assert code == 2 and "may not hold control" in err
    code, _, err = pmail(dsn, "tenant", "set", tenant_id, "--rename", "old-name")
    assert code == 0 and "tenant old-name:" in err, err
    assert "old\nname" not in _names(conn) and "old-name" in _names(conn)
    code, out, _ = pmail(dsn, "validate", "--format", "json")
    assert code == 0
    assert {c["name"]: c for c in json.loads(out)}["tenant_names"]["count"] == 0
    code, out, _ = pmail(dsn, "audit", "--action", "tenant set", "--format", "json")
    assert code == 0
    assert [e["params"].get("name") for e in json.loads(out)][-1] == "old-name"


def test_rename_refuses_a_taken_name(dsn: str) -> None:
    """Renaming onto another tenant's name is an error, not a merge."""
    for name in ("one", "two"):
        assert pmail(dsn, "tenant", "add", name)[0] == 0
    code, _, err = pmail(dsn, "tenant", "set", "one", "--rename", "two")
    assert code == 2 and "a tenant called 'two' exists already" in err


def _tenant(name: str) -> Tenant:
    return Tenant(uuid.uuid4(), name, datetime.now(UTC))


def test_default_role_names_are_unique_and_stable() -> None:
    """Plain names keep pmail_<name>; others get an ASCII part and a hash of the
    whole name, the same every time; names alike in ASCII differ."""
    assert login_role_name(_tenant("acme")) == "pmail_acme"
    first, second = _tenant("ténant-ü"), _tenant("tänant-ö")
    assert login_role_name(first) != login_role_name(second)
    assert login_role_name(first) == login_role_name(_tenant("ténant-ü"))
    assert login_role_name(first).startswith("pmail_tenant_u_")
    assert login_role_name(first) != login_role_name(_tenant("tenant-u"))
    assert login_role_name(_tenant("Acme")) != login_role_name(_tenant("acme"))
    # a plain name that looks hashed is hashed too, so the two kinds never meet
    assert login_role_name(_tenant("acme_0123abcd")) != "pmail_acme_0123abcd"
    for name in ("日本語", "x" * 200, "Acme Corp"):
        role = login_role_name(_tenant(name))
        assert len(role) <= 63 and role.isascii(), role


@pytest.fixture
def roles(conn: Conn) -> Iterator[list[str]]:
    """Login roles a test makes, dropped after it (roles belong to the server)."""
    made: list[str] = []
    yield made
    for role in made:
        _drop_role(conn, role)


def test_tenants_alike_in_ascii_get_their_own_logins(
    dsn: str, conn: Conn, tmp_path: Path, roles: list[str]
) -> None:
    """Two tenants whose names fold to the same ASCII (`ténant-ü-…`, `tänant-ö-…`)
    each get a login from `pmail tenant login NAME` (no --role): different roles, and
    each login sees its own tenant's mail and nothing of the other's."""
    run = f"{os.getpid()}{uuid.uuid4().hex[:6]}"  # unique on the server
    names = (f"ténant-ü-{run}", f"tänant-ö-{run}")
    for n, name in enumerate(names):
        assert pmail(dsn, "tenant", "add", name)[0] == 0
        folder = tmp_path / str(n)
        folder.mkdir()
        (folder / "m.eml").write_bytes(mailgen.simple(n, subject=f"mail of tenant {n}"))
        assert pmail(dsn, "ingest", str(folder), "-t", name)[0] == 0
    for name in names:
        code, _, err = pmail(dsn, "tenant", "login", name)
        assert code == 0, err
        roles.append(err.split("login role ", 1)[1].split(" ", 1)[0])
    assert roles[0] != roles[1]
    for n, role in enumerate(roles):
        password = uuid.uuid4().hex
        conn.execute(f"ALTER ROLE {role} PASSWORD '{password}'")
        conn.commit()
        login = make_conninfo(dsn, user=role, password=password)
        with psycopg.connect(login) as session:
            subjects = session.execute("SELECT subject FROM email_messages").fetchall()
            seen = session.execute("SELECT name FROM tenants").fetchall()
        assert subjects == [(f"mail of tenant {n}",)]
        assert seen == [(names[n],)]


def test_a_name_with_spaces_around_it_finds_its_tenant(
    dsn: str, tmp_path: Path
) -> None:
    """`tenant add ' acme '` stores acme; `--tenant ' acme '` (a pasted name) then
    finds it instead of saying there is no such tenant."""
    code, _, err = pmail(dsn, "tenant", "add", " acme ")
    assert code == 0, err
    code, out, err = pmail(dsn, "tenant", "list", "--format", "json")
    assert code == 0, err
    assert "acme" in [t["name"] for t in json.loads(out)]
    code, out, err = pmail(
        dsn, "report", "volume", "-t", "  acme\t", "--since", "2020-01-01"
    )
    assert code == 0, err
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "0.eml").write_bytes(mailgen.simple(1))
    code, _, err = pmail(dsn, "ingest", str(folder), "-t", " acme ")
    assert code == 0, err
    code, out, err = pmail(
        dsn, "report", "volume", "-t", "acme", "--since", "2020-01-01", "-f", "json"
    )
    assert code == 0, err
    assert sum(int(r["total_emails"]) for r in json.loads(out)) == 1, out
    code, _, err = pmail(
        dsn, "report", "volume", "-t", " acmex ", "--since", "2020-01-01"
    )
    assert code != 0 and "tenant ' acmex ' does not exist" in err
