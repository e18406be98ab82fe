"""`pmail show PREFIX`: a key prefix is looked up as a range of the primary key where
the key column compares by code point, and by LIKE alone elsewhere; known answers for
both ways, ambiguous prefixes, keys outside printable ASCII, and another tenant's keys."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from pmail_cli import migrations
from pmail_cli.cli import app
from pmail_cli.repository.messages import find_message, prefix_upper_bound

pytestmark = pytest.mark.db
runner = CliRunner()
Conn = psycopg.Connection[tuple[object, ...]]

HEX = "0123456789abcdef"
# Keys as storage_key_for makes them (32 hex digits) sharing prefixes of several
# lengths, legacy keys (`email_<Message-ID>_<epoch-ms>`, kept exactly: any characters,
# LIKE's wildcards among them), and keys that sort next to a prefix's bounds.
KEYS_A = [
    "abcdef0123" + "1" * 22,
    "abcdef0123" + "2" * 22,
    "abcdef0129" + "0" * 22,
    "abcdef012a" + "0" * 22,
    "abcdef" + "f" * 26,
    "abcdf0" + "0" * 26,
    "abcdeg",  # not hex: right after every `abcdef…` key in code point order
    "aa" + "1" * 30,  # after `z` in Danish: outside ['a', 'b') there
    "9" * 32,
    "f" * 32,
    "email_<a%b_c@example.com>_1700000000000",
    "email_<a%bxc@example.com>_1700000000001",
    "email_<aXb_c@example.com>_1700000000002",
    "email_<é@exämple.com>_1700000000003",
    "email_<é@exämple.com>_1700000000004",
    "email_<~tilde@example.com>_1700000000005",
]
# Tenant b holds keys with the same prefixes: never an answer for tenant a.
KEYS_B = [
    "abcdef0123" + "3" * 22,
    "abcdef" + "0" * 26,
    "email_<é@b>_1",
    "aa" + "b" * 30,
]
PREFIXES = [
    "a", "aa", "aa1", "ab", "abcd", "abcdef", "abcdef0", "abcdef0123", "abcdef01231",
    "abcdef012" + "9", "abcdef012a", "abcdef" + "f" * 25, "abcdef" + "f" * 26,
    "abcde", "abcdf", "9", "99999999", "f", "ffffffff", "0", "00000000",
    "email_", "email_<a%", "email_<a%b_", "email_<aXb", "email_<é", "email_<é@exämple",
    "email_<~", "email_<~tilde@example.com>_1700000000005", "b", "~", "%", "_", "é",
]  # fmt: skip


def _tenants(dsn: str) -> tuple[uuid.UUID, uuid.UUID]:
    for name in ("a", "b"):
        assert runner.invoke(app, ["--dsn", dsn, "tenant", "add", name]).exit_code == 0
    with psycopg.connect(dsn) as conn:
        ids: dict[str, uuid.UUID] = {
            str(name): uuid.UUID(str(tenant))
            for name, tenant in conn.execute("SELECT name, tenant_id FROM tenants")
        }
        for tenant, keys in ((ids["a"], KEYS_A), (ids["b"], KEYS_B)):
            conn.execute(
                "INSERT INTO email_messages (tenant_id, storage_key, direction, status)"
                " SELECT %s, k, 'inbound', 'received' FROM unnest(%s::text[]) AS k",
                (tenant, keys),
            )
    return ids["a"], ids["b"]


def _expected(prefix: str) -> list[str]:
    if prefix in KEYS_A:
        return [prefix]
    return sorted(k for k in KEYS_A if k.startswith(prefix))[:6]


def _found(conn: Conn, tenant: uuid.UUID, prefix: str) -> list[str]:
    return [
        str(r["storage_key"]) for r in find_message(conn, tenant_id=tenant, key=prefix)
    ]


def test_prefix_upper_bound() -> None:
    """The last character's code point plus one; none outside printable ASCII."""
    assert prefix_upper_bound("abc") == "abd"
    assert prefix_upper_bound("ab9") == "ab:"
    assert prefix_upper_bound("abf") == "abg"
    assert prefix_upper_bound("a~") == "a\x7f"
    assert prefix_upper_bound("a%") == "a&"
    assert prefix_upper_bound("") is None
    assert prefix_upper_bound("aé") is None
    assert prefix_upper_bound("éa") is None
    assert prefix_upper_bound("a\tb") is None


