"""Fixtures of the isolation and trust tests: two tenants, and real logins that try
to reach across them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import make_conninfo

from tests.support.tenancy import Conn, pmail, tenant_mail


@pytest.fixture
def two_tenants(dsn: str, tmp_path: Path) -> str:
    """Tenants a and b holding the same kind of mail (different rows)."""
    for name in ("a", "b"):
        assert pmail(dsn, "tenant", "add", name)[0] == 0
        assert pmail(dsn, "account", "add", "sdr1@acme.test", "-t", name)[0] == 0
        folder = tmp_path / name
        folder.mkdir()
        for i, raw in enumerate(tenant_mail()):
            (folder / f"{i}.eml").write_bytes(raw)
        code, _, err = pmail(dsn, "ingest", str(folder), "-t", name)
        assert code == 0, err
    return dsn


def _drop_role(conn: Conn, role: str) -> None:
    conn.rollback()
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
        (role,),
    )
    conn.execute(f"DROP OWNED BY {role}")
    conn.execute(f"DROP ROLE {role}")
    conn.commit()


def _role_name() -> str:
    # roles belong to the whole server: unique per run and per test
    return f"pmail_t{os.getpid()}_{uuid.uuid4().hex[:8]}"


def _tenant_login(dsn: str, conn: Conn, tenant: str) -> Iterator[str]:
    """A DSN that logs in as the tenant's own role (created by `pmail tenant login`)."""
    role, password = _role_name(), uuid.uuid4().hex
    code, _, err = pmail(dsn, "tenant", "login", tenant, "--role", role)
    assert code == 0 and f"created login role {role}" in err, err
    conn.execute(f"ALTER ROLE {role} PASSWORD '{password}'")
    conn.commit()
    yield make_conninfo(dsn, user=role, password=password)
    _drop_role(conn, role)


@pytest.fixture
def login_a(two_tenants: str, conn: Conn) -> Iterator[str]:
    """A DSN that logs in as tenant a's own role (created by `pmail tenant login`)."""
    yield from _tenant_login(two_tenants, conn, "a")


@pytest.fixture
def login_b(two_tenants: str, conn: Conn) -> Iterator[str]:
    """The same for tenant b."""
    yield from _tenant_login(two_tenants, conn, "b")


def _login(dsn: str, conn: Conn, grant: str) -> Iterator[str]:
    """A new login role given `grant` ({} is the role), as a DSN; dropped after."""
    role, password = _role_name(), uuid.uuid4().hex
    conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    conn.execute(grant.format(role))
    conn.commit()
    yield make_conninfo(dsn, user=role, password=password)
    _drop_role(conn, role)


@pytest.fixture
def plain_reader(two_tenants: str, conn: Conn) -> Iterator[str]:
    """A DSN of a login with SELECT on every table that is neither bound to a tenant
    nor trusted (an analyst's or a dashboard's role)."""
    yield from _login(
        two_tenants, conn, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}"
    )


@pytest.fixture
def admin_login(two_tenants: str, conn: Conn) -> Iterator[str]:
    """A DSN of a login that is a member of pmail_admin only (no superuser, owns
    nothing): an administrator's service account."""
    yield from _login(two_tenants, conn, "GRANT pmail_admin TO {}")
