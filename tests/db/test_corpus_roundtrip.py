"""Every message of the shared real-mail corpus comes back byte-identical."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.services import export, ingest, tenants
from pmail_cli.services.pipeline import PipelineOptions
from pmail_cli.sources import WorkItem
from pmail_cli.sources.files import read_paths

pytestmark = [pytest.mark.db, pytest.mark.corpus]


def test_corpus_round_trip_every_sha256(dsn: str, corpus: Path, tmp_path: Path) -> None:
    """Ingest the whole corpus (parallel path), export it, and find every input's sha256."""
    expected = {
        hashlib.sha256(e.raw).hexdigest()
        for e in read_paths([str(corpus)])
        if isinstance(e, WorkItem) and e.raw is not None
    }
    assert len(expected) > 900
    settings = Settings(dsn=dsn, dsn_source="test")
    with connect(settings) as conn:
        scope = tenants.use_tenant(conn, None)
        result = ingest.ingest_paths(
            conn, [str(corpus)], tenant=scope, options=PipelineOptions(), jobs=2
        )
        assert result.ok
        assert result.pipeline.added == len(expected)
        out = tmp_path / "out"
        export.export_messages(
            conn, scope, out_dir=out, mbox=None, since=None, keys=None
        )
    exported = {hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    assert exported == expected
    singles = _single_message_files(corpus)
    assert len(singles) == 971
    missing = sorted(path for path, sha in singles.items() if sha not in exported)
    assert missing == []


def _single_message_files(corpus: Path) -> dict[str, str]:
    """path -> sha256 of every corpus file that holds one message (MANIFEST.tsv):
    everything but the mbox files, the expected-reply texts and the licence,
    readme and label files."""
    not_mail = ("LICENSE", "COPYING", "README", "labels.tsv", "_reply_text")
    files: dict[str, str] = {}
    for line in (corpus / "MANIFEST.tsv").read_text().splitlines()[1:]:
        path, *_, sha = line.split("\t")
        name = path.rsplit("/", 1)[-1]
        if (
            "/mailbox/" in path
            or name.startswith(".")
            or any(word in name for word in not_mail)
        ):
            continue
        files[path] = sha
    return files


def test_parallel_path_equals_serial_path_on_corpus(dsn: str, corpus: Path) -> None:
    """--jobs 2 and --jobs 1 store the same rows and the same bytes for the real corpus."""
    settings = Settings(dsn=dsn, dsn_source="test")
    with connect(settings) as conn:
        for name, jobs in (("serial", 1), ("parallel", 2)):
            tenants.add_tenant(conn, name)
            scope = tenants.use_tenant(conn, name)
            ingest.ingest_paths(
                conn, [str(corpus)], tenant=scope, options=PipelineOptions(), jobs=jobs
            )
        conn.execute("SELECT set_config('pmail.all_tenants', 'on', false)")
        query = """
            SELECT m.message_id, m.subject, m.direction, m.message_type, m.parse_problems,
                   m.attachment_count, m.parent_message_id, c.raw_sha256, c.raw_form,
                   c.compression, c.content_text, md5(c.raw_data), c.raw_splices,
                   (SELECT array_agg(f.status ORDER BY f.recipient_index)
                    FROM delivery_facts f
                    WHERE f.tenant_id = m.tenant_id AND f.storage_key = m.storage_key)
            FROM email_messages m JOIN email_content c USING (tenant_id, storage_key)
            JOIN tenants t USING (tenant_id) WHERE t.name = %s
            ORDER BY c.raw_sha256"""
        serial = conn.execute(query, ("serial",)).fetchall()
        parallel = conn.execute(query, ("parallel",)).fetchall()
    assert len(serial) > 900
    assert serial == parallel