def test_prefixes_find_exactly_their_keys(dsn: str) -> None:
    """Every prefix gives the tenant's keys that start with it (up to six, in key
    order), never tenant b's, whether it takes the range (ASCII) or LIKE alone."""
    tenant_a, tenant_b = _tenants(dsn)
    with psycopg.connect(dsn) as conn:
        for prefix in PREFIXES:
            assert _found(conn, tenant_a, prefix) == _expected(prefix), prefix
        assert _found(conn, tenant_b, "abcdef0123") == [KEYS_B[0]]
        assert _found(conn, tenant_b, "email_<é") == ["email_<é@b>_1"]
        assert _found(conn, tenant_b, "abcdef0129") == []
        assert _found(conn, tenant_a, "zzzzzzzz") == []


@pytest.fixture
def danish_dsn(dsn: str) -> Iterator[str]:
    """A database on the same server whose default collation is ICU Danish, with
    pmail's schema (its own migrations), dropped afterwards."""
    name = f"pmail_test_da_{os.getpid()}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        try:
            admin.execute(
                sql.SQL(
                    "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'"
                    " LOCALE_PROVIDER icu ICU_LOCALE 'da' LOCALE 'C.UTF-8'"
                ).format(sql.Identifier(name))
            )
        except psycopg.errors.FeatureNotSupported:
            # pmail's embedded PostgreSQL is built without ICU, and this machine has
            # no linguistic libc locale either: no database here compares keys other
            # than by code point. .ci/run runs this test on the machine's PostgreSQL
            # 15 (with ICU) before the embedded stage.
            pytest.skip("this server is built without ICU: no linguistic collation")
    danish = make_conninfo(dsn, dbname=name)
    try:
        with psycopg.connect(danish, autocommit=True) as conn:
            migrations.apply_pending(conn)
        yield danish
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )


def test_prefix_under_a_linguistic_collation_reads_with_like(danish_dsn: str) -> None:
    """Under a collation that is not code point order the range is not the prefix set
    (Danish sorts `aa` after `z`), so the lookup takes LIKE alone and still finds
    `aa…` for the prefix `a`: the same keys as under C.UTF-8 for every prefix."""
    tenant_a, tenant_b = _tenants(danish_dsn)
    with psycopg.connect(danish_dsn, autocommit=True) as conn:
        range_only = conn.execute(
            "SELECT storage_key FROM email_messages WHERE tenant_id = %s"
            " AND storage_key >= 'a' AND storage_key < 'b'",
            (tenant_a,),
        ).fetchall()
        assert ("aa" + "1" * 30,) not in range_only  # why the range is not used here
        for prefix in PREFIXES:  # six of more matches are the first six in Danish
            found = _found(conn, tenant_a, prefix)
            matches = [k for k in KEYS_A if k.startswith(prefix)]
            if prefix in KEYS_A or len(matches) <= 6:
                assert sorted(found) == sorted(_expected(prefix)), prefix
            else:
                assert len(found) == 6 and set(found) <= set(matches), prefix
        assert _found(conn, tenant_a, "aa") == ["aa" + "1" * 30]
        assert sorted(_found(conn, tenant_b, "a")) == sorted(
            ["aa" + "b" * 30, *KEYS_B[:2]]
        )


def test_show_lists_an_ambiguous_prefix_and_shows_a_unique_one(dsn: str) -> None:
    """`pmail show`: more than one match is listed (exit 2); a unique prefix of 8+
    characters shows its message; tenant b's key with the same prefix is not a match."""
    _tenants(dsn)
    result = runner.invoke(app, ["--dsn", dsn, "show", "abcdef0123", "-t", "a"])
    assert result.exit_code == 2 and "matches more than one message" in result.stderr
    assert KEYS_A[0] in result.stderr and KEYS_A[1] in result.stderr
    assert KEYS_B[0] not in result.stderr
    result = runner.invoke(
        app, ["--dsn", dsn, "show", "abcdef0129", "-t", "a", "--format", "json"]
    )
    assert result.exit_code == 0, result.stderr
    assert KEYS_A[2] in result.stdout
    result = runner.invoke(app, ["--dsn", dsn, "show", "abcdef00", "-t", "a"])
    assert result.exit_code == 1 and "no message with storage key" in result.stderr
    result = runner.invoke(app, ["--dsn", dsn, "show", "email_<é@", "-t", "a"])
    assert result.exit_code == 2 and "matches more than one message" in result.stderr
