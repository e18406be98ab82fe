"""pmail migrate-legacy against real legacy databases built per ../shared/LEGACY.md."""

from __future__ import annotations

import email
import email.policy
import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import zstandard
from benchmarks import gen_legacy
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from pmail_cli.cli import app
from pmail_cli.db import as_bytes
from pmail_cli.mail.legacy import display_text, parent_id
from pmail_cli.mail.legacy_bundle import unbundle

pytestmark = pytest.mark.db
runner = CliRunner()
Conn = psycopg.Connection[tuple[object, ...]]
_numbers = itertools.count()
MESSAGES = 1200


@dataclass(frozen=True)
class Legacy:
    """A legacy database: its DSN and what the generator made."""

    dsn: str
    built: gen_legacy.Built


def _new_database(dsn: str, *, schema: str = "public", seed: int = 5) -> Legacy:
    name = f"pmail_test_legacy_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(make_conninfo(dsn, dbname="postgres"), autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    target = make_conninfo(dsn, dbname=name)
    with psycopg.connect(target) as c:
        if schema != "public":
            c.execute(f"CREATE SCHEMA {schema}")
        built = gen_legacy.build(
            c, schema=schema, messages=MESSAGES, tenants=3, seed=seed
        )
    return Legacy(target, built)


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def _drop(dsn: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    with psycopg.connect(make_conninfo(dsn, dbname="postgres"), autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def legacy(dsn: str) -> Iterator[Legacy]:
    """A fresh database holding only the legacy tables (no pmail schema)."""
    made = _new_database(dsn)
    try:
        yield made
    finally:
        _drop(made.dsn)


def _pmail(dsn: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--dsn", dsn, "migrate-legacy", *args])
    return result.exit_code, result.stdout, result.stderr


def _fingerprint(dsn: str) -> dict[str, object]:
    """Every table's rows (hashed) and the catalog: a dump that compares. Temporary
    schemas are left out: a session that just ended drops its staging tables a moment
    after its client has gone (what a session keeps for itself is not the database)."""
    out: dict[str, object] = {}
    with psycopg.connect(dsn) as c:
        tables = c.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'i', 'S', 'v') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
            "AND n.nspname !~ '^pg_(toast_)?temp_' ORDER BY 1, 2"
        ).fetchall()
        out["catalog"] = tables
        for schema, name in c.execute(
            "SELECT schemaname, tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
            "AND schemaname !~ '^pg_(toast_)?temp_' ORDER BY 1, 2"
        ).fetchall():
            row = c.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM \"{schema}\".\"{name}\" t"
            ).fetchone()
            out[f"{schema}.{name}"] = row
    return out


def _content_fingerprint(dsn: str) -> dict[str, object]:
    """What a migration stores, without times of its own making and generated ids."""
    queries = {
        "messages": "SELECT storage_key, tenant_id, message_id, in_reply_to, references_ids, "
        "parent_message_id, parent_storage_key, email_account_id, campaign_id, lead_id, "
        "direction, message_type, status, from_email, from_name, to_email, cc_email, "
        "subject, sent_at, attachment_count, parse_problems, source, is_reply, "
        "original_message_id, feedback_type, auto_reply_until, link_keys, created, "
        "processed FROM email_messages",
        "content": "SELECT storage_key, tenant_id, content_text, raw_size_bytes, "
        "compressed_size_bytes, raw_form, md5(raw_data), compression, dict_id, expires, "
        "retention_days, created FROM email_content",
        "attachments": "SELECT tenant_id, parent_storage_key, part_index, filename, "
        "mime_type, size_bytes, storage_disposition, sha256 FROM attachments",
        "blobs": "SELECT tenant_id, sha256, size_bytes, compression, md5(data) "
        "FROM attachment_blobs",
        "facts": "SELECT * FROM delivery_facts",
        "anomalies": "SELECT kind, legacy_table, legacy_key, tenant_id, detail, sha256, "
        "md5(data) FROM migration_anomalies",
        "dicts": "SELECT tenant_id, dict_id, md5(dict_data) FROM compression_dicts",
        "accounts": "SELECT tenant_id, email_account_id, email FROM email_accounts",
    }
    out: dict[str, object] = {}
    with psycopg.connect(dsn) as c:
        for name, query in queries.items():
            rows = c.execute(query).fetchall()
            out[name] = sorted(map(repr, rows))
    return out


