"""The batch writer and its hooks; the table spec; transaction-local tenant scope."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from pmail_cli import rows
from pmail_cli.batch import BatchHook, Written
from pmail_cli.config import Settings
from pmail_cli.db import Connection, connect
from pmail_cli.repository.tenants import Tenant
from pmail_cli.services import tenants
from pmail_cli.services.pipeline import Pipeline, PipelineOptions
from pmail_cli.sources import WorkItem
from tests import mailgen

pytestmark = pytest.mark.db

Conn = psycopg.Connection[tuple[object, ...]]
PROBE_ROLE = "pmail_writer_probe"


@dataclass
class Recorder(BatchHook):
    """Counts what each batch's transaction sees, and what was acknowledged."""

    seen_in_transaction: list[int] = field(default_factory=list)
    acknowledged: list[frozenset[str]] = field(default_factory=list)
    fail: bool = False

    def in_transaction(self, conn: Connection, written: Written) -> None:
        row = conn.execute("SELECT count(*) FROM email_messages").fetchone()
        assert row is not None
        self.seen_in_transaction.append(int(str(row[0])))
        if self.fail:
            raise RuntimeError("hook failed")

    def after_commit(self, written: Written) -> None:
        self.acknowledged.append(written.inserted)


def _items(start: int, count: int) -> Iterator[WorkItem]:
    for i in range(start, start + count):
        yield WorkItem(f"gen#{i}", mailgen.simple(i))


@pytest.fixture
def probe_conn(dsn: str, conn: Conn) -> Iterator[Conn]:
    """A connection acting as an administrator that is neither superuser nor owner (a
    member of pmail_admin: RLS applies, the settings choose its scope)."""
    conn.execute(
        f"DO $$ BEGIN CREATE ROLE {PROBE_ROLE} NOLOGIN; "
        "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    conn.execute(f"GRANT pmail_admin TO {PROBE_ROLE}")
    conn.commit()
    with connect(Settings(dsn=dsn, dsn_source="test")) as c:
        c.execute(f"SET ROLE {PROBE_ROLE}")
        c.commit()
        yield c


def _tenants(dsn: str) -> tuple[Tenant, Tenant]:
    with connect(Settings(dsn=dsn, dsn_source="test")) as c:
        return tenants.add_tenant(c, "a"), tenants.add_tenant(c, "b")


def test_one_connection_two_tenants_never_mix(dsn: str, probe_conn: Conn) -> None:
    """One connection and one pipeline store for A, then B: B's transactions never see
    A's rows, and outside a scoped transaction nothing is visible at all."""
    a, b = _tenants(dsn)
    hook_a, hook_b = Recorder(), Recorder()
    with Pipeline(probe_conn, jobs=1) as pipeline:
        options = PipelineOptions(batch_messages=4, auto_train_at=0)
        pipeline.run(_items(0, 6), tenant=a, options=options, hooks=[hook_a])
        pipeline.run(_items(100, 3), tenant=b, options=options, hooks=[hook_b])
    assert hook_a.seen_in_transaction == [4, 6]
    assert hook_b.seen_in_transaction == [3]
    with tenants.scoped(probe_conn, a):
        keys_a = {
            str(r[0])
            for r in probe_conn.execute("SELECT storage_key FROM email_messages")
        }
    with tenants.scoped(probe_conn, b):
        keys_b = {
            str(r[0])
            for r in probe_conn.execute("SELECT storage_key FROM email_messages")
        }
    assert len(keys_a) == 6 and len(keys_b) == 3 and not keys_a & keys_b
    with probe_conn.transaction():
        assert probe_conn.execute("SELECT count(*) FROM email_messages").fetchone() == (
            0,
        )


def test_hooks_ride_in_the_transaction_and_after_commit(dsn: str, conn: Conn) -> None:
    """after_commit sees each batch's inserted keys; a failing hook rolls its batch back."""
    a, _ = _tenants(dsn)
    ok = Recorder()
    with connect(Settings(dsn=dsn, dsn_source="test")) as c, Pipeline(c, jobs=1) as p:
        options = PipelineOptions(batch_messages=5, auto_train_at=0)
        p.run(_items(0, 7), tenant=a, options=options, hooks=[ok])
        assert [len(keys) for keys in ok.acknowledged] == [5, 2]
        bad = Recorder(fail=True)
        with pytest.raises(RuntimeError, match="hook failed"):
            p.run(_items(50, 3), tenant=a, options=options, hooks=[bad])
        assert bad.acknowledged == []
    assert conn.execute("SELECT count(*) FROM email_messages").fetchone() == (7,)


def test_given_keys_are_kept_and_pool_outlives_runs(dsn: str, conn: Conn) -> None:
    """A work item that brings its own storage key is stored under it; one pipeline's
    worker pool serves several runs."""
    a, b = _tenants(dsn)
    legacy = WorkItem("legacy", mailgen.simple(1), key="email_<x@y>_1700000000000")
    with connect(Settings(dsn=dsn, dsn_source="test")) as c, Pipeline(c, jobs=2) as p:
        options = PipelineOptions(batch_messages=3, auto_train_at=0)
        p.run([legacy, *_items(10, 8)], tenant=a, options=options)
        assert p.started
        p.run(_items(20, 2), tenant=b, options=options)
        assert p.started
    keys = {str(r[0]) for r in conn.execute("SELECT storage_key FROM email_messages")}
    assert "email_<x@y>_1700000000000" in keys and len(keys) == 11


def test_row_spec_matches_the_tables(conn: Conn) -> None:
    """Every field of the table spec is a column of its table, and staging tables copy
    them: a column added to rows.py without a migration fails here."""
    for row_type in rows.ROW_TYPES:
        found = {
            str(r[0])
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = %s",
                (row_type.TABLE,),
            )
        }
        missing = set(rows.columns(row_type)) - found
        assert missing == set(), (row_type.TABLE, missing)
        assert rows.defaulted(row_type) <= set(rows.columns(row_type))


