"""What pmail says on stderr reads right: a count and its noun agree ('1 message',
'2 messages', never '1 messages' or 'message(s)'), and a pointer to -v is given only
without -v."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app
from pmail_cli.output import counted
from tests import mailgen

runner = CliRunner()


def test_counted_agrees_with_its_number() -> None:
    """One is singular; none, many and thousands are plural, with separators."""
    assert counted(1, "message") == "1 message"
    assert counted(0, "message") == "0 messages"
    assert counted(1_204, "message") == "1,204 messages"
    assert counted(2, "batch", "batches") == "2 batches"
    assert counted(1, "batch", "batches") == "1 batch"


def _inputs(tmp_path: Path) -> Path:
    """One message without a Message-ID (a parse problem), one empty file and one
    file that is not mail."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.eml").write_bytes(mailgen.simple(1, message_id=""))
    (folder / "empty.eml").write_bytes(b"")
    (folder / "README.md").write_bytes(b"# notes\n")
    return folder


@pytest.mark.db
def test_ingest_summary_of_one_of_each(dsn: str, tmp_path: Path) -> None:
    """One of each is said in the singular; -v names each file and drops the
    pointers to -v that the plain summary gives."""
    folder = _inputs(tmp_path)
    plain = runner.invoke(app, ["--dsn", dsn, "ingest", str(folder)])
    assert plain.exit_code == 0, plain.output
    summary = plain.stderr.replace("\n", "")
    assert summary.startswith(
        "ingested 1 message, 0 duplicates skipped, 1 with parse problems "
        "(no Message-ID 1; -v lists the files), 1 empty input, 0 unreadable"
    ), summary
    assert summary.endswith("; 1 file skipped: 1 not a message (-v lists them)")
    (folder / "b.eml").write_bytes(mailgen.simple(2, message_id=""))
    verbose = runner.invoke(app, ["--dsn", dsn, "-v", "ingest", str(folder)])
    assert verbose.exit_code == 0, verbose.output
    said = verbose.stderr.replace("\n", "")
    assert "-v lists" not in said and "-v names" not in said, said
    assert f"flagged: {folder / 'b.eml'}" in said
    assert f"empty, no message in it: {folder / 'empty.eml'}" in said
    assert f"skipped, not a message: {folder / 'README.md'}" in said
    assert "ingested 1 message, 1 duplicate skipped, 1 with parse problems " in said


def test_classify_names_empty_inputs_under_v_without_pointing_to_v(
    tmp_path: Path,
) -> None:
    """classify: '1 empty input' and its pointer to -v, which -v itself drops."""
    folder = _inputs(tmp_path)
    plain = runner.invoke(app, ["classify", str(folder)])
    assert plain.exit_code == 0, plain.output
    assert "1 empty input: no message in it (-v names it)" in plain.stderr
    assert "1 file skipped: 1 not a message (-v lists them)" in plain.stderr
    verbose = runner.invoke(app, ["-v", "classify", str(folder)])
    assert verbose.exit_code == 0, verbose.output
    assert "1 empty input: no message in it\n" in verbose.stderr
    assert "1 file skipped: 1 not a message\n" in verbose.stderr