def test_migration_maps_every_row_and_records_every_dirt(legacy: Legacy) -> None:
    """One run moves every row by the documented rules, records each kind of dirt the
    generator made exactly as often as it made it, and --verify passes."""
    code, _, err = _pmail(legacy.dsn, "--batch-size", "300")
    assert code == 0, err
    assert (
        f"from {legacy.built.refs + legacy.built.dirt['content_without_ref']:,} legacy rows"
        in err
    )
    code, table, err = _pmail(legacy.dsn, "--verify", "--format", "json")
    assert code == 0, err
    assert all(c["passed"] for c in json.loads(table))
    with psycopg.connect(legacy.dsn) as c:
        kinds: dict[object, object] = dict(
            c.execute(
                "SELECT kind, count(*) FROM migration_anomalies GROUP BY 1"
            ).fetchall()
        )
        for kind, made in legacy.built.dirt.items():
            if kind != "odd_key":
                assert kinds.get(kind) == made, kind
        _check_rows(c)


def _dictionaries(c: Conn) -> dict[tuple[str, int], zstandard.ZstdDecompressor]:
    rows = c.execute(
        "SELECT tenant_id, dict_id, dict_data FROM compression_dicts"
    ).fetchall()
    return {
        (str(t), int(str(i))): zstandard.ZstdDecompressor(
            dict_data=zstandard.ZstdCompressionDict(as_bytes(d))
        )
        for t, i, d in rows
    }


def _check_rows(c: Conn) -> None:
    """Each legacy row against what it became."""
    dicts = _dictionaries(c)
    legacy_rows = c.execute(
        "SELECT r.storage_key, r.direction, r.status, r.message_type, r.subject, "
        "r.to_email, r.created, r.processed, r.email_account_id, r.parent_message_id, "
        "co.content_text, co.content_html, co.headers, co.storage_key IS NOT NULL, "
        "co.raw_size_bytes FROM content_inbox_message_refs r "
        "LEFT JOIN content_objects co USING (storage_key)"
    ).fetchall()
    migrated = {
        str(r[0]): r
        for r in c.execute(
            "SELECT m.storage_key, m.direction, m.status, m.message_type, m.subject, "
            "m.to_email, m.created, m.processed, m.email_account_id, m.parent_message_id, "
            "ct.content_text, ct.raw_form, ct.raw_data, ct.dict_id, ct.tenant_id, "
            "ct.raw_size_bytes, p.email_account_id FROM email_messages m "
            "LEFT JOIN email_content ct USING (tenant_id, storage_key) "
            "LEFT JOIN email_messages p ON p.tenant_id = m.tenant_id "
            "AND p.storage_key = m.parent_storage_key "
            "WHERE m.source = 'legacy:content_inbox_message_refs'"
        ).fetchall()
    }
    assert len(migrated) == len(legacy_rows)
    for row in legacy_rows:
        key, direction, status, mtype, subject, to, created, processed = row[:8]
        account, parent, text, html, headers, has_content, size = row[8:]
        new = migrated[str(key)]
        word = (str(direction) if direction else "").strip().lower()
        if word in ("inbound", "in"):
            assert new[1] == "inbound"
        elif word in ("outbound", "out"):
            assert new[1] == "outbound"
        want_status = (str(status).strip().lower() if status else None) or (
            "sent" if new[1] == "outbound" else "received"
        )
        assert new[2] == want_status
        known = (str(mtype).strip().lower() if mtype else "") in (
            "email", "bounce", "auto_reply",
        )  # fmt: skip
        if known:
            assert new[3] == str(mtype).strip().lower()
        assert (new[4], new[5], new[6], new[7]) == (subject, to, created, processed)
        # an account the legacy row lacks is inherited from the message it answers
        assert new[8] == (account if account is not None else new[16])
        if parent is not None:
            assert new[9] == parent_id(str(parent))
        if not has_content:
            assert new[11] is None
            continue
        assert new[11] == "legacy"
        assert new[10] == display_text(text, html)  # type: ignore[arg-type]
        if size is not None:
            assert new[15] == size
        stored = dicts[(str(new[14]), int(str(new[13])))].decompress(as_bytes(new[12]))
        parts = unbundle(stored)
        assert (parts.text, parts.html, parts.headers) == (text, html, headers)
    files = c.execute(
        "SELECT a.parent_storage_key, a.content FROM legacy_attachments a "
        "JOIN content_objects co ON co.storage_key = a.parent_storage_key ORDER BY a.id"
    ).fetchall()
    stored_files = c.execute(
        "SELECT a.parent_storage_key, a.sha256, a.size_bytes, b.compression, b.data "
        "FROM attachments a JOIN attachment_blobs b USING (tenant_id, sha256) "
        "ORDER BY a.parent_storage_key, a.part_index"
    ).fetchall()
    assert len(stored_files) == len(files)
    by_key: dict[str, list[bytes]] = {}
    for key, content in files:
        by_key.setdefault(str(key), []).append(as_bytes(content))
    got: dict[str, list[bytes]] = {}
    for key, sha, size, compression, data in stored_files:
        raw = as_bytes(data)
        plain = (
            raw
            if compression == "none"
            else zstandard.ZstdDecompressor().decompress(raw)
        )
        assert hashlib.sha256(plain).digest() == as_bytes(sha) and len(plain) == size
        got.setdefault(str(key), []).append(plain)
    assert got == by_key


