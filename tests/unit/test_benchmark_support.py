"""Tests of the benchmark support code: the corpus generator and the baseline."""

from __future__ import annotations

import email
import email.policy
import hashlib
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
from benchmarks import baseline, gen_corpus

TENANT = "5b0c0a4e-3f0e-4c39-9a52-3a1f6d2f0b11"


def _digests(corpus: gen_corpus.GeneratedCorpus) -> list[str]:
    return [hashlib.sha256(path.read_bytes()).hexdigest() for path in corpus.paths]


def _parse(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_generator_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    """Two runs with the same seed write byte-identical files; another seed differs."""
    first = gen_corpus.generate(tmp_path / "a", messages=50, seed=7)
    second = gen_corpus.generate(tmp_path / "b", messages=50, seed=7)
    other = gen_corpus.generate(tmp_path / "c", messages=50, seed=8)
    assert _digests(first) == _digests(second)
    assert _digests(first) != _digests(other)


def test_generator_reports_what_it_wrote(tmp_path: Path) -> None:
    """The returned summary matches the files on disk."""
    corpus = gen_corpus.generate(tmp_path, messages=50)
    assert len(corpus.paths) == 50 == sum(corpus.counts.values())
    assert corpus.sizes == tuple(path.stat().st_size for path in corpus.paths)
    assert corpus.total_bytes == sum(corpus.sizes)
    assert sorted(tmp_path.rglob("*.eml")) == sorted(corpus.paths)


def test_generator_produces_the_advertised_kinds(tmp_path: Path) -> None:
    """Campaign mail, replies, auto-replies, bounces and attachments all appear."""
    corpus = gen_corpus.generate(tmp_path, messages=50, seed=3)
    messages = [_parse(path) for path in corpus.paths]
    campaign = sum("X-PM-Campaign-Id" in msg for msg in messages)
    auto = sum("Auto-Submitted" in msg for msg in messages)
    reports = sum(msg.get_content_type() == "multipart/report" for msg in messages)
    linked = sum("In-Reply-To" in msg for msg in messages)
    files = sum(
        any(part.get_filename() for part in msg.iter_attachments()) for msg in messages
    )
    assert campaign == corpus.counts["outbound"] > 0
    assert reports == corpus.counts["bounce"] > 0
    assert auto == corpus.counts["auto_reply"] + corpus.counts["bounce"]
    assert linked == corpus.counts["reply"] + corpus.counts["auto_reply"] > 0
    assert files >= corpus.with_attachments > 0


def test_every_generated_file_parses_without_defects(tmp_path: Path) -> None:
    """Each generated message parses cleanly and mostly uses CRLF line ends."""
    corpus = gen_corpus.generate(tmp_path, messages=50, seed=5)
    for path in corpus.paths:
        msg = _parse(path)
        assert all(not part.defects for part in msg.walk()), path
        assert msg.get_body(preferencelist=("plain", "html")) is not None, path
    crlf = sum(b"\r\n" in path.read_bytes() for path in corpus.paths)
    assert crlf == len(corpus.paths) - corpus.lf_only


def test_parse_only_counts_every_file(tmp_path: Path) -> None:
    """parse_only parses each generated file and counts it."""
    corpus = gen_corpus.generate(tmp_path, messages=20)
    assert baseline.parse_only(corpus.paths) == 20


@pytest.mark.db
def test_baseline_ingest_fills_its_tables(dsn: str, tmp_path: Path) -> None:
    """The baseline stores one message and content row per file, plus attachments."""
    corpus = gen_corpus.generate(tmp_path, messages=20, seed=2)
    expected_files = sum(
        len(list(_parse(path).iter_attachments())) for path in corpus.paths
    )
    with psycopg.connect(dsn) as conn:
        baseline.create_schema(conn)
        stored = baseline.ingest_files(
            conn, corpus.paths, tenant_id=TENANT, tenant_domain="acme.test"
        )
        counts = [
            conn.execute(query).fetchone()
            for query in (
                "SELECT count(*) FROM baseline.email_messages",
                "SELECT count(*) FROM baseline.email_content",
                "SELECT count(*) FROM baseline.attachments",
            )
        ]
        assert stored == 20
        assert counts == [(20,), (20,), (expected_files,)]
        assert expected_files > 0
        assert baseline.table_bytes(conn) > 0
