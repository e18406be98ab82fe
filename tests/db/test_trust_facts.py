"""A legal hold keeps what a held bounce says about its recipients and the
dictionary its stored bytes need (migration 0025, docs/security.md): a tenant's own
login may not change, delete or plant delivery facts of a held message, nor rewrite
a dictionary that held mail is compressed with; on mail nobody holds the same
statements work, and pmail's own paths (ingest, validate --repair, analytics
rebuild) keep working under a hold."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests import mailgen
from tests.support.tenancy import Conn, login_refusal, pmail, tenant_ids

pytestmark = pytest.mark.db

FACTS = (
    "SELECT storage_key, recipient_index, recipient, action, status, reply_code, "
    "diagnostic_code, remote_mta, reason, hard FROM delivery_facts "
    "WHERE tenant_id = %s ORDER BY 1, 2"
)

# each names the message it attacks as %(key)s and another message as %(other)s
ATTACKS = (
    "UPDATE delivery_facts SET diagnostic_code = 'smtp; 250 2.0.0 delivered' "
    "WHERE storage_key = %(key)s",
    "UPDATE delivery_facts SET hard = NOT hard WHERE storage_key = %(key)s",
    "UPDATE delivery_facts SET recipient = 'someone-else@example.com' "
    "WHERE storage_key = %(key)s",
    "UPDATE delivery_facts SET recipient_index = recipient_index + 10 "
    "WHERE storage_key = %(key)s",
    "UPDATE delivery_facts SET storage_key = %(other)s, recipient_index = 50 "
    "WHERE storage_key = %(key)s",
    "DELETE FROM delivery_facts WHERE storage_key = %(key)s",
    "INSERT INTO delivery_facts (tenant_id, storage_key, recipient_index, reason, "
    "hard, recipient, diagnostic_code) SELECT tenant_id, storage_key, 77, reason, "
    "hard, 'planted@example.com', 'planted' FROM delivery_facts "
    "WHERE storage_key = %(key)s",
    "INSERT INTO delivery_facts SELECT * FROM delivery_facts "
    "WHERE storage_key = %(key)s ON CONFLICT (tenant_id, storage_key, "
    "recipient_index) DO UPDATE SET diagnostic_code = 'planted'",
    # what the writer does (the message row written in this transaction, then its
    # facts), on a message stored before
    "UPDATE email_messages SET status = status WHERE storage_key = %(key)s;\n"
    "INSERT INTO delivery_facts (tenant_id, storage_key, recipient_index, reason, "
    "hard, recipient) SELECT tenant_id, storage_key, 78, 'user_unknown', true, "
    "'planted@example.com' FROM email_messages WHERE storage_key = %(key)s",
)


def _run(session: Conn, attack: str, key: str, other: str) -> None:
    for statement in attack.split(";\n"):
        session.execute(statement, {"key": key, "other": other})


def _run_as_login(session: Conn, attack: str, key: str, other: str) -> None:
    """On mail nobody holds: the statement works, except a DELETE (no grant)."""
    refusal = login_refusal(attack, held=False)
    if refusal is None:
        with session.transaction(force_rollback=True):
            _run(session, attack, key, other)
        return
    with (
        pytest.raises(psycopg.Error, match=refusal[0]) as info,
        session.transaction(),
    ):
        _run(session, attack, key, other)
    assert info.value.sqlstate == refusal[1], attack


def _facts(conn: Conn, tenant: str) -> list[tuple[object, ...]]:
    rows = conn.execute(FACTS, (tenant,)).fetchall()
    conn.commit()
    return rows


@pytest.fixture
def bounces(two_tenants: str, conn: Conn, tmp_path: Path) -> tuple[str, str, str]:
    """Tenant a with two bounces: the first (by key) on a hold of its own, the other
    held by nobody; and a message of a's without facts that nobody holds."""
    folder = tmp_path / "late"
    folder.mkdir()
    (folder / "late.eml").write_bytes(
        mailgen.dsn(
            3,
            mailgen.outbound(3),
            status="4.2.2",
            code=452,
            recipient="lead3@example.com",
            text="mailbox full",
        )
    )
    code, _, err = pmail(two_tenants, "ingest", str(folder), "-t", "a")
    assert code == 0, err
    a, _ = tenant_ids(conn)
    keys = [
        str(r[0])
        for r in conn.execute(
            "SELECT DISTINCT storage_key FROM delivery_facts WHERE tenant_id = %s "
            "ORDER BY 1",
            (a,),
        )
    ]
    assert len(keys) == 2
    other = conn.execute(
        "SELECT storage_key FROM email_messages WHERE tenant_id = %s "
        "AND message_type = 'email' AND direction = 'inbound'",
        (a,),
    ).fetchone()
    assert other is not None
    conn.commit()
    held, free = keys
    code, _, err = pmail(
        two_tenants, "hold", "add", "-t", "a", "--storage-key", held, "--reason", "c"
    )
    assert code == 0, err
    return held, free, str(other[0])


