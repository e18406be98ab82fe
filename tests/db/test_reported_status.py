"""delivery_facts.reported_status (migration 0026): the DSN's own `Status:` field,
stored beside `status`, shown by `pmail show`, filled in for stored facts by the
`reported_status:stored` backfill, and kept by a legal hold: a tenant's own login
may not rewrite it on held mail, an administrator may only fill it in."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests import mailgen
from tests.support.tenancy import Conn, login_refusal, pmail, tenant_ids

pytestmark = pytest.mark.db

LEAD = "m.okafor@northfield-supply.test"


def _facts(conn: Conn, tenant: str) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT storage_key, recipient, status, reported_status FROM delivery_facts "
        "WHERE tenant_id = %s ORDER BY storage_key, recipient_index",
        (tenant,),
    ).fetchall()


def _ingest_blanket_dsn(dsn: str, tmp_path: Path, tenant: str) -> None:
    """One bounce whose report says Status: 5.0.0 while the remote said 550 5.1.1."""
    folder = tmp_path / f"blanket-{tenant}"
    folder.mkdir()
    sent = mailgen.outbound(40)
    (folder / "1.eml").write_bytes(
        mailgen.dsn(40, sent, status="5.1.1", recipient=LEAD, reported="5.0.0")
    )
    code, _, err = pmail(dsn, "ingest", str(folder), "-t", tenant)
    assert code == 0, err


def _blanket_key(conn: Conn, tenant: str) -> str:
    row = conn.execute(
        "SELECT storage_key FROM delivery_facts WHERE tenant_id = %s "
        "AND recipient = %s",
        (tenant, LEAD),
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_ingest_stores_the_reported_status_and_show_prints_it(
    two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """status keeps the remote's code, reported_status the report's own field."""
    a, _ = tenant_ids(conn)
    _ingest_blanket_dsn(two_tenants, tmp_path, "a")
    key = _blanket_key(conn, a)
    assert (key, LEAD, "5.1.1", "5.0.0") in _facts(conn, a)
    code, out, err = pmail(two_tenants, "show", key, "-t", "a", "--format", "json")
    assert code == 0, err
    (fact,) = json.loads(out)["delivery_facts"]
    assert (fact["status"], fact["reported_status"]) == ("5.1.1", "5.0.0")
    code, out, err = pmail(two_tenants, "show", key, "-t", "a")
    assert code == 0, err
    assert "5.0.0" in out


ATTACKS = (
    "UPDATE delivery_facts SET reported_status = '5.7.1' WHERE storage_key = %s",
    "UPDATE delivery_facts SET reported_status = NULL WHERE storage_key = %s",
    "UPDATE delivery_facts SET recipient_index = recipient_index + 100 "
    "WHERE storage_key = %s",
    "DELETE FROM delivery_facts WHERE storage_key = %s",
)


def test_a_tenant_login_cannot_rewrite_a_held_reported_status(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """On a held message, a's own login may not change, clear, move away or delete
    (to insert another) its facts' reported status, nor fill one in where there is
    none; on a's mail nobody holds the same statements work, and only a valid X.Y.Z
    is stored."""
    a, _ = tenant_ids(conn)
    _ingest_blanket_dsn(two_tenants, tmp_path, "a")
    held = _blanket_key(conn, a)
    # the other bounce of a's mail (tenant_mail): one held with no reported status,
    # as a fact stored before 0026 has
    empty_row = conn.execute(
        "SELECT storage_key FROM delivery_facts WHERE tenant_id = %s "
        "AND storage_key <> %s LIMIT 1",
        (a, held),
    ).fetchone()
    assert empty_row is not None
    empty = str(empty_row[0])
    conn.execute(
        "UPDATE delivery_facts SET reported_status = NULL WHERE storage_key = %s",
        (empty,),
    )
    conn.commit()
    for key in (held, empty):
        code, _, err = pmail(
            two_tenants, "hold", "add", "-t", "a", "--storage-key", key, "--reason", "c"
        )
        assert code == 0, err
    before = _facts(conn, a)
    with psycopg.connect(login_a) as session:
        for key, attack in [
            *((held, attack) for attack in ATTACKS),
            (empty, ATTACKS[0]),  # a planted value where there is none
            (empty, ATTACKS[3]),
        ]:
            refusal = login_refusal(attack, held=True)
            assert refusal is not None
            with (
                pytest.raises(psycopg.Error, match=refusal[0]) as info,
                session.transaction(),
            ):
                session.execute(attack, (key,))
            assert info.value.sqlstate == refusal[1], attack
    assert _facts(conn, a) == before
    for hold in _hold_ids(conn, a):
        code, _, err = pmail(two_tenants, "hold", "release", hold)
        assert code == 0, err
    with psycopg.connect(login_a) as session:
        # released: the same statements work (RLS keeps them to a's rows), but a
        # DELETE, which a tenant login may not make since 0028
        for attack in ATTACKS:
            if login_refusal(attack, held=False) is not None:
                with (
                    pytest.raises(psycopg.errors.InsufficientPrivilege),
                    session.transaction(),
                ):
                    session.execute(attack, (held,))
                continue
            with session.transaction(force_rollback=True):
                assert session.execute(attack, (held,)).rowcount == 1
        bad = pytest.raises(psycopg.errors.CheckViolation)
        with bad, session.transaction():
            session.execute(
                "UPDATE delivery_facts SET reported_status = 'junk' "
                "WHERE storage_key = %s",
                (held,),
            )


def _hold_ids(conn: Conn, tenant: str) -> list[str]:
    conn.rollback()
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT hold_id FROM legal_holds WHERE tenant_id = %s AND released IS NULL",
            (tenant,),
        )
    ]


def test_an_administrator_may_only_fill_a_held_reported_status(
    two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """The owner (the backfill runs as it) may fill in a held fact's missing
    reported status, never change or clear one that is there."""
    a, _ = tenant_ids(conn)
    _ingest_blanket_dsn(two_tenants, tmp_path, "a")
    held = _blanket_key(conn, a)
    conn.execute(
        "UPDATE delivery_facts SET reported_status = NULL WHERE storage_key = %s",
        (held,),
    )
    conn.commit()
    assert pmail(two_tenants, "hold", "add", "-t", "a", "--reason", "all")[0] == 0
    conn.execute(
        "UPDATE delivery_facts SET reported_status = '5.0.0' WHERE storage_key = %s",
        (held,),
    )
    conn.commit()
    for change in ("'4.0.0'", "NULL"):
        refused = pytest.raises(psycopg.Error, match="under legal hold")
        with refused, conn.transaction():
            conn.execute(
                f"UPDATE delivery_facts SET reported_status = {change} "
                "WHERE storage_key = %s",
                (held,),
            )
    conn.rollback()
    assert (held, LEAD, "5.1.1", "5.0.0") in _facts(conn, a)


def test_the_backfill_fills_stored_facts_read_the_same_way(
    two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """Facts stored before 0026 (reported_status NULL) get the field at the next
    `pmail init-db`, held mail included; a fact that today's classifier reads
    differently (here: a stored status it would not give) stays NULL."""
    a, b = tenant_ids(conn)
    for tenant in ("a", "b"):
        _ingest_blanket_dsn(two_tenants, tmp_path, tenant)
    expected = {t: _facts(conn, t) for t in (a, b)}
    assert all(rs is not None for t in (a, b) for *_, rs in expected[t])
    odd = _blanket_key(conn, b)
    conn.execute("UPDATE delivery_facts SET reported_status = NULL")
    conn.execute(
        "UPDATE delivery_facts SET status = '5.9.9' WHERE tenant_id = %s "
        "AND storage_key = %s",
        (b, odd),
    )
    conn.commit()  # the backfill starts after the mail was stored, as 0026 does
    conn.execute("INSERT INTO pmail_backfills (name) VALUES ('reported_status:stored')")
    conn.commit()
    assert pmail(two_tenants, "hold", "add", "-t", "a", "--reason", "all")[0] == 0
    code, _, err = pmail(two_tenants, "init-db")
    assert code == 0, err
    assert _facts(conn, a) == expected[a]
    assert _facts(conn, b) == [
        (k, r, "5.9.9", None) if k == odd else (k, r, s, rs)
        for k, r, s, rs in expected[b]
    ]
    left = conn.execute(
        "SELECT count(*) FROM pmail_backfills WHERE name = 'reported_status:stored'"
    ).fetchone()
    assert left == (0,)
