"""The administrators' audit log (docs/security.md): each act that changes what is
kept or who may see it is one entry, committed with the act; nobody can change,
remove or empty the log, forge who wrote an entry, or read another tenant's."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pmail_cli.services.audit import ACTIONS, who
from tests import mailgen
from tests.conftest import QueueEnv
from tests.support.tenancy import Conn, pmail, tenant_ids

pytestmark = pytest.mark.db


def _log(dsn: str, *args: str) -> list[dict[str, Any]]:
    code, out, err = pmail(dsn, "audit", *args, "--format", "json")
    assert code == 0, err
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def _ingest(dsn: str, folder: Path, raws: list[bytes], tenant: str) -> None:
    folder.mkdir()
    for i, raw in enumerate(raws):
        (folder / f"{i}.eml").write_bytes(raw)
    code, _, err = pmail(dsn, "ingest", str(folder), "-t", tenant)
    assert code == 0, err


def test_every_administrative_act_is_recorded(
    dsn: str, conn: Conn, tmp_path: Path, queue_env: QueueEnv
) -> None:
    """A session of acts through pmail, then `pmail audit`: one entry per act, in
    order, with the database role, the OS user, the tenant, what was asked and what
    it did; a failed act leaves no entry."""
    assert pmail(dsn, "tenant", "add", "acme")[0] == 0
    _ingest(dsn, tmp_path / "in", [mailgen.simple(i) for i in range(60)], "acme")
    role = f"pmail_t_audit_{uuid.uuid4().hex[:8]}"
    steps = [
        ("tenant set", ["tenant", "set", "acme", "--retention-days", "30"]),
        ("tenant login", ["tenant", "login", "acme", "--role", role, "--read-only"]),
        ("hold add", ["hold", "add", "-t", "acme", "--reason", "case 9"]),
        ("hold release", ["hold", "release", "1"]),
        ("dict train", ["dict", "train", "-t", "acme"]),
        ("analytics rebuild", ["analytics", "rebuild", "-t", "acme"]),
    ]
    try:
        for _, args in steps:
            code, _, err = pmail(dsn, *args)
            assert code == 0, (args, err)
        # a failed act: nothing recorded
        code, _, _ = pmail(
            dsn, "hold", "add", "-t", "acme", "--lead", "x", "--reason", "r"
        )
        assert code == 2
        conn.execute("UPDATE email_content SET compressed_size_bytes = 1")
        conn.execute("UPDATE email_messages SET created = created - interval '40 days'")
        conn.commit()
        assert pmail(dsn, "validate", "--repair")[0] == 0
        code, _, err = pmail(dsn, "purge")
        assert code == 0 and "purged 60 messages" in err, err
        # a dead letter put back on the queue
        queue_env.client.xadd(
            f"{queue_env.prefix}:jobs:normal",
            {"type": "store", "tenant": "acme", "job": "not-a-uuid", "raw": b"x"},
        )
        assert pmail(dsn, "worker", "--burst")[0] == 0
        assert pmail(dsn, "queue", "dead", "retry")[0] == 0
        log = _log(dsn)
    finally:
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.commit()
    actions = [e["action"] for e in log]
    assert actions[:7] == ["tenant add", *(a for a, _ in steps)]
    assert {"validate repair", "purge", "queue dead retry"} <= set(actions[7:])
    assert set(actions) <= set(ACTIONS)
    by_action = {e["action"]: e for e in log}
    assert by_action["hold add"]["params"]["reason"] == "case 9"
    assert by_action["hold add"]["result"]["messages"] == 60
    assert by_action["tenant login"]["params"] == {"role": role, "read_only": True}
    assert by_action["purge"]["result"]["messages"] == 60
    assert len(by_action["purge"]["result"]["keys"]) == 60
    assert by_action["queue dead retry"]["tenant"] is None
    assert by_action["validate repair"]["params"]["check"] == "size_mismatches"
    for entry in log:
        assert entry["db_role"] == "postgres" and entry["os_user"] == who()
    assert [e["action"] for e in _log(dsn, "--action", "hold")] == [
        "hold add",
        "hold release",
    ]
    assert _log(dsn, "--since", "2999-01-01") == []
    assert {e["tenant"] for e in _log(dsn, "--tenant", "acme")} == {"acme"}
    code, _, err = pmail(dsn, "audit", "--action", "nonsense")
    assert code == 2 and "--action 'nonsense' is not one of the allowed values" in err
    assert "hint: --action takes: hold add, hold release, purge," in err


def test_the_log_is_append_only_and_per_tenant(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """UPDATE, DELETE and TRUNCATE are refused to the owner and to a tenant login;
    a login cannot forge when or who, write for another tenant, or read its
    entries; it reads its own."""
    a, b = tenant_ids(conn)
    assert pmail(two_tenants, "hold", "add", "-t", "b", "--reason", "b's case")[0] == 0
    assert pmail(two_tenants, "hold", "add", "-t", "a", "--reason", "a's case")[0] == 0
    before = conn.execute("SELECT count(*) FROM admin_audit_log").fetchone()
    conn.commit()
    for dsn in (two_tenants, login_a):
        with psycopg.connect(dsn) as session:
            for attack in (
                "UPDATE admin_audit_log SET action = 'tenant add'",
                "DELETE FROM admin_audit_log",
                "TRUNCATE admin_audit_log",
            ):
                with (
                    pytest.raises(
                        psycopg.Error, match=r"append-only|permission denied"
                    ),
                    session.transaction(),
                ):
                    session.execute(attack)
    assert conn.execute("SELECT count(*) FROM admin_audit_log").fetchone() == before
    with psycopg.connect(login_a) as session:
        seen = session.execute("SELECT DISTINCT tenant_id::text FROM admin_audit_log")
        assert {r[0] for r in seen} == {a}
        session.execute(
            "INSERT INTO admin_audit_log (at, db_role, os_user, tenant_id, action) "
            "VALUES ('2000-01-01', 'postgres', 'admin', %s, 'hold release')",
            (a,),
        )
        session.commit()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            session.execute(
                "INSERT INTO admin_audit_log (tenant_id, action) "
                "VALUES (%s, 'hold release')",
                (b,),
            )
    forged = conn.execute(
        "SELECT at > now() - interval '1 hour', db_role <> 'postgres' "
        "FROM admin_audit_log WHERE os_user = 'admin'"
    ).fetchone()
    assert forged == (True, True)


def test_soft_bounce_limits_are_recorded_and_a_refused_change_is_not(
    dsn: str,
) -> None:
    """`tenant set --soft-bounce-limit/--soft-bounce-days` recomputes the tenant's
    suppression list (what its senders may mail): one `tenant set` entry with both
    values as they now are; one out of range changes nothing and records nothing."""
    assert pmail(dsn, "tenant", "add", "acme")[0] == 0
    code, _, err = pmail(dsn, "tenant", "set", "acme", "--soft-bounce-limit", "2")
    assert code == 0, err
    code, _, err = pmail(dsn, "tenant", "set", "acme", "--soft-bounce-days", "0")
    assert code == 2 and "--soft-bounce-days 0 is out of range" in err, err
    entries = _log(dsn, "--action", "tenant set")
    assert [(e["tenant"], e["params"]) for e in entries] == [
        ("acme", {"name": "acme", "soft_bounce_limit": 2, "soft_bounce_days": 30})
    ]


def test_a_tenant_login_cannot_choose_audit_ids(
    login_a: str, two_tenants: str, conn: Conn
) -> None:
    """a's login appends entries with the ids the log would give next (OVERRIDING
    SYSTEM VALUE; its own entries' ids tell where the sequence is). Before 0029 each
    audited act of every tenant after it failed on the primary key; now the log
    gives every entry its own id, and b's administrator's acts are recorded."""
    a, b = tenant_ids(conn)
    assert pmail(two_tenants, "hold", "add", "-t", "a", "--reason", "a's case")[0] == 0
    with psycopg.connect(login_a) as session:
        top = session.execute("SELECT max(audit_id) FROM admin_audit_log").fetchone()
        assert top is not None and top[0] is not None
        start = int(str(top[0])) + 1
        session.execute(
            "INSERT INTO admin_audit_log (audit_id, tenant_id, action) "
            "OVERRIDING SYSTEM VALUE "
            "SELECT g, %s, 'hold release' FROM generate_series(%s::bigint, %s::bigint) AS g",
            (a, start, start + 199),
        )
        session.commit()
    for reason in ("b's case", "b's second case"):
        code, _, err = pmail(two_tenants, "hold", "add", "-t", "b", "--reason", reason)
        assert code == 0, err
    recorded = conn.execute(
        "SELECT count(*) FROM admin_audit_log WHERE tenant_id = %s "
        "AND action = 'hold add'",
        (b,),
    ).fetchone()
    assert recorded == (2,)
    ids = conn.execute(
        "SELECT count(*), count(DISTINCT audit_id) FROM admin_audit_log"
    ).fetchone()
    assert ids is not None and ids[0] == ids[1]