def test_a_tenant_login_cannot_change_plant_or_delete_held_facts(
    login_a: str, conn: Conn, bounces: tuple[str, str, str]
) -> None:
    """As a's own login each statement is refused on the held bounce's facts (a
    rewritten diagnostic, a flipped hard flag, another recipient, facts moved away
    or deleted, planted ones, the writer's steps imitated), and so is moving the
    free bounce's facts onto the held message; the held facts are as stored. The
    same statements on the bounce nobody holds work."""
    held, free, other = bounces
    a, _ = tenant_ids(conn)
    before = _facts(conn, a)
    with psycopg.connect(login_a) as session:
        for attack in ATTACKS:
            refusal = login_refusal(attack, held=True)
            assert refusal is not None
            refused = pytest.raises(psycopg.Error, match=refusal[0])
            with refused as info, session.transaction():
                _run(session, attack, held, other)
            assert info.value.sqlstate == refusal[1], attack
        with (
            pytest.raises(psycopg.Error, match="under legal hold"),
            session.transaction(),
        ):
            session.execute(
                "UPDATE delivery_facts SET storage_key = %s, recipient_index = 60 "
                "WHERE storage_key = %s",
                (held, free),
            )
        session.commit()
        assert _facts(conn, a) == before
        for attack in ATTACKS:  # mail nobody holds: its tenant's own rows
            _run_as_login(session, attack, free, other)
        # an UPDATE that changes nothing is no change
        with session.transaction():
            session.execute(
                "UPDATE delivery_facts SET diagnostic_code = diagnostic_code "
                "WHERE storage_key = %s",
                (held,),
            )
    assert _facts(conn, a) == before


def test_the_owner_cannot_change_held_facts_and_releasing_frees_them(
    login_a: str, two_tenants: str, conn: Conn, bounces: tuple[str, str, str]
) -> None:
    """Changing or deleting a held message's facts is refused to the owner too (pmail
    never rewrites facts), and so is moving another tenant's fact onto it, and
    TRUNCATE; once the hold is released the tenant's login may change them again."""
    held, _, _ = bounces
    for attack in ATTACKS[:6]:
        with (
            pytest.raises(psycopg.Error, match="under legal hold"),
            conn.transaction(),
        ):
            _run(conn, attack, held, held)
    # a fact of b's (nobody holds b's mail) moved onto a's held bounce
    a, b = tenant_ids(conn)
    with pytest.raises(psycopg.Error, match="under legal hold"), conn.transaction():
        conn.execute(
            "UPDATE delivery_facts SET tenant_id = %s, storage_key = %s, "
            "recipient_index = 70 WHERE tenant_id = %s",
            (a, held, b),
        )
    for table in ("delivery_facts", "delivery_facts CASCADE"):
        with pytest.raises(psycopg.Error, match="legal hold"), conn.transaction():
            conn.execute(f"TRUNCATE {table}")
    conn.commit()
    assert pmail(two_tenants, "hold", "release", "1")[0] == 0
    with psycopg.connect(login_a) as session:
        for attack in ATTACKS:
            _run_as_login(session, attack, held, held)