def test_spliced_row_roundtrip_through_copy(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """Values of every column type survive the generic COPY (arrays, bytea, JSON, dates)."""
    a, _ = _tenants(dsn)
    deck = mailgen.pdf_bytes(2)
    raw = mailgen.with_attachment(3, deck)
    with connect(Settings(dsn=dsn, dsn_source="test")) as c, Pipeline(c, jobs=1) as p:
        p.run(
            [WorkItem("one", raw)],
            tenant=a,
            options=PipelineOptions(auto_train_at=0),
        )
    row = conn.execute(
        "SELECT c.raw_form, jsonb_array_length(c.raw_splices), a.size_bytes, "
        "m.processed IS NOT NULL, m.created = c.created "
        "FROM email_messages m JOIN email_content c USING (tenant_id, storage_key) "
        "JOIN attachments a ON a.tenant_id = c.tenant_id "
        "AND a.parent_storage_key = c.storage_key"
    ).fetchone()
    assert row == ("spliced", 1, len(deck), True, True)


def test_items_may_name_their_own_tenants(
    dsn: str, conn: Conn, probe_conn: Conn
) -> None:
    """A run without a tenant stores each item for the tenant it names; a batch never
    spans two tenants, so each tenant's transaction sees only its own rows."""
    a, b = _tenants(dsn)
    owners = [a, a, b, a, b, b, b]
    items = [
        WorkItem(f"gen#{i}", mailgen.simple(i), tenant=owner)
        for i, owner in enumerate(owners)
    ]
    hook = Recorder()
    with Pipeline(probe_conn, jobs=1) as p:
        result = p.run(
            items,
            tenant=None,
            options=PipelineOptions(batch_messages=10, auto_train_at=0),
            hooks=[hook],
        )
    assert result.added == 7
    assert [len(k) for k in hook.acknowledged] == [2, 1, 1, 3]
    assert hook.seen_in_transaction == [2, 1, 3, 4]
    rows = conn.execute(
        "SELECT t.name, count(*) FROM email_messages m JOIN tenants t USING (tenant_id) "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [("a", 3), ("b", 4)]