def _run_killed(
    dsn: str,
    kill_after: list[int],
    tmp: Path,
    writers: tuple[int, ...] = (1,),
) -> None:
    """Run the real command, SIGKILL it when the step's rows pass each mark, rerun;
    the runs take their --writers from `writers` in turn (the last one: the rerun)."""
    cmd = [sys.executable, "-m", "pmail_cli", "--dsn", dsn, "-q", "migrate-legacy",
           "--batch-size", "40", "--jobs", "2"]  # fmt: skip
    counts = itertools.cycle(writers)
    env = {**os.environ, "PMAIL_DATA_DIR": str(tmp / "data")}
    kills = 0
    with psycopg.connect(dsn, autocommit=True) as watch:
        for mark in kill_after:
            with subprocess.Popen(
                [*cmd, "--writers", str(next(counts))],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ) as proc:
                deadline = time.monotonic() + 120
                while proc.poll() is None and time.monotonic() < deadline:
                    try:
                        row = watch.execute(
                            "SELECT coalesce(sum(rows_done), 0) FROM legacy_migration_steps"
                        ).fetchone()
                    except psycopg.errors.UndefinedTable:
                        row = (0,)
                    if row is not None and int(str(row[0])) >= mark:
                        proc.send_signal(signal.SIGKILL)
                        kills += 1
                        break
                    time.sleep(0.01)
                proc.wait(timeout=60)
    assert kills == len(kill_after), "the run finished before every kill point"
    done = subprocess.run(
        [*cmd, "--writers", str(next(counts))],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()


def test_killed_and_resumed_equals_uninterrupted(dsn: str, tmp_path: Path) -> None:
    """kill -9 at three points, then a rerun: the same rows as one uninterrupted run."""
    once, killed = _new_database(dsn, seed=9), _new_database(dsn, seed=9)
    try:
        code, _, err = _pmail(once.dsn, "--batch-size", "40")
        assert code == 0, err
        _run_killed(killed.dsn, [1, 400, 900], tmp_path)
        assert _content_fingerprint(killed.dsn) == _content_fingerprint(once.dsn)
        code, _, err = _pmail(killed.dsn, "--verify")
        assert code == 0, err
    finally:
        _drop(once.dsn)
        _drop(killed.dsn)


def test_killed_with_several_writers_and_resumed_equals_one_writer(
    dsn: str, tmp_path: Path
) -> None:
    """Writers split by tenant, kill -9 at three points, reruns with another number
    of writers each time: the same rows as one uninterrupted run with one writer."""
    once, killed = _new_database(dsn, seed=9), _new_database(dsn, seed=9)
    try:
        code, _, err = _pmail(once.dsn, "--batch-size", "40")
        assert code == 0, err
        _run_killed(killed.dsn, [1, 400, 900], tmp_path, writers=(2, 3, 2, 3))
        assert _content_fingerprint(killed.dsn) == _content_fingerprint(once.dsn)
        code, _, err = _pmail(killed.dsn, "--verify")
        assert code == 0, err
        with psycopg.connect(killed.dsn) as c:
            row = c.execute(
                "SELECT rows_done FROM legacy_migration_steps WHERE step = 'messages'"
            ).fetchone()
        assert row is not None and int(str(row[0])) >= killed.built.refs
    finally:
        _drop(once.dsn)
        _drop(killed.dsn)


def test_dry_run_changes_nothing(legacy: Legacy) -> None:
    """--dry-run before and after a migration leaves the database exactly as it was."""
    before = _fingerprint(legacy.dsn)
    code, table, err = _pmail(legacy.dsn, "--dry-run", "--format", "json")
    assert code == 0, err
    assert _fingerprint(legacy.dsn) == before
    counts = {r["what"]: r["count"] for r in json.loads(table)}
    assert counts["legacy message rows"] == legacy.built.refs
    assert (
        counts["anomaly: ref_without_content"]
        == legacy.built.dirt["ref_without_content"]
    )
    assert "would move public.attachments aside" in err and "nothing was changed" in err
    assert _pmail(legacy.dsn)[0] == 0
    after = _fingerprint(legacy.dsn)
    assert _pmail(legacy.dsn, "--dry-run")[0] == 0
    assert _fingerprint(legacy.dsn) == after


def _anomaly_kinds(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as c:
        rows = c.execute(
            "SELECT kind, count(*) FROM migration_anomalies GROUP BY 1"
        ).fetchall()
    return {str(k): int(str(n)) for k, n in rows}


def test_dry_run_predicts_what_the_run_records(legacy: Legacy) -> None:
    """The dry run's count of each anomaly kind is what the run then records (files
    of messages without content are orphans, not size mismatches), and it names the
    index the run builds."""
    with psycopg.connect(legacy.dsn) as c:  # the one kind the generator never makes
        c.execute(
            "UPDATE content_inbox_message_refs SET status = 'archived' "
            "WHERE storage_key IN (SELECT storage_key FROM content_inbox_message_refs "
            "WHERE status = 'sent' ORDER BY storage_key LIMIT 3)"
        )
    code, table, err = _pmail(legacy.dsn, "--dry-run", "--format", "json")
    assert code == 0, err
    predicted = {
        str(r["what"]).removeprefix("anomaly: "): r["count"]
        for r in json.loads(table)
        if str(r["what"]).startswith("anomaly: ")
    }
    assert all(predicted[k] for k in predicted if k != "flagged"), predicted
    assert (
        "would index public.legacy_attachments (parent_storage_key) as "
        "pmail_legacy_attachments_by_message" in err
    )
    assert _pmail(legacy.dsn, "--batch-size", "300")[0] == 0
    recorded = _anomaly_kinds(legacy.dsn)
    assert predicted == {kind: recorded.get(kind, 0) for kind in predicted}
    code, table, err = _pmail(legacy.dsn, "--dry-run", "--format", "json")
    assert code == 0 and "would index" not in err
    again = {r["what"]: r["count"] for r in json.loads(table)}
    assert all(again[f"anomaly: {kind}"] == n for kind, n in predicted.items())


def test_validate_passes_after_a_migration(legacy: Legacy) -> None:
    """After a migration validate (and --deep) exits 0: migrated messages carry their
    content's raw size, and rows the legacy tables never gave content are reported as
    that documented state, not as damage."""
    assert _pmail(legacy.dsn)[0] == 0
    for deep in ([], ["--deep"]):
        result = runner.invoke(app, ["--dsn", legacy.dsn, "validate", *deep])
        assert result.exit_code == 0, result.output
        assert (
            f"not damage: {legacy.built.dirt['ref_without_content']:,} messages whose "
            "legacy row never had content, "
            f"{legacy.built.dirt['orphan_attachment']:,} legacy files without a message"
            in result.stderr
        )
    with psycopg.connect(legacy.dsn) as c:
        row = c.execute(
            "SELECT count(*) FILTER (WHERE m.raw_size_bytes = ct.raw_size_bytes), "
            "count(ct.storage_key), count(*) FILTER (WHERE ct.storage_key IS NULL "
            "AND m.raw_size_bytes IS NULL), count(*) FROM email_messages m "
            "LEFT JOIN email_content ct USING (tenant_id, storage_key)"
        ).fetchone()
    assert row is not None
    same, with_content, without_and_unsized, total = row
    assert same == with_content and with_content + without_and_unsized == total


def test_a_lost_content_row_of_a_migrated_message_is_still_damage(
    legacy: Legacy,
) -> None:
    """Only the rows the migration recorded as never having content are exempt: a
    migrated message whose content row is deleted afterwards is reported."""
    assert _pmail(legacy.dsn)[0] == 0
    with psycopg.connect(legacy.dsn) as c:
        c.execute(
            "DELETE FROM email_content WHERE storage_key = (SELECT storage_key FROM "
            "email_content c WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE "
            "a.parent_storage_key = c.storage_key) ORDER BY storage_key LIMIT 1)"
        )
    result = runner.invoke(app, ["--dsn", legacy.dsn, "validate", "--format", "json"])
    assert result.exit_code == 3, result.output
    found = {c["name"]: c["count"] for c in json.loads(result.stdout)}
    assert found["messages_without_content"] == 1


def test_repair_fills_raw_sizes_an_earlier_migration_left_out(legacy: Legacy) -> None:
    """Messages migrated without their raw size (as pmail did before it copied the
    content's) fail validate; --repair fills them from the content rows, exit 0."""
    assert _pmail(legacy.dsn)[0] == 0
    with psycopg.connect(legacy.dsn) as c:
        c.execute("UPDATE email_messages SET raw_size_bytes = NULL")
    result = runner.invoke(app, ["--dsn", legacy.dsn, "validate"])
    assert result.exit_code == 3 and "size_mismatches" in result.stdout
    result = runner.invoke(app, ["--dsn", legacy.dsn, "validate", "--repair"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["--dsn", legacy.dsn, "validate"]).exit_code == 0


def test_status_and_verify_after_archive(legacy: Legacy) -> None:
    """--status and --verify after --archive read the archived tables and exit 0;
    a run still says there is nothing to migrate."""
    assert _pmail(legacy.dsn)[0] == 0
    code, _, err = _pmail(legacy.dsn, "--archive")
    assert code == 0, err
    code, table, err = _pmail(legacy.dsn, "--status", "--format", "json")
    assert code == 0, err
    assert {s["step"] for s in json.loads(table)} == {
        "messages", "orphan_content", "orphan_attachments", "checks",
    }  # fmt: skip
    rows = legacy.built.refs + legacy.built.dirt["content_without_ref"]
    assert f"{rows:,} of {rows:,} legacy messages migrated" in err
    assert "archived on " in err and "public.content_objects_archived" in err
    code, _, err = _pmail(legacy.dsn, "--verify")
    assert code == 0, err
    code, _, err = _pmail(legacy.dsn)
    assert code == 1 and "archived already" in err


def test_second_run_is_a_no_op(legacy: Legacy) -> None:
    """Migrating twice stores nothing more and records nothing more."""
    assert _pmail(legacy.dsn)[0] == 0
    before = _content_fingerprint(legacy.dsn)
    code, _, err = _pmail(legacy.dsn)
    assert code == 0 and "nothing left to migrate" in err
    assert _content_fingerprint(legacy.dsn) == before


def test_archive_needs_verify_and_prints_a_working_undo(legacy: Legacy) -> None:
    """Before the copy is complete --verify and --archive exit 3 and rename nothing;
    after it, --archive renames the tables and its SQL renames them back."""
    _init_db_only(legacy.dsn)  # the schema is there, nothing is copied yet
    assert _pmail(legacy.dsn, "--verify")[0] == 3
    code, _, err = _pmail(legacy.dsn, "--archive")
    assert code == 3 and "did not pass" in err
    with psycopg.connect(legacy.dsn) as c:
        assert c.execute(
            "SELECT to_regclass('content_inbox_message_refs') IS NOT NULL"
        ).fetchone() == (True,)
    assert _pmail(legacy.dsn)[0] == 0
    code, undo, err = _pmail(legacy.dsn, "--archive")
    assert code == 0, err
    with psycopg.connect(legacy.dsn) as c:
        names = {
            str(r[0])
            for r in c.execute(
                "SELECT relname FROM pg_class WHERE relname LIKE '%%_archived'"
            )
        }
        assert names == {
            "content_inbox_message_refs_archived",
            "content_objects_archived",
            "legacy_attachments_archived",
        }
        c.execute(undo)  # BEGIN ... COMMIT; comments for the moved-aside table
        c.commit()
    code, _, err = _pmail(legacy.dsn, "--verify")
    assert code == 0, err
    assert _pmail(legacy.dsn, "--archive")[0] == 0
    code, _, err = _pmail(legacy.dsn)
    assert code == 1 and "archived already" in err


def _init_db_only(dsn: str) -> None:
    """pmail's schema applied (the legacy attachments moved aside), nothing copied."""
    result = runner.invoke(app, ["--dsn", dsn, "init-db"])
    assert result.exit_code == 0, result.stderr
    assert (
        "moved the legacy table public.attachments aside to legacy_attachments"
        in result.stderr
    )


def test_move_aside_happens_with_the_schema_or_not_at_all(legacy: Legacy) -> None:
    """When creating pmail's schema fails, the legacy attachments table keeps its name;
    when it succeeds, the table is legacy_attachments and the rename is recorded."""
    with psycopg.connect(legacy.dsn) as c:
        c.execute("CREATE TABLE campaigns (x int)")  # makes migration 0001 fail
        c.commit()
    result = runner.invoke(app, ["--dsn", legacy.dsn, "init-db"])
    assert result.exit_code == 1
    with psycopg.connect(legacy.dsn) as c:
        assert c.execute("SELECT to_regclass('legacy_attachments')").fetchone() == (
            None,
        )
        assert c.execute("SELECT count(*) FROM attachments").fetchone() == (
            legacy.built.attachments,
        )
        c.execute("DROP TABLE campaigns")
        c.commit()
    _init_db_only(legacy.dsn)
    with psycopg.connect(legacy.dsn) as c:
        assert c.execute("SELECT count(*) FROM legacy_attachments").fetchone() == (
            legacy.built.attachments,
        )
        assert c.execute("SELECT count(*) FROM attachments").fetchone() == (0,)
        assert c.execute(
            "SELECT from_name, to_name FROM legacy_migration_renames"
        ).fetchall() == [("attachments", "legacy_attachments")]


def test_legacy_schema_beside_pmails_own(dsn: str) -> None:
    """Legacy tables in another schema (their own `attachments` included) migrate into a
    database where pmail's schema already exists."""
    made = _new_database(dsn, schema="legacy")
    try:
        assert runner.invoke(app, ["--dsn", made.dsn, "init-db"]).exit_code == 0
        code, _, err = _pmail(made.dsn)
        assert code == 1 and "no legacy table public.content_inbox_message_refs" in err
        code, _, err = _pmail(made.dsn, "--legacy-schema", "legacy")
        assert code == 0, err
        code, _, err = _pmail(made.dsn, "--legacy-schema", "legacy", "--verify")
        assert code == 0, err
    finally:
        _drop(made.dsn)


def test_seed_queries_give_the_same_rows_before_and_after(legacy: Legacy) -> None:
    """The original design's two queries return, on the new tables, what they returned on
    the legacy tables (through a view), modulo the documented normalisations."""
    with psycopg.connect(legacy.dsn) as c:
        tenants = [
            str(r[0])
            for r in c.execute(
                "SELECT DISTINCT tenant_id FROM content_inbox_message_refs"
            )
        ]
        before = {
            t: c.execute(
                "SELECT m.subject, c.content_text, c.content_html, a.filename "
                "FROM content_inbox_message_refs m JOIN content_objects c ON m.storage_key = c.storage_key "
                "LEFT JOIN attachments a ON c.storage_key = a.parent_storage_key WHERE m.tenant_id = %s",
                (t,),
            ).fetchall()
            for t in tenants
        }
    assert _pmail(legacy.dsn)[0] == 0
    with psycopg.connect(legacy.dsn) as c:
        for t in tenants:
            after = c.execute(
                "SELECT m.subject, c.content_text, a.filename FROM email_messages m "
                "JOIN email_content c ON m.storage_key = c.storage_key "
                "LEFT JOIN attachments a ON c.storage_key = a.parent_storage_key "
                "WHERE m.tenant_id = %s AND m.source = 'legacy:content_inbox_message_refs'",
                (t,),
            ).fetchall()
            expected = [
                (s, display_text(_str(text), _str(html)), f)
                for s, text, html, f in before[t]
            ]
            assert sorted(map(repr, after)) == sorted(map(repr, expected))


def test_export_of_migrated_mail_is_rfc5322_that_classify_reads(
    legacy: Legacy, tmp_path: Path
) -> None:
    """Every migrated message with content exports as a clean RFC 5322 message, the
    same bytes twice, and pmail classify reads each one."""
    assert _pmail(legacy.dsn)[0] == 0
    with psycopg.connect(legacy.dsn) as c:
        first = c.execute("SELECT name FROM tenants ORDER BY name LIMIT 1").fetchone()
        assert first is not None
        tenant = str(first[0])
        expected = c.execute(
            "SELECT count(*) FROM email_messages m JOIN email_content c USING (tenant_id, storage_key) "
            "JOIN tenants t USING (tenant_id) WHERE t.name = %s",
            (tenant,),
        ).fetchone()
    outs = []
    for run in ("one", "two"):
        out = tmp_path / run
        result = runner.invoke(
            app, ["--dsn", legacy.dsn, "export", "--tenant", tenant, "--out", str(out)]
        )
        assert result.exit_code == 0, result.stderr
        assert "rebuilt from legacy columns" in result.stderr
        outs.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert outs[0] == outs[1]
    assert expected is not None and len(outs[0]) == expected[0]
    for name, raw in outs[0].items():
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert msg["X-Pmail-Rebuilt"] and not msg.defects, name
        assert all(not part.defects for part in msg.walk()), name
    result = runner.invoke(app, ["classify", str(tmp_path / "one"), "--format", "json"])
    kinds = {r["kind"] for r in json.loads(result.stdout)}
    assert result.exit_code == 0 and kinds <= {"email", "bounce", "auto_reply", "delay"}
    assert "bounce" in kinds and "auto_reply" in kinds


def test_an_overlong_legacy_address_is_left_out_and_the_run_finishes(
    legacy: Legacy,
) -> None:
    """A legacy row whose from_email is one 3,000-character "address", and one whose
    to_email lists a good address beside such a one, would not fit the address
    indexes: without a bound every run failed at that batch. The run finishes, the
    good address stays, and what was left out is recorded as the row's anomaly."""
    # random, so that the index cannot compress it below its entry limit
    huge = os.urandom(1500).hex() + "@example.com"
    with psycopg.connect(legacy.dsn) as c:
        keys = [
            str(k)
            for (k,) in c.execute(
                "SELECT storage_key FROM content_inbox_message_refs "
                "WHERE from_email IS NOT NULL ORDER BY storage_key LIMIT 2"
            ).fetchall()
        ]
        c.execute(
            "UPDATE content_inbox_message_refs SET from_email = %s WHERE storage_key = %s",
            (huge, keys[0]),
        )
        c.execute(
            "UPDATE content_inbox_message_refs SET to_email = %s WHERE storage_key = %s",
            (f"good@example.com, {huge}", keys[1]),
        )
    code, _, err = _pmail(legacy.dsn, "--batch-size", "300")
    assert code == 0, err
    with psycopg.connect(legacy.dsn) as c:
        rows = {
            str(key): (sender, to, " ".join(problems or []))
            for key, sender, to, problems in c.execute(
                "SELECT storage_key, from_email, to_email, parse_problems "
                "FROM email_messages WHERE storage_key = ANY(%s)",
                (keys,),
            ).fetchall()
        }
        first, second = rows[keys[0]], rows[keys[1]]
        assert first[0] is None or len(str(first[0])) <= 254
        assert "left out: 1 of legacy from_email" in first[2]
        assert second[1] == "good@example.com"
        assert "left out: 1 of legacy to_email" in second[2]
        flagged = c.execute(
            "SELECT legacy_key FROM migration_anomalies WHERE kind = 'flagged' "
            "AND detail LIKE '%%longer than 254%%' ORDER BY 1"
        ).fetchall()
        assert [k for (k,) in flagged] == sorted(keys)


def test_a_file_planted_ahead_of_the_migration_is_written_again(
    legacy: Legacy,
) -> None:
    """A third red-team pass (2026-12-07): a row in `attachment_blobs` with a legacy
    file's sha256 and size and other bytes, stored before the migration reached the
    file (a tenant login may insert such rows). migrate-legacy did not send the bytes
    of a file the tenant already stored, so the writer reused the planted row
    unchecked, and `migrate-legacy --verify` and `export` passed the loss. Now the
    bytes go with the page and the writer checks the stored row against them."""
    _init_db_only(legacy.dsn)
    with psycopg.connect(legacy.dsn) as c:
        c.execute(  # the tenants, as the migration makes them
            "INSERT INTO tenants (tenant_id, name) SELECT DISTINCT tenant_id, "
            "tenant_id::text FROM content_objects ON CONFLICT DO NOTHING"
        )
        planted = c.execute(
            "INSERT INTO attachment_blobs (tenant_id, sha256, size_bytes, "
            "compressed_size_bytes, compression, data) "
            "SELECT DISTINCT ON (co.tenant_id, sha256(a.content)) co.tenant_id, "
            "sha256(a.content), length(a.content), 4, 'none', '\\x62616421' "
            "FROM legacy_attachments AS a "
            "JOIN content_objects AS co ON co.storage_key = a.parent_storage_key "
            "JOIN content_inbox_message_refs AS r ON r.storage_key = co.storage_key "
            "WHERE a.content IS NOT NULL LIMIT 3 RETURNING sha256"
        ).fetchall()
    assert planted
    assert _pmail(legacy.dsn)[0] == 0
    result = runner.invoke(app, ["--dsn", legacy.dsn, "validate", "--deep"])
    assert result.exit_code == 0, result.output
    with psycopg.connect(legacy.dsn) as c:
        bad = c.execute(
            "SELECT count(*) FROM attachment_blobs WHERE data = '\\x62616421'"
        ).fetchone()
    assert bad == (0,)