def test_pmail_stores_and_repairs_held_mail_as_a_tenant_login(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """All of a's mail held: a's own login ingests a new bounce (its facts are
    written in the transaction that stores it), validates and repairs, and rebuilds
    its analytics; its facts and suppressions are what the mail says. Facts planted
    on held mail without facts are refused."""
    assert pmail(two_tenants, "hold", "add", "-t", "a", "--reason", "all")[0] == 0
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "bounce.eml").write_bytes(
        mailgen.dsn(4, mailgen.outbound(4), recipient="gone@example.com")
    )
    # its content and attachment rows too (0030 refuses them on held mail stored
    # before: not in the transaction that stores it)
    (folder / "deck.eml").write_bytes(mailgen.with_attachment(9, mailgen.pdf_bytes(9)))
    code, _, err = pmail(login_a, "ingest", str(folder), "-t", "a")
    assert code == 0 and "ingested 2 messages" in err, err
    a, _ = tenant_ids(conn)
    stored = conn.execute(
        "SELECT count(*) FROM delivery_facts WHERE tenant_id = %s "
        "AND recipient = 'gone@example.com'",
        (a,),
    ).fetchone()
    conn.commit()
    assert stored == (1,)
    for args in (
        ["validate", "-t", "a", "--repair"],
        ["analytics", "rebuild", "-t", "a"],
    ):
        code, _, err = pmail(login_a, *args)
        assert code == 0, (args, err)
    code, out, err = pmail(two_tenants, "validate", "-t", "a")
    assert code == 0, out + err
    code, out, _ = pmail(login_a, "suppressions", "-t", "a")
    assert "gone@example.com" in out
    refused = pytest.raises(psycopg.Error, match="under legal hold")
    with psycopg.connect(login_a) as session, refused:
        session.execute(
            "INSERT INTO delivery_facts (tenant_id, storage_key, recipient_index, "
            "reason, hard, recipient) SELECT tenant_id, storage_key, 0, "
            "'user_unknown', true, 'planted@example.com' FROM email_messages "
            "WHERE message_type = 'email' AND direction = 'inbound'"
        )


def test_a_dictionary_of_held_mail_keeps_its_bytes(
    login_a: str, two_tenants: str, conn: Conn, tmp_path: Path
) -> None:
    """a's mail compressed with a trained dictionary, then held: a's login may not
    change the dictionary (held mail could no longer be read back); its export
    still gives the mail. Released, a change of its bookkeeping works; its bytes
    and id stay fixed (0032)."""
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(60):  # enough mail to train a dictionary on
        (folder / f"{n}.eml").write_bytes(mailgen.simple(1000 + n))
    assert pmail(two_tenants, "ingest", str(folder), "-t", "a")[0] == 0
    code, _, err = pmail(two_tenants, "dict", "train", "-t", "a", "--recompress")
    assert code == 0, err
    a, _ = tenant_ids(conn)
    used = conn.execute(
        "SELECT count(*) FROM email_content WHERE tenant_id = %s AND dict_id IS NOT "
        "NULL",
        (a,),
    ).fetchone()
    conn.commit()
    assert used is not None and int(str(used[0])) > 0
    assert pmail(two_tenants, "hold", "add", "-t", "a", "--reason", "case")[0] == 0
    # since 0032 a dictionary's bytes and ids are fixed for every role, held or not
    # (P0H05, tests/db/test_purge_audited.py); the hold guard still refuses any other
    # change to a dictionary held mail uses
    rewrites = (
        "UPDATE compression_dicts SET dict_data = '\\x00'::bytea",
        "UPDATE compression_dicts SET zstd_dict_id = zstd_dict_id + 1",
    )
    other = "UPDATE compression_dicts SET sample_count = sample_count + 1"
    with psycopg.connect(login_a) as session:
        for attack, state in (*((r, "P0H05") for r in rewrites), (other, "P0H01")):
            with pytest.raises(psycopg.Error) as info, session.transaction():
                session.execute(attack)
            assert info.value.sqlstate == state, attack
        assert "under legal hold" in str(info.value)
    out_dir = tmp_path / "out"
    code, _, err = pmail(login_a, "export", "-t", "a", "--out", str(out_dir))
    assert code == 0, err
    assert pmail(two_tenants, "hold", "release", "1")[0] == 0
    with psycopg.connect(login_a) as session:
        with session.transaction(force_rollback=True):
            assert session.execute(other).rowcount > 0
        for attack in rewrites:
            with pytest.raises(psycopg.Error) as info, session.transaction():
                session.execute(attack)
            assert info.value.sqlstate == "P0H05", attack
