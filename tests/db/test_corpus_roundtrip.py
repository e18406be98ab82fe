"""Every message of the shared real-mail corpus comes back byte-identical."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pmail_cli.config import Settings
from pmail_cli.db import connect
from pmail_cli.mail.readers import RawItem, read_paths
from pmail_cli.services import export, ingest, tenants
from pmail_cli.services.pipeline import PipelineOptions

pytestmark = [pytest.mark.db, pytest.mark.corpus]


def test_corpus_round_trip_every_sha256(dsn: str, corpus: Path, tmp_path: Path) -> None:
    """Ingest the whole corpus (parallel path), export it, and find every input's sha256."""
    expected = {
        hashlib.sha256(e.raw).hexdigest()
        for e in read_paths([str(corpus)])
        if isinstance(e, RawItem)
    }
    assert len(expected) > 900
    settings = Settings(dsn=dsn, dsn_source="test")
    with connect(settings) as conn:
        scope = tenants.use_tenant(conn, None)
        result = ingest.ingest_paths(
            conn, [str(corpus)], tenant=scope, options=PipelineOptions(jobs=2)
        )
        assert result.ok
        assert result.pipeline.added == len(expected)
        out = tmp_path / "out"
        export.export_messages(
            conn, scope, out_dir=out, mbox=None, since=None, keys=None
        )
    exported = {hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
    assert exported == expected
    manifest = {
        line.split("\t")[5]
        for line in (corpus / "MANIFEST.tsv").read_text().splitlines()[1:]
        if line.split("\t")[0].endswith((".eml", ".txt")) and "/mailbox/" not in line
    }
    single_files = manifest & expected
    assert len(single_files) > 800
