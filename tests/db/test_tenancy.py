"""Tenants, row-level security and per-tenant dictionaries."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import psycopg
import pytest

from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.errors import NotFound
from pmail_cli.services import dicts, export, ingest, tenants
from pmail_cli.services.pipeline import PipelineOptions
from tests import mailgen

pytestmark = pytest.mark.db

Conn = psycopg.Connection[tuple[object, ...]]


def _templated(n: int) -> bytes:
    body = (
        f"Hi Lead{n},\n\nI noticed Company{n} is growing its outbound team. We help "
        "SDR teams book more meetings with less manual work: automated follow-ups, "
        "inbox rotation and deliverability monitoring in one place.\n\nWould a 15 "
        "minute call next week make sense?\n\nBest,\nSam\nAcme Outreach\n"
        f"Unsubscribe: https://acme.test/u/{n:08d}\n"
    )
    return mailgen.simple(
        n, sender="sam@acme.test", subject=f"Quick question, Lead{n}", body=body
    )


def _ingest(
    dsn: str, raws: list[bytes], folder: Path, tenant: str, auto_train_at: int = 0
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(raws):
        (folder / f"{i}.eml").write_bytes(raw)
    with connect(Settings(dsn=dsn, dsn_source="test")) as conn:
        scope = tenants.use_tenant(conn, tenant)
        ingest.ingest_paths(
            conn,
            [str(folder)],
            tenant=scope,
            options=PipelineOptions(auto_train_at=auto_train_at),
            jobs=1,
        )


def test_unknown_tenant_is_a_clear_error(dsn: str) -> None:
    """A --tenant that does not exist raises NotFound with a hint to create it."""
    with (
        connect(Settings(dsn=dsn, dsn_source="test")) as conn,
        pytest.raises(NotFound) as info,
    ):
        tenants.use_tenant(conn, "nope")
    assert info.value.hint is not None and "pmail tenant add nope" in info.value.hint


def test_rls_isolates_tenants(dsn: str, conn: Conn, tmp_path: Path) -> None:
    """A non-superuser role with SELECT grants sees nothing whatever it sets (trust
    fails closed); once it is trusted (a member of pmail_analyst), the settings choose
    its scope: one tenant's rows, or every tenant's."""
    with connect(Settings(dsn=dsn, dsn_source="test")) as c:
        tenants.add_tenant(c, "a")
        tenants.add_tenant(c, "b")
    _ingest(dsn, [mailgen.simple(i) for i in range(3)], tmp_path / "a", "a")
    _ingest(dsn, [mailgen.simple(i) for i in range(10, 15)], tmp_path / "b", "b")
    probe = f"pmail_rls_probe_{os.getpid()}_{uuid.uuid4().hex[:6]}"  # server-wide
    conn.execute(f"CREATE ROLE {probe} NOLOGIN")
    conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {probe}")
    conn.commit()
    tenant_a = conn.execute("SELECT tenant_id FROM tenants WHERE name = 'a'").fetchone()
    assert tenant_a is not None

    def counts() -> tuple[object, ...]:
        conn.execute(f"SET ROLE {probe}")
        seen = [
            conn.execute("SELECT count(*) FROM email_messages").fetchone(),
            conn.execute("SELECT count(*) FROM email_content").fetchone(),
        ]
        conn.execute("RESET ROLE")
        return tuple(row[0] if row else None for row in seen)

    def scope(name: str, value: str) -> None:
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))

    assert counts() == (0, 0)
    scope("pmail.tenant_id", str(tenant_a[0]))
    assert counts() == (0, 0)  # untrusted: the setting widens nothing
    scope("pmail.all_tenants", "on")
    assert counts() == (0, 0)
    conn.execute(f"GRANT pmail_analyst TO {probe}")
    try:
        scope("pmail.all_tenants", "")
        assert counts() == (3, 3)
        scope("pmail.all_tenants", "on")
        assert counts() == (8, 8)
    finally:
        conn.rollback()
        conn.execute(f"DROP OWNED BY {probe}")
        conn.execute(f"DROP ROLE {probe}")
        conn.commit()


def test_dictionary_compresses_and_old_rows_stay_readable(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """A large first ingest is stored with a dictionary trained on its head, at least
    twice as small as plain zstd; after retraining, rows of both dictionaries export."""
    first = [_templated(i) for i in range(300)]
    with connect(Settings(dsn=dsn, dsn_source="test")) as c:
        tenants.add_tenant(c, "plain")
    _ingest(dsn, first, tmp_path / "one", "default", auto_train_at=200)
    _ingest(dsn, first, tmp_path / "plain", "plain", auto_train_at=0)
    stats = conn.execute(
        "SELECT compression, count(*), sum(compressed_size_bytes), sum(raw_size_bytes) "
        "FROM email_content GROUP BY 1 ORDER BY 1"
    ).fetchall()
    by_kind = {r[0]: r for r in stats}
    assert by_kind["zstd"][1] == by_kind["zstd-dict"][1] == 300
    plain, packed = by_kind["zstd"], by_kind["zstd-dict"]
    plain_ratio = int(str(plain[2])) / int(str(plain[3]))
    dict_ratio = int(str(packed[2])) / int(str(packed[3]))
    assert dict_ratio < plain_ratio / 2
    with connect(Settings(dsn=dsn, dsn_source="test")) as c:
        scope = tenants.use_tenant(c, None)
        retrained = dicts.train_dictionary(c, scope)
        again = dicts.train_dictionary(c, scope)  # no mail since: nothing to train on
    assert retrained.dict_id == 2 and not retrained.unchanged
    assert again.dict_id == 2 and again.unchanged
    assert conn.execute("SELECT count(*) FROM compression_dicts").fetchone() == (2,)
    second = [_templated(i) for i in range(300, 340)]
    _ingest(dsn, second, tmp_path / "two", "default")
    used = conn.execute(
        "SELECT DISTINCT dict_id FROM email_content JOIN tenants USING (tenant_id) "
        "WHERE name = 'default' ORDER BY 1"
    ).fetchall()
    assert used == [(1,), (2,)]
    out = tmp_path / "out"
    with connect(Settings(dsn=dsn, dsn_source="test")) as c:
        scope = tenants.use_tenant(c, None)
        export.export_messages(c, scope, out_dir=out, mbox=None, since=None, keys=None)
    exported = {hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    assert exported == {hashlib.sha256(r).hexdigest() for r in first + second}


def test_small_ingests_train_and_recompress_once_enough(
    dsn: str, conn: Conn, tmp_path: Path
) -> None:
    """Many small ingests train a dictionary at the threshold and move earlier rows to it."""
    for n in range(4):
        batch = [_templated(i) for i in range(n * 60, n * 60 + 60)]
        _ingest(dsn, batch, tmp_path / f"part{n}", "default", auto_train_at=200)
    rows = conn.execute(
        "SELECT compression, count(*) FROM email_content GROUP BY 1"
    ).fetchall()
    assert rows == [("zstd-dict", 240)]
    out = tmp_path / "out"
    with connect(Settings(dsn=dsn, dsn_source="test")) as c:
        scope = tenants.use_tenant(c, None)
        result = export.export_messages(
            c, scope, out_dir=out, mbox=None, since=None, keys=None
        )
    assert result.written == 240
