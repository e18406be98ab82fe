"""pmail validate: each check proven by damaging a real database in exactly that way."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app
from tests import mailgen

pytestmark = pytest.mark.db
runner = CliRunner()
Conn = psycopg.Connection[tuple[object, ...]]


def _pmail(dsn: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--dsn", dsn, *args])
    return result.exit_code, result.stdout, result.stderr


def _ingest(dsn: str, folder: Path, raws: list[bytes], tenant: str) -> None:
    folder.mkdir(parents=True)
    for i, raw in enumerate(raws):
        (folder / f"{i:03d}.eml").write_bytes(raw)
    code, _, err = _pmail(dsn, "ingest", str(folder), "--tenant", tenant)
    assert code == 0, err


def _mail() -> list[bytes]:
    """Outbound mail, one attachment file shared by three messages and one of its
    own, a reply and a bounce that link to their parents."""
    deck, other = mailgen.pdf_bytes(1), mailgen.pdf_bytes(2)
    sent = [mailgen.outbound(n) for n in range(1, 4)]
    return [
        *sent,
        *(mailgen.with_attachment(n, deck) for n in range(10, 13)),
        mailgen.with_attachment(13, other, filename="other.pdf"),
        mailgen.reply(1, "<out-1@acme.test>"),
        mailgen.dsn(2, sent[1]),
    ]


@pytest.fixture
def stored(dsn: str, tmp_path: Path) -> str:
    """Tenants acme and other, each with the same kind of mail; returns the DSN."""
    for tenant in ("acme", "other"):
        assert _pmail(dsn, "tenant", "add", tenant)[0] == 0
        assert _pmail(dsn, "account", "add", "sdr1@acme.test", "-t", tenant)[0] == 0
        _ingest(dsn, tmp_path / tenant, _mail(), tenant)
    return dsn


def _checks(dsn: str, *args: str) -> tuple[int, dict[str, dict[str, object]]]:
    code, out, err = _pmail(dsn, "validate", "--format", "json", "--jobs", "2", *args)
    assert code in (0, 3), err
    return code, {c["name"]: c for c in json.loads(out)}


def _sample(checks: dict[str, dict[str, object]], name: str) -> list[str]:
    sample = checks[name]["sample"]
    assert isinstance(sample, list)
    return [str(s) for s in sample]


def _key(conn: Conn, where: str, tenant: str = "acme") -> str:
    row = conn.execute(
        "SELECT m.storage_key FROM email_messages m JOIN tenants t USING (tenant_id) "
        f"WHERE t.name = %s AND {where} ORDER BY m.storage_key LIMIT 1",
        (tenant,),
    ).fetchone()
    assert row is not None, where
    return str(row[0])


def _tenant(conn: Conn, name: str) -> str:
    row = conn.execute(
        "SELECT tenant_id FROM tenants WHERE name = %s", (name,)
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_a_clean_database_validates_clean_and_deep(stored: str) -> None:
    """Every check, quick and deep, passes on what ingest wrote; exit 0."""
    code, checks = _checks(stored, "--deep")
    assert code == 0
    assert all(c["status"] == "ok" and c["count"] == 0 for c in checks.values())
    assert {"raw_messages", "stored_files", "rollups_disagree"} <= set(checks)
    code, _out, err = _pmail(stored, "validate", "--tenant", "acme")
    assert code == 0 and "validate: clean" in err
    assert "9 messages, 9 with content" in err


# Each damage: SQL run as the superuser (session_replication_role = replica switches
# off the foreign keys and triggers that would stop it), the check that must find
# it, and a piece of the text that names the damaged row.
Damage = Callable[[Conn], str]


def _delete_content(conn: Conn) -> str:
    key = _key(conn, "m.attachment_count = 0 AND m.direction = 'outbound'")
    conn.execute("DELETE FROM email_content WHERE storage_key = %s", (key,))
    return key


def _delete_message_row(conn: Conn) -> str:
    key = _key(conn, "m.attachment_count = 0 AND m.direction = 'outbound'")
    conn.execute("DELETE FROM email_messages WHERE storage_key = %s", (key,))
    return key


def _delete_content_of_attachment(conn: Conn) -> str:
    key = _key(conn, "m.attachment_count = 1")
    conn.execute("DELETE FROM email_content WHERE storage_key = %s", (key,))
    return key


def _drop_blob(conn: Conn) -> str:
    row = conn.execute(
        "SELECT encode(a.sha256, 'hex') FROM attachments a "
        "JOIN tenants t USING (tenant_id) WHERE t.name = 'acme' LIMIT 1"
    ).fetchone()
    assert row is not None
    conn.execute(
        "DELETE FROM attachment_blobs b USING tenants t WHERE t.tenant_id = b.tenant_id "
        "AND t.name = 'acme' AND b.sha256 = decode(%s, 'hex')",
        (row[0],),
    )
    return str(row[0])


def _orphan_blob(conn: Conn) -> str:
    conn.execute(
        "INSERT INTO attachment_blobs (tenant_id, sha256, size_bytes, "
        "compressed_size_bytes, compression, data) "
        "SELECT tenant_id, sha256(%s), 3, 3, 'none', %s FROM tenants WHERE name = 'acme'",
        (b"abc", b"abc"),
    )
    return hashlib.sha256(b"abc").hexdigest()


def _missing_dictionary(conn: Conn) -> str:
    conn.execute(
        "UPDATE email_content c SET compression = 'zstd-dict', dict_id = 99 "
        "FROM tenants t WHERE t.tenant_id = c.tenant_id AND t.name = 'acme' "
        "AND c.storage_key = %s",
        (key := _key(conn, "true"),),
    )
    return key


def _change_compressed_size(conn: Conn) -> str:
    key = _key(conn, "true")
    conn.execute(
        "UPDATE email_content SET compressed_size_bytes = compressed_size_bytes + 7 "
        "WHERE storage_key = %s",
        (key,),
    )
    return key


def _break_link(conn: Conn) -> str:
    key = _key(conn, "m.parent_storage_key IS NOT NULL")
    conn.execute(
        "UPDATE email_messages SET parent_storage_key = 'f' || repeat('0', 31) "
        "WHERE storage_key = %s",
        (key,),
    )
    return key


def _link_across_tenants(conn: Conn) -> str:
    key = _key(conn, "m.parent_storage_key IS NOT NULL")
    theirs = _key(conn, "m.direction = 'outbound'", tenant="other")
    conn.execute(
        "UPDATE email_messages SET parent_storage_key = %s WHERE storage_key = %s "
        "AND tenant_id = %s",
        (theirs, key, _tenant(conn, "acme")),
    )
    return key


def _move_content_to_other_tenant(conn: Conn) -> str:
    key = _key(conn, "m.attachment_count = 0 AND m.direction = 'outbound'")
    conn.execute(
        "UPDATE email_content SET tenant_id = %s WHERE storage_key = %s AND tenant_id = %s",
        (_tenant(conn, "other"), key, _tenant(conn, "acme")),
    )
    return key


def _skew_rollup(conn: Conn) -> str:
    conn.execute(
        "UPDATE message_rollups SET messages = messages + 1 WHERE ctid = "
        "(SELECT ctid FROM message_rollups WHERE direction = 'inbound' LIMIT 1)"
    )
    return "message_rollups"


def _checkpoint_ahead(conn: Conn) -> str:
    conn.execute(
        "INSERT INTO imap_folders (tenant_id, email_account_id, folder, uidvalidity, "
        "last_uid, direction) SELECT tenant_id, email_account_id, 'INBOX', 7, 40, "
        "'inbound' FROM email_accounts a JOIN tenants t USING (tenant_id) "
        "WHERE t.name = 'acme'"
    )
    return "INBOX last_uid 40 > 0"


def _drop_search_document(conn: Conn) -> str:
    key = _key(conn, "m.direction = 'inbound'")
    conn.execute("DELETE FROM search_documents WHERE storage_key = %s", (key,))
    return key


def _skew_search_document(conn: Conn) -> str:
    key = _key(conn, "m.direction = 'inbound'")
    conn.execute(
        "UPDATE search_documents SET direction = 'outbound' WHERE storage_key = %s",
        (key,),
    )
    return key


DAMAGES: list[tuple[str, Damage, str]] = [
    ("messages_without_content", _delete_content, ""),
    ("content_without_message", _delete_message_row, ""),
    ("attachments_without_content", _delete_content_of_attachment, ""),
    ("blobs_missing", _drop_blob, ""),
    ("blobs_unreferenced", _orphan_blob, ""),
    ("missing_dictionaries", _missing_dictionary, " dictionary 99"),
    ("size_mismatches", _change_compressed_size, " compressed_size_bytes"),
    ("broken_parent_links", _break_link, " -> f000"),
    ("cross_tenant_links", _link_across_tenants, " -> "),
    ("rows_in_wrong_tenant", _move_content_to_other_tenant, ""),
    ("rollups_disagree", _skew_rollup, ""),
    ("imap_checkpoints_ahead", _checkpoint_ahead, ""),
    ("search_documents", _drop_search_document, " has no full-text document"),
    ("search_documents", _skew_search_document, " whose date, type or direction"),
]


@pytest.mark.parametrize(
    ("check", "damage", "detail"),
    DAMAGES,
    ids=[d[1].__name__.lstrip("_") for d in DAMAGES],
)
def test_each_damage_is_found_and_named(
    stored: str, conn: Conn, check: str, damage: Damage, detail: str
) -> None:
    """Damage the database one way: validate exits 3 and names the row."""
    conn.execute("SET session_replication_role = replica")
    named = damage(conn)
    conn.commit()
    code, checks = _checks(stored)
    assert code == 3
    found = checks[check]
    assert found["status"] == "problem" and found["count"] != 0, found
    sample = _sample(checks, check)
    assert any(named in s and detail in s for s in sample), (named, sample)
    assert all(s.split(": ", 1)[0] in ("acme", "other") for s in sample)
    code, out, err = _pmail(stored, "validate")
    assert code == 3 and "error: " in err and "hint: " in err and check in out


def _flip_byte(conn: Conn, table: str, column: str, where: str) -> None:
    conn.execute(
        f"UPDATE {table} SET {column} = set_byte({column}, octet_length({column}) / 2, "
        f"get_byte({column}, octet_length({column}) / 2) # 1) WHERE {where}"
    )


def test_deep_finds_a_flipped_byte_in_a_message_and_in_a_file(
    stored: str, conn: Conn
) -> None:
    """A byte flipped in stored raw bytes, and one in a stored file: only --deep
    sees them, and it names both (and the messages that use the file)."""
    key = _key(conn, "m.attachment_count = 0 AND m.direction = 'outbound'")
    _flip_byte(conn, "email_content", "raw_data", f"storage_key = '{key}'")
    row = conn.execute(
        "SELECT encode(b.sha256, 'hex') FROM attachment_blobs b JOIN tenants t "
        "USING (tenant_id) WHERE t.name = 'other' LIMIT 1"
    ).fetchone()
    assert row is not None
    other = _tenant(conn, "other")
    _flip_byte(
        conn,
        "attachment_blobs",
        "data",
        f"sha256 = decode('{row[0]}', 'hex') AND tenant_id = '{other}'",
    )
    conn.commit()
    assert _checks(stored)[0] == 0  # the quick checks cannot see inside the bytes
    code, checks = _checks(stored, "--deep")
    assert code == 3
    assert any(key in s for s in _sample(checks, "raw_messages"))
    assert any(str(row[0]) in s for s in _sample(checks, "stored_files"))
    code, checks = _checks(stored, "--deep", "--sample", "1000", "--tenant", "acme")
    assert code == 3 and checks["raw_messages"]["count"] == 1
    assert checks["stored_files"]["count"] == 0


def test_deep_refuses_a_frame_that_claims_a_huge_size(
    stored: str, conn: Conn, tmp_path: Path
) -> None:
    """A zstd frame whose header claims a terabyte is a finding, not an allocation."""
    key = _key(conn, "true")
    huge = (
        bytes.fromhex("28b52ffd")
        + bytes([0b11100000])
        + (1 << 40).to_bytes(8, "little")
    )
    conn.execute(
        "UPDATE email_content SET raw_data = %s || substr(raw_data, 7), "
        "compressed_size_bytes = octet_length(raw_data) + 8 WHERE storage_key = %s",
        (huge, key),
    )
    conn.commit()
    code, checks = _checks(stored, "--deep")
    assert code == 3
    sample = checks["raw_messages"]["sample"]
    assert isinstance(sample, list)
    assert any(key in s and "claims 1,099,511,627,776 bytes" in s for s in sample), (
        sample
    )
    code, _, err = _pmail(
        stored,
        "export",
        "--tenant",
        "acme",
        "--storage-key",
        key,
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 3 and "error: " in err and "Traceback" not in err


def test_repair_fixes_what_it_claims_and_lists_it(stored: str, conn: Conn) -> None:
    """Sizes, an unreferenced file and a skewed rollup are repaired (before -> after);
    a raw size --deep proves wrong is rewritten; validate is clean after."""
    conn.execute("SET session_replication_role = replica")
    _orphan_blob(conn)
    _change_compressed_size(conn)
    _skew_rollup(conn)
    _drop_search_document(conn)
    key = _key(conn, "m.direction = 'inbound'")
    conn.execute(
        "UPDATE email_content SET raw_size_bytes = raw_size_bytes + 1 WHERE storage_key = %s",
        (key,),
    )
    conn.commit()
    code, out, err = _pmail(stored, "validate", "--repair", "--deep")
    assert code == 0, out + err
    for check, before in [
        ("blobs_unreferenced", 1),
        ("size_mismatches", 2),  # a compressed size; a message raw size vs content
        ("rollups_disagree", 2),
        ("search_documents", 1),
    ]:
        assert any(
            check in line and f": {before} -> 0" in line for line in out.splitlines()
        ), (
            check,
            out,
        )
    code, checks = _checks(stored, "--deep")
    assert code == 0, checks
    row = conn.execute(
        "SELECT c.raw_size_bytes = m.raw_size_bytes FROM email_content c "
        "JOIN email_messages m USING (tenant_id, storage_key) WHERE c.storage_key = %s",
        (key,),
    ).fetchall()
    assert row and all(r[0] for r in row)


def test_sample_needs_deep(stored: str) -> None:
    """--sample alone is a usage error before anything runs."""
    code, _, err = _pmail(stored, "validate", "--sample", "10")
    assert code == 2 and "--sample goes with --deep" in err


def test_repair_rebuilds_a_search_document_whose_facts_differ(
    stored: str, conn: Conn
) -> None:
    """A search_documents row whose direction is not its message's (search would
    filter it wrongly) is rebuilt by --repair from the message."""
    conn.execute("SET session_replication_role = replica")
    key = _skew_search_document(conn)
    conn.commit()
    code, out, err = _pmail(stored, "validate", "--repair")
    assert code == 0, out + err
    assert any(
        "search_documents" in line and ": 1 -> 0" in line for line in out.splitlines()
    )
    row = conn.execute(
        "SELECT d.direction = m.direction FROM search_documents AS d"
        " JOIN email_messages AS m USING (tenant_id, storage_key)"
        " WHERE d.storage_key = %s",
        (key,),
    ).fetchone()
    assert row == (True,)
