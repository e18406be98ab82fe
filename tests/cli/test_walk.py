"""What a directory walk leaves out is counted in the summary and named with -v."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pmail_cli.cli import app
from tests import mailgen

runner = CliRunner()


def _maildir_and_tmp(root: Path) -> None:
    """root/plain/tmp/a.eml is mail; root/box/ is a Maildir whose tmp/ holds one
    message in delivery and whose cur/ holds one delivered message."""
    (root / "plain" / "tmp").mkdir(parents=True)
    (root / "plain" / "tmp" / "a.eml").write_bytes(mailgen.simple(1))
    for part in ("cur", "new", "tmp"):
        (root / "box" / part).mkdir(parents=True)
    (root / "box" / "cur" / "1:2,S").write_bytes(mailgen.simple(2))
    (root / "box" / "tmp" / "2.host").write_bytes(mailgen.simple(3))


@pytest.mark.db
def test_ingest_stores_a_folder_named_tmp_and_counts_a_maildirs_tmp(
    dsn: str, tmp_path: Path
) -> None:
    """A folder named tmp is walked like any other; only a Maildir's tmp/ is left
    out, and then it is counted in the summary and named with -v."""
    _maildir_and_tmp(tmp_path)
    assert runner.invoke(app, ["--dsn", dsn, "tenant", "add", "acme"]).exit_code == 0
    result = runner.invoke(
        app, ["--dsn", dsn, "-v", "ingest", str(tmp_path), "--tenant", "acme"]
    )
    assert result.exit_code == 0, result.output
    assert "ingested 2 messages" in result.stderr
    assert "1 file skipped: 1 in a Maildir's tmp/" in result.stderr
    tmp_file = str(tmp_path / "box" / "tmp" / "2.host")
    assert f"skipped, in a Maildir's tmp/ (still being delivered): {tmp_file}" in (
        result.stderr.replace("\n", "")
    )


def test_classify_counts_and_names_what_the_walk_left_out(tmp_path: Path) -> None:
    """classify reads a folder named tmp, and says on stderr what it left out."""
    _maildir_and_tmp(tmp_path)
    (tmp_path / "README.md").write_bytes(b"# notes\n")
    quiet = runner.invoke(app, ["classify", str(tmp_path), "-f", "json"])
    assert quiet.exit_code == 0, quiet.output
    rows = json.loads(quiet.stdout)
    assert sorted(Path(str(r["path"])).name for r in rows) == ["1:2,S", "a.eml"]
    assert (
        "2 files skipped: 1 not a message, "
        "1 in a Maildir's tmp/ (still being delivered) (-v lists them)"
        in quiet.stderr.replace("\n", "")
    )
    loud = runner.invoke(app, ["-v", "classify", str(tmp_path), "-f", "csv"])
    assert f"skipped, not a message: {tmp_path / 'README.md'}" in loud.stderr.replace(
        "\n", ""
    )
